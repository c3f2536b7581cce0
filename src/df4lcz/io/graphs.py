"""The graph files ``results/graphs/{shard}.h5`` (docs/contracts.md §5): one reader, writer, validator.

A graph file holds G graphs collated PyG-style (written by the graphs rule, and by the
LCZC-GES2 importer for the released graphs), datasets in this order:

* ``x`` ``(ΣN, F)`` float32 node features, columns named by the ``feature_names`` attr;
* ``edge_index`` ``(2, ΣE)`` int64 edges with LOCAL node indices (0-based within each graph),
  both directions stored, no self-loops;
* ``node_ptr``, ``edge_ptr`` ``(G + 1,)`` int64 rising from 0 to ΣN / ΣE: graph ``g`` has nodes
  ``node_ptr[g]:node_ptr[g+1]`` and edges ``edge_ptr[g]:edge_ptr[g+1]``;
* ``sample_id`` ``(G,)`` int64; ``y`` ``(G,)`` int64 LCZ codes 1–17.

File attrs: the mask view and the edge rule with its parameter (``mask_view``, ``edge_rule`` and
``tolerance_px`` / ``radius_px`` / ``k``), extra attrs of the writer (e.g. ``masks`` and the counts
:data:`ZERO_MASK_ATTR`, :data:`SINGLE_NODE_ATTR` of the graphs rule), then ``feature_names`` (list
of str); :func:`read_graph_attrs` reads them alone, :func:`read_node_counts` the nodes per graph.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import ContractError
from .hdf5 import read_h5, write_h5

#: Datasets of a graph file, in the order they are written.
GRAPH_ARRAYS: tuple[str, ...] = ("x", "edge_index", "node_ptr", "edge_ptr", "sample_id", "y")

#: Attr of the graphs rule's files: chips of the shard without any mask (each one whole-chip node).
ZERO_MASK_ATTR: str = "n_zero_mask_chips"

#: Attr of the graphs rule's files: graphs of the shard with exactly one node.
SINGLE_NODE_ATTR: str = "n_single_node_graphs"


@dataclass
class GraphSet:
    """Graphs of G chips, collated PyG-style.

    Attributes:
        x: ``(ΣN, F)`` float32 node features.
        edge_index: ``(2, ΣE)`` int64 edges with LOCAL node indices (0-based within each graph).
        node_ptr: ``(G + 1,)`` int64; nodes of graph ``g`` are rows ``node_ptr[g]:node_ptr[g+1]``.
        edge_ptr: ``(G + 1,)`` int64; edges of graph ``g`` are columns ``edge_ptr[g]:edge_ptr[g+1]``.
        feature_names: names of the columns of ``x``.
        params: mask view, edge rule and its parameters (file attrs).
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


def _check_ptr(where: str, name: str, ptr: np.ndarray, n_graphs: int, total: int) -> None:
    if ptr.ndim != 1 or len(ptr) != n_graphs + 1:
        raise ContractError(
            f"{where}: '{name}' has shape {ptr.shape}; expected ({n_graphs + 1},) for {n_graphs} graphs"
        )
    if ptr[0] != 0 or ptr[-1] != total or (np.diff(ptr) < 0).any():
        raise ContractError(
            f"{where}: '{name}' must start at 0, never decrease and end at {total}; got {ptr[:3].tolist()}…{ptr[-1]}"
        )


def validate_graphs(where: str, sample_ids: np.ndarray, y: np.ndarray, gs: GraphSet) -> None:
    """Check ``gs`` and its ``sample_ids`` / ``y`` (one per graph) against the contract.

    Checks, in this order: ``x`` is 2-D, ``edge_index`` is ``(2, E)``, one ``y`` per sample id,
    both pointer arrays ``(G + 1,)`` rising from 0 to the node / edge count, one feature name per
    column of ``x``, and every edge of graph ``g`` joins local node indices ``0..n_g - 1``.

    Raises:
        ContractError (a ValueError): the first failed check, naming ``where`` (and the sample of a bad graph).
    """
    n = len(sample_ids)
    if gs.x.ndim != 2:
        raise ContractError(f"{where}: 'x' has shape {gs.x.shape}; expected (total nodes, features)")
    if gs.edge_index.ndim != 2 or gs.edge_index.shape[0] != 2:
        raise ContractError(
            f"{where}: 'edge_index' has shape {gs.edge_index.shape}; expected (2, total edges)"
        )
    if len(y) != n:
        raise ContractError(f"{where}: 'y' has {len(y)} values for {n} sample ids")
    _check_ptr(where, "node_ptr", gs.node_ptr, n, gs.x.shape[0])
    _check_ptr(where, "edge_ptr", gs.edge_ptr, n, gs.edge_index.shape[1])
    if gs.x.shape[1] != len(gs.feature_names):
        raise ContractError(
            f"{where}: {len(gs.feature_names)} feature_names for {gs.x.shape[1]} feature columns"
        )
    if gs.edge_index.shape[1]:
        graph_of_edge = np.repeat(np.arange(n), np.diff(gs.edge_ptr))
        n_nodes = np.diff(gs.node_ptr)[graph_of_edge]
        bad = ((gs.edge_index < 0) | (gs.edge_index >= n_nodes)).any(axis=0)
        if bad.any():
            g = int(graph_of_edge[int(np.argmax(bad))])
            raise ContractError(
                f"{where}: graph of sample {int(sample_ids[g])} has edge indices outside "
                f"0..{int(gs.node_ptr[g + 1] - gs.node_ptr[g]) - 1} "
                "(edge_index must hold local node indices per graph)"
            )


