"""Stage of rule ``valid_samples``: the samples present in every stream (docs/contracts.md §7).

Exclusions of one stream apply to all: the table lists every sample seen, valid or not, and why.
The per-class account of the samples lost (§13) is completed here: the ``samples`` rule's squares
lost outside the rasters plus the samples the chippers excluded (nodata, partial coverage, clouds);
a class that lost more than ``samples.warn_class_loss_fraction`` (or everything) is a warning in
``results/checks/valid_samples.csv``, and one that lost ``samples.max_class_loss_fraction`` or more
stops the rule, writing nothing, before any model trains.
"""

from __future__ import annotations

from ..chipping.valid import exclusion_subjects, valid_sample_table
from ..io.checks import write_checks
from ..io.class_loss import read_class_loss, write_class_loss
from ..io.samples import read_samples
from ..io.valid import write_valid_samples
from ..sampling.class_loss import class_loss_checks, exclusion_account
from ..scripting import Job


def run(job: Job) -> None:
    """Write ``results/valid_samples.csv``, the check record and the class account from the shard files."""
    streams = {name: list(getattr(job.input, name)) for name in job.params["streams"]}
    table = valid_sample_table(streams)
    samples = read_samples(job.input.samples, columns=["sample_id", "lcz"])
    before = list(job.input.class_loss)
    account = exclusion_account(
        samples, table, exclusion_subjects(streams), read_class_loss(before[0]) if before else None
    )
    settings = job.params["samples"]
    checks = class_loss_checks(
        account,
        "valid_samples",
        settings["warn_class_loss_fraction"],
        settings["max_class_loss_fraction"],
        "samples",
    )
    write_valid_samples(job.output.table, table)
    write_checks(job.output.checks, checks)
    write_class_loss(job.output.class_loss, account)
