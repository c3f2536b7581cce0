"""Stage of rule ``so2sat_samples``: the sample table of the So2Sat LCZ42 files (docs/contracts.md §1).

Outputs: ``results/samples.parquet`` (one row per patch of training, validation, testing) and
``results/tables/samples_per_class.csv`` (``lcz,samples``).
"""

from __future__ import annotations

from ..importers.so2sat import so2sat_samples
from ..io.tables import write_count_table
from ..logs import get_logger
from ..scripting import Job


def run(job: Job) -> None:
    """Read the labels of ``job.params["files"]`` and write the sample table and its per-class counts."""
    samples = so2sat_samples(job.params["files"], job.output.table, job.params["shard_size"])
    counts = samples.groupby("lcz").size().rename("samples").reset_index()
    get_logger("samples").info(
        "%d samples in %d shards\n%s", len(samples), samples["shard"].nunique(), counts.to_string(index=False)
    )
    write_count_table(job.output.summary, counts)
