"""Evaluation report: files, rows, values against scikit-learn, bootstrap intervals against a plain
percentile bootstrap, Markdown vs CSV, summary pages."""

from __future__ import annotations

import os
import re
import shutil

import numpy as np
import pandas as pd
import pytest
from helpers.pages import embedded_pngs, page_images
from matplotlib.image import imread
from sklearn import metrics as skm

from df4lcz.config import schema_defaults
from df4lcz.evaluation import calibration, report
from df4lcz.evaluation.fusion import alpha_grid, recommend_fusion
from df4lcz.evaluation.provenance import describe_graphs, git_commit, run_provenance
from df4lcz.evaluation.summary import summary_content
from df4lcz.evaluation.summary_pages import summary_html, summary_markdown
from df4lcz.io.alpha_curve import read_alpha_curve, read_fusion_table
from df4lcz.io.checks import CheckRow
from df4lcz.io.graphs import GraphSet, write_graphs
from df4lcz.io.predictions import PROB_COLUMNS, write_predictions
from df4lcz.io.tables import CI_METRICS, DISPLAY_COLUMNS, METRIC_COLUMNS, read_metrics, table_note
from df4lcz.run import config_digest
from df4lcz.stages.evaluate import evaluate, polygon_clusters
from df4lcz.stages.fuse import fuse_files
from df4lcz.stages.summary import write_summary

