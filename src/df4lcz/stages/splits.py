"""Stage of rule ``splits``: the train/val/test assignment of every sample for one strategy.

Outputs: ``results/splits/{strategy}.csv`` (docs/contracts.md §6) and its per-class count table
``results/splits/{strategy}_summary.csv``.
"""

from __future__ import annotations

from ..constants import LCZ_SHORT, REGION_STRATEGY
from ..io.samples import read_samples
from ..io.splits import write_split
from ..io.tables import write_count_table
from ..logs import get_logger
from ..sampling.splits import make_split, missing_train_classes, split_summary
from ..scripting import Job


def run(job: Job) -> None:
    """Split the samples with the strategy ``job.wildcards["strategy"]``."""
    samples = read_samples(job.input.samples)
    strategy = job.wildcards["strategy"]
    log = get_logger("splits")
    test_regions = job.params.get("test_regions") or []
    split = make_split(
        samples, strategy, job.params["fractions"], job.params["seed"], test_regions=test_regions
    )
    summary = split_summary(samples, split)
    log.info("%s split:\n%s", strategy, summary.to_string(index=False))
    if strategy == REGION_STRATEGY:
        missing = missing_train_classes(samples, split)
        if missing:
            # a warning, not an error: testing on unseen regions is meant to show such gaps
            log.warning(
                "region split: LCZ %s have test samples in %s but no training sample in the other "
                "regions; every model scores 0 on them",
                ", ".join(LCZ_SHORT[c] for c in missing),
                test_regions,
            )
    write_split(job.output.split, split)
    write_count_table(job.output.summary, summary)
