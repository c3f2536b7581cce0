"""Dense reference helpers for graph tests: GCN normalisation and adjacency matrices."""

from __future__ import annotations

import numpy as np


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