#: The ``evaluate`` config defaults and the ``fuse`` rule's α grid with the schema's step.
EVALUATE = schema_defaults("evaluate")
N_BINS = EVALUATE["n_bins"]
FUSION = schema_defaults("fusion")
GRID = alpha_grid(FUSION["grid_step"])
FUSION_MODELS = ("df4lcz", "df4lcz_tuned", "df4lcz_cal", "df4lcz_cal_tuned")
#: Resamplings in these tests (the plain re-implementation loops over them); seed.
N_BOOT, SEED = 150, 7

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def make_model(seed: int, ids: np.ndarray, y: np.ndarray, splits: np.ndarray, skill: float, sharp: float):
    rng = np.random.default_rng(seed)
    n = ids.size
    logits = rng.normal(0.0, 1.0, size=(n, 17))
    logits[np.arange(n), y - 1] += skill * rng.uniform(0.2, 1.5, size=n)
    logits *= sharp  # > 1: over-confident, so temperature scaling has something to fix
    proba = np.exp(logits - logits.max(axis=1, keepdims=True))
    proba /= proba.sum(axis=1, keepdims=True)
    base = pd.DataFrame({"sample_id": ids, "split": splits, "y_true": y, "y_pred": proba.argmax(axis=1) + 1})
    return pd.concat([base, pd.DataFrame(proba, columns=list(PROB_COLUMNS))], axis=1)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Two strategies of prediction files and one evaluate() call over three (strategy, model) pairs."""
    root = tmp_path_factory.mktemp("report")
    rng = np.random.default_rng(42)
    n = 360
    ids = np.arange(n)
    y = rng.choice(np.arange(1, 18), size=n, p=rng.dirichlet(np.full(17, 1.0)))
    polygons = pd.Series(ids // 12 + 1000, index=ids)  # 30 polygons of 12 samples
    predictions, curves, tables = {}, {}, {}
    for k, strategy in enumerate(("sample_pool", "polygon_pool")):
        splits = rng.permuted(np.array(["val"] * 120 + ["test"] * 240))
        pdir = root / "predictions" / strategy
        write_predictions(
            make_model(10 + k, ids, y, splits, 2.2, 3.0), pdir / "resnet11_3d.csv", float_format=None
        )
        write_predictions(make_model(20 + k, ids, y, splits, 1.8, 1.4), pdir / "gcn.csv", float_format=None)
        fuse_files(
            pdir / "resnet11_3d.csv",
            pdir / "gcn.csv",
            {m: pdir / f"{m}.csv" for m in FUSION_MODELS},
            pdir / "alpha.csv",
            pdir / "fusion.csv",
            alpha=FUSION["alpha"],
            grid=GRID,
            calibrate=True,
        )
        models = ("resnet11_3d", "gcn", "df4lcz_tuned", "df4lcz_cal") if k == 0 else ("df4lcz_tuned",)
        for model in models:
            predictions[(strategy, model)] = pdir / f"{model}.csv"
        curves[strategy] = pdir / "alpha.csv"
        tables[strategy] = pdir / "fusion.csv"
    out, figs = root / "tables", root / "figures"
    table = evaluate(
        predictions,
        out,
        n_bins=20,
        n_boot=N_BOOT,
        ci=0.9,
        seed=SEED,
        clusters={"polygon_pool": polygons},
        figure_dir=figs,
        alpha_curves=curves,
    )
    return {
        "root": root,
        "predictions": predictions,
        "curves": curves,
        "out": out,
        "figs": figs,
        "table": table,
        "fusion": tables,
        "polygons": polygons,
    }


def test_metrics_csv_rows_and_values(run):
    csv = pd.read_csv(run["out"] / "metrics.csv")
    assert list(csv.columns) == list(METRIC_COLUMNS)
    assert list(zip(csv["strategy"], csv["model"])) == list(run["predictions"])
    pd.testing.assert_frame_equal(csv, run["table"], check_dtype=False)
    for rec in csv.to_dict("records"):
        raw = pd.read_csv(run["predictions"][(rec["strategy"], rec["model"])])
        test, val = raw[raw["split"] == "test"], raw[raw["split"] == "val"]
        t, p = test["y_true"].to_numpy(), test["y_pred"].to_numpy()
        assert rec["n_test"] == len(test) == 240
        assert rec["OA"] == pytest.approx(skm.accuracy_score(t, p))
        assert rec["OA_BU"] == pytest.approx(skm.accuracy_score(t[t <= 10], p[t <= 10]))
        assert rec["OA_N"] == pytest.approx(skm.accuracy_score(t[t > 10], p[t > 10]))
        assert rec["kappa"] == pytest.approx(skm.cohen_kappa_score(t, p))
        assert rec["F1_weighted"] == pytest.approx(skm.f1_score(t, p, average="weighted", zero_division=0))
        assert rec["F1_macro"] == pytest.approx(skm.f1_score(t, p, average="macro", zero_division=0))
        proba = test[list(PROB_COLUMNS)].to_numpy()
        assert (rec["ECE"], rec["MCE"]) == pytest.approx(calibration.ece_mce(proba, t, 20))
        val_proba = val[list(PROB_COLUMNS)].to_numpy()
        temperature = calibration.fit_temperature(val_proba, val["y_true"].to_numpy())
        assert rec["T"] == pytest.approx(temperature)
        scaled = calibration.apply_temperature(proba, temperature)
        assert (rec["ECE_ts"], rec["MCE_ts"]) == pytest.approx(calibration.ece_mce(scaled, t, 20))
    over_confident = csv[csv["model"] == "resnet11_3d"]
    assert (over_confident["T"] > 1).all() and (over_confident["ECE_ts"] < over_confident["ECE"]).all()


def test_markdown_table_contains_the_csv_numbers(run):
    csv = pd.read_csv(run["out"] / "metrics.csv")
    md = (run["out"] / "metrics.md").read_text(encoding="utf-8")
    lines = [ln for ln in md.splitlines() if ln.startswith("| ")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    assert header[:3] == ["Strategy", "Model", "OA (%)"]
    body = [[c.strip() for c in ln.strip("|").split("|")] for ln in lines[1:]]
    assert len(body) == len(csv)
    for cells, rec in zip(body, csv.to_dict("records")):
        row = dict(zip(DISPLAY_COLUMNS, cells))
        assert (row["strategy"], row["model"]) == (rec["strategy"], rec["model"])
        for col in ("OA", "OA_BU", "OA_N", "F1_weighted", "F1_macro", "ECE", "MCE", "ECE_ts", "MCE_ts"):
            half = (rec[f"{col}_hi"] - rec[f"{col}_lo"]) / 2
            assert row[col] == f"{100 * rec[col]:.2f} ± {100 * half:.2f}"
        half = (rec["kappa_hi"] - rec["kappa_lo"]) / 2
        assert row["kappa"] == f"{rec['kappa']:.4f} ± {half:.4f}"
        assert row["T"] == f"{rec['T']:.3f}"
        assert row["n_test"] == str(rec["n_test"])


def test_per_class_tables_and_figures(run):
    out, figs = run["out"], run["figs"]
    for strategy, model in run["predictions"]:
        per_class = pd.read_csv(report.per_class_path(out, strategy, model))
        assert list(per_class.columns) == [
            *("class", "name", "UA", "PA", "F1", "support"),
            *("UA_lo", "UA_hi", "PA_lo", "PA_hi", "F1_lo", "F1_hi"),
        ]
        assert per_class["class"].tolist() == list(range(1, 18))
        assert per_class["support"].sum() == 240
        cm = pd.read_csv(report.confusion_csv_path(out, strategy, model), index_col=0).to_numpy()
        assert cm.shape == (17, 17) and cm.sum() == 240
        np.testing.assert_array_equal(per_class["support"], cm.sum(axis=1))
        for png in (
            report.confusion_png_path(figs, strategy, model),
            report.reliability_png_path(figs, strategy, model),
            report.per_class_f1_png_path(figs, strategy, model),
        ):
            assert png.read_bytes()[:8] == PNG_MAGIC
            assert imread(png).shape[0] > 200
    for strategy in run["curves"]:
        assert report.alpha_png_path(figs, strategy).read_bytes()[:8] == PNG_MAGIC
    expected = report.output_files(list(run["predictions"]), out, figs, alpha_strategies=list(run["curves"]))
    assert all(p.is_file() for p in expected)
    leftovers = [p for d in (out, figs) for p in d.iterdir() if p.name.startswith(".tmp-")]
    assert leftovers == []


def visible(page: str) -> str:
    """The page without its embedded images' data (base64 may spell anything)."""
    return re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "data:", page)


