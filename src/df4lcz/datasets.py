"""Readers for the stage files the models train on (DESIGN.md §5 contracts).

* Sentinel-2 chip shards ``results/chips/sentinel2/{shard}.h5``: ``sample_id`` (N,), ``image``
  (N, 32, 32, 10) float32 reflectance.
* Graph shards ``results/graphs/{shard}.h5``, PyG-style collated: ``x`` (ΣN, F), ``edge_index``
  (2, ΣE) with *local* node indices per graph, ``node_ptr`` (G+1,), ``edge_ptr`` (G+1,),
  ``sample_id`` (G,), ``y`` (G,); node feature names in the file attribute ``feature_names``.
* Split tables ``results/splits/{strategy}.csv``: ``sample_id,split`` with split ∈ train/val/test.
* Labels come from the sample table: the caller passes a mapping ``sample_id → lcz`` (1–17).

Every loader takes a list of shard files and an optional ``keep_ids`` set (the lead passes the
samples present in both streams); file order, then in-file order, is kept.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from torch_geometric.data import Data
from torch_geometric.utils import coalesce, remove_self_loops, to_undirected

from .constants import N_CLASSES, SPLIT_NAMES
from .io.hdf5 import read_h5

#: Columns of a split table.
SPLIT_COLUMNS: tuple[str, str] = ("sample_id", "split")

PathLike = str | os.PathLike


@dataclass
class S2Chips:
    """Sentinel-2 chips of one or more shards.

    Attributes:
        sample_id: ``(N,)`` int64 sample ids.
        image: ``(N, H, W, B)`` float32 reflectance chips (So2Sat band order).
        band_names: band names from the file attributes (``None`` when absent).
    """

    sample_id: np.ndarray
    image: np.ndarray
    band_names: list[str] | None = None

    def subset(self, mask: np.ndarray) -> S2Chips:
        """Chips where the boolean ``mask`` ``(N,)`` is true."""
        return S2Chips(self.sample_id[mask], self.image[mask], self.band_names)


@dataclass
class GraphSamples:
    """Instance graphs of one or more shards, one ``torch_geometric.data.Data`` per sample.

    Each graph has ``x`` ``(n, F)`` float32, ``edge_index`` ``(2, e)`` int64 (undirected: both
    directions, no duplicates, no self-loops), ``y`` ``(1,)`` int64 LCZ code 1–17 and
    ``sample_id`` (int).

    Attributes:
        graphs: the graphs, in file order.
        sample_id: ``(G,)`` int64 sample ids of ``graphs``.
        feature_names: names of the node feature columns.
    """

    graphs: list[Data]
    sample_id: np.ndarray
    feature_names: list[str] = field(default_factory=list)

    def subset(self, mask: np.ndarray) -> GraphSamples:
        """Graphs where the boolean ``mask`` ``(G,)`` is true."""
        idx = np.flatnonzero(mask)
        return GraphSamples([self.graphs[i] for i in idx], self.sample_id[idx], list(self.feature_names))

    @property
    def labels(self) -> np.ndarray:
        """``(G,)`` int64 LCZ codes of the graphs."""
        return np.array([int(g.y[0]) for g in self.graphs], dtype=np.int64)


def _as_file_list(files: PathLike | Iterable[PathLike]) -> list[PathLike]:
    if isinstance(files, (str, os.PathLike)):
        return [files]
    out = list(files)
    if not out:
        raise ValueError("no shard files given; expected a list of one or more HDF5 files")
    return out


def _keep_mask(ids: np.ndarray, keep_ids: Collection[int] | None) -> np.ndarray:
    if keep_ids is None:
        return np.ones(len(ids), dtype=bool)
    keep = np.fromiter((int(i) for i in keep_ids), dtype=np.int64, count=len(keep_ids))
    return np.isin(ids, keep)


def _check_unique(ids: np.ndarray, what: str) -> None:
    uniq, counts = np.unique(ids, return_counts=True)
    if (counts > 1).any():
        dup = uniq[counts > 1][:10].tolist()
        raise ValueError(f"{what}: duplicate sample_id(s) {dup} across the given shard files")


def load_s2_chips(files: PathLike | Iterable[PathLike], keep_ids: Collection[int] | None = None) -> S2Chips:
    """Read Sentinel-2 chip shards.

    Args:
        files: shard files (``sample_id`` (n,), ``image`` (n, H, W, B)).
        keep_ids: when given, only these sample ids are kept.

    Returns:
        ``S2Chips`` with ``image`` ``(N, H, W, B)`` float32 and ``sample_id`` ``(N,)`` int64.

    Raises:
        FileNotFoundError: a shard is missing.
        ValueError: a shard lacks a dataset, has inconsistent shapes, or ids repeat.
    """
    ids_all, images, bands = [], [], None
    shape: tuple[int, ...] | None = None
    for path in _as_file_list(files):
        data, attrs = read_h5(path, ["sample_id", "image"])
        ids = np.asarray(data["sample_id"]).astype(np.int64).reshape(-1)
        image = np.asarray(data["image"])
        if image.ndim != 4 or image.shape[0] != len(ids):
            raise ValueError(
                f"{path}: 'image' has shape {image.shape}; expected (N, H, W, bands) with N = {len(ids)} "
                "(the length of 'sample_id')"
            )
        if shape is None:
            shape = image.shape[1:]
        elif image.shape[1:] != shape:
            raise ValueError(f"{path}: chips of shape {image.shape[1:]} differ from earlier shards {shape}")
        file_bands = attrs.get("band_names", attrs.get("bands"))
        if file_bands is not None and bands is None:
            bands = [str(b) for b in file_bands]
        mask = _keep_mask(ids, keep_ids)
        ids_all.append(ids[mask])
        images.append(image[mask].astype(np.float32, copy=False))
    sample_id = np.concatenate(ids_all)
    _check_unique(sample_id, "Sentinel-2 chips")
    return S2Chips(sample_id, np.concatenate(images, axis=0), bands)


def _check_ptr(path: PathLike, name: str, ptr: np.ndarray, n_graphs: int, total: int) -> None:
    if ptr.ndim != 1 or len(ptr) != n_graphs + 1:
        raise ValueError(f"{path}: '{name}' has shape {ptr.shape}; expected ({n_graphs + 1},) for {n_graphs} graphs")
    if ptr[0] != 0 or ptr[-1] != total or (np.diff(ptr) < 0).any():
        raise ValueError(
            f"{path}: '{name}' must start at 0, never decrease and end at {total}; got {ptr[:3].tolist()}…{ptr[-1]}"
        )


def normalise_edges(edge_index: torch.Tensor, n_nodes: int) -> torch.Tensor:
    """Make ``edge_index`` ``(2, E)`` the binary symmetric adjacency without self-loops.

    Both directions of every edge are present, duplicates are merged and self-loops removed
    (the GCN normalises ``D^-1/2 A D^-1/2`` itself). Returns ``(2, E')`` int64, sorted.
    """
    if edge_index.numel() == 0:
        return torch.empty((2, 0), dtype=torch.long)
    ei, _ = remove_self_loops(edge_index.long())
    ei = to_undirected(ei, num_nodes=n_nodes)
    return coalesce(ei, num_nodes=n_nodes)


def load_graphs(
    files: PathLike | Iterable[PathLike],
    keep_ids: Collection[int] | None = None,
    labels: Mapping[int, int] | None = None,
) -> GraphSamples:
    """Read collated graph shards into one PyG ``Data`` per sample.

    Args:
        files: shard files (``x``, ``edge_index``, ``node_ptr``, ``edge_ptr``, ``sample_id``, ``y``).
        keep_ids: when given, only these sample ids are kept.
        labels: ``sample_id → lcz`` (1–17) from the sample table; it overrides the files' ``y``
            (every kept id must be in it). Without it the files' ``y`` is used.

    Returns:
        ``GraphSamples``; edges are made symmetric, de-duplicated and free of self-loops.

    Raises:
        FileNotFoundError: a shard is missing.
        ValueError: a dataset is missing or inconsistent (pointer arrays, local edge indices out
            of range, feature width or names differing between shards, labels outside 1–17).
    """
    graphs: list[Data] = []
    ids_all: list[np.ndarray] = []
    feature_names: list[str] | None = None
    n_features: int | None = None
    for path in _as_file_list(files):
        data, attrs = read_h5(path, ["x", "edge_index", "node_ptr", "edge_ptr", "sample_id", "y"])
        x = np.asarray(data["x"], dtype=np.float32)
        edge_index = np.asarray(data["edge_index"]).astype(np.int64)
        node_ptr = np.asarray(data["node_ptr"]).astype(np.int64)
        edge_ptr = np.asarray(data["edge_ptr"]).astype(np.int64)
        ids = np.asarray(data["sample_id"]).astype(np.int64).reshape(-1)
        y_file = np.asarray(data["y"]).reshape(-1)
        n_graphs = len(ids)
        if x.ndim != 2:
            raise ValueError(f"{path}: 'x' has shape {x.shape}; expected (total nodes, features)")
        if edge_index.ndim != 2 or edge_index.shape[0] != 2:
            raise ValueError(f"{path}: 'edge_index' has shape {edge_index.shape}; expected (2, total edges)")
        if len(y_file) != n_graphs:
            raise ValueError(f"{path}: 'y' has {len(y_file)} values for {n_graphs} sample ids")
        _check_ptr(path, "node_ptr", node_ptr, n_graphs, x.shape[0])
        _check_ptr(path, "edge_ptr", edge_ptr, n_graphs, edge_index.shape[1])
        names = [str(n) for n in attrs.get("feature_names", [])] or [f"f{i}" for i in range(x.shape[1])]
        if len(names) != x.shape[1]:
            raise ValueError(f"{path}: {len(names)} feature_names for {x.shape[1]} feature columns")
        if feature_names is None:
            feature_names, n_features = names, x.shape[1]
        elif names != feature_names or x.shape[1] != n_features:
            raise ValueError(f"{path}: node features {names} differ from earlier shards {feature_names}")
        keep = _keep_mask(ids, keep_ids)
        for g in np.flatnonzero(keep):
            sid = int(ids[g])
            n0, n1 = node_ptr[g], node_ptr[g + 1]
            local = edge_index[:, edge_ptr[g] : edge_ptr[g + 1]]
            n_nodes = int(n1 - n0)
            if local.size and (local.min() < 0 or local.max() >= n_nodes):
                raise ValueError(
                    f"{path}: graph of sample {sid} has edge indices outside 0..{n_nodes - 1} "
                    "(edge_index must hold local node indices per graph)"
                )
            if labels is not None:
                if sid not in labels:
                    raise ValueError(f"labels: sample {sid} (from {path}) is not in the sample table")
                code = labels[sid]
            else:
                code = y_file[g]
            code = _check_code(code, f"{path}: label of sample {sid}")
            graphs.append(
                Data(
                    x=torch.from_numpy(x[n0:n1].copy()),
                    edge_index=normalise_edges(torch.from_numpy(local.copy()), n_nodes),
                    y=torch.tensor([code], dtype=torch.long),
                    sample_id=sid,
                    num_nodes=n_nodes,
                )
            )
        ids_all.append(ids[keep])
    sample_id = np.concatenate(ids_all)
    _check_unique(sample_id, "graphs")
    return GraphSamples(graphs, sample_id, feature_names or [])


def _check_code(code: object, where: str) -> int:
    try:
        value = int(code)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise ValueError(f"{where}: {code!r} is not an LCZ class code; expected an integer 1–{N_CLASSES}") from None
    if value != code or not 1 <= value <= N_CLASSES:
        raise ValueError(f"{where}: {code!r} is not an LCZ class code; expected an integer 1–{N_CLASSES}")
    return value


def load_splits(path: PathLike) -> pd.Series:
    """Read a split table ``sample_id,split``.

    Returns:
        ``pd.Series`` of split names (``train``/``val``/``test``) indexed by int ``sample_id``.

    Raises:
        FileNotFoundError: the file is missing.
        ValueError: columns missing, unknown split names, or repeated sample ids.
    """
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: split table not found")
    table = pd.read_csv(path)
    missing = [c for c in SPLIT_COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {missing}; expected columns {list(SPLIT_COLUMNS)}")
    bad = sorted(set(table["split"].astype(str)) - set(SPLIT_NAMES))
    if bad:
        raise ValueError(f"{path}: unknown split value(s) {bad}; expected one of {list(SPLIT_NAMES)}")
    ids = table["sample_id"].astype(np.int64)
    if ids.duplicated().any():
        raise ValueError(f"{path}: sample_id(s) {ids[ids.duplicated()].head(10).tolist()} appear more than once")
    return pd.Series(table["split"].astype(str).to_numpy(), index=ids.to_numpy(), name="split")


def split_of(sample_ids: Sequence[int] | np.ndarray, splits: pd.Series) -> np.ndarray:
    """Split name of every id in ``sample_ids`` ``(N,)``; ``""`` for ids not in the split table."""
    return splits.reindex(np.asarray(sample_ids, dtype=np.int64)).fillna("").to_numpy(dtype=object)


def labels_for(
    sample_ids: Sequence[int] | np.ndarray, lcz_by_id: Mapping[int, int], where: str = "sample table"
) -> np.ndarray:
    """LCZ codes ``(N,)`` int64 of ``sample_ids`` from the mapping ``sample_id → lcz``.

    Raises:
        ValueError: an id is missing from the mapping or its code is not 1–17.
    """
    out = np.empty(len(sample_ids), dtype=np.int64)
    for i, sid in enumerate(np.asarray(sample_ids, dtype=np.int64).tolist()):
        if sid not in lcz_by_id:
            raise ValueError(f"{where}: sample {sid} has no LCZ label")
        out[i] = _check_code(lcz_by_id[sid], f"{where}: label of sample {sid}")
    return out
