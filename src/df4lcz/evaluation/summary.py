"""The one-page Markdown + HTML summary of a run: what it shows and how each format renders it.

:func:`summary_content` gathers everything once (data, models, fusion weights, the metrics table
of docs/contracts.md §11 and the figures that exist); :func:`summary_markdown` and
:func:`summary_html` render it, linking figures relative to the page. The ``summary`` rule
(:mod:`df4lcz.stages.summary`) writes both pages.
"""

from __future__ import annotations

import html
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from df4lcz.constants import FUSION_MODEL_NAMES, GCN_MODEL_NAME, MAIN_S2_MODEL, SPLIT_NAMES
from df4lcz.evaluation.fusion import PAPER_ALPHA
from df4lcz.evaluation.report import alpha_png_path, confusion_png_path, reliability_png_path
from df4lcz.io.tables import NA_TEXT, TABLE_NOTE, formatted_table, metrics_markdown_table
from df4lcz.logs import get_logger

log = get_logger(__name__)

#: Title of the summary pages.
SUMMARY_TITLE: str = "DF4LCZ — Local Climate Zone classification results"

#: One-line descriptions of the models the workflow knows; others are listed as baselines.
MODEL_DESCRIPTIONS: dict[str, str] = {
    MAIN_S2_MODEL: "3D ResNet11 on the 32×32×10 Sentinel-2 chip",
    GCN_MODEL_NAME: "GCN on the SAM instance graph of the Google Earth chip",
    FUSION_MODEL_NAMES[0]: f"DF4LCZ late fusion P = α·P_S2 + (1−α)·P_GCN with the paper's α = {PAPER_ALPHA}",
    FUSION_MODEL_NAMES[1]: "DF4LCZ late fusion with α tuned on the validation split",
}


def _rel(target: Path, page: Path) -> str:
    return Path(os.path.relpath(Path(target).resolve(), Path(page).resolve().parent)).as_posix()


def _describe_model(model: str) -> str:
    return MODEL_DESCRIPTIONS.get(model, "comparative baseline")


@dataclass(frozen=True)
class SummaryContent:
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


def summary_content(
    table: pd.DataFrame,
    *,
    regions: Sequence[str],
    split_counts: Mapping[str, Mapping[str, int]],
    segmentation_backend: str,
    figure_dir: str | os.PathLike,
    alphas: Mapping[str, float],
    n_bins: int,
    title: str = SUMMARY_TITLE,
) -> SummaryContent:
    """Gather the content of the summary pages.

    Args:
        table: the metrics table (columns :data:`df4lcz.io.tables.METRIC_COLUMNS`).
        regions: names of the regions (cities) used.
        split_counts: ``{strategy: {"train": n, "val": n, "test": n}}``.
        segmentation_backend: how the Google chips were segmented (e.g. "SAM vit_h").
        figure_dir: where the ``evaluate`` rule wrote the PNGs; missing figures are skipped with a warning.
        alphas: ``{strategy: α tuned on val}``; the α is reported and its plot embedded.
        n_bins: calibration bins used (for the table note).
        title: page title.
    """
    fig_dir = Path(figure_dir)
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

    fixed, tuned = FUSION_MODEL_NAMES
    alpha_lines = []
    if fixed in models:
        alpha_lines.append(f"fixed α = {PAPER_ALPHA} (model `{fixed}`, as in the paper)")
    alpha_lines += [f"tuned on val for `{s}`: α = {a:.2f} (model `{tuned}`)" for s, a in alphas.items()]
    if not alpha_lines:
        alpha_lines.append("no fusion model evaluated")
    counts = {str(s): {str(k): int(v) for k, v in c.items()} for s, c in split_counts.items()}
    order = {name: i for i, name in enumerate(SPLIT_NAMES)}
    split_names = tuple(sorted({k for c in counts.values() for k in c}, key=lambda s: (order.get(s, 3), s)))
    return SummaryContent(
        title=title, regions=tuple(regions), split_counts=counts, split_names=split_names,
        segmentation_backend=segmentation_backend, models=models, alpha_lines=tuple(alpha_lines),
        note=TABLE_NOTE.format(n_bins=n_bins), table=table, figures=tuple(present),
    )


def summary_markdown(c: SummaryContent, page: Path) -> str:
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


def summary_html(c: SummaryContent, page: Path) -> str:
    """Self-contained HTML text of the summary; images linked relative to ``page``."""
    esc = html.escape
    header, rows = formatted_table(c.table)
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