def test_summary_pages(run, tmp_path):
    root = run["root"]
    md_path, html_path = root / "summary.md", root / "site" / "summary.html"
    write_summary(
        run["out"] / "metrics.csv",
        md_path,
        html_path,
        regions=["Guangzhou", "Hong Kong"],
        split_counts={"sample_pool": {"train": 1000, "val": 120, "test": 240}},
        segmentation_backend="classical felzenszwalb (scale 150)",
        graphs="mask view visible, edges knn (k 4)",
        figure_dir=run["figs"],
        fusion_tables=run["fusion"],
        note=table_note(N_BINS, N_BOOT, 0.9),
    )
    md = md_path.read_text(encoding="utf-8")
    page = html_path.read_text(encoding="utf-8")
    chosen, _ = read_alpha_curve(run["curves"]["sample_pool"])
    fusion = read_fusion_table(run["fusion"]["sample_pool"]).set_index("model")
    cal, raw = fusion.loc["df4lcz_cal"], fusion.loc["df4lcz"]
    better = "calibrated fusion" if cal["val_accuracy"] > raw["val_accuracy"] else "paper's fusion"
    assert cal["val_accuracy"] != raw["val_accuracy"]
    for page_text in (md, visible(page)):
        text = page_text.replace("`", "").replace("<code>", "").replace("</code>", "")
        assert "Guangzhou, Hong Kong" in text
        assert "SAM" not in text  # the classical backend ran: nothing may claim SAM
        assert (
            "GCN on the instance graph of the Google Earth chip — segmentation: classical felzenszwalb "
            "(scale 150); graphs: mask view visible, edges knn (k 4)"
        ) in text
        for model, alpha in chosen.items():
            assert f"{model} α = {alpha:.2f} (tuned)" in text
        assert f"T_S2 = {cal['T_s2']:.3f}, T_GCN = {cal['T_gcn']:.3f}" in text
        assert (
            f"on validation the {better} is better: df4lcz_cal {100 * cal['val_accuracy']:.2f} % vs df4lcz "
            f"{100 * raw['val_accuracy']:.2f} % at α = 0.60"
        ) in text
        assert "1360" in text  # total samples
        assert "df4lcz_tuned" in text and "resnet11_3d" in text
        assert "± is half the width of the 90 % percentile bootstrap interval over 150 resamplings" in text
        assert "No input-check records were read." in text  # no check file given: not "all passed"
    csv = pd.read_csv(run["out"] / "metrics.csv")
    oa_cell = f"{100 * csv.loc[0, 'OA']:.2f} ± {50 * (csv.loc[0, 'OA_hi'] - csv.loc[0, 'OA_lo']):.2f}"
    assert f"| {oa_cell} |" in md and f"<td>{oa_cell}</td>" in page
    # the Markdown links the figures beside it, relative to the page
    md_links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    assert len(md_links) == 3 * len(csv) + 2  # confusion, reliability, per-class F1; α curves
    assert all((md_path.parent / link).is_file() for link in md_links)
    assert all(not link.startswith("/") for link in md_links)


def test_summary_html_is_self_contained(run, tmp_path):
    """Every image of summary.html is a data: URI holding the figure's PNG bytes; the page moved alone to
    another folder still has every image and links nothing outside itself."""
    site = tmp_path / "site"
    write_summary(
        run["out"] / "metrics.csv",
        tmp_path / "summary.md",
        site / "summary.html",
        regions=["Guangzhou"],
        split_counts={"sample_pool": {"train": 1000, "val": 120, "test": 240}},
        segmentation_backend="classical felzenszwalb (scale 150)",
        graphs="mask view visible, edges knn (k 4)",
        figure_dir=run["figs"],
        fusion_tables=run["fusion"],
        note=table_note(N_BINS, N_BOOT, 0.9),
    )
    moved = tmp_path / "elsewhere" / "page.html"
    moved.parent.mkdir()
    shutil.copy(site / "summary.html", moved)
    shutil.rmtree(site)
    src, href = page_images(moved.read_text(encoding="utf-8"))
    csv = pd.read_csv(run["out"] / "metrics.csv")
    # confusion, reliability and per-class F1 per row, one α curve per strategy
    assert len(src) == 3 * len(csv) + 2
    embedded = sorted(embedded_pngs(src))
    figures = sorted(p.read_bytes() for p in run["figs"].glob("*.png"))
    assert embedded == figures  # every figure once, byte for byte
    assert all(h.startswith("#") or h.startswith("data:") for h in href)


