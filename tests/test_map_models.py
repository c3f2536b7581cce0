"""Models from another run for the map: what a model file records about its training input, and the
check that refuses a model the map's settings cannot feed (issue: map any region)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from df4lcz.config import ConfigError, schema_defaults, validate_config
from df4lcz.constants import S2_BANDS
from df4lcz.io.chips import IMPORTED_S2_ATTRS, write_chips
from df4lcz.io.graphs import GraphSet, write_graphs
from df4lcz.io.models import MODEL_FORMAT
from df4lcz.mapping.compat import check_map_models, gcn_mismatches, s2_mismatches
from df4lcz.training.data_spec import training_data_spec

NONE_EXCLUDED = pd.DataFrame({"sample_id": np.zeros(0, np.int64), "reason": pd.Series([], dtype=str)})


def graphs_file(path: Path, params: dict, features=("r", "g", "b", "cx", "cy")) -> Path:
    x = np.random.default_rng(0).random((3, len(features))).astype(np.float32)
    graphset = GraphSet(
        x,
        np.array([[0, 1], [1, 0]], np.int64),
        np.array([0, 2, 3], np.int64),
        np.array([0, 2, 2], np.int64),
        list(features),
        params,
    )
    write_graphs(path, np.array([5, 6]), np.array([2, 11]), graphset, attrs={"masks": "0.h5"})
    return path


def settings(**graphs) -> dict:
    return {
        "graphs": {**schema_defaults("graphs"), **graphs},
        "size_m": 320.0,
        "google_chip_px": 320,
        "segment_backend": "classical",
    }


WINDOW = {"size_m": 320.0, "google_chip_px": 320, "segment_backend": "classical"}


def record(kind: str, data: dict | None, norm: bool = True) -> dict:
    return {
        "format": MODEL_FORMAT,
        "kind": kind,
        "config": {"data": data} if data is not None else {},
        "norm_mean": [0.1] * 10 if norm and kind == "s2" else None,
        "norm_std": [0.2] * 10 if norm and kind == "s2" else None,
    }


def test_training_data_spec_of_both_streams(tmp_path):
    chips = tmp_path / "s2.h5"
    write_chips(
        chips,
        "sentinel2",
        np.arange(2),
        np.zeros((2, 32, 32, 10), np.float32),
        NONE_EXCLUDED,
        attrs=IMPORTED_S2_ATTRS,
    )
    assert training_data_spec("s2", chips, WINDOW) == {
        "stream": "sentinel2",
        "bands": list(S2_BANDS),
        "pixel_size_m": 10.0,
        "chip_px": 32,
        "reflectance": "reflectance in [0, 1]",
    }
    g = graphs_file(tmp_path / "g.h5", {"mask_view": "whole", "edge_rule": "radius", "radius_px": 80.0})
    assert training_data_spec("gcn", g, WINDOW) == {
        "stream": "graphs",
        "feature_names": ["r", "g", "b", "cx", "cy"],
        "mask_view": "whole",
        "edge_rule": "radius",
        "radius_px": 80.0,
        **WINDOW,
    }
    imported = graphs_file(tmp_path / "i.h5", {"edge_rule": "lczc_ges2 dense adjacency (nonzero entries)"})
    spec = training_data_spec("gcn", imported, None)
    assert spec["mask_view"] is None and "size_m" not in spec


def test_matching_models_pass_and_mismatches_are_named():
    defaults = schema_defaults("graphs")
    gcn = {
        "stream": "graphs",
        "feature_names": list(defaults["features"]),
        "mask_view": defaults["mask_view"],
        "edge_rule": defaults["edge_rule"],
        **WINDOW,
    }
    param = {"adjacency": "tolerance_px", "radius": "radius_px", "knn": "k"}.get(defaults["edge_rule"])
    if param:
        gcn[param] = defaults[param]
    assert gcn_mismatches(record("gcn", gcn), "g.pt", settings()) == []
    s2 = {
        "stream": "sentinel2",
        "bands": list(S2_BANDS),
        "pixel_size_m": 10.0,
        "chip_px": 32,
        "reflectance": "reflectance in [0, 1]",
    }
    assert s2_mismatches(record("s2", s2), "s.pt") == []

    problems = gcn_mismatches(
        record("gcn", gcn), "g.pt", settings(features=["r", "g", "b"], mask_view="visible")
    )
    assert problems[0] == (
        f"g.pt: trained on node features {list(defaults['features'])}, graphs.features is ['r', 'g', 'b']"
    )
    assert any("computed over 'whole' masks, graphs.mask_view is 'visible'" in p for p in problems)
    other = "complete" if defaults["edge_rule"] != "complete" else "adjacency"
    assert any(
        f"edge rule {defaults['edge_rule']!r}, graphs.edge_rule is {other!r}" in p
        for p in gcn_mismatches(record("gcn", gcn), "g.pt", settings(edge_rule=other))
    )
    sam = {**settings(), "segment_backend": "sam"}
    assert gcn_mismatches(record("gcn", gcn), "g.pt", sam) == [
        "g.pt: trained on segment_backend 'classical', segment.backend is 'sam'"
    ]
    assert s2_mismatches(record("s2", {**s2, "bands": list(S2_BANDS[::-1])}), "s.pt")[0].startswith(
        "s.pt: trained on bands ['B12', 'B11'"
    )
    assert s2_mismatches(record("s2", s2, norm=False), "s.pt")[0].startswith(
        "s.pt: normalisation norm_mean must"
    )
    assert "records no training input" in s2_mismatches(record("s2", None), "s.pt")[0]
    assert s2_mismatches(record("gcn", gcn), "s.pt") == [
        "s.pt: a 'gcn' model, expected a Sentinel-2 model (kind 's2')"
    ]
    # a GCN trained on the released LCZC-GES2 graphs: whole masks, complete graph
    released = {
        "stream": "graphs",
        "feature_names": ["r", "g", "b", "cx", "cy"],
        "mask_view": None,
        "edge_rule": "lczc_ges2 dense adjacency (nonzero entries, symmetrised, no self-loops)",
    }
    paper = settings(features=["r", "g", "b", "cx", "cy"], mask_view="whole", edge_rule="complete")
    assert gcn_mismatches(record("gcn", released), "g.pt", paper) == []
    assert gcn_mismatches(
        record("gcn", released), "g.pt", {**paper, "graphs": {**paper["graphs"], "edge_rule": "adjacency"}}
    )


def test_check_map_models_reads_the_files(tmp_path):
    s2 = {
        "stream": "sentinel2",
        "bands": list(S2_BANDS),
        "pixel_size_m": 10.0,
        "chip_px": 32,
        "reflectance": "reflectance in [0, 1]",
    }
    torch.save(record("s2", s2), tmp_path / "s2.pt")
    torch.save(
        record(
            "gcn", {"stream": "graphs", "feature_names": ["r"], "mask_view": "whole", "edge_rule": "complete"}
        ),
        tmp_path / "gcn.pt",
    )
    with pytest.raises(
        ValueError,
        match=r"map.models cannot be used with this configuration:\n  .*gcn\.pt: trained on "
        r"node features \['r'\]",
    ):
        check_map_models(tmp_path / "s2.pt", tmp_path / "gcn.pt", settings())
    with pytest.raises(FileNotFoundError, match=r"missing\.pt: model file not found"):
        check_map_models(tmp_path / "missing.pt", tmp_path / "gcn.pt", settings())


def test_map_only_config_rules():
    region = {"name": "city", "google": "g.tif", "sentinel2": "s.tif"}
    with pytest.raises(
        ConfigError,
        match=r"regions\[1\]\.labels': region 'other' has no labels and is not in "
        r"map\.regions",
    ):
        validate_config(
            {"dataset": "regions", "regions": [{**region, "labels": "l.gpkg"}, {**region, "name": "other"}]}
        )
    with pytest.raises(ConfigError, match=r"'map\.models': no region has labels, so nothing is trained"):
        validate_config({"dataset": "regions", "regions": [region]})
    cfg = validate_config(
        {"dataset": "regions", "regions": [region], "map": {"models": {"s2": "a.pt", "gcn": "b.pt"}}}
    )
    assert cfg["regions"][0]["labels"] is None and cfg["map"]["models"] == {"s2": "a.pt", "gcn": "b.pt"}
