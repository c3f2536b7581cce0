"""Rule summary: the one-page Markdown/HTML summary of the run."""

import _bootstrap  # noqa: F401  (makes df4lcz importable when not installed)

from pathlib import Path

from df4lcz.logs import setup_logging
from df4lcz.report import write_summary
from df4lcz.samples import read_samples
from df4lcz.scripting import load_job
from df4lcz.segmentation import describe_backend
from df4lcz.splits import read_split

job = load_job(globals().get("snakemake"))
setup_logging(job.log[0])
samples = read_samples(job.input.samples)
counts = {s: read_split(p)["split"].value_counts().to_dict() for s, p in zip(job.params["strategies"], job.input.splits)}
write_summary(job.input.metrics, job.output.markdown, job.output.html,
              regions=sorted(samples["region"].unique()), split_counts=counts,
              segmentation_backend=job.params["segmentation"] or describe_backend(list(job.input.masks)),
              figure_dir=Path(job.input.figures[0]).parent,
              alpha_curves=dict(zip(job.params["fusion_strategies"], job.input.curves)), n_bins=job.params["n_bins"])
