"""Stage of rule ``splits``: the train/val/test assignment of every sample for one strategy.

Outputs: ``results/splits/{strategy}.csv`` (docs/contracts.md §6) and its per-class count table
``results/splits/{strategy}_summary.csv``.
"""

from __future__ import annotations

from ..io.samples import read_samples
from ..io.splits import write_split
from ..io.tables import write_count_table
from ..logs import get_logger
from ..sampling.splits import make_split, split_summary
from ..scripting import Job


def run(job: Job) -> None:
    """Split the samples with the strategy ``job.wildcards["strategy"]``."""
    samples = read_samples(job.input.samples)
    split = make_split(samples, job.wildcards["strategy"], job.params["fractions"], job.params["seed"])
    summary = split_summary(samples, split)
    get_logger("splits").info("%s split:\n%s", job.wildcards["strategy"], summary.to_string(index=False))
    write_split(job.output.split, split)
    write_count_table(job.output.summary, summary)
