"""Stage of rule ``lczc_ges2_sentinel2``: one Sentinel-2 chip shard from the released patches (docs/contracts.md §3)."""

from __future__ import annotations

from ..importers.lczc_ges2.sentinel2 import import_s2_shard
from ..scripting import Job


def run(job: Job) -> None:
    """Convert the ``sen2_image_{i}.npz`` patches of shard ``job.wildcards["shard"]`` into a chip shard."""
    import_s2_shard(job.input.samples, int(job.wildcards["shard"]), job.output.chips)
