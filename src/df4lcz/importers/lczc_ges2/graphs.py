"""Graph shards of imported LCZC-GES2 samples (docs/contracts.md §5) from the released dense adjacency."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from ...errors import InputError
from ...io.graphs import GraphSet, write_graphs
from ...io.samples import read_shard
from ...logs import get_logger, progress
from .files import GRAPH_FEATURES, read_graph_file

log = get_logger("importers.lczc_ges2")

#: Edge rule recorded in the attrs of imported graph shards.
IMPORTED_EDGE_RULE: str = "lczc_ges2 dense adjacency (nonzero entries, symmetrised, no self-loops)"

PathLike = str | os.PathLike


def dense_to_edge_index(a: np.ndarray) -> np.ndarray:
    """``(2, E)`` int64 undirected edges (both directions, no self-loops) of a dense ``(n, n)`` matrix.

    Every nonzero entry ``a[i, j]`` or ``a[j, i]`` with ``i ≠ j`` gives the edges ``i→j`` and
    ``j→i``; edges are sorted by source, then target.
    """
    b = np.asarray(a) != 0
    if b.ndim != 2 or b.shape[0] != b.shape[1]:
        raise ValueError(f"adjacency must be a square (n, n) matrix, got shape {b.shape}")
    b = b | b.T
    np.fill_diagonal(b, False)
    src, dst = np.nonzero(b)
    return np.stack([src, dst]).astype(np.int64)


def import_graph_shard(samples: PathLike | pd.DataFrame, shard: int, out_h5: PathLike) -> dict[str, int]:
    """Write the graph shard ``results/graphs/{shard}.h5`` of imported samples (:mod:`df4lcz.importers.lczc_ges2`).

    Args:
        samples: ``results/samples.parquet`` (path or table) written by :func:`.scan.write_samples_table`.
        shard: shard number.
        out_h5: output HDF5 (atomic): ``x`` (ΣN, 5), ``edge_index`` (2, ΣE) local, ``node_ptr``,
            ``edge_ptr``, ``sample_id``, ``y`` (1–17); ``feature_names`` in attrs.

    Returns:
        Counts: ``graphs`` written, ``dropped`` (no node or NaN/inf features), ``edges`` (directed).

    Raises:
        FileNotFoundError: a graph file is missing.
        ValueError: a graph file is malformed, or its label differs from the sample table.
    """
    rows = read_shard(samples, shard, extra=("graph_path",))
    xs: list[np.ndarray] = []
    edges: list[np.ndarray] = []
    ids: list[int] = []
    codes: list[int] = []
    dropped: list[tuple[int, str]] = []
    for sid, code, path in progress(
        list(zip(rows["sample_id"], rows["lcz"], rows["graph_path"])),
        desc=f"import graph shard {shard}",
        logger=log,
    ):
        x, a, label = read_graph_file(path)
        if label != int(code):
            raise InputError(
                f"{path}: label {label} differs from lcz {int(code)} of sample {int(sid)} in the "
                "sample table; the dataset changed since the table was written — rerun the import"
            )
        if x.shape[0] == 0:
            dropped.append((int(sid), f"{path}: graph without nodes"))
            continue
        if not np.isfinite(x).all():
            dropped.append((int(sid), f"{path}: NaN/inf node features"))
            continue
        xs.append(x.astype(np.float32))
        edges.append(dense_to_edge_index(a))
        ids.append(int(sid))
        codes.append(label)
    for sid, reason in dropped:
        log.warning("sample %d left out of the graphs: %s", sid, reason)
    n_nodes = np.array([len(x) for x in xs], dtype=np.int64)
    n_edges = np.array([e.shape[1] for e in edges], dtype=np.int64)
    graphset = GraphSet(
        x=np.concatenate(xs) if xs else np.zeros((0, len(GRAPH_FEATURES)), dtype=np.float32),
        edge_index=np.concatenate(edges, axis=1) if edges else np.zeros((2, 0), dtype=np.int64),
        node_ptr=np.concatenate([[0], np.cumsum(n_nodes)]).astype(np.int64),
        edge_ptr=np.concatenate([[0], np.cumsum(n_edges)]).astype(np.int64),
        feature_names=list(GRAPH_FEATURES),
        params={"edge_rule": IMPORTED_EDGE_RULE},
    )
    dropped_ids = np.array([d[0] for d in dropped], dtype=np.int64)
    write_graphs(
        out_h5,
        np.asarray(ids, dtype=np.int64),
        np.asarray(codes, dtype=np.int64),
        graphset,
        attrs={"source": "LCZC-GES2", "dropped_sample_id": dropped_ids},
    )
    log.info(
        "%s: %d graphs (%.1f nodes, %.1f directed edges on average), %d left out",
        out_h5,
        len(ids),
        float(n_nodes.mean()) if len(ids) else 0.0,
        float(n_edges.mean()) if len(ids) else 0.0,
        len(dropped),
    )
    return {"graphs": len(ids), "dropped": len(dropped), "edges": int(n_edges.sum())}