def test_summary_headline_recommends_by_validation(run, tmp_path):
    """The Result section: per strategy, the evaluated fused model with the best validation accuracy,
    with its test OA and κ intervals from metrics.csv, beside the better single stream; checks that ran
    without warnings read "all passed"; the provenance block and the demo caveat are shown."""
    table = read_metrics(run["out"] / "metrics.csv")
    fusion = {s: read_fusion_table(p) for s, p in run["fusion"].items()}
    rows = [CheckRow("samples", "info", "labels.gpkg", "polygons_repaired", 0.0, None, "nothing repaired")]
    content = summary_content(
        table,
        regions=["Guangzhou"],
        split_counts={},
        segmentation_backend="classical",
        graphs="g",
        figure_dir=run["figs"],
        fusion=fusion,
        note="",
        checks=rows,
        n_samples=1360,
        classes=[1, 2, 11, 17],
        dataset="demo",
        provenance=[("Seed", "7"), ("Git commit", "abc")],
        caveat_settings={"segmentation": "classical felzenszwalb"},
    )
    val = fusion["sample_pool"].set_index("model")["val_accuracy"]
    evaluated = ["df4lcz_tuned", "df4lcz_cal"]  # the fused models of sample_pool in the fixture
    best = max(evaluated, key=lambda m: val[m])
    assert recommend_fusion(fusion["sample_pool"], evaluated) == (best, val[best])
    assert recommend_fusion(fusion["sample_pool"], ["resnet11_3d"]) is None
    tie = pd.DataFrame({"model": ["df4lcz_cal", "df4lcz"], "val_accuracy": [0.5, 0.5]})
    assert recommend_fusion(tie, ["df4lcz", "df4lcz_cal"]) == ("df4lcz", 0.5)  # ties: the paper's fusion
    metrics = pd.read_csv(run["out"] / "metrics.csv").set_index(["strategy", "model"])
    s2, gcn = metrics.loc[("sample_pool", "resnet11_3d")], metrics.loc[("sample_pool", "gcn")]
    stream = "resnet11_3d" if s2["OA"] >= gcn["OA"] else "gcn"
    got = [(r.strategy, r.model, r.role.split(" (")[0]) for r in content.headline.results]
    assert got == [
        ("sample_pool", best, "recommended"),
        ("sample_pool", stream, "better single stream"),
        ("polygon_pool", "df4lcz_tuned", "recommended"),  # no single stream evaluated there
    ]
    r = metrics.loc[("sample_pool", best)]
    first = content.headline.results[0]
    assert first.oa == f"{100 * r['OA']:.2f} % [{100 * r['OA_lo']:.2f}, {100 * r['OA_hi']:.2f}]"
    assert first.kappa == f"{r['kappa']:.3f} [{r['kappa_lo']:.3f}, {r['kappa_hi']:.3f}]"
    assert first.role == f"recommended (validation accuracy {100 * val[best]:.2f} %)"
    assert first.n_test == int(r["n_test"])
    assert content.headline.data == (
        "1360 labelled samples of 4 LCZ classes (1, 2, A, G) in Guangzhou — synthetic demo cities "
        "(dataset demo), not real data."
    )
    assert content.headline.checks == "Input checks: all passed (1 check(s) recorded, none a warning)."
    md = summary_markdown(content, tmp_path / "s.md")
    page = visible(summary_html(content, tmp_path / "s.html"))
    for text in (md, page):
        assert text.index("Result") < text.index("Data") < text.index("Provenance")
        assert "All passed: 1 check(s) recorded, none a warning." in text
        assert "segmentation classical felzenszwalb (paper: SAM vit_h)" in text
        assert "Git commit" in text and "abc" in text
        assert f"{first.oa}" in text and "better single stream (test OA)" in text
    # the verdict is coloured by what the checks found, not by its words ("none a warning" is a pass)
    assert '<p class="pass">Input checks: all passed (1 check(s) recorded' in page
    warned = [*rows, CheckRow("samples", "warning", "labels.gpkg", "class_loss", 0.5, 0.2, "lost half")]
    for found, status, verdict in (
        (warned, "warn", '<p class="warn">Input checks: 1 warning(s), listed under Input checks below.</p>'),
        ([], "none", "<p>Input checks: no record read.</p>"),
    ):
        other = summary_content(
            table,
            regions=["Guangzhou"],
            split_counts={},
            segmentation_backend="classical",
            graphs="g",
            figure_dir=run["figs"],
            fusion=fusion,
            note="",
            checks=found,
        )
        assert other.headline.checks_status == status
        assert verdict in summary_html(other, tmp_path / f"{status}.html")


