"""Node features of the ``visible`` mask view: one node per label present in a painted label map.

Nodes
-----
One node per label present in a chip's instance label map (0 = background), in label order.
All node statistics use the label map, i.e. the *visible* pixels of each mask (where masks
overlap, the painted map gives the pixel to the smaller mask; a mask left without pixels is no
node). The ``whole`` view (DF4LCZ's) is :mod:`.whole`. Features, by name:

* ``r``, ``g``, ``b`` — mean red/green/blue of the node's pixels, divided by 255;
* ``cx``, ``cy`` — centre of the node's bounding box over image width/height, in pixel-edge
  coordinates: ``cx = (x_min + x_max + 1) / (2 W)`` (a mask covering the chip → 0.5);
* ``area`` — pixels / (H·W);
* ``bbox_w``, ``bbox_h`` — bounding-box width ``(x_max - x_min + 1) / W`` and height likewise;
* ``elongation`` — ``1 - sqrt(λ_min / λ_max)`` of the covariance of the node's pixels treated as
  unit squares (each variance gets +1/12): 0 for a square or disc, → 1 for a thin line
  (a 1×n bar gives ``1 - 1/n``).

DF4LCZ uses the first five (:data:`DF4LCZ_FEATURES`); which ones a run uses is the config key
``graphs.features``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .runs import Runs, Work, check_chip, row_runs

#: The node features of DF4LCZ (mean R, G, B and bounding-box centre), which the released
#: LCZC-GES2 graphs carry; the config default of ``graphs.features`` lives in the schema.
DF4LCZ_FEATURES: tuple[str, ...] = ("r", "g", "b", "cx", "cy")

#: Every node feature this module can compute.
AVAILABLE_FEATURES: tuple[str, ...] = ("r", "g", "b", "cx", "cy", "area", "bbox_w", "bbox_h", "elongation")


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


def node_features(
    labels: np.ndarray, image: np.ndarray, features: Sequence[str]
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
    labels, image = check_chip(labels, image)
    work = Work(*labels.shape)
    x, node_labels, centres = runs_node_features(row_runs(labels, work), labels, image, names, work)
    assert centres is not None  # want_centres
    return x, node_labels, centres


def runs_node_features(
    runs: Runs,
    labels: np.ndarray,
    image: np.ndarray,
    names: tuple[str, ...],
    work: Work,
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
    xmin: np.ndarray = np.full(n_lab, w, dtype=np.intp)
    xmax: np.ndarray = np.zeros(n_lab, dtype=np.intp)
    ymin: np.ndarray = np.full(n_lab, h, dtype=np.intp)
    ymax: np.ndarray = np.zeros(n_lab, dtype=np.intp)
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
    runs: Runs, image: np.ndarray, node_labels: np.ndarray, cnt: np.ndarray, n_lab: int, work: Work
) -> dict[str, np.ndarray]:
    """Mean R, G, B / 255 per node.

    The three channels of the foreground pixels are packed into one uint64 per pixel
    (R + G·2^16 + B·2^32, by byte-wise multiplication with the foreground mask of
    :func:`~.runs.row_runs` into a reused zeroed buffer; background pixels become 0) and summed
    with one ``np.add.reduceat`` from each foreground run's start to the next one's: the
    background after a run adds nothing, and background runs cost no segments of their own
    (reduceat's cost is mostly per segment). A run has at most ``RUN_SPLIT_PX`` pixels, so no
    field overflows. The sums are unpacked and summed per label over the runs.
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


def _elongation(runs: Runs, n_px: np.ndarray, n_lab: int) -> np.ndarray:
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
    """The one-node graph of a chip without masks (see :mod:`df4lcz.graphs`)."""
    h, w = image.shape[:2]
    mean = image.reshape(-1, 3).mean(axis=0) / 255.0
    values = {
        "r": mean[0],
        "g": mean[1],
        "b": mean[2],
        "cx": 0.5,
        "cy": 0.5,
        "area": 1.0,
        "bbox_w": 1.0,
        "bbox_h": 1.0,
        "elongation": 0.0,
    }
    x = np.array([[values[f] for f in names]], dtype=np.float32)
    return x, np.zeros(1, dtype=np.intp), np.array([[w / 2.0, h / 2.0]])
