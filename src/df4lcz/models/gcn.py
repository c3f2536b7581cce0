"""DF4LCZ's graph network for the Google Earth stream (SAM instance graphs), in PyTorch Geometric.

``GCSConv`` is the "graph convolutional skip" layer (Spektral's ``GCSConv``)::

    Z = D^-1/2 A D^-1/2 X W1 + X W2 + b

with ``A`` the binary adjacency *without* self-loops and ``D`` its degree matrix (isolated nodes
get a zero row: ``0^-1/2`` is taken as 0, so they keep only their skip term). It is built from
PyG's ``GCNConv(add_self_loops=False, normalize=True, bias=False)`` for the propagated term and a
``Linear`` for the skip and bias.

``LCZGCN`` = 3 × GCSConv(32) with ReLU → global mean pool per graph → Linear 17. With 5 node
features it has 5,073 trainable parameters: 5·32·2 + 32 = 352, 2 × (32·32·2 + 32) = 4,160,
32·17 + 17 = 561.
"""

from __future__ import annotations

import torch
from torch import nn

from ..constants import N_CLASSES
from ..pyg import GCNConv, global_mean_pool

#: Default node features (mean R, G, B and bounding-box centre x, y).
DEFAULT_NODE_FEATURES: int = 5
#: Width and depth of the GCN in DF4LCZ.
DEFAULT_HIDDEN: int = 32
DEFAULT_LAYERS: int = 3
#: Trainable parameters of the default GCN with 5 node features.
LCZGCN_PARAMS: int = 5_073


class GCSConv(nn.Module):
    """Normalised graph convolution without self-loops plus a trainable linear skip.

    ``Z = D^-1/2 A D^-1/2 X W1 + X W2 + b``.

    Args:
        in_channels: node feature width F_in.
        out_channels: output width F_out.

    Forward:
        x: ``(N, F_in)`` node features; edge_index: ``(2, E)`` directed edges (both directions
        of an undirected edge present, no duplicates, no self-loops) → ``(N, F_out)``.
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.propagate_term = GCNConv(
            in_channels, out_channels, add_self_loops=False, normalize=True, bias=False
        )
        self.skip = nn.Linear(in_channels, out_channels, bias=True)

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        return self.propagate_term(x, edge_index) + self.skip(x)


class LCZGCN(nn.Module):
    """GCSConv stack → global mean pool → Linear: one LCZ prediction per graph.

    Args:
        in_features: node feature width (5 in DF4LCZ).
        hidden: width of every GCSConv layer (32).
        n_layers: number of GCSConv layers (3), each followed by ReLU.
        n_classes: output classes (17).

    Forward:
        x ``(ΣN, F)``, edge_index ``(2, ΣE)`` (global node indices of the batch), batch ``(ΣN,)``
        graph index of every node, n_graphs (graphs in the batch; graphs without nodes pool to
        a zero vector) → logits ``(n_graphs, n_classes)``.
    """

    def __init__(
        self,
        in_features: int = DEFAULT_NODE_FEATURES,
        hidden: int = DEFAULT_HIDDEN,
        n_layers: int = DEFAULT_LAYERS,
        n_classes: int = N_CLASSES,
    ) -> None:
        super().__init__()
        for name, value in (("in_features", in_features), ("hidden", hidden), ("n_layers", n_layers)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"LCZGCN: {name} must be a positive integer, got {value!r}")
        self.in_features = in_features
        self.convs = nn.ModuleList(
            [GCSConv(in_features if i == 0 else hidden, hidden) for i in range(n_layers)]
        )
        self.fc = nn.Linear(hidden, n_classes)

    def forward(
        self, x: torch.Tensor, edge_index: torch.Tensor, batch: torch.Tensor, n_graphs: int | None = None
    ) -> torch.Tensor:
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise ValueError(f"LCZGCN: expected node features (N, {self.in_features}), got {tuple(x.shape)}")
        for conv in self.convs:
            x = torch.relu(conv(x, edge_index))
        pooled = global_mean_pool(x, batch, size=n_graphs)
        return self.fc(pooled)