def test_run_provenance_names_config_seed_version_and_machine(tmp_path):
    from df4lcz import __version__

    config = {"seed": 3, "dataset": "demo", "nested": {"b": 1, "a": [1, 2]}}
    digest = config_digest(config)
    assert digest == config_digest({"nested": {"a": [1, 2], "b": 1}, "dataset": "demo", "seed": 3})
    assert digest != config_digest({**config, "seed": 4}) and re.fullmatch(r"[0-9a-f]{64}", digest)
    prov = dict(
        run_provenance(
            configfiles=["config.yaml"],
            config_sha256=digest,
            seed=3,
            segmentation_backend="classical",
            workdir=tmp_path,
        )
    )
    assert prov["Config file(s)"] == "config.yaml" and prov["Effective config SHA-256"] == digest
    assert prov["Seed"] == "3" and prov["df4lcz version"] == __version__
    assert prov["Segmentation backend"] == "classical"
    assert f"{os.cpu_count()} CPU(s)" in prov["Machine (summary job)"]
    assert "GPU: " in prov["Machine (summary job)"]
    # tmp_path is no checkout: the package's checkout (when there is one) names the commit
    assert re.fullmatch(
        r"[0-9a-f]{40}( \+ local changes)?|not available \(no git checkout\)", prov["Git commit"]
    )
    assert git_commit(tmp_path) is None


def test_without_val_split_temperature_is_nan(tmp_path):
    rng = np.random.default_rng(3)
    ids = np.arange(60)
    y = rng.integers(1, 11, size=60)  # built classes only -> OA_N undefined too
    pred = make_model(1, ids, y, np.array(["test"] * 60), 2.0, 1.0)
    write_predictions(pred, tmp_path / "m.csv", float_format=None)
    table = evaluate({("s", "m"): tmp_path / "m.csv"}, tmp_path / "out", N_BINS, n_boot=50, ci=0.95, seed=1)
    row = table.iloc[0]
    assert np.isnan(row["T"]) and np.isnan(row["ECE_ts"]) and np.isnan(row["OA_N"])
    assert np.isnan(row["ECE_ts_lo"]) and np.isnan(row["OA_N_hi"])
    assert not np.isnan(row["ECE"]) and row["OA_lo"] <= row["OA_hi"]
    md_lines = (tmp_path / "out" / "metrics.md").read_text(encoding="utf-8").splitlines()
    md_row = next(ln for ln in md_lines if ln.startswith("| s |"))
    cells = dict(zip(DISPLAY_COLUMNS, [c.strip() for c in md_row.strip("|").split("|")]))
    assert cells["OA_N"] == cells["T"] == cells["ECE_ts"] == "n/a"
    assert " ± " in cells["OA"]


def test_evaluate_errors(tmp_path):
    settings = {"n_boot": EVALUATE["bootstrap"], "ci": EVALUATE["ci"], "seed": 0}
    with pytest.raises(ValueError, match="predictions: no prediction files given"):
        evaluate({}, tmp_path, N_BINS, **settings)
    with pytest.raises(ValueError, match="strategy: 'a/b' is not usable in file names"):
        evaluate({("a/b", "m"): tmp_path / "m.csv"}, tmp_path, N_BINS, **settings)
    with pytest.raises(FileNotFoundError, match="missing.csv: prediction file not found"):
        evaluate({("s", "m"): tmp_path / "missing.csv"}, tmp_path, N_BINS, **settings)
    with pytest.raises(FileNotFoundError, match="metrics table not found"):
        write_summary(
            tmp_path / "none.csv",
            tmp_path / "s.md",
            tmp_path / "s.html",
            regions=[],
            split_counts={},
            segmentation_backend="x",
            graphs="y",
            figure_dir=tmp_path,
            note="",
        )
    pred = make_model(1, np.arange(30), np.arange(30) % 17 + 1, np.array(["test"] * 30), 2.0, 1.0)
    write_predictions(pred, tmp_path / "m.csv", float_format=None)
    with pytest.raises(
        ValueError,
        match=r"p: 2 test sample\(s\) have no polygon_id in the sample table, "
        r"e.g. sample_id \[28, 29\]",
    ):
        evaluate(
            {("p", "m"): tmp_path / "m.csv"},
            tmp_path,
            N_BINS,
            clusters={"p": pd.Series(0, index=range(28))},
            **settings,
        )
    with pytest.raises(ValueError, match=r"ci: 1.5 is not an interval coverage"):
        evaluate({("s", "m"): tmp_path / "m.csv"}, tmp_path, N_BINS, n_boot=10, ci=1.5, seed=0)
    samples = tmp_path / "samples.parquet"
    pd.DataFrame({"sample_id": [1, 2, 3], "polygon_id": [5.0, np.nan, 6.0]}).to_parquet(samples)
    with pytest.raises(ValueError, match=r"samples.parquet: polygon_id is empty for sample_id \[2\]"):
        polygon_clusters(samples)


