"""Rule splits: train/val/test assignment of every sample for one strategy. Logic: df4lcz.stages.splits."""

import _bootstrap  # noqa: F401  (makes df4lcz importable when not installed)

from df4lcz.scripting import run_stage
from df4lcz.stages import splits

run_stage(splits.run, globals().get("snakemake"))
