"""The torch_geometric names the package uses, imported without the library's deprecation noise.

Importing torch_geometric (2.8 under torch 2.15) scripts a few classes with
``torch.jit.script``, which torch now deprecates with a ``FutureWarning`` printed into every train
and predict log. This module is the one import site of those names: it silences exactly that
warning, for the duration of the import only; every other warning still shows.
"""

from __future__ import annotations

import warnings

with warnings.catch_warnings():
    warnings.filterwarnings(
        "ignore",
        message=r"`torch\.jit\.script` is deprecated",
        category=FutureWarning,
        module=r"torch\.jit\._script",
    )
    import torch_geometric
    from torch_geometric.data import Batch, Data
    from torch_geometric.loader import DataLoader
    from torch_geometric.nn import GCNConv, global_mean_pool
    from torch_geometric.utils import coalesce, remove_self_loops, to_undirected

__all__ = [
    "Batch",
    "Data",
    "DataLoader",
    "GCNConv",
    "coalesce",
    "global_mean_pool",
    "remove_self_loops",
    "to_undirected",
    "torch_geometric",
]
