"""Graphs of chips: one label map (:func:`build_graph`) or a shard's masks collated PyG-style
(:func:`build_graphs`).

Mask views (``graphs.mask_view``)
---------------------------------
* ``whole`` (DF4LCZ): every kept mask is a node, its features over all its pixels
  (:mod:`.whole`); the ``complete``, ``radius`` and ``knn`` rules use the masks' box centres, the
  ``adjacency`` rule the painted label map (:func:`df4lcz.segmentation.labels.paint_runs`), in
  which a mask wholly covered by smaller ones has no pixel and so no edge.
* ``visible``: the painted label map decides which mask owns a pixel; one node per mask with
  visible pixels, features over those pixels (:mod:`.features`), exactly as :func:`build_graph`
  on the painted map.

Settings come from the validated ``graphs`` config section (:func:`graph_settings`); nothing here
re-defaults them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..io.graphs import GraphSet
from ..io.masks import MaskSet
from ..io.rle import foreground_runs
from ..logs import progress
from ..segmentation.labels import paint_runs
from .edges import EDGE_RULES, adjacency_edges, check_edge_params
from .features import check_features, runs_node_features
from .runs import Work, check_chip, row_runs
from .whole import ChipMasks, PrefixWork, whole_chip, whole_node_features

#: Mask views of ``graphs.mask_view``.
MASK_VIEWS: tuple[str, ...] = ("whole", "visible")


def graph_settings(params: Mapping[str, Any]) -> dict[str, Any]:
    """Keyword arguments of :func:`build_graphs` from the validated ``graphs`` config section."""
    return {
        "features": list(params["features"]),
        "mask_view": params["mask_view"],
        "edge_rule": params["edge_rule"],
        "tolerance_px": params["tolerance_px"],
        "radius_px": params["radius_px"],
        "k": params["k"],
    }


def build_graph(
    labels: np.ndarray,
    image: np.ndarray,
    features: Sequence[str],
    edge_rule: str,
    tolerance_px: int,
    radius_px: float,
    k: int,
) -> tuple[np.ndarray, np.ndarray]:
    """The ``visible``-view graph of one label map: ``x`` ``(K, F)`` float32 and ``edge_index``
    ``(2, E)`` int64 (local), one node per label present (:mod:`.features`)."""
    names = check_features(features)
    check_edge_params(edge_rule, tolerance_px, radius_px, k)
    labels, image = check_chip(labels, image)
    pad = int(tolerance_px) if edge_rule == "adjacency" else 0
    work = Work(labels.shape[0], labels.shape[1], pad)
    return _visible_graph(labels, image, names, edge_rule, tolerance_px, radius_px, k, work)


def _centre_edges(edge_rule: str, centres: np.ndarray, radius_px: float, k: int) -> np.ndarray:
    """Edges of the rules on box centres (:data:`~df4lcz.graphs.edges.EDGE_RULES`)."""
    rule = EDGE_RULES[edge_rule]
    assert rule.centre_edges is not None, f"{edge_rule} is not a rule on box centres"
    return rule.centre_edges(centres, {"radius_px": radius_px, "k": k}.get(rule.param or ""))


def _visible_graph(
    labels: np.ndarray,
    image: np.ndarray,
    names: tuple[str, ...],
    edge_rule: str,
    tolerance_px: int,
    radius_px: float,
    k: int,
    work: Work,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`build_graph` after validation, on C-contiguous arrays (``work``: scratch buffers)."""
    runs = row_runs(labels, work)
    x, node_labels, centres = runs_node_features(runs, labels, image, names, work, edge_rule != "adjacency")
    if node_labels[0] == 0:  # whole-chip node: no edges
        return x, np.zeros((2, 0), dtype=np.int64)
    if edge_rule == "adjacency":
        index_of = np.zeros(int(node_labels[-1]) + 1, dtype=np.intp)
        index_of[node_labels] = np.arange(len(node_labels))
        return x, adjacency_edges(
            runs, index_of[runs.label], len(node_labels), labels.shape, int(tolerance_px), work
        )
    assert centres is not None  # want_centres for the centre rules
    return x, _centre_edges(edge_rule, centres, radius_px, k)


