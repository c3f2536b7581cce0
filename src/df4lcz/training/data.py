"""The stage files the models train on, as training inputs: chips, graphs, splits and labels.

* Sentinel-2 chip shards (docs/contracts.md §3), read by :func:`df4lcz.io.chips.read_chips`:
  :class:`S2Chips` with ``image`` (N, 32, 32, 10) float32 reflectance.
* Graph shards (docs/contracts.md §5), read by :func:`df4lcz.io.graphs.read_graphs`:
  :class:`GraphSamples`, one PyG ``Data`` per sample.
* Split tables (docs/contracts.md §6) are read by :func:`df4lcz.io.splits.read_split`;
  :func:`split_of` looks up the split of sample ids.
* Labels come from the sample table: the caller passes a mapping ``sample_id → lcz`` (1–17).

Every loader takes a list of shard files and an optional ``keep_ids`` set (the samples valid in
every stream); file order, then in-file order, is kept.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch

from ..constants import validate_lcz_code
from ..errors import ContractError
from ..io.chips import read_chips
from ..io.graphs import read_graphs
from ..pyg import Data, coalesce, remove_self_loops, to_undirected

PathLike = str | os.PathLike


@dataclass
class S2Chips:
    """Sentinel-2 chips of one or more shards.

    Attributes:
        sample_id: ``(N,)`` int64 sample ids.
        image: ``(N, H, W, B)`` float32 reflectance chips (So2Sat band order).
        band_names: band names from the file attribute ``bands`` (``None`` when absent).
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
        raise ContractError(f"{what}: duplicate sample_id(s) {dup} across the given shard files")


def load_s2_chips(files: PathLike | Iterable[PathLike], keep_ids: Collection[int] | None = None) -> S2Chips:
    """Read Sentinel-2 chip shards (docs/contracts.md §3).

    Args:
        files: shard files.
        keep_ids: when given, only these sample ids are kept.

    Returns:
        ``S2Chips`` with ``image`` ``(N, H, W, B)`` float32 and ``sample_id`` ``(N,)`` int64.

    Raises:
        FileNotFoundError: a shard is missing.
        ValueError: a shard is off the contract, shards differ in chip shape, or ids repeat.
    """
    ids_all, images, bands = [], [], None
    shape: tuple[int, ...] | None = None
    for path in _as_file_list(files):
        shard = read_chips(path, "sentinel2")
        ids, image = shard.sample_id, shard.image
        if shape is None:
            shape = image.shape[1:]
        elif image.shape[1:] != shape:
            raise ContractError(
                f"{path}: chips of shape {image.shape[1:]} differ from earlier shards {shape}"
            )
        file_bands = shard.attrs.get("bands")
        if file_bands is not None and bands is None:
            bands = [str(b) for b in file_bands]
        mask = _keep_mask(ids, keep_ids)
        ids_all.append(ids[mask])
        images.append(image[mask].astype(np.float32, copy=False))
    sample_id = np.concatenate(ids_all)
    _check_unique(sample_id, "Sentinel-2 chips")
    return S2Chips(sample_id, np.concatenate(images, axis=0), bands)


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
    """Read collated graph shards (docs/contracts.md §5) into one PyG ``Data`` per sample.

    Args:
        files: shard files.
        keep_ids: when given, only these sample ids are kept.
        labels: ``sample_id → lcz`` (1–17) from the sample table; it overrides the files' ``y``
            (every kept id must be in it). Without it the files' ``y`` is used.

    Returns:
        ``GraphSamples``; edges are made symmetric, de-duplicated and free of self-loops.

    Raises:
        FileNotFoundError: a shard is missing.
        ValueError: a shard is off the contract (pointer arrays, shapes), local edge indices out
            of range, feature names differing between shards, labels outside 1–17.
    """
    graphs: list[Data] = []
    ids_all: list[np.ndarray] = []
    feature_names: list[str] | None = None
    for path in _as_file_list(files):
        ids, y_file, gs = read_graphs(path)
        if len(y_file) != len(ids):
            raise ContractError(f"{path}: 'y' has {len(y_file)} values for {len(ids)} sample ids")
        names = list(gs.feature_names)
        if feature_names is None:
            feature_names = names
        elif names != feature_names:
            raise ContractError(f"{path}: node features {names} differ from earlier shards {feature_names}")
        keep = _keep_mask(ids, keep_ids)
        for g in np.flatnonzero(keep).tolist():
            sid = int(ids[g])
            x, local = gs.graph(g)
            n_nodes = int(gs.node_ptr[g + 1] - gs.node_ptr[g])
            if local.size and (local.min() < 0 or local.max() >= n_nodes):
                raise ContractError(
                    f"{path}: graph of sample {sid} has edge indices outside 0..{n_nodes - 1} "
                    "(edge_index must hold local node indices per graph)"
                )
            if labels is not None:
                if sid not in labels:
                    raise ContractError(f"labels: sample {sid} (from {path}) is not in the sample table")
                code = labels[sid]
            else:
                code = y_file[g]
            code = validate_lcz_code(code, f"{path}: label of sample {sid}")
            graphs.append(
                Data(
                    x=torch.from_numpy(x.copy()),
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


def split_of(sample_ids: Sequence[int] | np.ndarray, splits: pd.DataFrame) -> np.ndarray:
    """Split name of every id in ``sample_ids`` ``(N,)``; ``""`` for ids not in the split table.

    Args:
        sample_ids: ``(N,)`` ids.
        splits: a split table ``sample_id,split`` as :func:`df4lcz.io.splits.read_split` returns it.
    """
    by_id = pd.Series(
        splits["split"].to_numpy(), index=splits["sample_id"].to_numpy(dtype=np.int64), name="split"
    )
    return by_id.reindex(np.asarray(sample_ids, dtype=np.int64)).fillna("").to_numpy(dtype=object)
