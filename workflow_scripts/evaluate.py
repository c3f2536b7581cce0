"""Rule evaluate: metrics, per-class tables, confusion matrices and reliability diagrams."""

import _bootstrap  # noqa: F401  (makes df4lcz importable when not installed)

from pathlib import Path

from df4lcz.logs import setup_logging
from df4lcz.report import evaluate
from df4lcz.scripting import load_job

job = load_job(globals().get("snakemake"))
setup_logging(job.log[0])
keys = [tuple(k) for k in job.params["eval_keys"]]
predictions = dict(zip(keys, job.input.predictions))
curves = dict(zip(job.params["fusion_strategies"], job.input.curves))
evaluate(predictions, Path(job.output.metrics).parent, n_bins=job.params["n_bins"],
         figure_dir=Path(job.output.confusion[0]).parent, alpha_curves=curves)