def _whole_graph(
    chip: ChipMasks,
    image: np.ndarray,
    names: tuple[str, ...],
    edge_rule: str,
    tolerance_px: int,
    radius_px: float,
    k: int,
    work: Work,
    prefix: PrefixWork,
) -> tuple[np.ndarray, np.ndarray]:
    """The ``whole``-view graph of one chip's masks (module docstring)."""
    h, w = image.shape[:2]
    masks = chip if chip.n_masks else whole_chip(h, w)
    prefix.load_image(image)
    x, centres = whole_node_features(masks, names, prefix)
    if chip.n_masks < 2:
        return x, np.zeros((2, 0), dtype=np.int64)
    if edge_rule != "adjacency":
        return x, _centre_edges(edge_rule, centres, radius_px, k)
    labels = paint_runs(chip.mask, chip.start, chip.stop, chip.n_masks, h * w).reshape(h, w)
    runs = row_runs(labels, work)
    return x, adjacency_edges(runs, runs.label - 1, chip.n_masks, (h, w), int(tolerance_px), work)


def build_graphs(
    maskset: MaskSet,
    images: np.ndarray,
    features: Sequence[str],
    mask_view: str,
    edge_rule: str,
    tolerance_px: int,
    radius_px: float,
    k: int,
) -> GraphSet:
    """Graphs of a shard's masks over its ``(N, H, W, 3)`` uint8 chips (module docstring).

    ``params`` of the result: ``mask_view``, ``edge_rule`` and the parameter of that rule only.
    """
    names = check_features(features)
    check_edge_params(edge_rule, tolerance_px, radius_px, k)
    if mask_view not in MASK_VIEWS:
        raise ValueError(f"mask_view {mask_view!r} is unknown; expected one of {list(MASK_VIEWS)}")
    images = np.asarray(images)
    h, w = int(maskset.height), int(maskset.width)
    if images.shape != (len(maskset), h, w, 3) or images.dtype != np.uint8:
        raise ValueError(
            f"images must be (N={len(maskset)}, {h}, {w}, 3) uint8 to match the masks; got {images.dtype} {images.shape}"
        )
    mask_of_run, start, stop = foreground_runs(maskset.rle_counts, maskset.rle_ptr)
    run_ptr = np.searchsorted(mask_of_run, maskset.mask_ptr, side="left")
    xs, edges = [], []
    n_nodes = np.zeros(len(maskset), dtype=np.int64)
    n_edges = np.zeros(len(maskset), dtype=np.int64)
    work = Work(h, w, int(tolerance_px) if edge_rule == "adjacency" else 0)
    prefix = PrefixWork(h, w) if mask_view == "whole" else None
    for i in progress(range(len(maskset)), desc="graphs"):
        m0, r0, r1 = int(maskset.mask_ptr[i]), int(run_ptr[i]), int(run_ptr[i + 1])
        n_masks = int(maskset.mask_ptr[i + 1]) - m0
        image = np.ascontiguousarray(images[i])
        if mask_view == "whole":
            assert prefix is not None
            chip = ChipMasks(
                n_masks, mask_of_run[r0:r1] - m0, start[r0:r1], stop[r0:r1], maskset.bbox[m0 : m0 + n_masks]
            )
            x, ei = _whole_graph(chip, image, names, edge_rule, tolerance_px, radius_px, k, work, prefix)
        else:
            labels = paint_runs(mask_of_run[r0:r1] - m0, start[r0:r1], stop[r0:r1], n_masks, h * w)
            x, ei = _visible_graph(
                labels.reshape(h, w), image, names, edge_rule, tolerance_px, radius_px, k, work
            )
        xs.append(x)
        edges.append(ei)
        n_nodes[i], n_edges[i] = len(x), ei.shape[1]
    params: dict[str, Any] = {"mask_view": mask_view, "edge_rule": edge_rule}
    rule = EDGE_RULES[edge_rule]
    if rule.param is not None:
        params[rule.param] = rule.cast(
            {"tolerance_px": tolerance_px, "radius_px": radius_px, "k": k}[rule.param]
        )
    return GraphSet(
        x=np.concatenate(xs) if xs else np.zeros((0, len(names)), dtype=np.float32),
        edge_index=np.concatenate(edges, axis=1) if edges else np.zeros((2, 0), dtype=np.int64),
        node_ptr=np.concatenate([[0], np.cumsum(n_nodes)]).astype(np.int64),
        edge_ptr=np.concatenate([[0], np.cumsum(n_edges)]).astype(np.int64),
        feature_names=list(names),
        params=params,
    )
