"""Instance graphs from mask label maps: node features, edge rules, PyG-style collation.

Nodes
-----
One node per label present in a chip's instance label map (0 = background), in label order.
All node statistics use the label map, i.e. the *visible* pixels of each mask (where masks
overlapped, the masks file already decided which one owns a pixel). Features, by name:

* ``r``, ``g``, ``b`` — mean red/green/blue of the node's pixels, divided by 255;
* ``cx``, ``cy`` — centre of the node's bounding box over image width/height, in pixel-edge
  coordinates: ``cx = (x_min + x_max + 1) / (2 W)`` (a mask covering the chip → 0.5);
* ``area`` — pixels / (H·W);
* ``bbox_w``, ``bbox_h`` — bounding-box width ``(x_max - x_min + 1) / W`` and height likewise;
* ``elongation`` — ``1 - sqrt(λ_min / λ_max)`` of the covariance of the node's pixels treated as
  unit squares (each variance gets +1/12): 0 for a square or disc, → 1 for a thin line
  (a 1×n bar gives ``1 - 1/n``).

DF4LCZ uses the first five (:data:`DEFAULT_FEATURES`).

Edges (binary, undirected: both directions stored, no self-loops)
------------------------------------------------------------------
* ``adjacency`` (default): nodes whose pixels come within ``tolerance_px`` of each other in the
  Chebyshev sense — some pixel of one lies in the ``(2t+1)×(2t+1)`` square around a pixel of the
  other. ``t = 1`` is ordinary 8-neighbour contact; ``t = 3`` also bridges gaps of up to two
  background pixels, which SAM leaves between neighbouring masks.
* ``radius``: bounding-box centres (in pixels) at Euclidean distance ≤ ``radius_px`` (the paper's
  centre-distance preset).
* ``knn``: each node joined to its ``k`` nearest centres (ties broken by node order), then
  symmetrised (an edge when either node picks the other).

Chips without any mask
----------------------
A chip whose label map is all background becomes a one-node graph describing the whole chip:
mean RGB of the chip, centre (0.5, 0.5), area, bbox_w and bbox_h 1, elongation 0, no edges.

Everything is vectorised and exact; per chip the work is a few passes over the pixels (row
runs, one packed ``np.add.reduceat`` for the colour sums, one run-index map for the adjacency
windows) plus array operations on the few thousand foreground row runs. Scratch buffers are
reused from chip to chip.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .io.hdf5 import read_h5, write_h5
from .logs import get_logger, progress

log = get_logger(__name__)

#: DF4LCZ's node features (mean R, G, B and bounding-box centre).
DEFAULT_FEATURES: tuple[str, ...] = ("r", "g", "b", "cx", "cy")

#: Every node feature this module can compute.
AVAILABLE_FEATURES: tuple[str, ...] = ("r", "g", "b", "cx", "cy", "area", "bbox_w", "bbox_h", "elongation")

#: Edge rules.
EDGE_RULES: tuple[str, ...] = ("adjacency", "radius", "knn")

#: Default parameters of the edge rules.
DEFAULT_TOLERANCE_PX: int = 3
DEFAULT_RADIUS_PX: float = 80.0
DEFAULT_K: int = 6

#: Runs are cut every this many columns, so a run's channel sum (≤ 256 × 255) fits in 16 bits and
#: R, G, B sums can be accumulated together in one uint64 (bits 0, 16, 32) by ``np.add.reduceat``.
RUN_SPLIT_PX: int = 256


def check_features(features: Sequence[str]) -> tuple[str, ...]:
    """Validate feature names; ``ValueError`` listing the valid ones for an unknown or repeated name."""
    names = tuple(features)
    if not names:
        raise ValueError(
            f"features: at least one node feature is needed; choose from {list(AVAILABLE_FEATURES)}"
        )
    unknown = [f for f in names if f not in AVAILABLE_FEATURES]
    if unknown:
        raise ValueError(
            f"features: unknown node feature(s) {unknown}; valid names are {list(AVAILABLE_FEATURES)}"
        )
    if len(set(names)) != len(names):
        raise ValueError(f"features: {list(names)} names a feature twice")
    return names


def _check_edge_params(edge_rule: str, tolerance_px: int, radius_px: float, k: int) -> None:
    if edge_rule not in EDGE_RULES:
        raise ValueError(f"edge_rule {edge_rule!r} is unknown; expected one of {list(EDGE_RULES)}")
    if edge_rule == "adjacency" and (int(tolerance_px) != tolerance_px or tolerance_px < 1):
        raise ValueError(f"tolerance_px must be an integer >= 1 (1 = touching masks), got {tolerance_px}")
    if edge_rule == "radius" and not radius_px > 0:
        raise ValueError(f"radius_px must be > 0, got {radius_px}")
    if edge_rule == "knn" and (int(k) != k or k < 1):
        raise ValueError(f"k must be an integer >= 1, got {k}")


# --------------------------------------------------------------------------------------------
# Row runs
# --------------------------------------------------------------------------------------------


class _Work:
    """Scratch buffers reused from chip to chip (one set per chip shape; ``pad``: background rows
    below the chip in ``foreground``, at least the adjacency tolerance)."""

    def __init__(self, h: int, w: int, pad: int = 0) -> None:
        # run starts, padded to whole 8-byte words (the padding stays False)
        self.change_flat = np.zeros(-(-h * w // 8) * 8, dtype=bool)
        self.change = self.change_flat[: h * w].reshape(h, w)
        # bytes of little-endian uint64s: R at byte 0, G at byte 2, B at byte 4, the rest stay 0
        self.packed = np.zeros((h * w, 8), dtype=np.uint8)
        # 1 where the label is not 0, then pad rows of 0
        self.foreground = np.zeros((h + pad) * w, dtype=np.uint8)


@dataclass
class _Runs:
    """Horizontal runs of one label in a label map (cut at every row start and every
    ``RUN_SPLIT_PX`` columns).

    Only foreground runs are kept, as (R,) arrays in row-major order: ``row``, first/last column
    ``x0``/``x1`` (inclusive), flat ``start`` pixel index and the run's ``label``.
    """

    row: np.ndarray
    x0: np.ndarray
    x1: np.ndarray
    start: np.ndarray
    label: np.ndarray


def _row_runs(labels: np.ndarray, work: _Work) -> _Runs:
    """Foreground row runs of an ``(H, W)`` C-contiguous label map: two ``!=`` passes over the
    pixels (also filling ``work.foreground``) and a ``flatnonzero`` over 8-pixel words, the rest
    on the runs."""
    h, w = labels.shape
    np.not_equal(labels.ravel(), 0, out=work.foreground[: h * w].view(bool))
    change = work.change
    np.not_equal(labels[:, 1:], labels[:, :-1], out=change[:, 1:])
    change[:, ::RUN_SPLIT_PX] = True
    all_start = _flatnonzero_bool(work.change_flat)
    lab = labels.ravel().take(all_start)
    fg = lab != 0
    fg_index = np.flatnonzero(fg)
    start = all_start.take(fg_index)
    # a run ends where the next run (foreground or not) starts
    end = np.empty_like(all_start)
    end[:-1] = all_start[1:]
    end[-1] = h * w
    end = end.take(fg_index)
    row, x0 = np.divmod(start, w)
    end -= 1
    end -= row * w
    return _Runs(row=row, x0=x0, x1=end, start=start, label=lab.take(fg_index).astype(np.intp))


def _flatnonzero_bool(flags: np.ndarray) -> np.ndarray:
    """``np.flatnonzero`` of a 1-D bool array whose length is a multiple of 8 and which is
    sparse: first the nonzero 8-byte words, then the set bytes within them."""
    words = flags.view(np.uint64)
    nonzero_words = np.flatnonzero(words != 0)  # (numpy's nonzero is fastest on bools)
    within = np.flatnonzero(words.take(nonzero_words).view(bool))
    out = nonzero_words.take(within >> 3)
    out <<= 3
    out += within & 7
    return out


# --------------------------------------------------------------------------------------------
# Node features
# --------------------------------------------------------------------------------------------


def node_features(
    labels: np.ndarray, image: np.ndarray, features: Sequence[str] = DEFAULT_FEATURES
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Node features of one chip (module docstring).

    Args:
        labels: ``(H, W)`` instance label map (0 = background).
        image: ``(H, W, 3)`` uint8 RGB chip.
        features: feature names (see :data:`AVAILABLE_FEATURES`).

    Returns:
        ``x`` ``(K, F)`` float32 features; ``node_labels`` ``(K,)`` the label of each node (0 for
        the whole-chip node of an empty label map); ``centres`` ``(K, 2)`` float64 bounding-box
        centres ``(x, y)`` in pixels.
    """
    names = check_features(features)
    labels, image = _check_chip(labels, image)
    work = _Work(*labels.shape)
    return _node_features(_row_runs(labels, work), labels, image, names, work)


