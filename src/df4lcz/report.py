"""Evaluation tables, figures and the one-page summary of a run.

:func:`evaluate` turns prediction files (``results/predictions/{strategy}/{model}.csv``) into

* ``metrics.csv`` — one row per (strategy, model) with the columns of :data:`METRIC_COLUMNS`.
  Metric values are **fractions** (OA 0.8731, ECE 0.0412; kappa is a coefficient), ``T`` is the
  fitted temperature, ``n_test`` the number of test samples.
* ``metrics.md`` — the same table paper-style: OA, OA_BU, OA_N, F1 and calibration errors in
  **percent with 2 decimals**, kappa with 4 decimals, T with 3, NaN shown as ``n/a``.
* ``per_class_{strategy}_{model}.csv`` (class, name, UA, PA, F1, support; fractions) and
  ``confusion_{strategy}_{model}.csv`` (17 × 17 counts, rows = true class);
* figures ``confusion_{strategy}_{model}.png``, ``reliability_{strategy}_{model}.png`` and,
  for strategies with a tuned fusion, ``alpha_{strategy}.png``.

Metrics are measured on the test split; the temperature for ``ECE_ts``/``MCE_ts`` is fitted on
the val rows of the same prediction file (NaN when it has none). :func:`write_summary` writes a
Markdown + HTML page a person can read, embedding the figures by relative path.
All files are written atomically.
"""

from __future__ import annotations

import html
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from df4lcz import calibration, figures, metrics
from df4lcz.atomic import atomic_path, write_text_atomic
from df4lcz.constants import LCZ_CODES
from df4lcz.fusion import PAPER_ALPHA, probabilities, read_alpha_curve, read_predictions
from df4lcz.logs import get_logger

log = get_logger(__name__)

#: Columns of ``metrics.csv``, in order.
METRIC_COLUMNS: tuple[str, ...] = (
    "strategy", "model", "OA", "OA_BU", "OA_N", "kappa", "F1_weighted", "F1_macro",
    "ECE", "MCE", "ECE_ts", "MCE_ts", "T", "n_test",
)

#: Columns shown in percent (× 100, 2 decimals) in the Markdown/HTML tables.
PERCENT_COLUMNS: tuple[str, ...] = (
    "OA", "OA_BU", "OA_N", "F1_weighted", "F1_macro", "ECE", "MCE", "ECE_ts", "MCE_ts",
)

#: Header text of each column in the paper-style tables.
DISPLAY_HEADERS: dict[str, str] = {
    "strategy": "Strategy", "model": "Model", "OA": "OA (%)", "OA_BU": "OA_BU (%)", "OA_N": "OA_N (%)",
    "kappa": "κ", "F1_weighted": "F1 weighted (%)", "F1_macro": "F1 macro (%)", "ECE": "ECE (%)",
    "MCE": "MCE (%)", "ECE_ts": "ECE TS (%)", "MCE_ts": "MCE TS (%)", "T": "T", "n_test": "n test",
}

#: Text shown for an undefined value.
NA_TEXT: str = "n/a"

#: One-line descriptions of the models the workflow knows; others are listed as baselines.
MODEL_DESCRIPTIONS: dict[str, str] = {
    "resnet11_3d": "3D ResNet11 on the 32×32×10 Sentinel-2 chip",
    "gcn": "GCN on the SAM instance graph of the Google Earth chip",
    "df4lcz": f"DF4LCZ late fusion P = α·P_S2 + (1−α)·P_GCN with the paper's α = {PAPER_ALPHA}",
    "df4lcz_tuned": "DF4LCZ late fusion with α tuned on the validation split",
}

#: Split on which metrics are measured, and split used to fit the temperature.
EVAL_SPLIT: str = "test"
TEMPERATURE_SPLIT: str = "val"

_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def _check_name(value: str, what: str) -> str:
    if not isinstance(value, str) or not _NAME_PATTERN.match(value):
        raise ValueError(
            f"{what}: {value!r} is not usable in file names; expected letters, digits, '_', '.', '-'"
        )
    return value


def per_class_path(out_dir: str | os.PathLike, strategy: str, model: str) -> Path:
    """``{out_dir}/per_class_{strategy}_{model}.csv``."""
    return Path(out_dir) / f"per_class_{strategy}_{model}.csv"


