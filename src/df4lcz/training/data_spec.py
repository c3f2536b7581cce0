"""What a model was trained on: the ``data`` record of a model file (docs/contracts.md §10).

Checked against a map's settings by :mod:`df4lcz.mapping.compat`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..graphs.edges import EDGE_RULES
from ..io.chips import read_chip_info
from ..io.graphs import read_graph_attrs

#: Value convention of every Sentinel-2 chip this workflow writes or imports (docs/contracts.md §3).
REFLECTANCE_CONVENTION: str = "reflectance in [0, 1]"


def training_data_spec(
    kind: str, first_file: str | os.PathLike, window: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The ``data`` record of a model trained on ``first_file``'s kind of shard.

    Sentinel-2 models: ``stream: sentinel2``, ``bands``, ``pixel_size_m``, ``chip_px``, ``reflectance``.
    GCN: ``stream: graphs``, ``feature_names``, ``mask_view`` (``None`` for imported graphs),
    ``edge_rule`` and its parameter, and the run's ``size_m``, ``google_chip_px``,
    ``segment_backend`` when ``window`` is given.

    Args:
        kind: ``"s2"`` or ``"gcn"``.
        first_file: one training shard (Sentinel-2 chips or graphs).
        window: ``size_m``, ``google_chip_px``, ``segment_backend`` of the run, or ``None`` (imported data).
    """
    if kind == "s2":
        shape, attrs = read_chip_info(first_file)
        chip_px = int(shape[1])
        return {
            "stream": "sentinel2",
            "bands": [str(b) for b in attrs.get("bands", [])],
            "pixel_size_m": float(attrs.get("pixel_size_m", 10.0)),
            "chip_px": chip_px,
            "reflectance": REFLECTANCE_CONVENTION,
        }
    attrs = read_graph_attrs(first_file)
    spec: dict[str, Any] = {
        "stream": "graphs",
        "feature_names": list(attrs.get("feature_names", [])),
        "mask_view": str(attrs["mask_view"]) if "mask_view" in attrs else None,
        "edge_rule": str(attrs.get("edge_rule", "")),
    }
    rule = EDGE_RULES.get(spec["edge_rule"])
    param = rule.param if rule is not None else None
    if param is not None and param in attrs:
        value = attrs[param]
        spec[param] = value.item() if isinstance(value, np.generic) else value
    if window is not None:
        spec.update({k: window[k] for k in ("size_m", "google_chip_px", "segment_backend")})
    return spec
