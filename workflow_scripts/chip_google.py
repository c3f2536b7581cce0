"""Rule chip_google: resample the Google mosaic onto each sample square of one shard. Logic: df4lcz.stages.chip_google."""

import _bootstrap  # noqa: F401  (makes df4lcz importable when not installed)

from df4lcz.scripting import run_stage
from df4lcz.stages import chip_google

run_stage(chip_google.run, globals().get("snakemake"))
