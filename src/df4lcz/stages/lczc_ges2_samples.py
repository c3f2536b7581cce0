"""Stage of rule ``lczc_ges2_samples``: the sample table of the released LCZC-GES2 files (docs/contracts.md §1).

Outputs: ``results/samples.parquet`` (one row per sample with both a ``sen2_image_{i}.npz`` and a
``graph_{i}.npz``) and ``results/tables/samples_per_class.csv`` (``lcz,samples``).
"""

from __future__ import annotations

from ..importers.lczc_ges2.scan import scan_lczc_ges2, write_samples_table
from ..io.tables import write_count_table
from ..logs import get_logger
from ..scripting import Job


def run(job: Job) -> None:
    """Scan ``job.input.root`` and write the sample table and its per-class counts."""
    samples = write_samples_table(scan_lczc_ges2(job.input.root), job.output.table, job.params["shard_size"])
    counts = samples.groupby("lcz").size().rename("samples").reset_index()
    get_logger("samples").info(
        "%d samples in %d shards\n%s", len(samples), samples["shard"].nunique(), counts.to_string(index=False)
    )
    write_count_table(job.output.summary, counts)