def confusion_csv_path(out_dir: str | os.PathLike, strategy: str, model: str) -> Path:
    """``{out_dir}/confusion_{strategy}_{model}.csv``."""
    return Path(out_dir) / f"confusion_{strategy}_{model}.csv"


def confusion_png_path(figure_dir: str | os.PathLike, strategy: str, model: str) -> Path:
    """``{figure_dir}/confusion_{strategy}_{model}.png``."""
    return Path(figure_dir) / f"confusion_{strategy}_{model}.png"


def reliability_png_path(figure_dir: str | os.PathLike, strategy: str, model: str) -> Path:
    """``{figure_dir}/reliability_{strategy}_{model}.png``."""
    return Path(figure_dir) / f"reliability_{strategy}_{model}.png"


def alpha_png_path(figure_dir: str | os.PathLike, strategy: str) -> Path:
    """``{figure_dir}/alpha_{strategy}.png``."""
    return Path(figure_dir) / f"alpha_{strategy}.png"


def output_files(
    keys: Sequence[tuple[str, str]],
    out_dir: str | os.PathLike,
    figure_dir: str | os.PathLike | None = None,
    alpha_strategies: Sequence[str] = (),
) -> list[Path]:
    """Every file :func:`evaluate` writes for these (strategy, model) keys (for Snakemake ``output:``)."""
    fig_dir = Path(out_dir) if figure_dir is None else Path(figure_dir)
    paths = [Path(out_dir) / "metrics.csv", Path(out_dir) / "metrics.md"]
    for strategy, model in keys:
        paths += [
            per_class_path(out_dir, strategy, model),
            confusion_csv_path(out_dir, strategy, model),
            confusion_png_path(fig_dir, strategy, model),
            reliability_png_path(fig_dir, strategy, model),
        ]
    paths += [alpha_png_path(fig_dir, s) for s in alpha_strategies]
    return paths


def evaluate_frame(
    pred: pd.DataFrame, strategy: str, model: str, n_bins: int = calibration.DEFAULT_N_BINS
) -> tuple[dict[str, object], metrics.ClassificationMetrics, pd.DataFrame, pd.DataFrame | None]:
    """Metrics of one validated prediction frame.

    Args:
        pred: prediction frame (contract columns) with val and test rows.
        strategy, model: names stored in the row.
        n_bins: calibration bins.

    Returns:
        ``(row, scores, bins_before, bins_after)``: the ``metrics.csv`` row (keys
        :data:`METRIC_COLUMNS`), the test-split :class:`~df4lcz.metrics.ClassificationMetrics`,
        the test reliability bins before temperature scaling and after it (``None`` without val).
    """
    test = pred[pred["split"] == EVAL_SPLIT]
    val = pred[pred["split"] == TEMPERATURE_SPLIT]
    if test.empty:
        log.warning("%s/%s: no test samples; metrics are NaN", strategy, model)
    scores = metrics.classification_metrics(test["y_true"].to_numpy(), test["y_pred"].to_numpy())
    p_test = probabilities(test)
    y_test = test["y_true"].to_numpy()
    bins_before = calibration.reliability_bins(p_test, y_test, n_bins)
    ece, mce = calibration.ece_mce_from_bins(bins_before)
    if val.empty:
        log.warning("%s/%s: no val samples; temperature scaling skipped", strategy, model)
        temperature, ece_ts, mce_ts, bins_after = float("nan"), float("nan"), float("nan"), None
    else:
        temperature = calibration.fit_temperature(probabilities(val), val["y_true"].to_numpy())
        p_scaled = calibration.apply_temperature(p_test, temperature)
        bins_after = calibration.reliability_bins(p_scaled, y_test, n_bins)
        ece_ts, mce_ts = calibration.ece_mce_from_bins(bins_after)
    row: dict[str, object] = {
        "strategy": strategy, "model": model, "OA": scores.oa, "OA_BU": scores.oa_bu, "OA_N": scores.oa_n,
        "kappa": scores.kappa, "F1_weighted": scores.f1_weighted, "F1_macro": scores.f1_macro,
        "ECE": ece, "MCE": mce, "ECE_ts": ece_ts, "MCE_ts": mce_ts, "T": temperature, "n_test": scores.n,
    }
    return row, scores, bins_before, bins_after