def _check_chip(labels: np.ndarray, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    labels = np.asarray(labels)
    image = np.asarray(image)
    if labels.ndim != 2 or image.shape != (*labels.shape, 3):
        raise ValueError(
            f"image has shape {image.shape}; expected {(*labels.shape, 3)} to match the label map"
        )
    return np.ascontiguousarray(labels), np.ascontiguousarray(image)


def _node_features(
    runs: _Runs,
    labels: np.ndarray,
    image: np.ndarray,
    names: tuple[str, ...],
    work: _Work,
    want_centres: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """:func:`node_features` on precomputed runs (``centres`` None unless ``want_centres``).

    Per-label statistics are ``np.bincount`` / ``np.minimum.at`` reductions over the runs (a
    few thousand per chip), never over pixels.
    """
    h, w = labels.shape
    if len(runs.label) == 0:
        return _whole_chip_node(image, names)
    lab = runs.label
    n_lab = int(lab.max()) + 1
    n_px = (runs.x1 - runs.x0 + 1).astype(np.float64)
    count = np.bincount(lab, weights=n_px, minlength=n_lab)
    node_labels = np.flatnonzero(count)  # label 0 has no foreground run
    cnt = count[node_labels]
    xmin = np.full(n_lab, w, dtype=np.intp)
    xmax = np.zeros(n_lab, dtype=np.intp)
    ymin = np.full(n_lab, h, dtype=np.intp)
    ymax = np.zeros(n_lab, dtype=np.intp)
    np.minimum.at(xmin, lab, runs.x0)
    np.maximum.at(xmax, lab, runs.x1)
    np.minimum.at(ymin, lab, runs.row)
    np.maximum.at(ymax, lab, runs.row)
    xmin, xmax, ymin, ymax = (a[node_labels].astype(np.float64) for a in (xmin, xmax, ymin, ymax))
    columns: dict[str, np.ndarray] = {}
    if {"r", "g", "b"} & set(names):
        columns.update(_mean_rgb(runs, image, node_labels, cnt, n_lab, work))
    columns["cx"] = (xmin + xmax + 1.0) / (2.0 * w)
    columns["cy"] = (ymin + ymax + 1.0) / (2.0 * h)
    if "area" in names:
        columns["area"] = cnt / (h * w)
    if "bbox_w" in names:
        columns["bbox_w"] = (xmax - xmin + 1.0) / w
    if "bbox_h" in names:
        columns["bbox_h"] = (ymax - ymin + 1.0) / h
    if "elongation" in names:
        columns["elongation"] = _elongation(runs, n_px, n_lab)[node_labels]
    x = np.empty((len(node_labels), len(names)), dtype=np.float32)
    for j, name in enumerate(names):
        x[:, j] = columns[name]
    centres = np.stack([columns["cx"] * w, columns["cy"] * h], axis=1) if want_centres else None
    return x, node_labels, centres


def _mean_rgb(
    runs: _Runs, image: np.ndarray, node_labels: np.ndarray, cnt: np.ndarray, n_lab: int, work: _Work
) -> dict[str, np.ndarray]:
    """Mean R, G, B / 255 per node.

    The three channels of the foreground pixels are packed into one uint64 per pixel
    (R + G·2^16 + B·2^32, by byte-wise multiplication with the foreground mask of
    :func:`_row_runs` into a reused zeroed buffer; background pixels become 0) and summed with
    one ``np.add.reduceat`` from each foreground run's start to the next one's: the background
    after a run adds nothing, and background runs cost no segments of their own (reduceat's cost
    is mostly per segment). A run has at most ``RUN_SPLIT_PX`` pixels, so no field overflows.
    The sums are unpacked and summed per label over the runs.
    """
    rgb = image.reshape(-1, 3)
    packed = work.packed
    foreground = work.foreground[: len(rgb)]
    for byte, channel in ((0, 0), (2, 1), (4, 2)):
        np.multiply(rgb[:, channel], foreground, out=packed[:, byte], casting="unsafe")
    per_run = np.add.reduceat(packed.view(np.dtype("<u8")).ravel(), runs.start)
    fields = per_run.astype("<u8").view("<u2").reshape(-1, 4)  # R, G, B, 0 sums per run
    return {
        name: np.bincount(runs.label, weights=fields[:, c], minlength=n_lab)[node_labels] / (cnt * 255.0)
        for c, name in enumerate("rgb")
    }


def _elongation(runs: _Runs, n_px: np.ndarray, n_lab: int) -> np.ndarray:
    """``1 - sqrt(λmin/λmax)`` of each label's pixel covariance (pixels as unit squares)."""
    x0 = runs.x0.astype(np.float64)
    x1 = runs.x1.astype(np.float64)
    y = runs.row.astype(np.float64)

    def s2(m: np.ndarray) -> np.ndarray:  # sum of i**2 for i = 0..m
        return m * (m + 1.0) * (2.0 * m + 1.0) / 6.0

    sx_run = n_px * (x0 + x1) / 2.0
    sums = [
        np.bincount(runs.label, weights=wt, minlength=n_lab)
        for wt in (n_px, sx_run, s2(x1) - s2(x0 - 1.0), n_px * y, n_px * y * y, y * sx_run)
    ]
    c, sx, sxx, sy, syy, sxy = sums
    c = np.where(c > 0, c, 1.0)
    mx, my = sx / c, sy / c
    vx = sxx / c - mx * mx + 1.0 / 12.0
    vy = syy / c - my * my + 1.0 / 12.0
    cxy = sxy / c - mx * my
    half_sum, half_diff = (vx + vy) / 2.0, (vx - vy) / 2.0
    root = np.sqrt(half_diff * half_diff + cxy * cxy)
    lam_max, lam_min = half_sum + root, np.maximum(half_sum - root, 0.0)
    return 1.0 - np.sqrt(lam_min / lam_max)


def _whole_chip_node(image: np.ndarray, names: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The one-node graph of a chip without masks (module docstring)."""
    h, w = image.shape[:2]
    mean = image.reshape(-1, 3).mean(axis=0) / 255.0
    values = {"r": mean[0], "g": mean[1], "b": mean[2], "cx": 0.5, "cy": 0.5,
              "area": 1.0, "bbox_w": 1.0, "bbox_h": 1.0, "elongation": 0.0}
    x = np.array([[values[f] for f in names]], dtype=np.float32)
    return x, np.zeros(1, dtype=np.intp), np.array([[w / 2.0, h / 2.0]])


# --------------------------------------------------------------------------------------------
# Edges
# --------------------------------------------------------------------------------------------


def adjacency_pairs(labels: np.ndarray, tolerance_px: int = DEFAULT_TOLERANCE_PX) -> np.ndarray:
    """Pairs of labels whose pixels come within ``tolerance_px`` (Chebyshev) of each other.

    Works on row runs (see :func:`_adjacency_edges`), so the cost grows with the number of runs,
    not with ``(2t+1)²`` pixel shifts.

    Returns:
        ``(P, 2)`` int64 label pairs ``(a, b)`` with ``a < b``, sorted, unique.
    """
    if int(tolerance_px) != tolerance_px or tolerance_px < 1:
        raise ValueError(f"tolerance_px must be an integer >= 1 (1 = touching masks), got {tolerance_px}")
    labels = np.ascontiguousarray(labels)
    if labels.ndim != 2:
        raise ValueError(f"labels must be an (H, W) label map, got shape {labels.shape}")
    work = _Work(*labels.shape, int(tolerance_px))
    runs = _row_runs(labels, work)
    if len(runs.label) == 0:
        return np.zeros((0, 2), dtype=np.int64)
    node_labels, node_of_run = _run_nodes(runs)
    ei = _adjacency_edges(runs, node_of_run, len(node_labels), labels.shape, int(tolerance_px), work)
    ei = ei[:, ei[0] < ei[1]]
    return node_labels[ei.T].astype(np.int64)


def _run_nodes(runs: _Runs) -> tuple[np.ndarray, np.ndarray]:
    """The labels present (sorted) and, per foreground run, the index of its label among them."""
    present = np.zeros(int(runs.label.max()) + 1, dtype=bool)
    present[runs.label] = True
    node_labels = np.flatnonzero(present)
    index_of = np.cumsum(present, dtype=np.intp)
    index_of -= 1
    return node_labels, index_of[runs.label]


def _adjacency_edges(
    runs: _Runs, node_of_run: np.ndarray, n_nodes: int, shape: tuple[int, int], t: int, work: _Work
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
    table = np.zeros((n_words, n_levels, n + 1), dtype=np.uint64)
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


def _undirected(pairs: np.ndarray) -> np.ndarray:
    """``(2, 2P)`` edge_index with both directions, sorted by (source, target)."""
    if len(pairs) == 0:
        return np.zeros((2, 0), dtype=np.int64)
    both = np.concatenate([pairs, pairs[:, ::-1]], axis=0)
    order = np.lexsort((both[:, 1], both[:, 0]))
    return both[order].T.astype(np.int64)


def build_graph(
    labels: np.ndarray,
    image: np.ndarray,
    features: Sequence[str] = DEFAULT_FEATURES,
    edge_rule: str = "adjacency",
    tolerance_px: int = DEFAULT_TOLERANCE_PX,
    radius_px: float = DEFAULT_RADIUS_PX,
    k: int = DEFAULT_K,
) -> tuple[np.ndarray, np.ndarray]:
    """The graph of one chip: ``x`` ``(K, F)`` float32 and ``edge_index`` ``(2, E)`` int64 (local)."""
    names = check_features(features)
    _check_edge_params(edge_rule, tolerance_px, radius_px, k)
    labels, image = _check_chip(labels, image)
    pad = int(tolerance_px) if edge_rule == "adjacency" else 0
    work = _Work(*labels.shape, pad)
    return _build_graph(labels, image, names, edge_rule, tolerance_px, radius_px, k, work)


def _build_graph(
    labels: np.ndarray,
    image: np.ndarray,
    names: tuple[str, ...],
    edge_rule: str,
    tolerance_px: int,
    radius_px: float,
    k: int,
    work: _Work,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`build_graph` after validation, on C-contiguous arrays (``work``: scratch buffers)."""
    runs = _row_runs(labels, work)
    x, node_labels, centres = _node_features(runs, labels, image, names, work, edge_rule != "adjacency")
    if node_labels[0] == 0:  # whole-chip node: no edges
        return x, np.zeros((2, 0), dtype=np.int64)
    if edge_rule == "adjacency":
        index_of = np.zeros(int(node_labels[-1]) + 1, dtype=np.intp)
        index_of[node_labels] = np.arange(len(node_labels))
        return x, _adjacency_edges(runs, index_of[runs.label], len(node_labels), labels.shape,
                                   int(tolerance_px), work)
    if edge_rule == "radius":
        return x, _undirected(radius_pairs(centres, radius_px))
    return x, _undirected(knn_pairs(centres, k))


def gcn_norm_dense(adj: np.ndarray) -> np.ndarray:
    """``D^-1/2 A D^-1/2`` of a dense ``(n, n)`` adjacency, binarised, without self-loops.

    Any nonzero entry counts as an edge (weight 1); the diagonal is cleared; isolated nodes get
    zero rows and columns.
    """
    a = (np.asarray(adj) != 0).astype(np.float64)
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise ValueError(f"adjacency must be a square matrix, got shape {a.shape}")
    np.fill_diagonal(a, 0.0)
    deg = a.sum(axis=1)
    inv_sqrt = np.zeros_like(deg)
    np.divide(1.0, np.sqrt(deg), out=inv_sqrt, where=deg > 0)
    return inv_sqrt[:, None] * a * inv_sqrt[None, :]


def dense_adjacency(edge_index: np.ndarray, n_nodes: int) -> np.ndarray:
    """``(n, n)`` float64 0/1 matrix of an ``(2, E)`` edge_index."""
    a = np.zeros((n_nodes, n_nodes))
    a[edge_index[0], edge_index[1]] = 1.0
    return a


# --------------------------------------------------------------------------------------------
# Collections of graphs, files, PyG
# --------------------------------------------------------------------------------------------


@dataclass
class GraphSet:
    """Graphs of G chips, collated PyG-style.

    Attributes:
        x: ``(ΣN, F)`` float32 node features.
        edge_index: ``(2, ΣE)`` int64 edges with LOCAL node indices (0-based within each graph).
        node_ptr: ``(G + 1,)`` int64; nodes of graph ``g`` are rows ``node_ptr[g]:node_ptr[g+1]``.
        edge_ptr: ``(G + 1,)`` int64; edges of graph ``g`` are columns ``edge_ptr[g]:edge_ptr[g+1]``.
        feature_names: names of the columns of ``x``.
        params: edge rule and its parameters (file attrs).
    """

    x: np.ndarray
    edge_index: np.ndarray
    node_ptr: np.ndarray
    edge_ptr: np.ndarray
    feature_names: list[str]
    params: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.node_ptr) - 1

    def graph(self, g: int) -> tuple[np.ndarray, np.ndarray]:
        """``x`` and local ``edge_index`` of graph ``g``."""
        nodes = slice(self.node_ptr[g], self.node_ptr[g + 1])
        edges = slice(self.edge_ptr[g], self.edge_ptr[g + 1])
        return self.x[nodes], self.edge_index[:, edges]


def build_graphs(
    labels: np.ndarray,
    images: np.ndarray,
    features: Sequence[str] = DEFAULT_FEATURES,
    edge_rule: str = "adjacency",
    tolerance_px: int = DEFAULT_TOLERANCE_PX,
    radius_px: float = DEFAULT_RADIUS_PX,
    k: int = DEFAULT_K,
) -> GraphSet:
    """Graphs of ``(N, H, W)`` label maps over ``(N, H, W, 3)`` uint8 chips (module docstring)."""
    names = check_features(features)
    _check_edge_params(edge_rule, tolerance_px, radius_px, k)
    labels = np.asarray(labels)
    images = np.asarray(images)
    if labels.ndim != 3 or images.shape != (*labels.shape, 3) or images.dtype != np.uint8:
        raise ValueError(
            "labels must be (N, H, W) and images (N, H, W, 3) uint8 of the same N, H, W; "
            f"got {labels.shape} and "
            f"{images.dtype} {images.shape}"
        )
    xs, edges = [], []
    n_nodes = np.zeros(len(labels), dtype=np.int64)
    n_edges = np.zeros(len(labels), dtype=np.int64)
    work = _Work(labels.shape[1], labels.shape[2], int(tolerance_px) if edge_rule == "adjacency" else 0)
    for i in progress(range(len(labels)), desc="graphs"):
        chip = np.ascontiguousarray(labels[i])
        image = np.ascontiguousarray(images[i])
        x, ei = _build_graph(chip, image, names, edge_rule, tolerance_px, radius_px, k, work)
        xs.append(x)
        edges.append(ei)
        n_nodes[i], n_edges[i] = len(x), ei.shape[1]
    params = {"edge_rule": edge_rule}
    if edge_rule == "adjacency":
        params["tolerance_px"] = int(tolerance_px)
    elif edge_rule == "radius":
        params["radius_px"] = float(radius_px)
    else:
        params["k"] = int(k)
    return GraphSet(
        x=np.concatenate(xs) if xs else np.zeros((0, len(names)), dtype=np.float32),
        edge_index=np.concatenate(edges, axis=1) if edges else np.zeros((2, 0), dtype=np.int64),
        node_ptr=np.concatenate([[0], np.cumsum(n_nodes)]).astype(np.int64),
        edge_ptr=np.concatenate([[0], np.cumsum(n_edges)]).astype(np.int64),
        feature_names=list(names),
        params=params,
    )


def _check_graphset(where: str, gs: GraphSet, n: int) -> None:
    if gs.node_ptr.shape != (n + 1,) or gs.edge_ptr.shape != (n + 1,):
        raise ValueError(
            f"{where}: node_ptr and edge_ptr must be ({n + 1},), got {gs.node_ptr.shape}, {gs.edge_ptr.shape}"
        )
    pointers = (("node_ptr", gs.node_ptr, len(gs.x)), ("edge_ptr", gs.edge_ptr, gs.edge_index.shape[1]))
    for name, ptr, total in pointers:
        if ptr[0] != 0 or ptr[-1] != total or (np.diff(ptr) < 0).any():
            raise ValueError(f"{where}: {name} must rise from 0 to {total}")
    if gs.x.ndim != 2 or gs.x.shape[1] != len(gs.feature_names):
        raise ValueError(f"{where}: x has shape {gs.x.shape} for {len(gs.feature_names)} feature names")
    if gs.edge_index.ndim != 2 or gs.edge_index.shape[0] != 2:
        raise ValueError(f"{where}: edge_index must be (2, E), got {gs.edge_index.shape}")


def write_graphs(
    path: str | os.PathLike,
    sample_ids: np.ndarray,
    y: np.ndarray,
    graphset: GraphSet,
    attrs: dict[str, Any] | None = None,
) -> None:
    """Write a graphs shard (DESIGN.md §5) atomically.

    Datasets: ``x`` (ΣN, F) float32, ``edge_index`` (2, ΣE) int64 (local indices), ``node_ptr``,
    ``edge_ptr`` (G+1,) int64, ``sample_id`` (G,) int64, ``y`` (G,) int64 LCZ codes 1–17.
    Attrs: ``feature_names``, ``edge_rule`` and its parameter, plus ``attrs``.
    """
    ids = np.asarray(sample_ids).astype(np.int64).reshape(-1)
    codes = np.asarray(y).astype(np.int64).reshape(-1)
    if len(codes) != len(ids):
        raise ValueError(f"{path}: {len(codes)} labels y for {len(ids)} sample ids")
    if len(codes) and (codes.min() < 1 or codes.max() > 17):
        raise ValueError(
            f"{path}: y must hold LCZ codes 1–17, got values {sorted(set(codes.tolist()))[:5]}"
        )
    _check_graphset(str(path), graphset, len(ids))
    all_attrs = {**graphset.params, **(attrs or {}), "feature_names": list(graphset.feature_names)}
    write_h5(
        path,
        {
            "x": graphset.x.astype(np.float32),
            "edge_index": graphset.edge_index.astype(np.int64),
            "node_ptr": graphset.node_ptr.astype(np.int64),
            "edge_ptr": graphset.edge_ptr.astype(np.int64),
            "sample_id": ids,
            "y": codes,
        },
        all_attrs,
    )


def read_graphs(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray, GraphSet]:
    """Read a graphs shard: ``sample_id`` (G,), ``y`` (G,) and the :class:`GraphSet`."""
    data, attrs = read_h5(path, ["x", "edge_index", "node_ptr", "edge_ptr", "sample_id", "y"])
    names = [str(n) for n in attrs.pop("feature_names", [])]
    gs = GraphSet(
        x=data["x"].astype(np.float32),
        edge_index=data["edge_index"].astype(np.int64).reshape(2, -1),
        node_ptr=data["node_ptr"].astype(np.int64),
        edge_ptr=data["edge_ptr"].astype(np.int64),
        feature_names=names,
        params=dict(attrs),
    )
    ids = data["sample_id"].astype(np.int64)
    _check_graphset(str(path), gs, len(ids))
    return ids, data["y"].astype(np.int64), gs


def graphs_to_pyg(graphset: GraphSet, y: np.ndarray, sample_ids: np.ndarray | None = None) -> list[Any]:
    """One ``torch_geometric.data.Data`` per graph: ``x`` float32, ``edge_index`` int64 (local),
    ``y`` ``(1,)`` int64 LCZ code 1–17 (not shifted), and ``sample_id`` when given."""
    import torch
    from torch_geometric.data import Data

    codes = np.asarray(y).astype(np.int64).reshape(-1)
    if len(codes) != len(graphset):
        raise ValueError(f"{len(codes)} labels y for {len(graphset)} graphs")
    out = []
    for g in range(len(graphset)):
        x, ei = graphset.graph(g)
        data = Data(
            x=torch.from_numpy(np.ascontiguousarray(x)),
            edge_index=torch.from_numpy(np.ascontiguousarray(ei)),
            y=torch.tensor([codes[g]], dtype=torch.long),
            num_nodes=len(x),
        )
        if sample_ids is not None:
            data.sample_id = int(sample_ids[g])
        out.append(data)
    return out


def graph_settings(params: Mapping[str, Any] | None) -> dict[str, Any]:
    """Keyword arguments of :func:`build_graphs` from the ``graphs`` config section (defaults filled)."""
    p = dict(params or {})
    return {
        "features": list(p.get("features", DEFAULT_FEATURES)),
        "edge_rule": p.get("edge_rule", "adjacency"),
        "tolerance_px": p.get("tolerance_px", DEFAULT_TOLERANCE_PX),
        "radius_px": p.get("radius_px", DEFAULT_RADIUS_PX),
        "k": p.get("k", DEFAULT_K),
    }


def graphs_shard_file(
    masks_path: str | os.PathLike,
    chips_path: str | os.PathLike,
    samples_path: str | os.PathLike,
    graphs_path: str | os.PathLike,
    params: dict[str, Any],
) -> GraphSet:
    """Build the graphs of one shard from its masks and chips; write the graphs file.

    Args:
        masks_path: ``results/masks/{shard}.h5``.
        chips_path: ``results/chips/google/{shard}.h5`` (same samples, same order).
        samples_path: the sample table (``lcz`` → ``y``).
        graphs_path: output ``results/graphs/{shard}.h5`` (atomic).
        params: the ``graphs`` config section: ``features``, ``edge_rule``, ``tolerance_px``,
            ``radius_px``, ``k``.

    Raises:
        ValueError: masks and chips hold different samples, or a sample is not in the table.
    """
    from .google import read_google_chips
    from .samples import read_samples
    from .segmentation import read_masks

    mask_ids, maskset = read_masks(masks_path)
    chip_ids, images = read_google_chips(chips_path)
    if not np.array_equal(mask_ids, chip_ids):
        raise ValueError(f"{masks_path} and {chips_path} hold different samples; rerun the segment rule")
    lcz = read_samples(samples_path, columns=["sample_id", "lcz"]).set_index("sample_id")["lcz"]
    missing = [int(i) for i in mask_ids if int(i) not in lcz.index]
    if missing:
        raise ValueError(f"{masks_path}: sample(s) {missing[:5]} are not in the sample table {samples_path}")
    y = lcz.loc[mask_ids].to_numpy().astype(np.int64)
    graphset = build_graphs(maskset.labels, images, **graph_settings(params))
    write_graphs(graphs_path, mask_ids, y, graphset, {"masks": os.path.basename(os.fspath(masks_path))})
    n_nodes = np.diff(graphset.node_ptr)
    n_edges = np.diff(graphset.edge_ptr)
    log.info("%s: %d graphs, %.1f nodes and %.1f directed edges per graph", graphs_path, len(graphset),
             float(n_nodes.mean()) if len(n_nodes) else 0.0, float(n_edges.mean()) if len(n_edges) else 0.0)
    return graphset
