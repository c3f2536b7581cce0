"""Edge rules of a chip's graph (binary, undirected: both directions stored, no self-loops).

* ``adjacency``: nodes whose pixels come within ``tolerance_px`` of each other in the
  Chebyshev sense — some pixel of one lies in the ``(2t+1)×(2t+1)`` square around a pixel of the
  other. ``t = 1`` is ordinary 8-neighbour contact; ``t = 3`` also bridges gaps of up to two
  background pixels, which SAM leaves between neighbouring masks.
* ``complete``: every pair of nodes whose bounding-box centres differ (DF4LCZ's release: its
  stored dense matrix of centre distances is binarised with ``a > 0``, so only nodes with
  coincident centres stay unjoined).
* ``radius``: bounding-box centres (in pixels) at Euclidean distance ≤ ``radius_px``.
* ``knn``: each node joined to its ``k`` nearest centres (ties broken by node order), then
  symmetrised (an edge when either node picks the other).

Which rule and parameter a run uses is the ``graphs`` config section.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .runs import Runs, Work, row_runs


def adjacency_pairs(labels: np.ndarray, tolerance_px: int) -> np.ndarray:
    """Pairs of labels whose pixels come within ``tolerance_px`` (Chebyshev) of each other.

    Works on row runs (see :func:`adjacency_edges`), so the cost grows with the number of runs,
    not with ``(2t+1)²`` pixel shifts.

    Returns:
        ``(P, 2)`` int64 label pairs ``(a, b)`` with ``a < b``, sorted, unique.
    """
    if int(tolerance_px) != tolerance_px or tolerance_px < 1:
        raise ValueError(f"tolerance_px must be an integer >= 1 (1 = touching masks), got {tolerance_px}")
    labels = np.ascontiguousarray(labels)
    if labels.ndim != 2:
        raise ValueError(f"labels must be an (H, W) label map, got shape {labels.shape}")
    work = Work(labels.shape[0], labels.shape[1], int(tolerance_px))
    runs = row_runs(labels, work)
    if len(runs.label) == 0:
        return np.zeros((0, 2), dtype=np.int64)
    node_labels, node_of_run = _run_nodes(runs)
    ei = adjacency_edges(runs, node_of_run, len(node_labels), labels.shape, int(tolerance_px), work)
    ei = ei[:, ei[0] < ei[1]]
    return node_labels[ei.T].astype(np.int64)


def _run_nodes(runs: Runs) -> tuple[np.ndarray, np.ndarray]:
    """The labels present (sorted) and, per foreground run, the index of its label among them."""
    present = np.zeros(int(runs.label.max()) + 1, dtype=bool)
    present[runs.label] = True
    node_labels = np.flatnonzero(present)
    index_of = np.cumsum(present, dtype=np.intp)
    index_of -= 1
    return node_labels, index_of[runs.label]


def adjacency_edges(
    runs: Runs, node_of_run: np.ndarray, n_nodes: int, shape: tuple[int, int], t: int, work: Work
) -> np.ndarray:
    """``(2, E)`` edge_index (both directions, sorted by source then target) of the nodes whose
    runs come within ``t`` (Chebyshev) of each other; ``node_of_run`` maps foreground runs to
    node indices ``0..n_nodes-1``; ``work`` holds the foreground mask of the runs' label map
    with at least ``t`` padding rows.

    Two runs are within ``t`` when their rows differ by at most ``t`` and the gap between their
    column intervals is at most ``t``. For every foreground run (row ``y``, ``[x0, x1]``) and
    every row offset ``d = 0..t``, the foreground runs of row ``y + d`` meeting the widened
    interval ``[lo, hi] = [max(x0 - t, 0), min(x1 + t, W - 1)]`` form a contiguous range
    ``[first, stop)`` of the row-major run list (a window); offsets ``d ≥ 0`` suffice because
    the result is symmetrised.

    * The range ends come from one ``(H + t)·W`` map holding, per pixel, the number of
      foreground runs starting at or before it (``np.repeat`` over the runs; the ``t`` rows
      past the bottom hold no run): ``stop`` is the map at ``hi``, ``first`` the map at ``lo``,
      less one when ``lo`` is a foreground pixel (it then lies in the last of those runs).
    * Each run carries its node as a bit set (``⌈K/64⌉`` uint64 words). The nodes of a window
      are the OR of a range of runs, read in O(1) from a sparse table (level ``k + 1`` = OR of
      ``2^k`` consecutive runs) as the OR of two overlapping power-of-two blocks; the all-zero
      level 0 answers empty windows.
    * The windows' bit sets are OR-ed per source node (``np.bitwise_or.at``), unpacked into the
      ``(K, K)`` table, symmetrised, and read off with ``np.nonzero`` (hence sorted).
    """
    h, w = shape
    n = len(node_of_run)
    if len(work.foreground) < (h + t) * w:
        raise ValueError(f"the scratch buffers hold fewer than the {t} padding rows needed")
    # the run map (int16 when its values, up to n, fit)
    index_type = np.int16 if n <= np.iinfo(np.int16).max else np.int32
    lengths = np.empty(n + 1, dtype=np.intp)
    lengths[0] = runs.start[0]
    np.subtract(runs.start[1:], runs.start[:-1], out=lengths[1:n])
    lengths[n] = (h + t) * w - runs.start[-1]
    run_map = np.repeat(np.arange(n + 1, dtype=index_type), lengths)
    # windows: one row per offset d (all indices below are in range by construction; "clip"
    # only spares numpy the bounds checks)
    base = runs.start - runs.x0
    shift = (np.arange(t + 1) * w)[:, None]
    lo = base + np.maximum(runs.x0 - t, 0) + shift
    hi = base + np.minimum(runs.x1 + t, w - 1) + shift
    stop = run_map.take(hi, mode="clip")
    first = run_map.take(lo, mode="clip")
    del run_map
    first -= work.foreground.take(lo, mode="clip")
    cnt = stop - first
    # sparse table over the runs' bit sets: level 0 all zero (empty windows), level k + 1 the OR
    # of 2^k consecutive runs, each level n + 1 long (an empty window may start at run n)
    max_cnt = int(cnt.max())
    n_levels = max_cnt.bit_length() + 1
    n_words = (n_nodes + 63) // 64
    stride = n_levels * (n + 1)
    table: np.ndarray = np.zeros((n_words, n_levels, n + 1), dtype=np.uint64)
    bit = _BITS.take(node_of_run & 63)
    if n_words == 1:
        table[0, 1, :n] = bit
    else:
        np.put(table, (node_of_run >> 6) * stride + (n + 1) + np.arange(n), bit)
    for k in range(2, n_levels):
        half = 1 << (k - 2)
        np.bitwise_or(table[:, k - 1, :-half], table[:, k - 1, half:], out=table[:, k, :-half])
    table = table.reshape(n_words, stride)
    # a window of c runs reads level c.bit_length() at first and at first + c - 2^(level - 1)
    level, second = _window_levels(max_cnt)
    a = level.take(cnt, mode="clip")
    a *= n + 1
    a += first
    b = second.take(cnt, mode="clip")
    b += a
    per_node = np.zeros((n_nodes, n_words), dtype=np.uint64)
    for word in range(n_words):
        window = table[word].take(a)
        window |= table[word].take(b)
        np.bitwise_or.at(per_node[:, word], node_of_run, np.bitwise_or.reduce(window, axis=0))
    near = np.unpackbits(per_node.astype("<u8").view(np.uint8), axis=1, count=n_nodes, bitorder="little")
    near = near.view(bool)
    near |= near.T
    np.fill_diagonal(near, False)
    return np.stack(np.nonzero(near)).astype(np.int64)


#: ``1 << j`` for j = 0..63.
_BITS = np.left_shift(np.uint64(1), np.arange(64, dtype=np.uint64))


def _window_levels(max_size: int) -> tuple[np.ndarray, np.ndarray]:
    """For window sizes ``c = 0..max_size``: the sparse-table level ``c.bit_length()`` and the
    offset ``c - 2^(level - 1)`` of the second block (0 for ``c = 0``), as intp arrays."""
    size = np.arange(max(max_size, 1) + 1)
    level = np.frexp(size)[1].astype(np.intp)  # bit_length, exactly
    second = size - np.left_shift(1, np.maximum(level - 1, 0)) * (size > 0)
    return level, second.astype(np.intp)


def complete_edges(centres: np.ndarray) -> np.ndarray:
    """``(2, E)`` edge_index (both directions, sorted) joining every two nodes whose ``(K, 2)``
    centres differ."""
    c = np.asarray(centres)
    near = (c[:, None, 0] != c[None, :, 0]) | (c[:, None, 1] != c[None, :, 1])
    return np.stack(np.nonzero(near)).astype(np.int64)


def radius_pairs(centres: np.ndarray, radius_px: float) -> np.ndarray:
    """``(P, 2)`` node pairs ``i < j`` whose centres are at distance ≤ ``radius_px``."""
    d2 = ((centres[:, None, :] - centres[None, :, :]) ** 2).sum(-1)
    ia, ib = np.nonzero(np.triu(d2 <= radius_px * radius_px, 1))
    return np.stack([ia, ib], axis=1).astype(np.int64)


def knn_pairs(centres: np.ndarray, k: int) -> np.ndarray:
    """``(P, 2)`` node pairs ``i < j`` where one is among the other's ``k`` nearest centres."""
    n = len(centres)
    if n < 2:
        return np.zeros((0, 2), dtype=np.int64)
    d2 = ((centres[:, None, :] - centres[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d2, np.inf)
    kk = min(k, n - 1)
    nearest = np.argsort(d2, axis=1, kind="stable")[:, :kk]
    table = np.zeros((n, n), dtype=bool)
    table[np.repeat(np.arange(n), kk), nearest.ravel()] = True
    table |= table.T
    ia, ib = np.nonzero(np.triu(table, 1))
    return np.stack([ia, ib], axis=1).astype(np.int64)


def undirected_edges(pairs: np.ndarray) -> np.ndarray:
    """``(2, 2P)`` edge_index with both directions, sorted by (source, target)."""
    if len(pairs) == 0:
        return np.zeros((2, 0), dtype=np.int64)
    both = np.concatenate([pairs, pairs[:, ::-1]], axis=0)
    order = np.lexsort((both[:, 1], both[:, 0]))
    return both[order].T.astype(np.int64)


@dataclass(frozen=True)
class EdgeRule:
    """One edge rule of ``graphs.edge_rule``: the setting it reads and how it joins nodes.

    Attributes:
        name: the ``graphs.edge_rule`` value.
        param: the ``graphs.<param>`` setting it reads, recorded in graph and model files
            (docs/contracts.md §5, §7); ``None`` when the rule has none.
        cast: the type the parameter is recorded as.
        valid: whether a parameter value is allowed; ``requirement`` says what is.
        centre_edges: ``(centres (K, 2), parameter) → edge_index (2, E)`` for the rules on box
            centres; ``None`` for ``adjacency``, which works on the painted label map.
    """

    name: str
    param: str | None
    cast: Callable[[Any], Any] = int
    valid: Callable[[Any], bool] = lambda value: True
    requirement: str = ""
    centre_edges: Callable[[np.ndarray, Any], np.ndarray] | None = None


def _is_positive_int(value: Any) -> bool:
    return int(value) == value and value >= 1


#: The edge rules, by name (the schema's ``graphs.edge_rule`` enum lists the same names: a test checks it).
EDGE_RULES: dict[str, EdgeRule] = {
    "adjacency": EdgeRule(
        "adjacency", "tolerance_px", int, _is_positive_int, "must be an integer >= 1 (1 = touching masks)"
    ),
    "complete": EdgeRule("complete", None, centre_edges=lambda centres, _: complete_edges(centres)),
    "radius": EdgeRule(
        "radius",
        "radius_px",
        float,
        lambda value: value > 0,
        "must be > 0",
        lambda centres, radius_px: undirected_edges(radius_pairs(centres, radius_px)),
    ),
    "knn": EdgeRule(
        "knn",
        "k",
        int,
        _is_positive_int,
        "must be an integer >= 1",
        lambda centres, k: undirected_edges(knn_pairs(centres, k)),
    ),
}


def edge_rule(name: str) -> EdgeRule:
    """The :class:`EdgeRule` called ``name``; ``ValueError`` listing the known ones otherwise."""
    try:
        return EDGE_RULES[name]
    except KeyError:
        raise ValueError(f"edge_rule {name!r} is unknown; expected one of {list(EDGE_RULES)}") from None


def check_edge_params(edge_rule_name: str, tolerance_px: int, radius_px: float, k: int) -> None:
    """``ValueError`` for an unknown edge rule or an out-of-range parameter of the chosen one."""
    rule = edge_rule(edge_rule_name)
    if rule.param is not None:
        value = {"tolerance_px": tolerance_px, "radius_px": radius_px, "k": k}[rule.param]
        if not rule.valid(value):
            raise ValueError(f"{rule.param} {rule.requirement}, got {value}")
