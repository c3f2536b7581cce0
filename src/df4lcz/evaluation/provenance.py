"""What actually ran, for the summary: the graphs behind the GCN, read from the graph files' attrs.

The segmentation line comes from the masks files (:func:`df4lcz.segmentation.describe.describe_backend`);
this module adds the graph side: the edge rule and its parameter, the mask view the graphs were
built from (attr ``mask_view``, when the graphs rule records it) and, for imported graphs, their
source (attr ``source``). Attrs are read through :mod:`df4lcz.io.graphs` (docs/contracts.md §5).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from df4lcz.io.graphs import read_graph_attrs

#: Attrs naming the parameter of each edge rule.
EDGE_PARAM_KEYS: tuple[str, ...] = ("tolerance_px", "radius_px", "k")


def describe_graph_attrs(attrs: dict[str, Any]) -> str:
    """One line for a graph file's attrs, e.g. ``"mask view visible, edges adjacency (tolerance_px 3)"``."""
    params = ", ".join(f"{k} {attrs[k]}" for k in EDGE_PARAM_KEYS if k in attrs)
    edges = f"edges {attrs.get('edge_rule', 'unknown')}" + (f" ({params})" if params else "")
    parts = []
    if "mask_view" in attrs:
        parts.append(f"mask view {attrs['mask_view']}")
    parts.append(edges)
    if "source" in attrs:
        parts.append(f"imported from {attrs['source']}")
    return ", ".join(parts)


def describe_graphs(graph_files: Sequence[str | os.PathLike]) -> str:
    """One line naming how the graphs of a run were built; ``"none"`` without files.

    Files built with different settings are all listed, separated by ``"; "``.
    """
    lines: list[str] = []
    for path in graph_files:
        line = describe_graph_attrs(read_graph_attrs(path))
        if line not in lines:
            lines.append(line)
    return "; ".join(lines) if lines else "none"


def gcn_description(segmentation: str, graphs: str) -> str:
    """The summary's line for the GCN: what its input graphs were made of."""
    return (f"GCN on the instance graph of the Google Earth chip — segmentation: {segmentation}; "
            f"graphs: {graphs}")
