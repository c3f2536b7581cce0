"""The one-page Markdown + HTML summary of a run: what it shows and how each format renders it.

:func:`summary_content` gathers everything once (data, the input checks' warnings of
docs/contracts.md §13, what ran — the segmentation backend and the graphs behind the GCN —, models,
the fusion tables of §9 with the validation comparison of the paper's and the calibrated fusion, the
metrics table of §11 and the figures that exist); :func:`summary_markdown` and :func:`summary_html`
render it, linking figures relative to the page. The ``summary`` rule (:mod:`df4lcz.stages.summary`) writes both pages.
"""

from __future__ import annotations

import html
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from df4lcz.constants import FUSION_MODEL_NAMES, GCN_MODEL_NAME, MAIN_S2_MODEL, SPLIT_NAMES
from df4lcz.evaluation.provenance import gcn_description
from df4lcz.evaluation.report import alpha_png_path, confusion_png_path, reliability_png_path
from df4lcz.io.checks import CheckRow, warnings_of
from df4lcz.io.tables import NA_TEXT, formatted_table, metrics_markdown_table
from df4lcz.logs import get_logger

log = get_logger(__name__)

#: Title of the summary pages.
SUMMARY_TITLE: str = "DF4LCZ — Local Climate Zone classification results"

_FIXED, _TUNED, _CAL, _CAL_TUNED = FUSION_MODEL_NAMES

#: Most warnings of the input checks listed one by one; the rest are counted in one line.
MAX_CHECK_LINES: int = 30

#: Caption of the per-class table of samples kept and lost.
CLASS_LOSS_CAPTION: str = (
    "Samples per class kept and lost, by reason (squares outside a raster's footprint, then samples the "
    "chippers excluded; results/checks/class_loss/valid_samples.csv):"
)

#: Text of the "Input checks" section when no check recorded a warning.
NO_CHECK_TEXT: str = "none"

#: One-line descriptions of the models the workflow knows (the GCN's says what its graphs were made
#: of, :func:`df4lcz.evaluation.provenance.gcn_description`); others are listed as baselines.
MODEL_DESCRIPTIONS: dict[str, str] = {
    MAIN_S2_MODEL: "3D ResNet11 on the 32×32×10 Sentinel-2 chip",
    _FIXED: "DF4LCZ late fusion P = α·P_S2 + (1−α)·P_GCN of the raw stream probabilities with the fixed α "
    "(the paper's fusion)",
    _TUNED: "the paper's fusion with α tuned on the validation split",
    _CAL: "late fusion of the temperature-scaled streams (one T per stream, fitted on the validation split) "
    "with the fixed α",
    _CAL_TUNED: "calibrated fusion with α tuned on the validation split",
}


def _rel(target: Path, page: Path) -> str:
    return Path(os.path.relpath(Path(target).resolve(), Path(page).resolve().parent)).as_posix()


def _pct(value: float) -> str:
    return f"{100.0 * float(value):.2f} %"


def fusion_lines(strategy: str, table: pd.DataFrame) -> list[str]:
    """The summary's lines on one strategy's fusion table: α, temperatures and validation accuracy of
    every fusion model, and which fusion (paper or calibrated) is better on validation."""
    rows = {str(r["model"]): r for r in table.to_dict("records")}
    parts = [
        f"`{m}` α = {r['alpha']:.2f}{' (tuned)' if r['alpha_tuned'] else ''}, val {_pct(r['val_accuracy'])}"
        for m, r in rows.items()
    ]
    lines = [f"`{strategy}`: " + "; ".join(parts)]
    if _CAL not in rows or _FIXED not in rows:
        lines.append(f"`{strategy}`: calibrated fusion not run (`fusion.calibrate: false`)")
        return lines
    cal, raw = rows[_CAL], rows[_FIXED]
    lines.append(
        f"`{strategy}`: temperatures fitted on val: T_S2 = {cal['T_s2']:.3f}, T_GCN = {cal['T_gcn']:.3f}"
    )
    diff = round(float(cal["val_accuracy"]) - float(raw["val_accuracy"]), 12)
    verdict = (
        "the calibrated fusion is better"
        if diff > 0
        else "the paper's fusion is better"
        if diff < 0
        else "the paper's and the calibrated fusion are equal"
    )
    line = (
        f"`{strategy}`: on validation {verdict}: `{_CAL}` {_pct(cal['val_accuracy'])} vs `{_FIXED}` "
        f"{_pct(raw['val_accuracy'])} at α = {raw['alpha']:.2f}"
    )
    if _CAL_TUNED in rows and _TUNED in rows:
        line += (
            f"; with α tuned: `{_CAL_TUNED}` {_pct(rows[_CAL_TUNED]['val_accuracy'])} vs `{_TUNED}` "
            f"{_pct(rows[_TUNED]['val_accuracy'])}"
        )
    lines.append(line + f" (n = {int(raw['n_val'])})")
    return lines


