"""End-to-end: the Snakemake workflow on the tiny config (slow; CI runs it)."""

from __future__ import annotations

import re
import subprocess
import sys

import h5py
import numpy as np
import pandas as pd
import pytest
import yaml
from helpers.named_configs import SAM_SEED, config_path, load_config, make_fixtures
from helpers.pages import embedded_pngs, page_images, page_refs
from helpers.workflow import REPO, SNAKEMAKE, TINY, job_counts, rules_started, snakemake, tiny_config

from df4lcz.io.checks import read_checks

# ``tiny_run`` (tests/conftest.py): the whole tiny workflow, run once per session and shared; tests that
# change a run use ``tiny_run_copy``.


@pytest.mark.slow
def test_tiny_run_outputs(tiny_run):
    samples = pd.read_parquet(tiny_run / "results" / "samples.parquet")
    assert len(samples) >= 20 and samples.shard.nunique() >= 2
    for strategy in ("random", "polygon"):
        split = pd.read_csv(tiny_run / "results" / "splits" / f"{strategy}.csv")
        assert sorted(split.sample_id) == sorted(samples.sample_id)
    assert (tiny_run / "logs" / "samples.log").stat().st_size > 0
    assert (tiny_run / "benchmarks" / "samples.tsv").exists()
    # every job saved itself for standalone reruns
    assert (tiny_run / "logs" / "samples.log.job.json").exists()


@pytest.mark.slow
def test_tiny_run_predictions_and_metrics(tiny_run):
    res = tiny_run / "results"
    valid = set(pd.read_csv(res / "valid_samples.csv").sample_id)
    metrics = pd.read_csv(res / "tables" / "metrics.csv")
    samples = pd.read_parquet(res / "samples.parquet", columns=["sample_id", "lcz"]).set_index("sample_id")
    models = ["resnet11_3d", "gcn", "df4lcz", "df4lcz_tuned", "df4lcz_cal", "df4lcz_cal_tuned"]
    assert sorted(zip(metrics.strategy, metrics.model)) == sorted(
        (s, m) for s in ("random", "polygon") for m in models
    )
    for strategy in ("random", "polygon"):
        split = pd.read_csv(res / "splits" / f"{strategy}.csv")
        expected = split[split.split.isin(["val", "test"]) & split.sample_id.isin(valid)]
        assert len(expected) > 0
        for model in models:
            pred = pd.read_csv(res / "predictions" / strategy / f"{model}.csv")
            assert sorted(pred.sample_id) == sorted(expected.sample_id)
            assert (pred.set_index("sample_id").split == expected.set_index("sample_id").split).all()
            np.testing.assert_array_equal(pred.y_true, samples.loc[pred.sample_id, "lcz"])
            proba = pred[[f"p_{c}" for c in range(1, 18)]].to_numpy()
            np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-4)
            np.testing.assert_array_equal(pred.y_pred, proba.argmax(axis=1) + 1)
            row = metrics[(metrics.strategy == strategy) & (metrics.model == model)].iloc[0]
            test = pred[pred.split == "test"]
            assert row.n_test == len(test)
            assert row.OA == pytest.approx(
                (test.y_pred == test.y_true).mean()
            )  # a fraction (the .md shows %)
    # fused = α·P_S2 + (1 − α)·P_GCN with the paper's α = 0.6
    s2 = pd.read_csv(res / "predictions" / "random" / "resnet11_3d.csv").set_index("sample_id").sort_index()
    gcn = pd.read_csv(res / "predictions" / "random" / "gcn.csv").set_index("sample_id").sort_index()
    fused = pd.read_csv(res / "predictions" / "random" / "df4lcz.csv").set_index("sample_id").sort_index()
    cols = [f"p_{c}" for c in range(1, 18)]
    np.testing.assert_allclose(fused[cols], 0.6 * s2[cols] + 0.4 * gcn[cols], atol=1e-5)
    summary = (res / "summary.md").read_text()
    assert "classical felzenszwalb" in summary
    assert (
        "Sentinel-2: resources/demo/demo_city_1/sentinel2.tif: reflectance = DN / 10000 (digital numbers "
        "without product metadata (offset 0 assumed))"
    ) in summary
    # the demo's labels are valid, its mosaic 1 m and its chips segmented: input checks record no warning
    n_shards = pd.read_parquet(res / "samples.parquet").shard.nunique()
    rows = [
        *read_checks(res / "checks" / "samples.csv"),
        *read_checks(res / "checks" / "graphs.csv"),
        *(r for s in range(n_shards) for r in read_checks(res / "checks" / "graphs" / f"{s}.csv")),
    ]
    assert [r.check for r in rows if r.stage == "graph_checks"] == ["zero_mask_chips", "single_node_graphs"]
    # class_loss rows (info: squares lost outside a raster, below the warning threshold) come on top
    assert len([r for r in rows if r.check != "class_loss"]) == 2 + 2 * n_shards
    assert not [r for r in rows if r.level == "warning"]
    n_checked = len(rows) + len(
        read_checks(res / "checks" / "valid_samples.csv")
    )  # every record the summary reads
    assert f"## Input checks\n\nAll passed: {n_checked} check(s) recorded, none a warning.\n" in summary
    assert f"**Input checks: all passed ({n_checked} check(s) recorded, none a warning).**" in summary
    # the Result section first: the recommended fused model of each strategy by validation accuracy
    result = summary.split("## Result")[1].split("## Data")[0]
    for strategy in ("random", "polygon"):
        fusion = pd.read_csv(res / "predictions" / strategy / "fusion.csv")
        best = fusion.loc[fusion.val_accuracy.round(12).idxmax(), "model"]  # first of the tied (table order)
        row = metrics[(metrics.strategy == strategy) & (metrics.model == best)].iloc[0]
        assert f"| {strategy} | {best} | recommended (validation accuracy " in result
        assert f"{100 * row.OA:.2f} % [{100 * row.OA_lo:.2f}, {100 * row.OA_hi:.2f}]" in result
    assert "synthetic demo cities (dataset demo), not real data" in result and "Demo run:" in result
    assert "## Provenance" in summary and "Effective config SHA-256:" in summary
    # the HTML embeds every image: nothing to resolve beside it
    page = (res / "summary.html").read_text()
    srcs = re.findall(r'<img src="([^"]*)"', page)
    assert len(srcs) >= 2 * len(metrics) and all(s.startswith("data:image/png;base64,") for s in srcs)
    with h5py.File(res / "masks" / "0.h5") as f:
        assert f.attrs["backend"] == "classical"


