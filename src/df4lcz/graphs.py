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

Everything is vectorised; per chip the work is a few passes over the pixels (row runs, one
packed ``np.add.reduceat`` for the colour sums, one run-index map) plus work on the row runs.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .hdf5 import read_h5, write_h5
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


@dataclass
class _Runs:
    """Horizontal runs of one label in a label map (cut every ``RUN_SPLIT_PX`` columns).

    The foreground arrays are (R,) in row-major order: ``row``, first/last column ``x0``/``x1``
    (inclusive), flat ``start``/``end`` pixel indices and the run's ``label``. The ``all_*``
    arrays describe every run, background runs included.
    """

    row: np.ndarray
    x0: np.ndarray
    x1: np.ndarray
    start: np.ndarray
    end: np.ndarray
    label: np.ndarray
    all_start: np.ndarray  # (R_all,) flat start of every run, background included
    all_length: np.ndarray  # (R_all,) lengths of all runs
    all_fg: np.ndarray  # (R_all,) bool: run is foreground

    def next_run_map(self) -> np.ndarray:
        """``(H·W,)`` int32: per pixel, the index of the foreground run holding it, or else of
        the next foreground run in row-major order (``R`` when there is none)."""
        fg = self.all_fg
        before = (np.cumsum(fg) - fg).astype(np.int32)  # foreground runs before each run
        return np.repeat(before, self.all_length)


def _row_runs(labels: np.ndarray) -> _Runs:
    """Row runs of an ``(H, W)`` label map, cut every ``RUN_SPLIT_PX`` columns."""
    h, w = labels.shape
    change = np.empty((h, w), dtype=bool)
    np.not_equal(labels[:, 1:], labels[:, :-1], out=change[:, 1:])
    change[:, ::RUN_SPLIT_PX] = True
    starts = np.flatnonzero(change)
    ends = np.empty_like(starts)
    ends[:-1] = starts[1:] - 1
    ends[-1] = h * w - 1
    lab = labels.ravel()[starts]
    fg = lab != 0
    length = ends - starts + 1
    all_starts = starts
    starts, ends, lab = starts[fg], ends[fg], lab[fg].astype(np.intp)
    row = starts // w
    return _Runs(row=row, x0=starts - row * w, x1=ends - row * w, start=starts, end=ends, label=lab,
                 all_start=all_starts, all_length=length, all_fg=fg)


# --------------------------------------------------------------------------------------------
# Node features
# --------------------------------------------------------------------------------------------


