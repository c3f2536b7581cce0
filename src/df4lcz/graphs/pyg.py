"""``torch_geometric`` ``Data`` objects of a :class:`~df4lcz.io.graphs.GraphSet` (for the GCN)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..io.graphs import GraphSet


def graphs_to_pyg(graphset: GraphSet, y: np.ndarray, sample_ids: np.ndarray | None = None) -> list[Any]:
    """One ``torch_geometric.data.Data`` per graph: ``x`` float32, ``edge_index`` int64 (local),
    ``y`` ``(1,)`` int64 LCZ code 1–17 (not shifted), and ``sample_id`` when given."""
    import torch

    from ..pyg import Data  # torch_geometric without its import-time FutureWarning

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
