"""Graphs of chips: one chip (:func:`build_graph`) or a shard collated PyG-style (:func:`build_graphs`).

Settings come from the validated ``graphs`` config section (:func:`graph_settings`); nothing here
re-defaults them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..io.graphs import GraphSet
from ..logs import progress
from .edges import adjacency_edges, check_edge_params, knn_pairs, radius_pairs, undirected_edges
from .features import check_features, runs_node_features
from .runs import Work, check_chip, row_runs


def graph_settings(params: Mapping[str, Any]) -> dict[str, Any]:
    """Keyword arguments of :func:`build_graphs` from the validated ``graphs`` config section."""
    return {
        "features": list(params["features"]),
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
    """The graph of one chip: ``x`` ``(K, F)`` float32 and ``edge_index`` ``(2, E)`` int64 (local)."""
    names = check_features(features)
    check_edge_params(edge_rule, tolerance_px, radius_px, k)
    labels, image = check_chip(labels, image)
    pad = int(tolerance_px) if edge_rule == "adjacency" else 0
    work = Work(*labels.shape, pad)
    return _build_graph(labels, image, names, edge_rule, tolerance_px, radius_px, k, work)


def _build_graph(
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
        return x, adjacency_edges(runs, index_of[runs.label], len(node_labels), labels.shape,
                                  int(tolerance_px), work)
    if edge_rule == "radius":
        return x, undirected_edges(radius_pairs(centres, radius_px))
    return x, undirected_edges(knn_pairs(centres, k))


def build_graphs(
    labels: np.ndarray,
    images: np.ndarray,
    features: Sequence[str],
    edge_rule: str,
    tolerance_px: int,
    radius_px: float,
    k: int,
) -> GraphSet:
    """Graphs of ``(N, H, W)`` label maps over ``(N, H, W, 3)`` uint8 chips (see :mod:`df4lcz.graphs`).

    ``params`` of the result: ``edge_rule`` and the parameter of that rule only.
    """
    names = check_features(features)
    check_edge_params(edge_rule, tolerance_px, radius_px, k)
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
    work = Work(labels.shape[1], labels.shape[2], int(tolerance_px) if edge_rule == "adjacency" else 0)
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