def _first_last(
    label: np.ndarray, first_pos: np.ndarray, last_pos: np.ndarray, n_labels: int, size: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per label, the smallest ``first_pos`` and the largest ``last_pos`` among its runs.

    Uses (n_labels, size) presence tables (labels without runs → 0, size - 1).
    """
    present = np.zeros((n_labels, size), dtype=bool)
    present[label, first_pos] = True
    first = present.argmax(axis=1)
    if last_pos is not first_pos:
        present[:] = False
        present[label, last_pos] = True
    last = size - 1 - present[:, ::-1].argmax(axis=1)
    return first, last


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
    labels = np.asarray(labels)
    image = np.asarray(image)
    if labels.ndim != 2 or image.shape != (*labels.shape, 3):
        raise ValueError(
            f"image has shape {image.shape}; expected {(*labels.shape, 3)} to match the label map"
        )
    return _node_features(_row_runs(labels), labels, image, names)


def _node_features(
    runs: _Runs,
    labels: np.ndarray,
    image: np.ndarray,
    names: tuple[str, ...],
    packed: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`node_features` on precomputed runs (``packed``: see :func:`_mean_rgb`)."""
    h, w = labels.shape
    if len(runs.label) == 0:
        return _whole_chip_node(image, names)
    n_lab = int(runs.label.max()) + 1
    n_px = (runs.x1 - runs.x0 + 1).astype(np.float64)
    count = np.bincount(runs.label, weights=n_px, minlength=n_lab)
    node_labels = np.flatnonzero(count[1:]) + 1
    cnt = count[node_labels]
    xmin, xmax = _first_last(runs.label, runs.x0, runs.x1, n_lab, w)
    ymin, ymax = _first_last(runs.label, runs.row, runs.row, n_lab, h)
    xmin, xmax, ymin, ymax = (a[node_labels].astype(np.float64) for a in (xmin, xmax, ymin, ymax))
    columns: dict[str, np.ndarray] = {}
    if {"r", "g", "b"} & set(names):
        columns.update(_mean_rgb(runs, image, node_labels, cnt, n_lab, packed))
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
    x = np.stack([columns[f] for f in names], axis=1).astype(np.float32)
    centres = np.stack([columns["cx"] * w, columns["cy"] * h], axis=1)
    return x, node_labels, centres


def _mean_rgb(
    runs: _Runs,
    image: np.ndarray,
    node_labels: np.ndarray,
    cnt: np.ndarray,
    n_lab: int,
    packed: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Mean R, G, B / 255 per node.

    The three channels are packed into one uint64 per pixel (R + G·2^16 + B·2^32, by byte copies),
    summed per run with one ``np.add.reduceat`` (a run has at most ``RUN_SPLIT_PX`` pixels, so no
    field overflows), unpacked, and summed per label over the runs.
    """
    n_px = image.shape[0] * image.shape[1]
    rgb = image.reshape(n_px, 3)
    packed = np.zeros((n_px, 8), dtype=np.uint8)  # bytes of a little-endian uint64
    packed[:, 0] = rgb[:, 0]
    packed[:, 2] = rgb[:, 1]
    packed[:, 4] = rgb[:, 2]
    per_run = np.add.reduceat(packed.view(np.dtype("<u8")).ravel(), runs.all_start)[runs.all_fg]
    out = {}
    for name, bit in (("r", 0), ("g", 16), ("b", 32)):
        channel = ((per_run >> np.uint64(bit)) & np.uint64(0xFFFF)).astype(np.float64)
        out[name] = np.bincount(runs.label, weights=channel, minlength=n_lab)[node_labels] / (cnt * 255.0)
    return out


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

    Works on row runs: every run of row ``y``, widened by ``t`` pixels on both sides, is matched
    against the runs of rows ``y .. y + t`` it overlaps (an interval join), so the cost grows with
    the number of runs, not with ``(2t+1)²`` pixel shifts.

    Returns:
        ``(P, 2)`` int64 label pairs ``(a, b)`` with ``a < b``, sorted, unique.
    """
    if int(tolerance_px) != tolerance_px or tolerance_px < 1:
        raise ValueError(f"tolerance_px must be an integer >= 1 (1 = touching masks), got {tolerance_px}")
    labels = np.asarray(labels)
    return _adjacency_pairs(_row_runs(labels), labels, int(tolerance_px))


def _adjacency_pairs(runs: _Runs, labels: np.ndarray, t: int) -> np.ndarray:
    """:func:`adjacency_pairs` on precomputed runs.

    For every run and every row offset ``d = 0..t``, the runs of row ``y + d`` overlapping the
    widened interval ``[x0 - t, x1 + t]`` form a contiguous range of the (row-major, disjoint)
    run list; its ends are read from a per-pixel "next foreground run" map. Windows covered by a
    single run of the run's own label are skipped before the ranges are expanded.
    """
    h, w = labels.shape
    flat_labels = labels.ravel()
    n = len(runs.label)
    if n < 2:
        return np.zeros((0, 2), dtype=np.int64)
    nxt = runs.next_run_map()
    base = runs.row * w
    lo_key = base + np.maximum(runs.x0 - t, 0)
    hi_key = base + np.minimum(runs.x1 + t, w - 1)
    rows_ok = np.arange(t + 1)[:, None] + runs.row[None, :] < h
    shift = (np.arange(t + 1) * w)[:, None]
    q_lo = np.where(rows_ok, lo_key[None, :] + shift, 0).ravel()
    q_hi = np.where(rows_ok, hi_key[None, :] + shift, 0).ravel()
    first = nxt[q_lo]  # first run ending at/after the window start
    stop = nxt[q_hi] + (flat_labels[q_hi] != 0)  # runs starting at/before the window end
    stop[~rows_ok.ravel()] = 0
    cnt = stop - first
    # a window holding a single run of the run's own label has no other label: skip it
    own_only = (cnt == 1) & (runs.label.take(first, mode="clip") == np.tile(runs.label, t + 1))
    useful = np.flatnonzero((cnt > 0) & ~own_only)
    if len(useful) == 0:
        return np.zeros((0, 2), dtype=np.int64)
    n_lab = int(runs.label.max()) + 1
    src_lab = np.tile(runs.label * n_lab, t + 1)[useful]
    first, cnt = first[useful], cnt[useful]
    # the first and last run of each window directly; the (rare) runs between them by expansion
    parts = [src_lab + runs.label[first]]
    two = cnt >= 2
    parts.append(src_lab[two] + runs.label[first[two] + cnt[two] - 1])
    many = np.flatnonzero(cnt >= 3)
    if len(many):
        inner = cnt[many] - 2
        offsets = np.cumsum(inner) - inner
        idx = np.arange(int(inner.sum())) - np.repeat(offsets - first[many] - 1, inner)
        parts.append(np.repeat(src_lab[many], inner) + runs.label[idx])
    codes = np.concatenate(parts)
    table = np.bincount(codes, minlength=n_lab * n_lab).reshape(n_lab, n_lab) > 0
    table |= table.T
    ia, ib = np.nonzero(np.triu(table, 1))
    return np.stack([ia, ib], axis=1).astype(np.int64)


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
    labels = np.asarray(labels)
    image = np.asarray(image)
    if labels.ndim != 2 or image.shape != (*labels.shape, 3):
        raise ValueError(
            f"image has shape {image.shape}; expected {(*labels.shape, 3)} to match the label map"
        )
    return _build_graph(labels, image, names, edge_rule, tolerance_px, radius_px, k)


def _build_graph(
    labels: np.ndarray,
    image: np.ndarray,
    names: tuple[str, ...],
    edge_rule: str,
    tolerance_px: int,
    radius_px: float,
    k: int,
    packed: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`build_graph` after validation (``packed``: reusable buffer, see :func:`_mean_rgb`)."""
    runs = _row_runs(labels)
    x, node_labels, centres = _node_features(runs, labels, image, names, packed)
    if node_labels[0] == 0:  # whole-chip node: no edges
        return x, np.zeros((2, 0), dtype=np.int64)
    if edge_rule == "adjacency":
        label_pairs = _adjacency_pairs(runs, labels, int(tolerance_px))
        index_of = np.zeros(int(node_labels[-1]) + 1, dtype=np.int64)
        index_of[node_labels] = np.arange(len(node_labels))
        pairs = index_of[label_pairs]
    elif edge_rule == "radius":
        pairs = radius_pairs(centres, radius_px)
    else:
        pairs = knn_pairs(centres, k)
    return x, _undirected(pairs)


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
    packed = np.zeros((labels.shape[1] * labels.shape[2], 8), dtype=np.uint8)
    for i in progress(range(len(labels)), desc="graphs"):
        x, ei = _build_graph(labels[i], images[i], names, edge_rule, tolerance_px, radius_px, k, packed)
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
    lcz = read_samples(samples_path).set_index("sample_id")["lcz"]
    missing = [int(i) for i in mask_ids if int(i) not in lcz.index]
    if missing:
        raise ValueError(f"{masks_path}: sample(s) {missing[:5]} are not in the sample table {samples_path}")
    y = lcz.loc[mask_ids].to_numpy().astype(np.int64)
    graphset = build_graphs(
        maskset.labels,
        images,
        features=params.get("features", DEFAULT_FEATURES),
        edge_rule=params.get("edge_rule", "adjacency"),
        tolerance_px=params.get("tolerance_px", DEFAULT_TOLERANCE_PX),
        radius_px=params.get("radius_px", DEFAULT_RADIUS_PX),
        k=params.get("k", DEFAULT_K),
    )
    write_graphs(graphs_path, mask_ids, y, graphset, {"masks": os.path.basename(os.fspath(masks_path))})
    n_nodes = np.diff(graphset.node_ptr)
    n_edges = np.diff(graphset.edge_ptr)
    log.info("%s: %d graphs, %.1f nodes and %.1f directed edges per graph", graphs_path, len(graphset),
             float(n_nodes.mean()) if len(n_nodes) else 0.0, float(n_edges.mean()) if len(n_edges) else 0.0)
    return graphset