def check_lines(rows: Sequence[CheckRow]) -> list[str]:
    """The "Input checks" lines: one per recorded warning (its message), at most :data:`MAX_CHECK_LINES`
    (then one line counting the rest); empty without warnings (the pages then say :data:`NO_CHECK_TEXT`)."""
    warnings = warnings_of(rows)
    lines = [r.message for r in warnings[:MAX_CHECK_LINES]]
    if len(warnings) > MAX_CHECK_LINES:
        lines.append(f"… and {len(warnings) - MAX_CHECK_LINES} more warning(s) in results/checks/")
    return lines


@dataclass(frozen=True)
class SummaryContent:
    """Everything the summary pages show, gathered once for both formats."""

    title: str
    regions: tuple[str, ...]
    split_counts: dict[str, dict[str, int]]
    split_names: tuple[str, ...]
    segmentation_backend: str
    graphs: str
    sentinel2: str
    checks: tuple[str, ...]  # the "Input checks" lines (none: no warning)
    models: tuple[tuple[str, str], ...]  # (model, description)
    fusion_lines: tuple[str, ...]
    note: str
    table: pd.DataFrame
    figures: tuple[tuple[str, Path], ...]  # (caption, path)
    maps: tuple[MapSection, ...] = ()
    #: the per-class table of samples kept and lost (header, rows), shown under "Input checks" when a
    #: class lost more than samples.warn_class_loss_fraction (a ``class_loss`` warning); else None
    class_loss: tuple[tuple[str, ...], tuple[tuple[str, ...], ...]] | None = None


def class_loss_section(
    rows: Sequence[CheckRow], table: tuple[Sequence[str], Sequence[Sequence[str]]] | None
) -> tuple[tuple[str, ...], tuple[tuple[str, ...], ...]] | None:
    """The per-class table to show: ``table`` (:func:`df4lcz.sampling.class_loss.class_loss_table`) when a
    ``class_loss`` check row is a warning, else None."""
    if table is None or not any(r.check == "class_loss" for r in warnings_of(rows)):
        return None
    header, body = table
    return tuple(header), tuple(tuple(r) for r in body)


@dataclass(frozen=True)
class MapSection:
    """One region's LCZ map in the summary: its preview and agreement table (docs/contracts.md §12)."""

    region: str
    preview: Path
    agreement: pd.DataFrame


#: Columns of the agreement table shown in the summary, and their headers.
MAP_TABLE_COLUMNS: dict[str, str] = {
    "reference": "reference",
    "lcz": "LCZ",
    "name": "name",
    "n_pixels": "pixels",
    "n_agree": "agree",
    "agreement": "agreement",
    "n_unmapped": "unmapped",
}


def map_sections(maps: Mapping[str, tuple[str | os.PathLike, str | os.PathLike]]) -> tuple[MapSection, ...]:
    """``{region: (preview PNG, agreement CSV)}`` → the map sections (agreement CSVs read here)."""
    sections = []
    for region, (png, csv) in maps.items():
        if not Path(png).is_file():
            log.warning("summary: map preview %s not found; not embedded", png)
        sections.append(MapSection(str(region), Path(png), pd.read_csv(csv, dtype={"lcz": str})))
    return tuple(sections)


def _map_rows(table: pd.DataFrame) -> list[list[str]]:
    rows = []
    for r in table.itertuples(index=False):
        agreement = NA_TEXT if pd.isna(r.agreement) else _pct(float(r.agreement))
        rows.append(
            [
                str(r.reference),
                str(r.lcz),
                "" if pd.isna(r.name) else str(r.name),
                str(int(r.n_pixels)),
                str(int(r.n_agree)),
                agreement,
                str(int(r.n_unmapped)),
            ]
        )
    return rows