def format_cell(column: str, value: object) -> str:
    """Paper-style text of one metrics value (see module docstring)."""
    if column in ("strategy", "model"):
        return str(value)
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return NA_TEXT
    if column in PERCENT_COLUMNS:
        return f"{100.0 * float(value):.2f}"
    if column == "kappa":
        return f"{float(value):.4f}"
    if column == "T":
        return f"{float(value):.3f}"
    if column == "n_test":
        return str(int(value))
    return str(value)


def _formatted(table: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    header = [DISPLAY_HEADERS[c] for c in METRIC_COLUMNS]
    rows = [[format_cell(c, rec[c]) for c in METRIC_COLUMNS] for rec in table.to_dict("records")]
    return header, rows


def metrics_markdown_table(table: pd.DataFrame) -> str:
    """The metrics table as a GitHub-flavoured Markdown table (one row per (strategy, model))."""
    header, rows = _formatted(table)
    align = ["---", "---"] + ["---:"] * (len(header) - 2)
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines) + "\n"


_TABLE_NOTE = (
    "Test split. OA, OA_BU (true class LCZ 1–10), OA_N (LCZ A–G), F1 and calibration errors in %; "
    "κ = Cohen's kappa; ECE/MCE over {n_bins} equal-width confidence bins; "
    "ECE TS/MCE TS after temperature scaling with T fitted on the validation split."
)


def evaluate(
    predictions: Mapping[tuple[str, str], str | os.PathLike],
    out_dir: str | os.PathLike,
    n_bins: int = calibration.DEFAULT_N_BINS,
    figure_dir: str | os.PathLike | None = None,
    alpha_curves: Mapping[str, str | os.PathLike] | None = None,
) -> pd.DataFrame:
    """Evaluate prediction files and write tables and figures (see module docstring).

    Args:
        predictions: ``{(strategy, model): path to the prediction CSV}``; rows keep this order.
        out_dir: directory for ``metrics.csv``, ``metrics.md``, per-class and confusion CSVs.
        n_bins: calibration bins (20 as Koller et al. 2024).
        figure_dir: directory for PNGs (default ``out_dir``).
        alpha_curves: ``{strategy: α-curve CSV from fusion.write_alpha_curve}`` to plot.

    Returns:
        The metrics frame (len(predictions) rows, columns :data:`METRIC_COLUMNS`, fractions).
    """
    if not predictions:
        raise ValueError("predictions: no prediction files given")
    out = Path(out_dir)
    fig_dir = out if figure_dir is None else Path(figure_dir)
    rows = []
    for (strategy, model), path in predictions.items():
        _check_name(strategy, "strategy")
        _check_name(model, "model")
        pred = read_predictions(path)
        row, scores, bins_before, bins_after = evaluate_frame(pred, strategy, model, n_bins)
        rows.append(row)
        with atomic_path(per_class_path(out, strategy, model)) as tmp:
            scores.per_class().to_csv(tmp, index=False)
        cm_frame = pd.DataFrame(scores.confusion, index=pd.Index(LCZ_CODES, name="true"),
                                columns=[str(c) for c in LCZ_CODES])
        with atomic_path(confusion_csv_path(out, strategy, model)) as tmp:
            cm_frame.to_csv(tmp)
        figures.plot_confusion_matrix(scores.confusion, confusion_png_path(fig_dir, strategy, model),
                                      f"{model} — {strategy} (test, n = {scores.n})", normalize="true")
        figures.plot_reliability(bins_before, bins_after, reliability_png_path(fig_dir, strategy, model),
                                 f"{model} — {strategy} (test)")
        log.info("%s/%s: OA %.4f, kappa %.4f, ECE %.4f (n_test = %d)",
                 strategy, model, scores.oa, scores.kappa, row["ECE"], scores.n)
    for strategy, curve_path in (alpha_curves or {}).items():
        _check_name(strategy, "strategy")
        alpha, curve = read_alpha_curve(curve_path)
        figures.plot_alpha_curve(curve, alpha_png_path(fig_dir, strategy), alpha,
                                 title=f"Fusion weight on val — {strategy}")
    table = pd.DataFrame(rows, columns=list(METRIC_COLUMNS))
    table["n_test"] = table["n_test"].astype(np.int64)
    with atomic_path(out / "metrics.csv") as tmp:
        table.to_csv(tmp, index=False)
    note = _TABLE_NOTE.format(n_bins=n_bins)
    md = f"# LCZ classification metrics\n\n{note}\n\n{metrics_markdown_table(table)}"
    write_text_atomic(out / "metrics.md", md)
    return table


