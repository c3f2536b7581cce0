"""Rule fuse: the fusion models (df4lcz, df4lcz_tuned; calibrated df4lcz_cal, df4lcz_cal_tuned) of one split strategy. Logic: df4lcz.stages.fuse."""

import _bootstrap  # noqa: F401  (makes df4lcz importable when not installed)

from df4lcz.scripting import run_stage
from df4lcz.stages import fuse

run_stage(fuse.run, globals().get("snakemake"))