def plain_ece_mce(proba: np.ndarray, y: np.ndarray, n_bins: int) -> tuple[float, float]:
    """ECE/MCE by a loop over right-closed equal-width bins (bin m: m/M < conf ≤ (m+1)/M)."""
    conf = proba.max(axis=1)
    correct = proba.argmax(axis=1) + 1 == y
    bins = np.maximum(np.ceil(conf * n_bins).astype(int) - 1, 0)
    ece, gaps = 0.0, []
    for b in range(n_bins):
        sel = bins == b
        if sel.any():
            gap = abs(correct[sel].mean() - conf[sel].mean())
            ece += sel.sum() / len(y) * gap
            gaps.append(gap)
    return ece, max(gaps)


def plain_scores(t: np.ndarray, p: np.ndarray, proba: np.ndarray, proba_ts: np.ndarray) -> dict[str, float]:
    built, natural = t <= 10, t > 10
    scores = {
        "OA": skm.accuracy_score(t, p),
        "OA_BU": skm.accuracy_score(t[built], p[built]) if built.any() else np.nan,
        "OA_N": skm.accuracy_score(t[natural], p[natural]) if natural.any() else np.nan,
        "kappa": skm.cohen_kappa_score(t, p),
        "F1_weighted": skm.f1_score(t, p, average="weighted", zero_division=0),
        "F1_macro": skm.f1_score(t, p, average="macro", zero_division=0),
    }
    scores["ECE"], scores["MCE"] = plain_ece_mce(proba, t, 20)
    scores["ECE_ts"], scores["MCE_ts"] = plain_ece_mce(proba_ts, t, 20)
    return scores


def plain_bootstrap(
    test: pd.DataFrame, proba_ts: np.ndarray, clusters: np.ndarray | None, n_boot: int, seed: int, ci: float
) -> dict[str, tuple[float, float]]:
    """Percentile bootstrap written out: draw U units with replacement, score the rows they bring."""
    rng = np.random.default_rng(seed)
    n = len(test)
    if clusters is None:
        groups = [np.array([i]) for i in range(n)]
    else:
        groups = [np.flatnonzero(clusters == c) for c in np.unique(clusters)]
    t, p = test["y_true"].to_numpy(), test["y_pred"].to_numpy()
    proba = test[list(PROB_COLUMNS)].to_numpy()
    values: dict[str, list[float]] = {m: [] for m in CI_METRICS}
    for _ in range(n_boot):
        draw = rng.integers(0, len(groups), size=len(groups))
        idx = np.concatenate([groups[d] for d in draw])
        for metric, value in plain_scores(t[idx], p[idx], proba[idx], proba_ts[idx]).items():
            values[metric].append(value)
    q = [50 * (1 - ci), 50 * (1 + ci)]
    return {m: tuple(np.nanpercentile(v, q)) for m, v in values.items()}


def test_intervals_match_a_plain_percentile_bootstrap(run):
    csv = pd.read_csv(run["out"] / "metrics.csv")
    assert set(CI_METRICS) == {c for c in DISPLAY_COLUMNS if c not in ("strategy", "model", "T", "n_test")}
    for rec in csv.to_dict("records"):
        raw = pd.read_csv(run["predictions"][(rec["strategy"], rec["model"])])
        test = raw[raw["split"] == "test"].reset_index(drop=True)
        proba_ts = calibration.apply_temperature(test[list(PROB_COLUMNS)].to_numpy(), rec["T"])
        clustered = rec["strategy"] == "polygon_pool"
        clusters = run["polygons"].loc[test["sample_id"]].to_numpy() if clustered else None
        assert rec["bootstrap_unit"] == ("polygon" if clustered else "sample")
        expected = plain_bootstrap(test, proba_ts, clusters, N_BOOT, SEED, ci=0.9)
        for metric, (lo, hi) in expected.items():
            assert rec[f"{metric}_lo"] == pytest.approx(lo, rel=1e-9, abs=1e-12), metric
            assert rec[f"{metric}_hi"] == pytest.approx(hi, rel=1e-9, abs=1e-12), metric
        assert rec["OA_lo"] < rec["OA"] < rec["OA_hi"]