def _rel(target: Path, page: Path) -> str:
    return Path(os.path.relpath(Path(target).resolve(), Path(page).resolve().parent)).as_posix()


def _describe_model(model: str) -> str:
    return MODEL_DESCRIPTIONS.get(model, "comparative baseline")


@dataclass(frozen=True)
class _SummaryContent:
    """Everything the summary pages show, gathered once for both formats."""

    title: str
    regions: tuple[str, ...]
    split_counts: dict[str, dict[str, int]]
    split_names: tuple[str, ...]
    segmentation_backend: str
    models: tuple[str, ...]
    alpha_lines: tuple[str, ...]
    note: str
    table: pd.DataFrame
    figures: tuple[tuple[str, Path], ...]  # (caption, path)


def _summary_markdown(c: _SummaryContent, page: Path) -> str:
    """Markdown text of the summary; figures linked relative to ``page``."""
    md = [f"# {c.title}", "", "## Data", "", f"Regions: {', '.join(c.regions) if c.regions else NA_TEXT}", ""]
    md += ["| Strategy | " + " | ".join(c.split_names) + " | total |",
           "|---|" + "---:|" * (len(c.split_names) + 1)]
    for strategy, counts in c.split_counts.items():
        cells = [str(counts.get(s, 0)) for s in c.split_names] + [str(sum(counts.values()))]
        md.append(f"| {strategy} | " + " | ".join(cells) + " |")
    md += ["", f"Segmentation backend: {c.segmentation_backend}", "", "## Models", ""]
    md += [f"- `{m}`: {_describe_model(m)}" for m in c.models]
    md += ["", "## Fusion weight", ""] + [f"- {line}" for line in c.alpha_lines]
    md += ["", "## Metrics", "", c.note, "", metrics_markdown_table(c.table).rstrip("\n")]
    md += ["", "## Figures", ""]
    md += [f"![{caption}]({_rel(path, page)})" for caption, path in c.figures]
    return "\n".join(md) + "\n"


_HTML_STYLE = """
body { font-family: sans-serif; max-width: 1200px; margin: 1em auto; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 3px 7px; } td { text-align: right; }
td:first-child, td:nth-child(2) { text-align: left; }
.figs { display: flex; flex-wrap: wrap; gap: 8px; } figure { margin: 0; width: 32%; }
figure img { width: 100%; } figcaption { font-size: 0.8em; }
"""


def _summary_html(c: _SummaryContent, page: Path) -> str:
    """Self-contained HTML text of the summary; images linked relative to ``page``."""
    esc = html.escape
    header, rows = _formatted(c.table)
    split_header = "".join(f"<th>{esc(n)}</th>" for n in c.split_names)
    split_rows = "".join(
        f"<tr><td>{esc(s)}</td>" + "".join(f"<td>{counts.get(n, 0)}</td>" for n in c.split_names)
        + f"<td>{sum(counts.values())}</td></tr>"
        for s, counts in c.split_counts.items()
    )
    model_items = "".join(f"<li><code>{esc(m)}</code>: {esc(_describe_model(m))}</li>" for m in c.models)
    alpha_items = "".join(f"<li>{esc(line.replace('`', ''))}</li>" for line in c.alpha_lines)
    metric_header = "".join(f"<th>{esc(h)}</th>" for h in header)
    metric_rows = "".join("<tr>" + "".join(f"<td>{esc(v)}</td>" for v in r) + "</tr>" for r in rows)
    figs = "".join(
        f'<figure><img src="{esc(_rel(path, page))}" alt="{esc(caption)}">'
        f"<figcaption>{esc(caption)}</figcaption></figure>"
        for caption, path in c.figures
    )
    regions = esc(", ".join(c.regions) if c.regions else NA_TEXT)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{esc(c.title)}</title>
