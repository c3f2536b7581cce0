"""Rule lcz_map_tile: the class probabilities of one map tile. Logic: df4lcz.stages.lcz_map_tile.run."""

import _bootstrap  # noqa: F401  (makes df4lcz importable when not installed)

from df4lcz.scripting import run_stage
from df4lcz.stages import lcz_map_tile

run_stage(lcz_map_tile.run, globals().get("snakemake"))
