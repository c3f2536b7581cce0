"""The package's import layering, what the workflow imports while it loads, and the run plan."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from df4lcz.config import load_schema, validate_config
from df4lcz.errors import ContractError
from df4lcz.graphs.edges import EDGE_RULES, check_edge_params
from df4lcz.run import RunPlan, config_digest, demo_region, segment_params

REPO = Path(__file__).resolve().parents[1]
PKG = REPO / "src" / "df4lcz"

#: The config layer: schema, defaults, constants, dataset variants, the run plan. It opens no input
#: file and imports nothing above it.
CONFIG_LAYER = ["errors.py", "constants.py", "variants.py", "config.py", "run.py", "demo/sites.py"]
#: Subpackages/modules above the config layer (readers, stages, models).
ABOVE = (
    "chipping",
    "segmentation",
    "io",
    "graphs",
    "training",
    "mapping",
    "models",
    "sampling",
    "evaluation",
    "stages",
    "importers",
    "preflight",
    "scripting",
    "demo.generate",
    "demo.render",
)
#: Libraries the workflow must not import while it loads (unless a setting needs them).
HEAVY = (
    "torch",
    "torch_geometric",
    "geopandas",
    "rasterio",
    "h5py",
    "skimage",
    "sklearn",
    "matplotlib",
    "segment_anything",
    "scipy",
)


def _imports(path: Path) -> list[str]:
    """Absolute names of every module ``path`` imports (relative imports resolved), at any depth."""
    package = ".".join(("df4lcz", *path.relative_to(PKG).with_suffix("").parts[:-1]))
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            names.append(module)
            names += [f"{module}.{a.name}" for a in node.names]
    return names


@pytest.mark.parametrize("module", CONFIG_LAYER)
def test_config_layer_imports_nothing_above_it(module):
    bad = [
        name
        for name in _imports(PKG / module)
        if name.split(".")[0] in HEAVY
        or any(name == f"df4lcz.{up}" or name.startswith(f"df4lcz.{up}.") for up in ABOVE)
    ]
    assert not bad, f"df4lcz/{module} (config layer) imports {bad}"


def test_import_scan_resolves_relative_and_lazy_imports():
    """The scan sees relative imports and imports inside functions (else the layering test proves nothing)."""
    assert "df4lcz.errors.ConfigError" in _imports(PKG / "config.py")  # `from .errors import ConfigError`
    assert "df4lcz.demo.sites" in _imports(PKG / "config.py")  # inside region_names()
    assert "df4lcz.chipping.google.sources" in _imports(PKG / "preflight.py")  # a layer above: allowed there
    assert "df4lcz.mapping.tiles.read_plan" in _imports(PKG / "workflow_inputs.py")  # inside map_tile_files


def test_stages_import_the_library_not_each_other():
    """A stage module reads its job and calls the library: it imports no other stage, and no library
    module imports a stage (a function two rules share lives in the library)."""
    bad = []
    for path in sorted(PKG.rglob("*.py")):
        mine = ".".join(("df4lcz", *path.relative_to(PKG).with_suffix("").parts))
        for name in _imports(path):
            if (
                name.startswith("df4lcz.stages.")
                and not name.startswith(f"{mine}.")
                and name.split(".")[2] != "__init__"
            ):
                bad.append(f"{mine} imports {name}")
    assert not bad, bad


def _parse_time_modules() -> list[str]:
    """``df4lcz`` modules the Snakefile and rule files import at their top level (imports inside
    input functions or hooks run only when those run)."""
    pattern = re.compile(r"^from (df4lcz[\w.]*) import", re.M)
    mods: set[str] = set()
    for path in [REPO / "Snakefile", *sorted((REPO / "rules").glob("*.smk"))]:
        mods.update(pattern.findall(path.read_text(encoding="utf-8")))
    return sorted(mods)


def test_workflow_load_imports_no_heavy_library():
    """What the Snakefile and rule files import at parse time pulls in no torch, geopandas or raster stack."""
    modules = _parse_time_modules()
    assert "df4lcz.preflight" in modules and "df4lcz.workflow_inputs" in modules
    code = (
        f"import sys; sys.path.insert(0, {str(REPO / 'src')!r})\n"
        f"import {', '.join(modules)}\n"
        "from df4lcz.devices import check_devices_here\n"
        "from df4lcz.preflight import validate_run_config\n"
        f"cfg = validate_run_config({{}}, base_dir={str(REPO)!r})\n"
        "check_devices_here(cfg)\n"  # train.device: auto → no torch needed to check it
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"


def test_edge_rules_table_is_the_schemas():
    graphs = load_schema()["properties"]["graphs"]["properties"]
    assert list(EDGE_RULES) == graphs["edge_rule"]["enum"]
    for name, rule in EDGE_RULES.items():
        assert rule.name == name
        if rule.param is None:
            assert name == "complete"
            continue
        assert rule.param in graphs, f"{name}: graphs.{rule.param} is not in the schema"
        default = graphs[rule.param]["default"]
        assert rule.valid(default) and type(rule.cast(default)) is rule.cast
        with pytest.raises(ValueError, match=rf"^{rule.param} must"):
            check_edge_params(name, **{"tolerance_px": 1, "radius_px": 1.0, "k": 1, rule.param: 0})
    assert EDGE_RULES["complete"].centre_edges is not None and EDGE_RULES["adjacency"].centre_edges is None
    with pytest.raises(ValueError, match=r"edge_rule 'delaunay' is unknown; expected one of \['adjacency'"):
        check_edge_params("delaunay", 1, 1.0, 1)


def test_run_plan_of_the_demo():
    plan = RunPlan(validate_config({"demo": {"n_cities": 2}, "fusion": {"calibrate": False}}))
    assert list(plan.regions) == ["demo_city_1", "demo_city_2"] == list(plan.labelled)
    assert plan.regions["demo_city_2"] == demo_region("demo_city_2")
    assert plan.regions["demo_city_2"]["google"] == "resources/demo/demo_city_2/google.tif"
    assert plan.models == ["resnet11_3d", "gcn", "df4lcz", "df4lcz_tuned"]
    assert plan.eval_keys[:2] == [("random", "resnet11_3d"), ("random", "gcn")]
    assert len(plan.eval_keys) == len(plan.strategies) * 4
    assert plan.map_regions == ["demo_city_1"] and plan.maps
    assert plan.map_models == {
        "s2": "results/models/random/resnet11_3d.pt",
        "gcn": "results/models/random/gcn.pt",
    }
    assert plan.map_source == {"fusion": "df4lcz", "strategy": "random"}
    polygon = RunPlan(validate_config({"map": {"strategy": "polygon"}}))
    assert polygon.map_source == {"fusion": "df4lcz", "strategy": "polygon"}
    prov = plan.summary_provenance(["config.yaml"])
    assert prov["configfiles"] == ["config.yaml"] and prov["dataset"] == "demo"
    assert prov["config_sha256"] == config_digest(plan.config) and prov["seed"] == plan.config["seed"]
    assert prov["caveat_settings"]["segmentation"] == "classical"
    assert plan.training_window == {"size_m": 320, "google_chip_px": 320, "segment_backend": "classical"}
    outputs = plan.final_outputs()
    assert outputs[0] == "results/samples.parquet" and outputs[-1] == "results/maps/demo_city_1_lcz.tif"
    assert "results/splits/polygon.csv" in outputs and "results/summary.html" in outputs


def test_run_plan_of_a_map_only_run_and_of_so2sat():
    region = {"name": "city", "google": "g.tif", "sentinel2": "s.tif"}
    plan = RunPlan(
        validate_config(
            {"dataset": "regions", "regions": [region], "map": {"models": {"s2": "a.pt", "gcn": "b.pt"}}}
        )
    )
    assert not plan.training and plan.labelled == {}
    assert plan.final_outputs() == ["results/maps/city_lcz.tif"]
    assert plan.map_models == {"s2": "a.pt", "gcn": "b.pt"}
    assert plan.map_source["strategy"] == "map.models"
    so2sat = RunPlan(
        validate_config(
            {
                "dataset": "so2sat",
                "splits": {"strategies": ["official"]},
                "so2sat": {"training": "t.h5", "validation": "v.h5", "testing": "s.h5"},
            }
        )
    )
    assert so2sat.regions == {} and so2sat.training and not so2sat.maps and so2sat.training_window is None
    assert so2sat.models == ["resnet11_3d"] and so2sat.fusion_strategies == []
    assert "results/figures/samples_overview.png" not in so2sat.final_outputs()


def test_segment_params_keep_only_the_active_backend():
    cfg = validate_config({"segment": {"backend": "classical"}})
    params = segment_params(cfg)
    assert params["backend"] == "classical" and "classical" in params and "sam" not in params
    assert params["classical"] == cfg["segment"]["classical"]


class _Checkpoint:
    """Stand-in for one of Snakemake's checkpoints: ``get()`` returns the finished job's outputs."""

    def __init__(self, **outputs):
        self.outputs = outputs
        self.calls = []

    def get(self, **wildcards):
        self.calls.append(wildcards)
        return SimpleNamespace(output=SimpleNamespace(**self.outputs))


def test_run_inputs_without_snakemake(tmp_path):
    """The workflow's input functions on a real sample table, with a stand-in ``checkpoints`` object."""
    import pandas as pd

    from df4lcz.workflow_inputs import RunInputs

    table = tmp_path / "samples.parquet"
    pd.DataFrame(
        {
            "sample_id": range(6),
            "region": ["demo_city_1"] * 4 + ["demo_city_2"] * 2,
            "shard": [0, 0, 1, 1, 2, 2],
            "lcz": [2] * 6,
        }
    ).to_parquet(table)
    checkpoints = SimpleNamespace(samples=_Checkpoint(table=str(table)))
    plan = RunPlan(validate_config({"demo": {"n_cities": 2}}))
    inputs = RunInputs(plan, checkpoints)
    wc = SimpleNamespace(shard="2", model="gcn")
    assert inputs.shard_region(wc)["name"] == "demo_city_2"
    assert inputs.shard_region(SimpleNamespace(shard="0")) is plan.regions["demo_city_1"]
    assert inputs.model_inputs(wc) == [f"results/graphs/{s}.h5" for s in (0, 1, 2)]
    assert inputs.model_inputs(SimpleNamespace(model="resnet11_3d")) == [
        f"results/chips/sentinel2/{s}.h5" for s in (0, 1, 2)
    ]
    assert inputs.graph_checks_input(wc) == ["results/checks/graphs.csv"]
    assert inputs.check_inputs(wc) == [
        "results/checks/samples.csv",
        "results/checks/valid_samples.csv",
        *(f"results/checks/graphs/{s}.csv" for s in (0, 1, 2)),
        "results/checks/graphs.csv",
    ]
    assert inputs.class_loss_input(wc) == ["results/checks/class_loss/samples.csv"]
    assert inputs.region_files("labels") == [
        "resources/demo/demo_city_1/labels.gpkg",
        "resources/demo/demo_city_2/labels.gpkg",
    ]
    assert inputs.region_files("google") == [
        "resources/demo/demo_city_1/google.tif",
        "resources/demo/demo_city_2/google.tif",
    ]  # not made yet: as given
    assert inputs.sam_checkpoint_input(wc) == []  # classical backend
    with pytest.raises(ContractError, match=r"results/samples.parquet holds no shard 7"):
        inputs.shard_region(SimpleNamespace(shard="7"))
    # the table is read once per version of the file
    assert inputs.shard_index() is inputs.shard_index()
    pd.DataFrame({"sample_id": [0], "region": ["demo_city_1"], "shard": [5], "lcz": [2]}).to_parquet(table)
    os.utime(table, (1, 1))
    assert inputs.shard_index().shards == (5,)


def test_shard_index_refuses_a_shard_of_two_regions(tmp_path):
    import pandas as pd

    from df4lcz.io.samples import read_shard_index

    table = tmp_path / "samples.parquet"
    pd.DataFrame({"region": ["a", "b", "b"], "shard": [0, 0, 1]}).to_parquet(table)
    with pytest.raises(ValueError, match=r"shard\(s\) \[0\] hold samples of several regions"):
        read_shard_index(table)
    pd.DataFrame({"region": ["a", "a", "b"], "shard": [1, 1, 0]}).to_parquet(table)
    index = read_shard_index(table)
    assert index.shards == (0, 1) and index.regions == {0: "b", 1: "a"}
