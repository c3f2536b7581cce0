"""What actually ran, for the summary: the graphs behind the GCN, read from the graph files' attrs,
and how the Sentinel-2 chips became reflectance, read from the chip files' attrs.

The segmentation line comes from the masks files (:func:`df4lcz.segmentation.describe.describe_backend`);
this module adds the graph side: the edge rule and its parameter, the mask view the graphs were
built from (attr ``mask_view``, when the graphs rule records it) and, for imported graphs, their
source (attr ``source``). Attrs are read through :mod:`df4lcz.io.graphs` (docs/contracts.md §5).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any

from df4lcz.graphs.edges import EDGE_RULES
from df4lcz.io.chips import read_chip_info
from df4lcz.io.graphs import read_graph_attrs

#: Attrs naming the parameter of each edge rule (in the order of the rules).
EDGE_PARAM_KEYS: tuple[str, ...] = tuple(rule.param for rule in EDGE_RULES.values() if rule.param)


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
    return (
        f"GCN on the instance graph of the Google Earth chip — segmentation: {segmentation}; graphs: {graphs}"
    )


def describe_sentinel2(chip_files: Sequence[str | os.PathLike]) -> str:
    """One line naming each Sentinel-2 input and its reflectance formula (docs/contracts.md §3 attrs).

    ``"S2B_MSIL2A_….SAFE: reflectance = (DN - 1000) / 10000 (…: L2A, processing baseline 05.10)"``; inputs
    of several shards are named once; ``"none"`` without files.
    """
    lines: list[str] = []
    for path in chip_files:
        _, attrs = read_chip_info(path)
        if "s2_inputs" in attrs:
            entries = [
                (e.get("product") or e["path"], e["radiometry"]) for e in json.loads(attrs["s2_inputs"])
            ]
        else:  # imported chips: the convention of their importer
            scale, offset = attrs.get("reflectance_scale"), attrs.get("reflectance_offset")
            offset_text = "" if offset is None or not any(offset) else f" + offset {list(offset)}"
            entries = [
                (
                    str(attrs.get("source", path)),
                    f"reflectance = DN{offset_text} / {scale:g}"
                    if scale is not None
                    else "reflectance scale not recorded",
                )
            ]
        for name, formula in entries:
            line = f"{name}: {formula}"
            if line not in lines:
                lines.append(line)
    return "; ".join(lines) if lines else "none"
