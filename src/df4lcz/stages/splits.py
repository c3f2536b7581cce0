"""Stage of rule ``splits``: the train/val/test assignment of every sample for one strategy.

Outputs: ``results/splits/{strategy}.csv`` (docs/contracts.md §6) and its per-class count table
``results/splits/{strategy}_summary.csv``. Rule ``region_split_checks`` (:func:`run_region_checks`,
only with the ``region`` strategy) records the classes of the test regions no training sample has
in ``results/checks/splits/region.csv`` (docs/contracts.md §13).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from ..constants import LCZ_NAMES, LCZ_SHORT, REGION_STRATEGY
from ..io.checks import CheckRow, write_checks
from ..io.samples import read_samples
from ..io.splits import read_split, write_split
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
        for row in region_check_rows(samples, split, test_regions):
            log.warning("%s", row.message)
    write_split(job.output.split, split)
    write_count_table(job.output.summary, summary)


def region_check_rows(
    samples: pd.DataFrame, split: pd.DataFrame, test_regions: Sequence[str]
) -> list[CheckRow]:
    """One ``missing_train_class`` warning per class with test samples but no training sample.

    A warning, not an error: testing on regions the models never saw is meant to show such gaps
    (docs/method.md); every model scores 0 on these classes.
    """
    merged = samples[["sample_id", "lcz"]].merge(split, on="sample_id")
    test_counts = merged.loc[merged["split"] == "test", "lcz"].astype(int).value_counts()
    return [
        CheckRow(
            stage="splits",
            level="warning",
            subject=f"LCZ {LCZ_SHORT[code]}",
            check="missing_train_class",
            value=float(test_counts[code]),
            threshold=None,
            message=(
                f"region split: LCZ {LCZ_SHORT[code]} ({LCZ_NAMES[code]}) has {int(test_counts[code])} test "
                f"sample(s) in {', '.join(test_regions)} but no training sample in the other regions; "
                "every model scores 0 on it"
            ),
        )
        for code in missing_train_classes(samples, split)
    ]


def run_region_checks(job: Job) -> None:
    """Rule ``region_split_checks``: write the ``missing_train_class`` rows of the region split."""
    samples = read_samples(job.input.samples, columns=["sample_id", "lcz"])
    split = read_split(job.input.split)
    write_checks(job.output.checks, region_check_rows(samples, split, job.params["test_regions"]))
