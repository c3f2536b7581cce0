"""Evaluation report: files, rows, values against scikit-learn, Markdown vs CSV, summary pages."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from matplotlib.image import imread
from sklearn import metrics as skm

from df4lcz.config import schema_defaults
from df4lcz.evaluation import calibration, report
from df4lcz.evaluation.fusion import alpha_grid
from df4lcz.io.alpha_curve import read_alpha_curve
from df4lcz.io.predictions import PROB_COLUMNS, write_predictions
from df4lcz.io.tables import METRIC_COLUMNS
from df4lcz.stages.evaluate import evaluate
from df4lcz.stages.fuse import fuse_files
from df4lcz.stages.summary import write_summary

#: The ``evaluate.n_bins`` config default and the ``fuse`` rule's α grid with the schema's step.
N_BINS = schema_defaults("evaluate")["n_bins"]
GRID = alpha_grid(schema_defaults("fusion")["grid_step"])

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
    predictions, curves = {}, {}
    for k, strategy in enumerate(("sample_pool", "polygon_pool")):
        splits = rng.permuted(np.array(["val"] * 120 + ["test"] * 240))
        pdir = root / "predictions" / strategy
        write_predictions(make_model(10 + k, ids, y, splits, 2.2, 3.0), pdir / "resnet11_3d.csv",
                          float_format=None)
        write_predictions(make_model(20 + k, ids, y, splits, 1.8, 1.4), pdir / "gcn.csv", float_format=None)
        fuse_files(pdir / "resnet11_3d.csv", pdir / "gcn.csv", pdir / "df4lcz_tuned.csv", alpha=None,
                   curve_path=pdir / "alpha.csv", grid=GRID)
        models = ("resnet11_3d", "df4lcz_tuned") if k == 0 else ("df4lcz_tuned",)
        for model in models:
            predictions[(strategy, model)] = pdir / f"{model}.csv"
        curves[strategy] = pdir / "alpha.csv"
    out, figs = root / "tables", root / "figures"
    table = evaluate(predictions, out, n_bins=20, figure_dir=figs, alpha_curves=curves)
    return {"root": root, "predictions": predictions, "curves": curves, "out": out, "figs": figs,
            "table": table}


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
        row = dict(zip(METRIC_COLUMNS, cells))
        assert (row["strategy"], row["model"]) == (rec["strategy"], rec["model"])
        for col in ("OA", "OA_BU", "OA_N", "F1_weighted", "F1_macro", "ECE", "MCE", "ECE_ts", "MCE_ts"):
            assert row[col] == f"{100 * rec[col]:.2f}"
        assert row["kappa"] == f"{rec['kappa']:.4f}"
        assert row["T"] == f"{rec['T']:.3f}"
        assert row["n_test"] == str(rec["n_test"])


def test_per_class_tables_and_figures(run):
    out, figs = run["out"], run["figs"]
    for strategy, model in run["predictions"]:
        per_class = pd.read_csv(report.per_class_path(out, strategy, model))
        assert list(per_class.columns) == ["class", "name", "UA", "PA", "F1", "support"]
        assert per_class["class"].tolist() == list(range(1, 18))
        assert per_class["support"].sum() == 240
        cm = pd.read_csv(report.confusion_csv_path(out, strategy, model), index_col=0).to_numpy()
        assert cm.shape == (17, 17) and cm.sum() == 240
        np.testing.assert_array_equal(per_class["support"], cm.sum(axis=1))
        for png in (report.confusion_png_path(figs, strategy, model),
                    report.reliability_png_path(figs, strategy, model)):
            assert png.read_bytes()[:8] == PNG_MAGIC
            assert imread(png).shape[0] > 200
    for strategy in run["curves"]:
        assert report.alpha_png_path(figs, strategy).read_bytes()[:8] == PNG_MAGIC
    expected = report.output_files(list(run["predictions"]), out, figs, alpha_strategies=list(run["curves"]))
    assert all(p.is_file() for p in expected)
    leftovers = [p for d in (out, figs) for p in d.iterdir() if p.name.startswith(".tmp-")]
    assert leftovers == []


def test_summary_pages(run):
    root = run["root"]
    md_path, html_path = root / "summary.md", root / "site" / "summary.html"
    write_summary(
        run["out"] / "metrics.csv", md_path, html_path,
        regions=["Guangzhou", "Hong Kong"],
        split_counts={"sample_pool": {"train": 1000, "val": 120, "test": 240}},
        segmentation_backend="SAM vit_h (automatic mask generation)", figure_dir=run["figs"],
        alpha_curves=run["curves"], n_bins=N_BINS,
    )
    md = md_path.read_text(encoding="utf-8")
    page = html_path.read_text(encoding="utf-8")
    alpha, _ = read_alpha_curve(run["curves"]["sample_pool"])
    for text in (md, page):
        assert "Guangzhou, Hong Kong" in text
        assert "SAM vit_h (automatic mask generation)" in text
        assert f"α = {alpha:.2f}" in text
        assert "1360" in text  # total samples
        assert "df4lcz_tuned" in text and "resnet11_3d" in text
    csv = pd.read_csv(run["out"] / "metrics.csv")
    assert f"{100 * csv.loc[0, 'OA']:.2f}" in md and f"<td>{100 * csv.loc[0, 'OA']:.2f}</td>" in page
    md_links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    html_links = re.findall(r'<img src="([^"]+)"', page)
    assert len(md_links) == len(html_links) == 2 * len(csv) + 2
    assert all((md_path.parent / link).is_file() for link in md_links)
    assert all((html_path.parent / link).is_file() for link in html_links)
    assert all(not link.startswith("/") for link in md_links + html_links)


def test_without_val_split_temperature_is_nan(tmp_path):
    rng = np.random.default_rng(3)
    ids = np.arange(60)
    y = rng.integers(1, 11, size=60)  # built classes only -> OA_N undefined too
    pred = make_model(1, ids, y, np.array(["test"] * 60), 2.0, 1.0)
    write_predictions(pred, tmp_path / "m.csv", float_format=None)
    table = evaluate({("s", "m"): tmp_path / "m.csv"}, tmp_path / "out", N_BINS)
    row = table.iloc[0]
    assert np.isnan(row["T"]) and np.isnan(row["ECE_ts"]) and np.isnan(row["OA_N"])
    assert not np.isnan(row["ECE"])
    md_lines = (tmp_path / "out" / "metrics.md").read_text(encoding="utf-8").splitlines()
    md_row = next(ln for ln in md_lines if ln.startswith("| s |"))
    cells = dict(zip(METRIC_COLUMNS, [c.strip() for c in md_row.strip("|").split("|")]))
    assert cells["OA_N"] == cells["T"] == cells["ECE_ts"] == "n/a"


def test_evaluate_errors(tmp_path):
    with pytest.raises(ValueError, match="predictions: no prediction files given"):
        evaluate({}, tmp_path, N_BINS)
    with pytest.raises(ValueError, match="strategy: 'a/b' is not usable in file names"):
        evaluate({("a/b", "m"): tmp_path / "m.csv"}, tmp_path, N_BINS)
    with pytest.raises(FileNotFoundError, match="missing.csv: prediction file not found"):
        evaluate({("s", "m"): tmp_path / "missing.csv"}, tmp_path, N_BINS)
    with pytest.raises(FileNotFoundError, match="metrics table not found"):
        write_summary(tmp_path / "none.csv", tmp_path / "s.md", tmp_path / "s.html", regions=[],
                      split_counts={}, segmentation_backend="x", figure_dir=tmp_path, n_bins=N_BINS)
