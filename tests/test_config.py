"""Config schema: defaults, and errors that name the key and what was expected."""

import re
from pathlib import Path

import pytest

from df4lcz.config import ConfigError, schema_markdown, validate_config
from df4lcz.preflight import load_config, validate_run_config

REPO = Path(__file__).resolve().parents[1]


def test_defaults_filled_with_paper_values():
    cfg = validate_config({})
    assert cfg["dataset"] == "demo"
    sam = cfg["segment"]["sam"]
    assert (
        sam["model_type"],
        sam["points_per_side"],
        sam["pred_iou_thresh"],
        sam["stability_score_thresh"],
    ) == ("vit_h", 12, 0.88, 0.92)
    assert (sam["box_nms_thresh"], sam["crop_n_layers"], sam["min_mask_region_area"]) == (0.4, 1, 100)
    assert cfg["segment"]["min_area"] == 50 and cfg["segment"]["max_masks"] == 50
    assert cfg["fusion"]["alpha"] == 0.6
    assert cfg["train"]["s2"]["lr"] == 0.002 and cfg["train"]["gcn"]["lr"] == 0.01
    assert cfg["samples"]["size_m"] == 320 and cfg["samples"]["shard_size"] == 256


def test_input_not_modified():
    raw = {"seed": 3}
    validate_config(raw)
    assert raw == {"seed": 3}


def test_unknown_key_named_with_valid_alternatives():
    with pytest.raises(
        ConfigError, match=r"unknown config key\(s\) 'segment.bakend'; valid keys here are: backend"
    ):
        validate_config({"segment": {"bakend": "sam"}})


def test_wrong_type_names_key_and_expectation():
    with pytest.raises(
        ConfigError,
        match=r"config key 'samples.shard_size': 'many' is not of type 'integer' "
        r"\(expected: Samples per shard",
    ):
        validate_config({"samples": {"shard_size": "many"}})


def test_bad_enum_value():
    with pytest.raises(
        ConfigError, match=r"config key 'segment.backend': 'slic' is not one of \['sam', 'classical'\]"
    ):
        validate_config({"segment": {"backend": "slic"}})


@pytest.mark.parametrize(
    "cfg, key, msg",
    [
        ({"demo": {"classes": [1, 18]}}, r"demo.classes\[1\]", "18 is greater than the maximum of 17"),
        ({"demo": {"classes": [0, 3]}}, r"demo.classes\[0\]", "0 is less than the minimum of 1"),
    ],
)
def test_class_code_outside_range(cfg, key, msg):
    with pytest.raises(ConfigError, match=rf"config key '{key}': {msg} \(expected: an LCZ class code 1–17\)"):
        validate_config(cfg)


def test_label_map_class_code(tmp_path):
    region = {"name": "r", "google": "g.tif", "sentinel2": "s", "labels": "l.gpkg", "label_map": {"101": 0}}
    with pytest.raises(ConfigError, match=r"'regions\[0\].label_map.101': 0 is less than the minimum of 1"):
        validate_config({"dataset": "regions", "regions": [region]})


def test_missing_input_paths_named(tmp_path):
    (tmp_path / "g.tif").write_bytes(b"")
    region = {"name": "r", "google": "g.tif", "sentinel2": "s2dir", "labels": "l.gpkg"}
    with pytest.raises(ConfigError) as err:
        validate_run_config({"dataset": "regions", "regions": [region]}, base_dir=tmp_path)
    text = str(err.value)
    assert "'regions[0].sentinel2': input not found: s2dir" in text
    assert "'regions[0].labels': input not found: l.gpkg" in text
    assert "regions[0].google" not in text


def test_regions_required_for_regions_dataset():
    with pytest.raises(ConfigError, match="dataset is 'regions' but no region is listed"):
        validate_config({"dataset": "regions"})


def test_split_shares_must_sum_to_one():
    with pytest.raises(
        ConfigError, match=r"'splits.train', 'splits.val', 'splits.test' sum to 0.9; expected 1"
    ):
        validate_config({"splits": {"train": 0.5}})


