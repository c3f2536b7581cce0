"""Rule chip_sentinel2: cut the Sentinel-2 chips of one shard. Logic: df4lcz.stages.chip_sentinel2."""

import _bootstrap  # noqa: F401  (makes df4lcz importable when not installed)

from df4lcz.scripting import run_stage
from df4lcz.stages import chip_sentinel2

run_stage(chip_sentinel2.run, globals().get("snakemake"))
