"""Rule so2sat_splits: So2Sat LCZ42's official split as a split table and its summary. Logic: df4lcz.stages.so2sat_splits."""

import _bootstrap  # noqa: F401  (makes df4lcz importable when not installed)

from df4lcz.scripting import run_stage
from df4lcz.stages import so2sat_splits

run_stage(so2sat_splits.run, globals().get("snakemake"))