@pytest.mark.slow
def test_rerun_is_noop(tiny_run):
    proc = snakemake(tiny_run, "--cores", "1", "all", "-n")
    assert "Nothing to be done" in proc.stdout + proc.stderr


@pytest.mark.slow
def test_graph_param_change_reruns_only_graphs_and_downstream(tiny_run, tmp_path):
    override = tiny_config(tmp_path / "override.yaml", graphs={"tolerance_px": 5})
    proc = snakemake(tiny_run, "--cores", "1", "all", "-n", "--quiet", "rules", configfile=override)
    text = proc.stdout + proc.stderr
    counts = dict(re.findall(r"^(\w+)\s+(\d+)\s*$", text, flags=re.M))
    n_shards = pd.read_parquet(tiny_run / "results" / "samples.parquet").shard.nunique()
    assert int(counts.get("graphs", 0)) == n_shards, text
    assert int(counts.get("train", 0)) == 2 and int(counts.get("predict", 0)) == 2, (
        text
    )  # the GCN per strategy
    assert int(counts.get("fuse", 0)) == 2 and int(counts.get("evaluate", 0)) == 1, text
    for upstream in ("chip_google", "segment", "chip_sentinel2", "samples", "demo_city", "splits"):
        assert upstream not in counts, text


@pytest.mark.slow
def test_script_runs_alone_from_saved_job(tiny_run_copy):
    out = tiny_run_copy / "results" / "splits" / "polygon.csv"
    before = out.read_bytes()
    out.unlink()
    job = tiny_run_copy / "logs" / "splits" / "polygon.log.job.json"
    subprocess.run(
        [sys.executable, str(REPO / "workflow_scripts" / "splits.py"), str(job)],
        cwd=tiny_run_copy,
        check=True,
        capture_output=True,
    )
    assert out.read_bytes() == before


