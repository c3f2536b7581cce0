"""Rule fuse: df4lcz (paper α) and df4lcz_tuned (α chosen on val) for one split strategy."""

import _bootstrap  # noqa: F401  (makes df4lcz importable when not installed)

import numpy as np

from df4lcz.fusion import fuse_files
from df4lcz.logs import get_logger, setup_logging
from df4lcz.scripting import load_job

job = load_job(globals().get("snakemake"))
setup_logging(job.log[0])
cfg = job.params["fusion"]
grid = np.round(np.arange(0.0, 1.0 + 1e-9, cfg["grid_step"]), 6)
fixed = fuse_files(job.input.s2, job.input.gcn, job.output.fixed, alpha=cfg["alpha"])
tuned = fuse_files(job.input.s2, job.input.gcn, job.output.tuned, alpha=None, curve_path=job.output.curve, grid=grid)
get_logger("fuse").info("%s: df4lcz α = %.2f, df4lcz_tuned α = %.2f", job.wildcards["strategy"], fixed, tuned)
