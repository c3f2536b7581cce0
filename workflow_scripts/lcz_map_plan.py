"""Rule lcz_map_plan: the grid of one region cut into map tiles. Logic: df4lcz.stages.lcz_map.run_plan."""

import _bootstrap  # noqa: F401  (makes df4lcz importable when not installed)

from df4lcz.scripting import run_stage
from df4lcz.stages import lcz_map

run_stage(lcz_map.run_plan, globals().get("snakemake"))
