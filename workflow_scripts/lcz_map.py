"""Rule lcz_map: the tiles of one region gathered into the LCZ map (COG, .qml, PNG, agreement). Logic: df4lcz.stages.lcz_map.run."""

import _bootstrap  # noqa: F401  (makes df4lcz importable when not installed)

from df4lcz.scripting import run_stage
from df4lcz.stages import lcz_map

run_stage(lcz_map.run, globals().get("snakemake"))
