"""Rule lcz_map: LCZ map (GeoTIFF + PNG) of one region and its agreement with the labels. Logic: df4lcz.stages.lcz_map."""

import _bootstrap  # noqa: F401  (makes df4lcz importable when not installed)

from df4lcz.scripting import run_stage
from df4lcz.stages import lcz_map

run_stage(lcz_map.run, globals().get("snakemake"))
