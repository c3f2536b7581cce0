"""Stage of rule ``lczc_ges2_graphs``: one graph shard from the released graph files (docs/contracts.md §5)."""

from __future__ import annotations

from ..importers.lczc_ges2.graphs import import_graph_shard
from ..scripting import Job


def run(job: Job) -> None:
    """Convert the ``graph_{i}.npz`` files (dense adjacency) of shard ``job.wildcards["shard"]``."""
    import_graph_shard(job.input.samples, int(job.wildcards["shard"]), job.output.graphs)