def summary_content(
    table: pd.DataFrame,
    *,
    regions: Sequence[str],
    split_counts: Mapping[str, Mapping[str, int]],
    segmentation_backend: str,
    graphs: str,
    figure_dir: str | os.PathLike,
    fusion: Mapping[str, pd.DataFrame],
    note: str,
    checks: Sequence[CheckRow] = (),
    title: str = SUMMARY_TITLE,
    sentinel2: str = "not recorded",
    maps: Sequence[MapSection] = (),
    class_loss: tuple[Sequence[str], Sequence[Sequence[str]]] | None = None,
) -> SummaryContent:
    """Gather the content of the summary pages.

    Args:
        table: the metrics table (columns :data:`df4lcz.io.tables.METRIC_COLUMNS`).
        regions: names of the regions (cities) used.
        split_counts: ``{strategy: {"train": n, "val": n, "test": n}}``.
        segmentation_backend: how the Google chips were segmented (from the masks files' attrs).
        graphs: how the graphs were built (:func:`df4lcz.evaluation.provenance.describe_graphs`).
        figure_dir: where the ``evaluate`` rule wrote the PNGs; missing figures are skipped with a warning.
        fusion: ``{strategy: fusion table}`` (docs/contracts.md §9); reported, and the α plot embedded.
        note: the text under the metrics table (:func:`df4lcz.io.tables.table_note`).
        checks: the rows of the run's input-check records (docs/contracts.md §13); their warnings
            are listed (:func:`check_lines`).
        title: page title.
        sentinel2: how the Sentinel-2 chips became reflectance
            (:func:`df4lcz.evaluation.provenance.describe_sentinel2`).
        maps: the LCZ maps made (:func:`map_sections`): preview and agreement table per region.
        class_loss: the per-class table of samples kept and lost (header, rows); shown when a
            ``class_loss`` check row of ``checks`` is a warning (:func:`class_loss_section`).
    """
    fig_dir = Path(figure_dir)
    descriptions = {**MODEL_DESCRIPTIONS, GCN_MODEL_NAME: gcn_description(segmentation_backend, graphs)}
    models = tuple((m, descriptions.get(m, "comparative baseline")) for m in dict.fromkeys(table["model"]))

    candidates: list[tuple[str, Path]] = []
    for strategy in dict.fromkeys(table["strategy"]):
        if strategy in fusion:
            candidates.append((f"{strategy}: validation score vs α", alpha_png_path(fig_dir, strategy)))
        for model in table.loc[table["strategy"] == strategy, "model"]:
            candidates.append(
                (
                    f"{strategy} / {model}: confusion matrix (row-normalised, %)",
                    confusion_png_path(fig_dir, strategy, model),
                )
            )
            candidates.append(
                (f"{strategy} / {model}: reliability diagram", reliability_png_path(fig_dir, strategy, model))
            )
    present = []
    for caption, path in candidates:
        if path.is_file():
            present.append((caption, path))
        else:
            log.warning("summary: figure %s not found; not embedded", path)

    lines = [line for strategy, t in fusion.items() for line in fusion_lines(strategy, t)]
    if not lines:
        lines.append("no fusion model evaluated")
    counts = {str(s): {str(k): int(v) for k, v in c.items()} for s, c in split_counts.items()}
    order = {name: i for i, name in enumerate(SPLIT_NAMES)}
    split_names = tuple(sorted({k for c in counts.values() for k in c}, key=lambda s: (order.get(s, 3), s)))
    return SummaryContent(
        title=title,
        regions=tuple(regions),
        split_counts=counts,
        split_names=split_names,
        segmentation_backend=segmentation_backend,
        graphs=graphs,
        sentinel2=sentinel2,
        checks=tuple(check_lines(checks)),
        models=models,
        fusion_lines=tuple(lines),
        note=note,
        table=table,
        figures=tuple(present),
        maps=tuple(maps),
        class_loss=class_loss_section(checks, class_loss),
    )


