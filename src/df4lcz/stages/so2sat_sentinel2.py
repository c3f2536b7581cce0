"""Stage of rule ``so2sat_sentinel2``: one Sentinel-2 chip shard from a So2Sat LCZ42 file slice (docs/contracts.md §3)."""

from __future__ import annotations

from ..importers.so2sat import import_so2sat_shard
from ..scripting import Job


def run(job: Job) -> None:
    """Copy the rows of shard ``job.wildcards["shard"]`` out of its So2Sat file into a chip shard."""
    import_so2sat_shard(job.input.samples, int(job.wildcards["shard"]), job.params["files"], job.output.chips)