def write_graphs(
    path: str | os.PathLike,
    sample_ids: np.ndarray,
    y: np.ndarray,
    graphset: GraphSet,
    attrs: dict[str, Any] | None = None,
) -> None:
    """Write a graphs shard (docs/contracts.md §5) atomically.

    Datasets: ``x`` (ΣN, F) float32, ``edge_index`` (2, ΣE) int64 (local indices), ``node_ptr``,
    ``edge_ptr`` (G+1,) int64, ``sample_id`` (G,) int64, ``y`` (G,) int64 LCZ codes 1–17.
    Attrs: ``graphset.params`` (edge rule and its parameter), ``attrs``, then ``feature_names``.

    Raises:
        ValueError: ``y`` not LCZ codes or not one per sample, pointers or shapes inconsistent.
    """
    ids = np.asarray(sample_ids).astype(np.int64).reshape(-1)
    codes = np.asarray(y).astype(np.int64).reshape(-1)
    if len(codes) != len(ids):
        raise ValueError(f"{path}: {len(codes)} labels y for {len(ids)} sample ids")
    if len(codes) and (codes.min() < 1 or codes.max() > 17):
        raise ValueError(f"{path}: y must hold LCZ codes 1–17, got values {sorted(set(codes.tolist()))[:5]}")
    validate_graphs(str(path), ids, codes, graphset)
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
    """Read a graphs shard: ``sample_id`` (G,) int64, ``y`` (G,) int64 and the :class:`GraphSet`.

    Raises:
        FileNotFoundError: no such file.
        ContractError (a ValueError): not HDF5, datasets missing or inconsistent.
    """
    data, attrs = read_h5(path, list(GRAPH_ARRAYS))
    names = [str(n) for n in attrs.pop("feature_names", [])]
    edge_index = data["edge_index"].astype(np.int64)
    gs = GraphSet(
        x=data["x"].astype(np.float32),
        edge_index=edge_index.reshape(2, 0) if edge_index.size == 0 else edge_index,
        node_ptr=data["node_ptr"].astype(np.int64),
        edge_ptr=data["edge_ptr"].astype(np.int64),
        feature_names=names,
        params=dict(attrs),
    )
    ids = data["sample_id"].astype(np.int64).reshape(-1)
    y = data["y"].astype(np.int64).reshape(-1)
    validate_graphs(str(path), ids, y, gs)
    return ids, y, gs


def read_graph_ids(path: str | os.PathLike) -> np.ndarray:
    """``(G,)`` int64 sample ids of a graphs shard, without reading the graphs.

    Raises:
        FileNotFoundError: no such file.
        ContractError (a ValueError): not HDF5, or no ``sample_id`` dataset.
    """
    data, _ = read_h5(path, ["sample_id"])
    return data["sample_id"].astype(np.int64).reshape(-1)


def read_graph_attrs(path: str | os.PathLike) -> dict[str, Any]:
    """The file attrs of a graphs shard without reading any array: ``edge_rule`` and its
    parameter, ``mask_view`` (``whole`` / ``visible``; absent from imported shards), the writer's
    extras (``masks``, or the importer's ``source``) and ``feature_names`` (list of str).

    Raises:
        FileNotFoundError: no such file.
        ContractError (a ValueError): not HDF5.
    """
    _, attrs = read_h5(path, [], what="graphs file")
    if "feature_names" in attrs:
        attrs["feature_names"] = [str(n) for n in attrs["feature_names"]]
    return attrs


def read_node_counts(path: str | os.PathLike) -> np.ndarray:
    """``(G,)`` int64 nodes of each graph of a graphs shard (from ``node_ptr``), without the features.

    Raises:
        FileNotFoundError: no such file.
        ContractError (a ValueError): not HDF5, no ``node_ptr`` dataset, or one that is not rising from 0.
    """
    data, _ = read_h5(path, ["node_ptr"], what="graphs file")
    ptr = data["node_ptr"].astype(np.int64).reshape(-1)
    if len(ptr) == 0 or ptr[0] != 0 or (np.diff(ptr) < 0).any():
        raise ContractError(f"{path}: 'node_ptr' must start at 0 and never decrease")
    return np.diff(ptr)