def plain_per_class_bootstrap(
    test: pd.DataFrame, clusters: np.ndarray | None, n_boot: int, seed: int, ci: float
) -> dict[str, np.ndarray]:
    """Per-class UA/PA/F1 intervals written out: the draws of :func:`plain_bootstrap`, scikit-learn's
    per-class precision/recall/F1 on the rows each brings (NaN where undefined), nan-percentiles."""
    rng = np.random.default_rng(seed)
    n = len(test)
    if clusters is None:
        groups = [np.array([i]) for i in range(n)]
    else:
        groups = [np.flatnonzero(clusters == c) for c in np.unique(clusters)]
    t, p = test["y_true"].to_numpy(), test["y_pred"].to_numpy()
    codes = np.arange(1, 18)
    values: dict[str, list[np.ndarray]] = {"UA": [], "PA": [], "F1": []}
    for _ in range(n_boot):
        draw = rng.integers(0, len(groups), size=len(groups))
        idx = np.concatenate([groups[d] for d in draw])
        tb, pb = t[idx], p[idx]
        in_true, in_pred = np.isin(codes, tb), np.isin(codes, pb)
        values["UA"].append(
            np.where(
                in_pred, skm.precision_score(tb, pb, labels=codes, average=None, zero_division=0), np.nan
            )
        )
        values["PA"].append(
            np.where(in_true, skm.recall_score(tb, pb, labels=codes, average=None, zero_division=0), np.nan)
        )
        values["F1"].append(
            np.where(
                in_true | in_pred, skm.f1_score(tb, pb, labels=codes, average=None, zero_division=0), np.nan
            )
        )
    q = [50 * (1 - ci), 50 * (1 + ci)]
    out = {}
    for score, rows in values.items():
        arr = np.array(rows)
        bounds = np.full((17, 2), np.nan)
        for k in range(17):
            col = arr[:, k][~np.isnan(arr[:, k])]
            if col.size:
                bounds[k] = np.percentile(col, q)
        out[score] = bounds
    return out


def test_per_class_intervals_match_a_plain_percentile_bootstrap(run):
    """Per-class UA/PA/F1 intervals equal an independent bootstrap with the same seed and units
    (samples, or whole polygons for the clustered strategy)."""
    checked_defined = 0
    for (strategy, model), path in run["predictions"].items():
        raw = pd.read_csv(path)
        test = raw[raw["split"] == "test"].reset_index(drop=True)
        clustered = strategy == "polygon_pool"
        clusters = run["polygons"].loc[test["sample_id"]].to_numpy() if clustered else None
        expected = plain_per_class_bootstrap(test, clusters, N_BOOT, SEED, ci=0.9)
        table = pd.read_csv(report.per_class_path(run["out"], strategy, model))
        for score, bounds in expected.items():
            for end, col in (("lo", 0), ("hi", 1)):
                np.testing.assert_allclose(
                    table[f"{score}_{end}"].to_numpy(float),
                    bounds[:, col],
                    rtol=1e-9,
                    atol=1e-12,
                    err_msg=score,
                )
        f1 = table.dropna(subset=["F1_lo"])
        assert (f1["F1_lo"] <= f1["F1_hi"]).all() and ((f1["F1_lo"] > 0) | (f1["F1_hi"] < 1)).any()
        checked_defined += len(f1)
    assert checked_defined > 40


def test_polygon_bootstrap_resamples_whole_polygons(tmp_path):
    """When correctness is shared within polygons, resampling polygons gives a much wider OA interval."""
    rng = np.random.default_rng(11)
    n = 480
    ids = np.arange(n)
    polygon = ids // 16  # 30 polygons of 16 samples
    y = rng.integers(1, 18, size=n)
    right = rng.uniform(size=30) < 0.7
    pred = make_model(3, ids, y, np.array(["test"] * n), 2.0, 1.0)
    wrong = ~right[polygon]
    pred["y_pred"] = np.where(wrong, pred["y_true"] % 17 + 1, pred["y_true"])
    proba = np.full((n, 17), 0.2 / 16)
    proba[np.arange(n), pred["y_pred"].to_numpy() - 1] = 0.8
    pred.loc[:, list(PROB_COLUMNS)] = proba
    write_predictions(pred, tmp_path / "m.csv", float_format=None)
    paths = {("by_sample", "m"): tmp_path / "m.csv", ("by_polygon", "m"): tmp_path / "m.csv"}
    table = evaluate(
        paths,
        tmp_path / "out",
        N_BINS,
        n_boot=400,
        ci=0.95,
        seed=3,
        clusters={"by_polygon": pd.Series(polygon, index=ids)},
    ).set_index("strategy")
    width = table["OA_hi"] - table["OA_lo"]
    assert (
        table.loc["by_sample", "OA"] == table.loc["by_polygon", "OA"] == pytest.approx(right[polygon].mean())
    )
    assert table["bootstrap_unit"].to_dict() == {"by_sample": "sample", "by_polygon": "polygon"}
    # binomial over 480 samples vs over 30 polygons: about √16 = 4 times wider
    assert width["by_polygon"] > 2.5 * width["by_sample"]
    # every polygon resampling is a whole number of 16-sample polygons: OA_lo is a multiple of 1/30
    assert table.loc["by_polygon", "OA_lo"] * 30 == pytest.approx(
        round(table.loc["by_polygon", "OA_lo"] * 30)
    )


