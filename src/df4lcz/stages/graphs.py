"""Stage of rule ``graphs``: one graph per sample of a shard, from its masks and its Google chip.

Inputs: ``results/masks/{shard}.h5`` (docs/contracts.md §4), ``results/chips/google/{shard}.h5``
(§2, same samples in the same order) and the sample table (§1, ``lcz`` → ``y``). Output:
``results/graphs/{shard}.h5`` (§5, through :mod:`df4lcz.io.graphs`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..graphs.build import build_graphs, graph_settings
from ..io.chips import read_chips
from ..io.graphs import GraphSet, write_graphs
from ..io.masks import read_masks
from ..io.samples import read_samples
from ..logs import get_logger
from ..scripting import Job

log = get_logger(__name__)


def run(job: Job) -> None:
    """Build the shard's graphs with the ``graphs`` config section of the job's params."""
    graphs_shard_file(job.input.masks, job.input.chips, job.input.samples, job.output.graphs,
                      job.params["graphs"])


def graphs_shard_file(
    masks_path: str | os.PathLike,
    chips_path: str | os.PathLike,
    samples_path: str | os.PathLike,
    graphs_path: str | os.PathLike,
    params: Mapping[str, Any],
) -> GraphSet:
    """Build the graphs of one shard from its masks and chips; write the graphs file.

    Args:
        masks_path: ``results/masks/{shard}.h5``.
        chips_path: ``results/chips/google/{shard}.h5`` (same samples, same order).
        samples_path: the sample table (``lcz`` → ``y``).
        graphs_path: output ``results/graphs/{shard}.h5`` (atomic).
        params: the ``graphs`` config section (validated): ``features``, ``mask_view``,
            ``edge_rule``, ``tolerance_px``, ``radius_px``, ``k``.

    Raises:
        ValueError: masks and chips hold different samples, or a sample is not in the table.
    """
    mask_ids, maskset = read_masks(masks_path)
    chips = read_chips(chips_path, "google")
    chip_ids, images = chips.sample_id, chips.image
    if not np.array_equal(mask_ids, chip_ids):
        raise ValueError(f"{masks_path} and {chips_path} hold different samples; rerun the segment rule")
    lcz = read_samples(samples_path, columns=["sample_id", "lcz"]).set_index("sample_id")["lcz"]
    missing = [int(i) for i in mask_ids if int(i) not in lcz.index]
    if missing:
        raise ValueError(f"{masks_path}: sample(s) {missing[:5]} are not in the sample table {samples_path}")
    y = lcz.loc[mask_ids].to_numpy().astype(np.int64)
    graphset = build_graphs(maskset, images, **graph_settings(params))
    write_graphs(graphs_path, mask_ids, y, graphset, {"masks": os.path.basename(os.fspath(masks_path))})
    n_nodes = np.diff(graphset.node_ptr)
    n_edges = np.diff(graphset.edge_ptr)
    log.info("%s: %d graphs (mask view %s, edge rule %s), %.1f nodes and %.1f directed edges per graph",
             graphs_path, len(graphset), graphset.params["mask_view"], graphset.params["edge_rule"],
             float(n_nodes.mean()) if len(n_nodes) else 0.0, float(n_edges.mean()) if len(n_edges) else 0.0)
    return graphset
