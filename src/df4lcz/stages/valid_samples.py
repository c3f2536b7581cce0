"""Stage of rule ``valid_samples``: the samples present in every stream (docs/contracts.md §7).

Exclusions of one stream apply to all: the table lists every sample seen, valid or not, and why.
"""

from __future__ import annotations

from ..chipping.valid import valid_sample_table
from ..io.valid import write_valid_samples
from ..scripting import Job


def run(job: Job) -> None:
    """Write ``results/valid_samples.csv`` from the shard files of the streams in ``job.params["streams"]``."""
    streams = {name: list(getattr(job.input, name)) for name in job.params["streams"]}
    write_valid_samples(job.output.table, valid_sample_table(streams))
