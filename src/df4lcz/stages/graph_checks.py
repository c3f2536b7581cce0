"""Stage of rule ``graph_checks``: one-node graphs counted over every graphs shard of the run.

Inputs: every ``results/graphs/{shard}.h5`` (docs/contracts.md §5, built or imported). Output:
``results/checks/graphs.csv`` (§13). Stops, writing nothing, when more graphs than
``graphs.max_single_node_fraction`` have a single node (:mod:`df4lcz.graphs.degenerate`); the GCN
trains only after this rule, the Sentinel-2 models do not wait for it.
"""

from __future__ import annotations

from ..graphs.degenerate import check_single_node_graphs
from ..io.checks import write_checks
from ..scripting import Job


def run(job: Job) -> None:
    """Count the degenerate graphs of ``job.input.graphs``; limit ``job.params["max_single_node_fraction"]``."""
    rows = check_single_node_graphs(
        list(job.input.graphs), job.params["max_single_node_fraction"], stage="graph_checks"
    )
    write_checks(job.output.checks, rows)