def test_no_resamplings_leave_intervals_empty(tmp_path):
    pred = make_model(2, np.arange(40), np.arange(40) % 17 + 1, np.array(["val", "test"] * 20), 2.0, 1.0)
    write_predictions(pred, tmp_path / "m.csv", float_format=None)
    table = evaluate({("s", "m"): tmp_path / "m.csv"}, tmp_path / "out", N_BINS, n_boot=0, ci=0.95, seed=0)
    assert table[[f"{m}_{e}" for m in CI_METRICS for e in ("lo", "hi")]].isna().all().all()
    md = (tmp_path / "out" / "metrics.md").read_text(encoding="utf-8")
    assert "±" not in md and f"| {100 * table.loc[0, 'OA']:.2f} |" in md


def test_describe_graphs_names_mask_view_and_edge_rule(tmp_path):
    def shard(name: str, params: dict, attrs: dict | None = None):
        gs = GraphSet(
            x=np.zeros((2, 1), np.float32),
            edge_index=np.array([[0, 1], [1, 0]]),
            node_ptr=np.array([0, 2]),
            edge_ptr=np.array([0, 2]),
            feature_names=["area"],
            params=params,
        )
        write_graphs(tmp_path / name, np.array([7]), np.array([3]), gs, attrs)
        return tmp_path / name

    a = shard(
        "0.h5", {"mask_view": "visible", "edge_rule": "adjacency", "tolerance_px": 3}, {"masks": "0.h5"}
    )
    b = shard(
        "1.h5", {"mask_view": "visible", "edge_rule": "adjacency", "tolerance_px": 3}, {"masks": "1.h5"}
    )
    c = shard("2.h5", {"mask_view": "whole", "edge_rule": "knn", "k": 4})
    d = shard("3.h5", {"edge_rule": "dense adjacency"}, {"source": "LCZC-GES2"})
    assert describe_graphs([a, b]) == "mask view visible, edges adjacency (tolerance_px 3)"
    assert describe_graphs([a, c]) == (
        "mask view visible, edges adjacency (tolerance_px 3); mask view whole, edges knn (k 4)"
    )
    assert describe_graphs([d]) == "edges dense adjacency, imported from LCZC-GES2"
    assert describe_graphs([]) == "none"


def test_reliability_legend_names_every_colour_drawn():
    """Each bar drawn (fill colour and hatch) has a legend entry of the same look; the gap never fills
    over the accuracy bar (a blend the legend would lack): over-confident gaps start at the accuracy,
    under-confident ones are unfilled outlines over it."""
    from matplotlib.colors import to_rgba
    from matplotlib.container import BarContainer
    from matplotlib.figure import Figure

    from df4lcz.evaluation.figures import RELIABILITY_COLORS, _draw_reliability

    edges = np.linspace(0, 1, 6)
    bins = pd.DataFrame(
        {
            "lower": edges[:-1],
            "upper": edges[1:],
            "count": [0, 10, 20, 30, 40],
            "accuracy": [np.nan, 0.5, 0.3, 0.7, 0.9],  # bin 2 under-, bin 3 over-confident, bin 4 exact
            "confidence": [np.nan, 0.3, 0.5, 0.7, 0.9],
        }
    )
    ax = Figure().add_subplot(1, 1, 1)
    _draw_reliability(ax, bins, "test")

    def look(patch):
        return (tuple(np.round(patch.get_facecolor(), 3)), patch.get_hatch())

    drawn = {look(p) for c in ax.containers if isinstance(c, BarContainer) for p in c.patches}
    legend = {look(h) for h in ax.get_legend().legend_handles if hasattr(h, "get_hatch")}
    assert drawn <= legend
    assert len(drawn) == 3  # accuracy, over-confident fill, under-confident outline
    acc, over, under = ax.containers
    np.testing.assert_allclose([p.get_height() for p in acc.patches], [0.5, 0.3, 0.7, 0.9])
    # over-confident bin (acc 0.3 < conf 0.5): filled from 0.3 to 0.5, above the accuracy bar
    assert [(p.get_y(), p.get_height()) for p in over.patches] == [pytest.approx((0.3, 0.2))]
    assert over.patches[0].get_facecolor() == pytest.approx(to_rgba(RELIABILITY_COLORS["over"]))
    # under-confident bin (acc 0.5 > conf 0.3): an outline from 0.3 to 0.5 without fill
    assert [(p.get_y(), p.get_height()) for p in under.patches] == [pytest.approx((0.3, 0.2))]
    assert under.patches[0].get_facecolor()[3] == 0 and under.patches[0].get_hatch()
