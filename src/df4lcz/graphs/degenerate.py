"""Degenerate graphs: chips without any mask and one-node graphs, counted, warned about, limited.

A chip without mask becomes one whole-chip node (docs/contracts.md §5) and a chip with a single
mask one node too: such a graph carries little more than the chip's mean colour, and a run where
most graphs are like that trains a GCN on nothing while looking normal. The ``graphs`` rule counts
them per shard (:func:`count_graphs`, recorded by :func:`graph_check_rows`); the ``graph_checks``
gather, which sees every shard and runs before the GCN trains, counts them over the run and stops
above ``graphs.max_single_node_fraction`` (:func:`check_single_node_graphs`). Above
:data:`SINGLE_NODE_WARN_FRACTION` each is a warning in the log and in the input-check record
(docs/contracts.md §13).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..io.checks import CheckRow
from ..io.graphs import ZERO_MASK_ATTR, read_graph_attrs, read_node_counts
from ..logs import get_logger

log = get_logger(__name__)

#: Fraction of one-node graphs (or of chips without mask) above which a warning is logged and recorded.
SINGLE_NODE_WARN_FRACTION: float = 0.2

#: Config key of the largest fraction of one-node graphs over all shards.
MAX_SINGLE_NODE_KEY: str = "graphs.max_single_node_fraction"


@dataclass(frozen=True)
class GraphCounts:
    """Degenerate graphs among ``n_graphs``.

    Attributes:
        n_graphs: graphs counted.
        n_single_node: graphs with exactly one node.
        n_zero_mask: chips without any mask (``None`` when unknown, e.g. imported graphs).
    """

    n_graphs: int
    n_single_node: int
    n_zero_mask: int | None = None

    @property
    def single_node_fraction(self) -> float:
        """:attr:`n_single_node` / :attr:`n_graphs` (0 without graphs)."""
        return self.n_single_node / self.n_graphs if self.n_graphs else 0.0

    @property
    def zero_mask_fraction(self) -> float | None:
        """:attr:`n_zero_mask` / :attr:`n_graphs` (``None`` when unknown, 0 without graphs)."""
        if self.n_zero_mask is None:
            return None
        return self.n_zero_mask / self.n_graphs if self.n_graphs else 0.0

    def __add__(self, other: GraphCounts) -> GraphCounts:
        zero = (
            None
            if self.n_zero_mask is None or other.n_zero_mask is None
            else self.n_zero_mask + other.n_zero_mask
        )
        return GraphCounts(self.n_graphs + other.n_graphs, self.n_single_node + other.n_single_node, zero)


def count_graphs(node_counts: np.ndarray, mask_counts: np.ndarray | None = None) -> GraphCounts:
    """Count one-node graphs (``node_counts == 1``) and chips without mask (``mask_counts == 0``).

    Args:
        node_counts: ``(G,)`` nodes per graph (``diff(node_ptr)``).
        mask_counts: ``(G,)`` masks per chip (``MaskSet.n_masks()``), or ``None`` when unknown.

    Raises:
        ValueError: the two arrays differ in length.
    """
    nodes = np.asarray(node_counts).reshape(-1)
    if mask_counts is not None and len(mask_counts) != len(nodes):
        raise ValueError(f"count_graphs: {len(mask_counts)} mask counts for {len(nodes)} graphs")
    zero = None if mask_counts is None else int((np.asarray(mask_counts) == 0).sum())
    return GraphCounts(len(nodes), int((nodes == 1).sum()), zero)


def _level(fraction: float) -> str:
    return "warning" if fraction > SINGLE_NODE_WARN_FRACTION else "info"


def graph_check_rows(
    stage: str, subject: str, counts: GraphCounts, threshold: float | None = None
) -> list[CheckRow]:
    """The input-check rows of ``counts``: chips without mask (when known), then one-node graphs.

    Each row's level is ``warning`` above :data:`SINGLE_NODE_WARN_FRACTION` (then also logged as a
    warning), else ``info``.

    Args:
        stage: the rule recording them.
        subject: the graphs file (one shard) or what the counts cover (all shards).
        counts: the counts.
        threshold: the limit of the one-node row (``graphs.max_single_node_fraction`` where it is
            enforced); ``None`` records :data:`SINGLE_NODE_WARN_FRACTION`.
    """
    n = counts.n_graphs
    rows: list[CheckRow] = []
    zero = counts.zero_mask_fraction
    if zero is not None:
        msg = (
            f"{subject}: {counts.n_zero_mask} of {n} chips ({100 * zero:.1f} %) have no mask (one whole-chip "
            f"node each); warning above {100 * SINGLE_NODE_WARN_FRACTION:g} %"
        )
        rows.append(
            CheckRow(stage, _level(zero), subject, "zero_mask_chips", zero, SINGLE_NODE_WARN_FRACTION, msg)
        )
    single = counts.single_node_fraction
    limit = SINGLE_NODE_WARN_FRACTION if threshold is None else threshold
    msg = (
        f"{subject}: {counts.n_single_node} of {n} graphs ({100 * single:.1f} %) have a single node; warning "
        f"above {100 * SINGLE_NODE_WARN_FRACTION:g} %"
        + (f", error above {MAX_SINGLE_NODE_KEY} = {threshold:g}" if threshold is not None else "")
    )
    rows.append(CheckRow(stage, _level(single), subject, "single_node_graphs", single, limit, msg))
    for row in rows:
        if row.level == "warning":
            log.warning("%s", row.message)
    return rows


def check_single_node_graphs(
    graph_files: Sequence[str | os.PathLike], max_fraction: float, stage: str = "graph_checks"
) -> list[CheckRow]:
    """Count degenerate graphs over all shards; stop when one-node graphs exceed ``max_fraction``.

    Nodes per graph come from each file's ``node_ptr`` (so imported graphs are counted too); chips
    without mask from the attr :data:`~df4lcz.io.graphs.ZERO_MASK_ATTR` where every file has it.

    Args:
        graph_files: every graphs shard of the run (none: nothing to check).
        max_fraction: ``graphs.max_single_node_fraction``.
        stage: the rule recording the rows.

    Returns:
        The input-check rows over all shards (:func:`graph_check_rows`); none without files.

    Raises:
        ValueError: the fraction of one-node graphs exceeds ``max_fraction``, naming the key, the
            counts and the shards with the most one-node graphs.
    """
    if not graph_files:
        return []
    total = GraphCounts(0, 0, 0)
    per_file: list[tuple[str, GraphCounts]] = []
    for path in graph_files:
        attrs = read_graph_attrs(path)
        zero = int(attrs[ZERO_MASK_ATTR]) if ZERO_MASK_ATTR in attrs else None
        nodes = read_node_counts(path)
        counts = GraphCounts(len(nodes), int((nodes == 1).sum()), zero)
        per_file.append((os.fspath(path), counts))
        total = total + counts
    dirs = sorted({os.path.dirname(p) or "." for p, _ in per_file})
    subject = f"{', '.join(dirs)} ({len(per_file)} shard(s))"
    if total.single_node_fraction > max_fraction:
        worst = sorted(per_file, key=lambda pc: -pc[1].single_node_fraction)[:3]
        shards = ", ".join(f"{os.path.basename(p)} {100 * c.single_node_fraction:.0f} %" for p, c in worst)
        zero_note = (
            f", {total.n_zero_mask} of them chips without any mask" if total.n_zero_mask is not None else ""
        )
        raise ValueError(
            f"{subject}: {total.n_single_node} of {total.n_graphs} graphs ({100 * total.single_node_fraction:.1f} %) "
            f"have a single node{zero_note}, more than {MAX_SINGLE_NODE_KEY} = {max_fraction:g} (most: {shards}); "
            "expected several masks per chip: check the segmentation (results/figures/masks/, segment.min_area, "
            f"the SAM checkpoint) and the Google chips, or raise {MAX_SINGLE_NODE_KEY}"
        )
    return graph_check_rows(stage, subject, total, threshold=max_fraction)