<style>{_HTML_STYLE}</style></head><body>
<h1>{esc(c.title)}</h1>
<h2>Data</h2><p>Regions: {regions}</p>
<table><tr><th>Strategy</th>{split_header}<th>total</th></tr>{split_rows}</table>
<p>Segmentation backend: {esc(c.segmentation_backend)}</p>
<h2>Models</h2><ul>{model_items}</ul>
<h2>Fusion weight</h2><ul>{alpha_items}</ul>
<h2>Metrics</h2><p>{esc(c.note)}</p>
<table><tr>{metric_header}</tr>{metric_rows}</table>
<h2>Figures</h2><div class="figs">{figs}</div>
</body></html>
"""


def write_summary(
    metrics_table: pd.DataFrame | str | os.PathLike,
    md_path: str | os.PathLike,
    html_path: str | os.PathLike,
    *,
    regions: Sequence[str],
    split_counts: Mapping[str, Mapping[str, int]],
    segmentation_backend: str,
    figure_dir: str | os.PathLike,
    alpha_curves: Mapping[str, str | os.PathLike] | None = None,
    n_bins: int = calibration.DEFAULT_N_BINS,
    title: str = "DF4LCZ — Local Climate Zone classification results",
) -> None:
    """Write a one-page Markdown and HTML summary of a run (both atomically).

    Args:
        metrics_table: the frame returned by :func:`evaluate`, or the path of ``metrics.csv``.
        md_path, html_path: pages to write (figures are linked relative to each page).
        regions: names of the regions (cities) used.
        split_counts: ``{strategy: {"train": n, "val": n, "test": n}}``.
        segmentation_backend: how the Google chips were segmented (e.g. "SAM vit_h").
        figure_dir: where :func:`evaluate` wrote the PNGs; missing figures are skipped with a warning.
        alpha_curves: ``{strategy: α-curve CSV}``; the chosen α is reported and its plot embedded.
        n_bins: calibration bins used (for the table note).
        title: page title.
    """
    if isinstance(metrics_table, pd.DataFrame):
        table = metrics_table
    else:
        if not Path(metrics_table).is_file():
            raise FileNotFoundError(f"{metrics_table}: metrics table not found")
        table = pd.read_csv(metrics_table)
    missing = [c for c in METRIC_COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"metrics_table: missing column(s) {missing}; expected {list(METRIC_COLUMNS)}")
    fig_dir = Path(figure_dir)
    alphas = {s: read_alpha_curve(p)[0] for s, p in (alpha_curves or {}).items()}
    models = tuple(dict.fromkeys(table["model"]))

    candidates: list[tuple[str, Path]] = []
    for strategy in dict.fromkeys(table["strategy"]):
        if strategy in alphas:
            candidates.append((f"{strategy}: validation score vs α", alpha_png_path(fig_dir, strategy)))
        for model in table.loc[table["strategy"] == strategy, "model"]:
            candidates.append((f"{strategy} / {model}: confusion matrix (row-normalised, %)",
                               confusion_png_path(fig_dir, strategy, model)))
            candidates.append((f"{strategy} / {model}: reliability diagram",
                               reliability_png_path(fig_dir, strategy, model)))
    present = []
    for caption, path in candidates:
        if path.is_file():
            present.append((caption, path))
        else:
            log.warning("summary: figure %s not found; not embedded", path)

    alpha_lines = []
    if "df4lcz" in models:
        alpha_lines.append(f"fixed α = {PAPER_ALPHA} (model `df4lcz`, as in the paper)")
    alpha_lines += [f"tuned on val for `{s}`: α = {a:.2f} (model `df4lcz_tuned`)" for s, a in alphas.items()]
    if not alpha_lines:
        alpha_lines.append("no fusion model evaluated")
    counts = {str(s): {str(k): int(v) for k, v in c.items()} for s, c in split_counts.items()}
    order = {name: i for i, name in enumerate(("train", "val", "test"))}
    split_names = tuple(sorted({k for c in counts.values() for k in c}, key=lambda s: (order.get(s, 3), s)))
    content = _SummaryContent(
        title=title, regions=tuple(regions), split_counts=counts, split_names=split_names,
        segmentation_backend=segmentation_backend, models=models, alpha_lines=tuple(alpha_lines),
        note=_TABLE_NOTE.format(n_bins=n_bins), table=table, figures=tuple(present),
    )
    write_text_atomic(md_path, _summary_markdown(content, Path(md_path)))
    write_text_atomic(html_path, _summary_html(content, Path(html_path)))