def test_invalid_config_stops_before_any_job(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("dataset: demo\nsegment:\n  backend: watershed\ndemo:\n  classes: [1, 2, 19]\n")
    proc = snakemake(tmp_path, "--cores", "1", "all", "-n", configfile=bad, check=False)
    text = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "config key 'segment.backend': 'watershed' is not one of ['sam', 'classical']" in text
    assert "config key 'demo.classes[2]': 19 is greater than the maximum of 17" in text
    assert not (tmp_path / "results").exists() and not (tmp_path / "resources").exists()


def test_lint_clean():
    proc = subprocess.run(
        [*SNAKEMAKE, "--lint", "--snakefile", str(REPO / "Snakefile")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Congratulations" in proc.stdout + proc.stderr


def test_every_rule_has_log_and_benchmark():
    """Every rule and checkpoint but ``all`` declares ``log:`` and ``benchmark:`` (README, "Everyday use")."""
    rules = {}
    for path in sorted((REPO / "rules").glob("*.smk")):
        for block in re.split(r"(?m)^(?=(?:rule|checkpoint) \w+:)", path.read_text(encoding="utf-8")):
            head = re.match(r"(?:rule|checkpoint) (\w+):", block)
            if head:
                rules[head.group(1)] = {
                    d for d in ("log", "benchmark") if re.search(rf"(?m)^    {d}:$", block)
                }
    assert len(rules) >= 24 and {"samples", "lcz_map_plan", "lcz_map_tile", "so2sat_samples"} <= set(rules)
    assert {name: have for name, have in rules.items() if have != {"log", "benchmark"}} == {}


@pytest.mark.slow
def test_tiny_sam_backend_in_workflow(tmp_path):
    """The SAM backend runs in the workflow (tiny random-weight SAM from segment-anything's modules);
    its masks equal SamAutomaticMaskGenerator.generate called directly with the same settings.

    The SAM backend changes what is upstream of training, so the run is kept short after it: a city of
    2 × 2 patches (11 samples, one shard), no map (``map.enabled: false``; the tiles would segment
    again), one split strategy, the shortest training."""
    from segment_anything import SamAutomaticMaskGenerator

    from df4lcz.io.chips import read_chips
    from df4lcz.io.graphs import read_graph_attrs, read_graphs
    from df4lcz.io.masks import read_masks
    from df4lcz.segmentation.sam import build_tiny_sam

    work = tmp_path / "wf"
    make_fixtures("sam", work)
    segment = load_config("sam")["segment"]
    sam = segment["sam"]
    snakemake(work, "--cores", "2", "all", configfile=config_path("sam"))
    res = work / "results"
    summary = (res / "summary.md").read_text()
    assert "SAM tiny" in summary
    overall = {r.check: r for r in read_checks(res / "checks" / "graphs.csv")}["single_node_graphs"]
    assert overall.level == "warning" and overall.threshold == 0.9
    assert f"- {overall.message}\n" in summary.split("## Input checks")[1].split("## Models")[0]
    metrics = pd.read_csv(res / "tables" / "metrics.csv")
    assert sorted(zip(metrics.strategy, metrics.model)) == sorted(
        ("random", m)
        for m in ("resnet11_3d", "gcn", "df4lcz", "df4lcz_tuned", "df4lcz_cal", "df4lcz_cal_tuned")
    )
    assert not (res / "maps").exists()

    generator = SamAutomaticMaskGenerator(
        build_tiny_sam(seed=SAM_SEED),
        **{
            k: sam[k]
            for k in (
                "points_per_side",
                "pred_iou_thresh",
                "stability_score_thresh",
                "box_nms_thresh",
                "crop_n_layers",
                "min_mask_region_area",
            )
        },
    )
    assert (segment["min_area"], segment["max_masks"]) == (50, 50)
    chips = read_chips(res / "chips" / "google" / "0.h5", "google")
    chip_ids, images = chips.sample_id, chips.image[:3]
    mask_ids, ms = read_masks(res / "masks" / "0.h5")
    assert ms.params["backend"] == "sam" and ms.params["model_type"] == "tiny"
    np.testing.assert_array_equal(mask_ids, chip_ids)
    n_masks = 0
    for i, image in enumerate(images):
        direct = generator.generate(image)
        # DF4LCZ post-processing: area >= 50 px, largest first, at most 50; every mask kept whole
        direct = sorted((d for d in direct if d["area"] >= 50), key=lambda d: -d["area"])[:50]
        sl = slice(ms.mask_ptr[i], ms.mask_ptr[i + 1])
        assert ms.mask_ptr[i + 1] - ms.mask_ptr[i] == len(direct)
        for k, d in enumerate(direct):  # mask for mask
            np.testing.assert_array_equal(ms.mask(ms.mask_ptr[i] + k), d["segmentation"])
        np.testing.assert_array_equal(ms.area[sl], [d["area"] for d in direct])
        np.testing.assert_array_equal(ms.bbox[sl], [[int(v) for v in d["bbox"]] for d in direct])
        np.testing.assert_allclose(ms.predicted_iou[sl], [d["predicted_iou"] for d in direct], rtol=1e-5)
        np.testing.assert_allclose(ms.stability_score[sl], [d["stability_score"] for d in direct], rtol=1e-5)
        n_masks += len(direct)
    # every mask is a node of its graph (graphs.mask_view: whole, the default)
    graph_ids, _, gs = read_graphs(res / "graphs" / "0.h5")
    assert read_graph_attrs(res / "graphs" / "0.h5")["mask_view"] == "whole"
    n_nodes = dict(zip(graph_ids.tolist(), np.diff(gs.node_ptr).tolist()))
    for i, sid in enumerate(mask_ids.tolist()):
        if sid in n_nodes:
            assert n_nodes[sid] == max(int(ms.n_masks()[i]), 1)
    assert n_masks >= 3


@pytest.mark.slow
def test_tiny_run_lcz_map(tiny_run):
    import rasterio

    from df4lcz.constants import LCZ_COLORS

    res = tiny_run / "results"
    with (
        rasterio.open(res / "maps" / "demo_city_1_lcz.tif") as src,
        rasterio.open(tiny_run / "resources" / "demo" / "demo_city_1" / "sentinel2.tif") as s2,
    ):
        codes = src.read(1)
        tags = src.tags()
        assert src.crs == s2.crs and src.dtypes[0] == "uint8" and src.nodata == 0
        # the map names the fused model and the strategy whose models made it (map.strategy: the first)
        assert tags["fusion"] == "df4lcz" and tags["strategy"] == "random" and tags["alpha"] == "0.6"
        assert src.transform.a == 320 and src.transform.e == -320
        cmap = src.colormap(1)
        # pixels tile the covered area from its top-left corner (the last row/column may overhang)
        assert src.bounds.left >= s2.bounds.left - 10 and src.bounds.top <= s2.bounds.top + 10
        assert s2.bounds.right - 320 < src.bounds.right < s2.bounds.right + 320
    for code in range(1, 18):
        assert cmap[code][:3] == tuple(LCZ_COLORS[code][:3])
    assert set(np.unique(codes)) <= set(range(18)) and (codes > 0).sum() >= 20
    agreement = pd.read_csv(res / "tables" / "map_agreement_demo_city_1.csv")
    overall = agreement[(agreement.reference == "polygons") & (agreement.lcz == "all")].iloc[0]
    assert overall.n_agree <= overall.n_pixels and overall.agreement == pytest.approx(
        overall.n_agree / overall.n_pixels, abs=1e-6
    )
    assert "truth" in set(agreement.reference)
    # tiles (map.tile_windows 36 in tiny.yaml), their VRT, the COG, its .qml and the top-2 probabilities
    from df4lcz.mapping.tiles import read_plan

    plan = read_plan(res / "maps" / "tiles" / "demo_city_1" / "plan.json")
    assert len(plan.tiles) >= 2 and plan.tile_px == 6
    assert all((res / "maps" / "tiles" / "demo_city_1" / f"{t.id}.tif").is_file() for t in plan.tiles)
    with (
        rasterio.open(res / "maps" / "demo_city_1_tiles.vrt") as vrt,
        rasterio.open(res / "maps" / "demo_city_1_lcz.tif") as src,
        rasterio.open(res / "maps" / "demo_city_1_lcz_probabilities.tif") as top2,
    ):
        p = vrt.read()
        assert src.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG" and src.overviews(1)
        second = top2.read(2)
    valid = np.isfinite(p).all(axis=0)
    assert valid.sum() == (codes > 0).sum()
    assert np.array_equal(codes[valid], np.nan_to_num(p).argmax(axis=0)[valid] + 1)  # no smoothing: argmax
    assert ((second > 0) == valid).all() and (second[valid] != codes[valid]).all()
    assert (res / "maps" / "demo_city_1_lcz.qml").read_text().count("<paletteEntry") == 17
    # map.uncertainty (default true): P(map's class) and the margin from the tiles' probabilities
    with rasterio.open(res / "maps" / "demo_city_1_lcz_uncertainty.tif") as unc:
        bands = unc.read()
        assert unc.nodata == 255 and "T_s2" not in tags  # the default fusion df4lcz: raw probabilities
    top = np.sort(p[:, valid].astype(np.float64), axis=0)
    np.testing.assert_array_equal(bands[0, valid], np.rint(100 * top[-1]))
    np.testing.assert_array_equal(bands[1, valid], np.rint(100 * (top[-1] - top[-2])))
    assert set(np.unique(bands[2, valid])) <= {0, 1} and (bands[:, ~valid] == 255).all()
    summary = (res / "summary.md").read_text()
    assert "## LCZ maps" in summary and "demo_city_1_lcz.png" in summary
    assert "demo_city_1_lcz_uncertainty.png" in summary
    overall_line = f"| polygons | all | all classes | {overall.n_pixels} | {overall.n_agree} |"
    assert overall_line in summary


@pytest.mark.slow
def test_snakemake_report(tiny_run_copy, tmp_path):
    """``snakemake --report``: the flagged outputs are in the zip, the summary page in it carries its
    figures (``data:`` URIs, nothing pointing into ``results/``), and building it warns of nothing."""
    report = tmp_path / "report.zip"
    proc = snakemake(tiny_run_copy, "--report", str(report))
    import zipfile

    # Snakemake's disk default (2 × input.size_mb) printed RuntimeWarnings here: profiles set disk_mb
    assert not [ln for ln in (proc.stdout + proc.stderr).splitlines() if "Warning" in ln], proc.stderr[-3000:]
    with zipfile.ZipFile(report) as z:
        names = z.namelist()
        summaries = [n for n in names if n.endswith("/summary.html")]
        assert len(summaries) == 1, summaries
        page = z.read(summaries[0]).decode("utf-8")
    res = tiny_run_copy / "results"
    assert page == (res / "summary.html").read_text(encoding="utf-8")  # the run's page, unchanged
    src, _ = page_images(page)
    # every figure of the page is embedded: the confusion matrix, reliability diagram and per-class F1
    # of each (strategy, model), the α curve of each strategy and the map preview (twice: Result, Maps)
    shown = ("confusion_*.png", "reliability_*.png", "per_class_f1_*.png", "alpha_*.png")
    figures = {p.read_bytes() for pattern in shown for p in (res / "figures").glob(pattern)}
    figures |= {p.read_bytes() for p in (res / "maps").glob("*_lcz.png")}
    figures |= {p.read_bytes() for p in (res / "maps").glob("*_lcz_uncertainty.png")}  # map.uncertainty
    assert len(figures) == 3 * 12 + 2 + 1 + 1
    assert set(embedded_pngs(src)) == figures
    # ... and nothing of it is a link or a file beside it, inside results/ or anywhere
    refs = page_refs(page)
    assert all(r.startswith(("data:", "#")) for r in refs), [
        r[:60] for r in refs if not r.startswith("data:")
    ]
    assert not re.search(r"url\((?!['\"]?data:)", page)  # nor a stylesheet's url()
    # the flagged outputs are embedded: metrics, confusion matrices, reliability, α curves, map, summary
    for part in (
        "metrics.csv",
        "confusion_random_df4lcz.png",
        "reliability_polygon_gcn.png",
        "per_class_f1_random_df4lcz.png",
        "alpha_random.png",
        "demo_city_1_lcz.png",
        "summary.html",
        "random_resnet11_3d.png",
    ):
        assert any(n.endswith(part) for n in names), (part, names[:20])


@pytest.mark.slow
def test_map_only_region_with_models_of_a_previous_run(tiny_run, tmp_path):
    """A region with rasters and no labels, mapped with the tiny run's models: no samples, no training, and
    the same map as the tiny run made of the same rasters with the same models; a GCN trained on other node
    features is refused before any job."""
    import rasterio

    work = tmp_path / "run"
    make_fixtures("map_only", work, previous_run=tiny_run)
    snakemake(work, "--cores", "2", "all", configfile=config_path("map_only"))
    assert not (work / "results" / "samples.parquet").exists() and not (work / "results" / "models").exists()
    with (
        rasterio.open(work / "results" / "maps" / "unlabelled_lcz.tif") as got,
        rasterio.open(tiny_run / "results" / "maps" / "demo_city_1_lcz.tif") as ref,
    ):
        np.testing.assert_array_equal(got.read(1), ref.read(1))
        assert got.transform == ref.transform and got.crs == ref.crs
    agreement = pd.read_csv(work / "results" / "tables" / "map_agreement_unlabelled.csv")
    assert agreement.empty  # no labels, no truth: nothing to compare with

    cfg = load_config("map_only")
    cfg["graphs"] = {"features": ["r", "g", "b"]}
    configfile = tmp_path / "map_only_rgb.yaml"
    configfile.write_text(yaml.safe_dump(cfg))
    other = tmp_path / "refused"
    make_fixtures("map_only", other, previous_run=tiny_run)
    proc = snakemake(other, "--cores", "2", "all", configfile=configfile, check=False)
    assert proc.returncode != 0
    message = proc.stdout + proc.stderr
    assert "map.models cannot be used with this configuration" in message
    assert (
        "previous_run/results/models/random/gcn.pt: trained on node features" in message
        and "graphs.features is ['r', 'g', 'b']" in message
    )
    assert not (other / "results").exists() and not (other / "logs").exists()


#: What ``snakemake -n all`` plans for each named config before its sample-table checkpoint runs.
NAMED_CONFIG_DRY_RUNS = {
    "sam": {
        "demo_city": 1,
        "samples": 1,
        "graph_checks": 1,
        "splits": 1,
        "valid_samples": 1,
        "train": 2,
        "predict": 2,
        "fuse": 1,
        "evaluate": 1,
        "summary": 1,
        "all": 1,
    },
    "lczc_ges2": {
        "lczc_ges2_samples": 1,
        "graph_checks": 1,
        "lczc_ges2_splits": 2,
        "valid_samples": 1,
        "train": 4,
        "predict": 4,
        "fuse": 2,
        "evaluate": 1,
        "summary": 1,
        "all": 1,
    },
    "so2sat": {
        "so2sat_samples": 1,
        "so2sat_splits": 1,
        "valid_samples": 1,
        "train": 1,
        "predict": 1,
        "evaluate": 1,
        "summary": 1,
        "all": 1,
    },
    # no samples, no training: the map only (its tiles are known once the plan checkpoint has run)
    "map_only": {"lcz_map_plan": 1, "lcz_map": 1, "all": 1},
}


@pytest.mark.parametrize("name", NAMED_CONFIG_DRY_RUNS)
def test_named_configs_dry_run_by_hand(name, tiny_run, tmp_path):
    """Each config of ``tests/configs/`` runs by hand as documented: its inputs written by
    ``tests/configs/make_fixtures.py``, then ``snakemake -n all`` plans the expected jobs; without its inputs
    the dry run stops with an error naming the missing file."""
    work = tmp_path / name
    bare = snakemake(work, "-n", "all", configfile=config_path(name), check=False)
    assert bare.returncode != 0
    missing = {
        "sam": "fixtures/sam_tiny.pth",
        "lczc_ges2": "fixtures/lczc_ges2",
        "so2sat": "fixtures/so2sat/training.h5",
        "map_only": "previous_run/resources/demo/demo_city_1/google.tif",
    }[name]
    assert missing in bare.stdout + bare.stderr

    script = REPO / "tests" / "configs" / "make_fixtures.py"
    extra = ["--previous-run", str(tiny_run)] if name == "map_only" else []
    made = subprocess.run(
        [sys.executable, str(script), str(work), name, *extra], capture_output=True, text=True, check=True
    )
    assert f"--configfile {config_path(name)} -n all" in made.stdout
    proc = snakemake(work, "-n", "all", configfile=config_path(name))
    assert job_counts(proc.stdout + proc.stderr) == NAMED_CONFIG_DRY_RUNS[name]


@pytest.mark.slow
def test_region_strategy_in_workflow(tmp_path):
    """The region split strategy end to end on a small two-city demo: demo_city_2 is the test split and
    nothing else is, its metrics rows resample whole polygons, and every class of the test city without
    a training sample is a missing_train_class warning of the run's input checks."""
    work = tmp_path / "wf"
    work.mkdir()
    tiny = yaml.safe_load((REPO / "tests" / "data" / "tiny.yaml").read_text())
    cfg = tiny_config(
        tmp_path / "region.yaml",
        demo={**tiny["demo"], "n_cities": 2, "patches_per_side": 3},
        splits={"strategies": ["region"], "test_regions": ["demo_city_2"]},
        map={"enabled": False},
    )
    snakemake(work, "--cores", "2", "all", configfile=cfg)
    res = work / "results"
    samples = pd.read_parquet(res / "samples.parquet", columns=["sample_id", "region", "lcz"])
    split = pd.read_csv(res / "splits" / "region.csv").merge(samples, on="sample_id")
    assert set(split.region) == {"demo_city_1", "demo_city_2"}
    assert (split.loc[split.region == "demo_city_2", "split"] == "test").all()
    assert set(split.loc[split.region == "demo_city_1", "split"]) == {"train", "val"}
    metrics = pd.read_csv(res / "tables" / "metrics.csv")
    assert set(metrics.strategy) == {"region"} and set(metrics.bootstrap_unit) == {"polygon"}
    valid = set(pd.read_csv(res / "valid_samples.csv").query("valid").sample_id)
    n_test = int(((split.split == "test") & split.sample_id.isin(valid)).sum())
    assert (metrics.n_test == n_test).all() and n_test > 0
    missing = sorted(
        set(split.loc[split.split == "test", "lcz"]) - set(split.loc[split.split == "train", "lcz"])
    )
    rows = read_checks(res / "checks" / "splits" / "region.csv")
    assert missing  # this demo's second city has a class (LCZ D) the first lacks
    assert [r.subject for r in rows] == [f"LCZ {'ABCDEFG'[c - 11] if c > 10 else c}" for c in missing]
    summary = (res / "summary.md").read_text()
    assert "| region | df4lcz |" in summary
    for row in rows:
        assert f"- {row.message}\n" in summary


@pytest.mark.slow
def test_map_with_the_calibrated_fusion_reruns_only_the_map(tiny_run_copy, tmp_path):
    """``map.fusion: df4lcz_cal`` on a finished run: only the map jobs (and the summary) run again, with
    the α and temperatures of the random strategy's ``fusion.csv``, named in the map's tags."""
    import rasterio

    from df4lcz.io.alpha_curve import read_fusion_table

    cfg = yaml.safe_load(TINY.read_text())
    cfg["map"] = {**cfg["map"], "fusion": "df4lcz_cal"}
    configfile = tmp_path / "cal.yaml"
    configfile.write_text(yaml.safe_dump(cfg))
    proc = snakemake(tiny_run_copy, "--cores", "2", "all", configfile=configfile)
    assert set(rules_started(proc.stdout + proc.stderr)) == {"lcz_map_tile", "lcz_map", "summary", "all"}
    row = read_fusion_table(tiny_run_copy / "results" / "predictions" / "random" / "fusion.csv").set_index(
        "model"
    )
    with rasterio.open(tiny_run_copy / "results" / "maps" / "demo_city_1_lcz.tif") as src:
        tags = src.tags()
    assert (tags["fusion"], tags["strategy"]) == ("df4lcz_cal", "random")
    assert (
        float(tags["T_s2"]) == row.loc["df4lcz_cal", "T_s2"]
        and float(tags["T_gcn"]) == row.loc["df4lcz_cal", "T_gcn"]
    )
