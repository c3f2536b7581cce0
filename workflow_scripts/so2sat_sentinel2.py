"""Rule so2sat_sentinel2: one shard of Sentinel-2 chips from a slice of a So2Sat LCZ42 file. Logic: df4lcz.stages.so2sat_sentinel2."""

import _bootstrap  # noqa: F401  (makes df4lcz importable when not installed)

from df4lcz.scripting import run_stage
from df4lcz.stages import so2sat_sentinel2

run_stage(so2sat_sentinel2.run, globals().get("snakemake"))
