"""Whether a map made with this run's settings may use given model files.

Every model file records, in ``config["data"]`` (docs/contracts.md §10;
:func:`df4lcz.training.data_spec.training_data_spec`), the input it was trained on:

* Sentinel-2 models: ``stream: sentinel2``, the band order (``bands``), ``pixel_size_m``, ``chip_px``
  and ``reflectance`` (the value convention of the chips: reflectance in [0, 1]); the
  normalisation (``norm_mean``/``norm_std``) is in the record itself.
* GCN: ``stream: graphs``, the node features (``feature_names``) and their definition
  (``mask_view``), the edge rule and its parameter, and the window the graphs were cut from
  (``size_m``, ``google_chip_px``, ``segment_backend``) when the run knew it (imported datasets do
  not say; the released LCZC-GES2 graphs are whole masks with the complete edge rule).

:func:`check_map_models` compares them with the settings a map would use and lists every mismatch;
the workflow calls it when the configuration is loaded (``map.models``), before any job runs.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..constants import S2_BANDS, S2_CHIP_PX
from ..errors import ContractError
from ..graphs.edges import EDGE_RULES
from ..io.models import read_model_record
from ..training.data_spec import REFLECTANCE_CONVENTION

#: Edge-rule description prefix of the LCZC-GES2 importer: the released dense adjacency (``a > 0``),
#: which the ``complete`` rule reproduces (tests/test_interchangeability.py).
IMPORTED_COMPLETE_PREFIX: str = "lczc_ges2"


def _differs(a: Any, b: Any) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return not np.isclose(float(a), float(b))
    return a != b


def s2_mismatches(record: Mapping[str, Any], where: str) -> list[str]:
    """Why the Sentinel-2 model ``record`` cannot classify this workflow's chips (empty: it can)."""
    data = (record.get("config") or {}).get("data")
    if record.get("kind") != "s2":
        return [f"{where}: a {record.get('kind')!r} model, expected a Sentinel-2 model (kind 's2')"]
    if not data:
        return [
            f"{where}: the model file records no training input (config.data; written before this check "
            "existed): retrain it with this version"
        ]
    out = []
    expected = {
        "bands": list(S2_BANDS),
        "pixel_size_m": 10.0,
        "chip_px": S2_CHIP_PX,
        "reflectance": REFLECTANCE_CONVENTION,
    }
    for key, value in expected.items():
        if _differs(data.get(key), value):
            out.append(f"{where}: trained on {key} {data.get(key)!r}, the map's chips have {value!r}")
    for key in ("norm_mean", "norm_std"):
        values = record.get(key)
        if values is None or len(values) != len(S2_BANDS):
            out.append(f"{where}: normalisation {key} must hold {len(S2_BANDS)} values, got {values!r}")
    return out


def gcn_mismatches(record: Mapping[str, Any], where: str, settings: Mapping[str, Any]) -> list[str]:
    """Why the GCN ``record`` cannot classify graphs built with ``settings`` (empty: it can).

    Args:
        settings: ``graphs`` (the config section), ``size_m``, ``google_chip_px``, ``segment_backend``.
    """
    data = (record.get("config") or {}).get("data")
    if record.get("kind") != "gcn":
        return [f"{where}: a {record.get('kind')!r} model, expected a GCN (kind 'gcn')"]
    if not data:
        return [
            f"{where}: the model file records no training input (config.data; written before this check "
            "existed): retrain it with this version"
        ]
    graphs = settings["graphs"]
    out = []
    if list(data.get("feature_names", [])) != list(graphs["features"]):
        out.append(
            f"{where}: trained on node features {data.get('feature_names')}, graphs.features is "
            f"{list(graphs['features'])}"
        )
    rule = str(data.get("edge_rule", ""))
    imported = rule.startswith(IMPORTED_COMPLETE_PREFIX)
    trained_rule = "complete" if imported else rule
    if trained_rule != graphs["edge_rule"]:
        out.append(
            f"{where}: trained on graphs with edge rule {rule!r}, graphs.edge_rule is {graphs['edge_rule']!r}"
        )
    else:
        param = EDGE_RULES[trained_rule].param if trained_rule in EDGE_RULES else None
        if param is not None and _differs(data.get(param), graphs[param]):
            out.append(
                f"{where}: trained with {param} {data.get(param)!r}, graphs.{param} is {graphs[param]!r}"
            )
    view = data.get("mask_view") or ("whole" if imported else None)
    if view != graphs["mask_view"]:
        out.append(
            f"{where}: node features computed over {view!r} masks, graphs.mask_view is {graphs['mask_view']!r}"
        )
    for key, setting in (
        ("size_m", "samples.size_m"),
        ("google_chip_px", "google.chip_px"),
        ("segment_backend", "segment.backend"),
    ):
        if key in data and _differs(data[key], settings[key]):
            out.append(f"{where}: trained on {key} {data[key]!r}, {setting} is {settings[key]!r}")
    return out


def check_map_models(
    s2_path: str | os.PathLike, gcn_path: str | os.PathLike, settings: Mapping[str, Any]
) -> None:
    """Refuse models the map's settings cannot feed (see :func:`s2_mismatches`, :func:`gcn_mismatches`).

    Raises:
        FileNotFoundError: a model file is missing.
        ContractError: every mismatch, one per line, each naming the file, what it was trained on and the
            setting that differs.
    """
    problems = s2_mismatches(read_model_record(s2_path), str(s2_path))
    problems += gcn_mismatches(read_model_record(gcn_path), str(gcn_path), settings)
    if problems:
        raise ContractError(
            "map.models cannot be used with this configuration:\n  "
            + "\n  ".join(problems)
            + "\nmap with the settings the models were trained with, or train models with these"
        )
