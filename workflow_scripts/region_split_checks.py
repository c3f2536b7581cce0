"""Rule region_split_checks: classes of the region split's test regions without training samples.
Logic: df4lcz.stages.splits.run_region_checks."""

import _bootstrap  # noqa: F401  (makes df4lcz importable when not installed)

from df4lcz.scripting import run_stage
from df4lcz.stages import splits

run_stage(splits.run_region_checks, globals().get("snakemake"))
