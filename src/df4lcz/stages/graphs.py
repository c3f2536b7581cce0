"""Stage of rule ``graphs``: one graph per sample of a shard, from its masks and its Google chip.

Inputs: ``results/masks/{shard}.h5`` (docs/contracts.md §4), ``results/chips/google/{shard}.h5``
(§2, same samples in the same order) and the sample table (§1, ``lcz`` → ``y``). Outputs:
``results/graphs/{shard}.h5`` (§5, through :mod:`df4lcz.io.graphs`, with the counts of chips
without mask and of one-node graphs as attrs) and its input-check record
``results/checks/graphs/{shard}.csv`` (§13, :mod:`df4lcz.graphs.degenerate`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..errors import ContractError
from ..graphs.build import build_graphs, graph_settings
from ..graphs.degenerate import count_graphs, graph_check_rows
from ..io.checks import write_checks
from ..io.chips import read_chips
from ..io.graphs import SINGLE_NODE_ATTR, ZERO_MASK_ATTR, GraphSet, write_graphs
from ..io.masks import read_masks
from ..io.samples import read_samples
from ..logs import get_logger
from ..scripting import Job

log = get_logger(__name__)


def run(job: Job) -> None:
    """Build the shard's graphs with the ``graphs`` config section of the job's params."""
    graphs_shard_file(
        job.input.masks,
        job.input.chips,
        job.input.samples,
        job.output.graphs,
        job.params["graphs"],
        checks_path=job.output.checks,
    )


def graphs_shard_file(
    masks_path: str | os.PathLike,
    chips_path: str | os.PathLike,
    samples_path: str | os.PathLike,
    graphs_path: str | os.PathLike,
    params: Mapping[str, Any],
    checks_path: str | os.PathLike | None = None,
) -> GraphSet:
    """Build the graphs of one shard from its masks and chips; write the graphs file.

    Args:
        masks_path: ``results/masks/{shard}.h5``.
        chips_path: ``results/chips/google/{shard}.h5`` (same samples, same order).
        samples_path: the sample table (``lcz`` → ``y``).
        graphs_path: output ``results/graphs/{shard}.h5`` (atomic).
        params: the ``graphs`` config section (validated): ``features``, ``mask_view``,
            ``edge_rule``, ``tolerance_px``, ``radius_px``, ``k``.
        checks_path: output ``results/checks/graphs/{shard}.csv`` (chips without mask and one-node
            graphs, each a warning above :data:`df4lcz.graphs.degenerate.SINGLE_NODE_WARN_FRACTION`);
            ``None`` writes none (the counts are logged and stored as attrs all the same).

    Raises:
        ValueError: masks and chips hold different samples, or a sample is not in the table.
    """
    mask_ids, maskset = read_masks(masks_path)
    chips = read_chips(chips_path, "google")
    chip_ids, images = chips.sample_id, chips.image
    if not np.array_equal(mask_ids, chip_ids):
        raise ContractError(f"{masks_path} and {chips_path} hold different samples; rerun the segment rule")
    lcz = read_samples(samples_path, columns=["sample_id", "lcz"]).set_index("sample_id")["lcz"]
    missing = [int(i) for i in mask_ids if int(i) not in lcz.index]
    if missing:
        raise ContractError(
            f"{masks_path}: sample(s) {missing[:5]} are not in the sample table {samples_path}"
        )
    y = lcz.loc[mask_ids].to_numpy().astype(np.int64)
    graphset = build_graphs(maskset, images, **graph_settings(params))
    n_nodes = np.diff(graphset.node_ptr)
    counts = count_graphs(n_nodes, maskset.n_masks())
    write_graphs(
        graphs_path,
        mask_ids,
        y,
        graphset,
        {
            "masks": os.path.basename(os.fspath(masks_path)),
            ZERO_MASK_ATTR: counts.n_zero_mask,
            SINGLE_NODE_ATTR: counts.n_single_node,
        },
    )
    rows = graph_check_rows("graphs", os.fspath(graphs_path), counts)
    if checks_path is not None:
        write_checks(checks_path, rows)
    n_edges = np.diff(graphset.edge_ptr)
    log.info(
        "%s: %d graphs (mask view %s, edge rule %s), %.1f nodes and %.1f directed edges per graph",
        graphs_path,
        len(graphset),
        graphset.params["mask_view"],
        graphset.params["edge_rule"],
        float(n_nodes.mean()) if len(n_nodes) else 0.0,
        float(n_edges.mean()) if len(n_edges) else 0.0,
    )
    return graphset