def test_several_problems_reported_together():
    with pytest.raises(ConfigError) as err:
        validate_config({"seed": -1, "graphs": {"edge_rule": "delaunay"}})
    assert "'seed'" in str(err.value) and "'graphs.edge_rule'" in str(err.value)


def test_load_config_file_errors(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("seed: [1,\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)


@pytest.mark.parametrize("name", ["config.yaml", "presets/paper.yaml", "tests/data/tiny.yaml"])
def test_shipped_configs_are_valid(name):
    path = REPO / name
    if not path.exists():
        pytest.skip(f"{name} not present yet")
    load_config(path, check_files=False)


def test_config_docs_in_sync_with_schema():
    doc = (REPO / "docs" / "config.md").read_text(encoding="utf-8")
    table = schema_markdown()
    assert table in doc, "docs/config.md is stale: run `make docs`"
    assert "| `segment.sam.points_per_side` | integer | `12` |" in table


def test_schema_holds_only_json_schema_keywords():
    """A comma in an unquoted flow-style description splits it into a stray key; none may exist."""
    from jsonschema import Draft202012Validator

    from df4lcz.config import load_schema

    known = set(Draft202012Validator.VALIDATORS) | {
        "type",
        "default",
        "description",
        "title",
        "$schema",
        "$id",
    }
    odd = []

    def walk(node, path):
        for name, sub in node.get("properties", {}).items():
            odd.extend(f"{path}{name}: {k!r}" for k in sub if k not in known)
            walk(sub, f"{path}{name}.")
            if isinstance(sub.get("items"), dict):
                walk(sub["items"], f"{path}{name}[].")

    walk(load_schema(), "")
    assert odd == []
    table = schema_markdown()
    assert (
        "| `train.gcn.lr_decay` | number | `1.0` | Step-decay factor (1.0 = constant rate, as in the released"
        in table
    )
    assert "| `map.strategy` | `random` \\| `polygon` \\| `null` | `null` |" in table


def test_tiny_sam_needs_a_checkpoint():
    with pytest.raises(ConfigError, match=r"'segment.sam.checkpoint': model_type 'tiny'"):
        validate_config({"segment": {"backend": "sam", "sam": {"model_type": "tiny"}}})


def test_missing_sam_checkpoint_file(tmp_path):
    cfg = {"segment": {"backend": "sam", "sam": {"checkpoint": "weights/sam.pth"}}}
    with pytest.raises(ConfigError, match=r"'segment.sam.checkpoint': file not found: weights/sam.pth"):
        validate_run_config(cfg, base_dir=tmp_path)


def test_key_order_does_not_matter():
    """Snakemake compares params as text: the same settings in another key order must give the same dicts."""
    a = validate_config({"demo": {"seed": 3, "n_cities": 2}, "samples": {"shard_size": 64}})
    b = validate_config({"samples": {"shard_size": 64}, "demo": {"n_cities": 2, "seed": 3}})
    assert repr(a) == repr(b)
    assert list(a["demo"])[:2] == ["seed", "n_cities"]  # the schema's order


def test_map_strategy_must_be_trained():
    with pytest.raises(
        ConfigError,
        match=r"config key 'map.strategy': 'random' is not among splits.strategies "
        r"\['polygon'\]",
    ):
        validate_config({"splits": {"strategies": ["polygon"]}, "map": {"strategy": "random"}})
    # by default the map uses the first trained strategy
    assert validate_config({"splits": {"strategies": ["polygon"]}})["map"]["strategy"] is None


def test_map_fusion_choices():
    cfg = validate_config({})
    assert cfg["map"]["fusion"] == "df4lcz" and cfg["map"]["uncertainty"] is True
    assert validate_config({"map": {"fusion": "df4lcz_cal_tuned"}})["map"]["fusion"] == "df4lcz_cal_tuned"
    models = {"s2": "a/resnet11_3d.pt", "gcn": "a/gcn.pt"}
    with pytest.raises(ConfigError, match=r"config key 'map.fusion': 'recommended' needs this run's fusion"):
        validate_config({"map": {"fusion": "recommended", "models": models}})
    validate_config({"map": {"fusion": "df4lcz", "models": models}})  # the default is fine
    with pytest.raises(ConfigError, match=r"config key 'map.alpha': applies to map.fusion 'df4lcz' only"):
        validate_config({"map": {"fusion": "df4lcz_tuned", "alpha": 0.5}})
    with pytest.raises(ConfigError, match=r"config key 'map.fusion': 'df4lcz_cal' is a calibrated fusion"):
        validate_config({"map": {"fusion": "df4lcz_cal"}, "fusion": {"calibrate": False}})


def test_imported_dataset_checks(tmp_path):
    with pytest.raises(ConfigError) as err:
        validate_run_config({"dataset": "so2sat", "so2sat": {"training": str(tmp_path / "missing.h5")}})
    text = str(err.value)
    assert "config key 'so2sat.training': input not found" in text
    assert "config key 'so2sat.validation': dataset is 'so2sat' but no validation HDF5 file is given" in text
    assert "config key 'splits.strategies': dataset 'so2sat' has only its official split" in text
    with pytest.raises(ConfigError, match="config key 'lczc_ges2.root': folder not found"):
        validate_run_config({"dataset": "lczc_ges2", "lczc_ges2": {"root": str(tmp_path / "nope")}})
    with pytest.raises(ConfigError, match="'official' exists only for dataset 'so2sat'"):
        validate_config({"splits": {"strategies": ["official"]}})


def _enum(schema: dict, *path: str) -> list:
    node = schema
    for key in path:
        node = node["properties"][key]
    return node["items"]["enum"] if "items" in node else node["enum"]


def test_schema_names_match_constants():
    """Model, dataset and strategy names have one home (df4lcz.constants); the schema repeats them."""
    from df4lcz.config import load_schema
    from df4lcz.constants import DATASETS, S2_BASELINES, SPLIT_STRATEGIES
    from df4lcz.variants import DATASET_VARIANTS

    schema = load_schema()
    assert _enum(schema, "dataset") == list(DATASETS)
    assert _enum(schema, "models", "baselines") == list(S2_BASELINES)
    assert _enum(schema, "splits", "strategies") == list(SPLIT_STRATEGIES)
    assert list(DATASET_VARIANTS) == list(DATASETS)


@pytest.mark.parametrize("key", ["train", "segment.sam"])
@pytest.mark.parametrize(
    "device,ok",
    [
        ("auto", True),
        ("cpu", True),
        ("cuda", True),
        ("cuda:1", True),
        ("gpu0", False),
        ("cuda:x", False),
        ("CPU", False),
    ],
)
def test_device_setting_checked_at_load(key, device, ok):
    cfg: dict = {}
    node = cfg
    for part in key.split("."):
        node = node.setdefault(part, {})
    node["device"] = device
    if ok:
        validate_config(cfg)
    else:
        with pytest.raises(ConfigError, match=rf"config key '{key}\.device': '{re.escape(device)}'"):
            validate_config(cfg)


def test_unknown_overview_region_named():
    with pytest.raises(
        ConfigError,
        match=r"'samples.overview_region': 'demo_city_9' is not a region of this run; "
        r"expected one of \['demo_city_1', 'demo_city_2', 'demo_city_3'\]",
    ):
        validate_config({"samples": {"overview_region": "demo_city_9"}})
    validate_config({"samples": {"overview_region": "demo_city_2"}})


def test_invalid_working_crs_named():
    region = {
        "name": "a",
        "google": "g.tif",
        "sentinel2": "s.tif",
        "labels": "l.gpkg",
        "working_crs": "EPSG:99999",
    }
    with pytest.raises(
        ConfigError, match=r"'regions\[0\]\.working_crs': 'EPSG:99999' is not a coordinate reference"
    ):
        validate_config({"dataset": "regions", "regions": [region]})
    region["working_crs"] = "EPSG:32650"
    validate_config({"dataset": "regions", "regions": [region]})