def summary_markdown(c: SummaryContent, page: Path) -> str:
    """Markdown text of the summary; figures linked relative to ``page``."""
    md = [f"# {c.title}", "", "## Data", "", f"Regions: {', '.join(c.regions) if c.regions else NA_TEXT}", ""]
    md += [
        "| Strategy | " + " | ".join(c.split_names) + " | total |",
        "|---|" + "---:|" * (len(c.split_names) + 1),
    ]
    for strategy, counts in c.split_counts.items():
        cells = [str(counts.get(s, 0)) for s in c.split_names] + [str(sum(counts.values()))]
        md.append(f"| {strategy} | " + " | ".join(cells) + " |")
    md += [
        "",
        f"Segmentation backend: {c.segmentation_backend}",
        "",
        f"Graphs: {c.graphs}",
        "",
        f"Sentinel-2: {c.sentinel2}",
        "",
        "## Input checks",
        "",
    ]
    md += [f"- {line}" for line in c.checks] or [NO_CHECK_TEXT]
    if c.class_loss:
        header, body = c.class_loss
        md += [
            "",
            CLASS_LOSS_CAPTION,
            "",
            "| " + " | ".join(header) + " |",
            "|---|---|" + "---:|" * (len(header) - 2),
        ]
        md += ["| " + " | ".join(r) + " |" for r in body]
    md += ["", "## Models", ""]
    md += [f"- `{m}`: {text}" for m, text in c.models]
    md += ["", "## Fusion", ""] + [f"- {line}" for line in c.fusion_lines]
    md += ["", "## Metrics", "", c.note, "", metrics_markdown_table(c.table).rstrip("\n")]
    md += ["", "## Figures", ""]
    md += [f"![{caption}]({_rel(path, page)})" for caption, path in c.figures]
    if c.maps:
        md += ["", "## LCZ maps"]
    for m in c.maps:
        md += ["", f"### {m.region}", ""]
        if m.preview.is_file():
            md += [f"![{m.region}: LCZ map]({_rel(m.preview, page)})", ""]
        md += [
            "Agreement of the map with the references (pixels whose window centre is in a labelled polygon, "
            "or the truth raster):",
            "",
            "| " + " | ".join(MAP_TABLE_COLUMNS.values()) + " |",
            "|---|---|---|" + "---:|" * 4,
        ]
        md += ["| " + " | ".join(row) + " |" for row in _map_rows(m.agreement)]
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
        f"<tr><td>{esc(s)}</td>"
        + "".join(f"<td>{counts.get(n, 0)}</td>" for n in c.split_names)
        + f"<td>{sum(counts.values())}</td></tr>"
        for s, counts in c.split_counts.items()
    )
    checks = (
        "<ul>" + "".join(f"<li>{esc(line)}</li>" for line in c.checks) + "</ul>"
        if c.checks
        else f"<p>{esc(NO_CHECK_TEXT)}</p>"
    )
    if c.class_loss:
        loss_header, loss_body = c.class_loss
        checks += (
            f"<p>{esc(CLASS_LOSS_CAPTION)}</p><table><tr>"
            + "".join(f"<th>{esc(h)}</th>" for h in loss_header)
            + "</tr>"
            + "".join("<tr>" + "".join(f"<td>{esc(v)}</td>" for v in r) + "</tr>" for r in loss_body)
            + "</table>"
        )
    model_items = "".join(f"<li><code>{esc(m)}</code>: {esc(text)}</li>" for m, text in c.models)
    alpha_items = "".join(f"<li>{esc(line.replace('`', ''))}</li>" for line in c.fusion_lines)
    metric_header = "".join(f"<th>{esc(h)}</th>" for h in header)
    metric_rows = "".join("<tr>" + "".join(f"<td>{esc(v)}</td>" for v in r) + "</tr>" for r in rows)
    figs = "".join(
        f'<figure><img src="{esc(_rel(path, page))}" alt="{esc(caption)}">'
        f"<figcaption>{esc(caption)}</figcaption></figure>"
        for caption, path in c.figures
    )
    regions = esc(", ".join(c.regions) if c.regions else NA_TEXT)
    maps = "<h2>LCZ maps</h2>" if c.maps else ""
    for m in c.maps:
        maps += f"<h3>{esc(m.region)}</h3>"
        if m.preview.is_file():
            maps += (
                f'<figure style="width: 80%"><img src="{esc(_rel(m.preview, page))}" '
                f'alt="{esc(m.region)}: LCZ map"></figure>'
            )
        map_header = "".join(f"<th>{esc(h)}</th>" for h in MAP_TABLE_COLUMNS.values())
        map_rows = "".join(
            "<tr>" + "".join(f"<td>{esc(v)}</td>" for v in r) + "</tr>" for r in _map_rows(m.agreement)
        )
        maps += f"<table><tr>{map_header}</tr>{map_rows}</table>"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{esc(c.title)}</title>
<style>{_HTML_STYLE}</style></head><body>
<h1>{esc(c.title)}</h1>
<h2>Data</h2><p>Regions: {regions}</p>
<table><tr><th>Strategy</th>{split_header}<th>total</th></tr>{split_rows}</table>
<p>Segmentation backend: {esc(c.segmentation_backend)}</p>
<p>Graphs: {esc(c.graphs)}</p>
<p>Sentinel-2: {esc(c.sentinel2)}</p>
<h2>Input checks</h2>{checks}
<h2>Models</h2><ul>{model_items}</ul>
<h2>Fusion</h2><ul>{alpha_items}</ul>
<h2>Metrics</h2><p>{esc(c.note)}</p>
<table><tr>{metric_header}</tr>{metric_rows}</table>
<h2>Figures</h2><div class="figs">{figs}</div>
{maps}
</body></html>
"""
