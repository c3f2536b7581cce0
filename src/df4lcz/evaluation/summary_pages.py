"""The two pages of the summary: :func:`summary_markdown` links the figures relative to the page (it
is read beside ``results/``); :func:`summary_html` embeds every image as a ``data:`` URI, so the page
renders alone, moved anywhere or inside ``snakemake --report``. Both render one
:class:`~df4lcz.evaluation.summary.SummaryContent` (what the pages show is gathered there).
"""

from __future__ import annotations

import base64
import html
import os
from pathlib import Path

import pandas as pd

from df4lcz.evaluation.summary import (
    CLASS_LOSS_CAPTION,
    RECOMMENDATION_RULE,
    Headline,
    SummaryContent,
    percent_text,
)
from df4lcz.io.tables import NA_TEXT, formatted_table, metrics_markdown_table

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


def _rel(target: Path, page: Path) -> str:
    return Path(os.path.relpath(Path(target).resolve(), Path(page).resolve().parent)).as_posix()


def _map_rows(table: pd.DataFrame) -> list[list[str]]:
    rows = []
    for r in table.itertuples(index=False):
        agreement = NA_TEXT if pd.isna(r.agreement) else percent_text(float(r.agreement))
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


#: Columns of the headline table.
HEADLINE_COLUMNS: tuple[str, ...] = (
    "strategy",
    "model",
    "role",
    "test OA [interval]",
    "κ [interval]",
    "n_test",
)


def _headline_rows(h: Headline) -> list[list[str]]:
    return [[r.strategy, r.model, r.role, r.oa, r.kappa, str(r.n_test)] for r in h.results]


def summary_markdown(c: SummaryContent, page: Path) -> str:
    """Markdown text of the summary; figures linked relative to ``page`` (read beside ``results/``)."""
    md = [f"# {c.title}", ""]
    if c.headline is not None:
        h = c.headline
        md += ["## Result", "", f"**Classified:** {h.data}", ""]
        if c.caveat:
            md += [f"> {c.caveat}", ""]
        if h.results:
            md += [
                "| " + " | ".join(HEADLINE_COLUMNS) + " |",
                "|---|---|---|---:|---:|---:|",
            ]
            md += ["| " + " | ".join(r) + " |" for r in _headline_rows(h)]
            md += ["", RECOMMENDATION_RULE, ""]
        md += [f"**{h.checks}**", ""]
        if h.map_preview is not None:
            md += [f"![{h.map_region}: LCZ map]({_rel(h.map_preview, page)})", ""]
    md += ["## Data", "", f"Regions: {', '.join(c.regions) if c.regions else NA_TEXT}", ""]
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
    md += [f"- {line}" for line in c.checks] or [c.check_verdict()]
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
    md += ["", "## Figures per strategy and model"]
    for g in c.figures:
        md += ["", f"### {g.strategy}", ""]
        if g.alpha is not None:
            md += [f"![{g.strategy}: validation score vs α]({_rel(g.alpha, page)})", ""]
        for model, confusion, reliability, per_class in g.models:
            links = [
                f"![{g.strategy} / {model}: {what}]({_rel(path, page)})"
                for what, path in (
                    ("confusion matrix (row-normalised, %)", confusion),
                    ("reliability diagram", reliability),
                    ("per-class F1 with its interval", per_class),
                )
                if path is not None
            ]
            if links:
                md += [f"#### {g.strategy} / {model}", "", " ".join(links), ""]
    if c.maps:
        md += ["", "## LCZ maps"]
    for m in c.maps:
        md += ["", f"### {m.region}", ""]
        if m.preview.is_file():
            md += [f"![{m.region}: LCZ map]({_rel(m.preview, page)})", ""]
        if m.uncertainty is not None and m.uncertainty.is_file():
            md += [f"![{m.region}: probability of the map's class]({_rel(m.uncertainty, page)})", ""]
        md += [
            "Agreement of the map with the references (pixels whose window centre is in a labelled polygon, "
            "or the truth raster):",
            "",
            "| " + " | ".join(MAP_TABLE_COLUMNS.values()) + " |",
            "|---|---|---|" + "---:|" * 4,
        ]
        md += ["| " + " | ".join(row) + " |" for row in _map_rows(m.agreement)]
    if c.provenance:
        md += ["", "## Provenance", ""] + [f"- {k}: {v}" for k, v in c.provenance]
    return "\n".join(md) + "\n"


def png_data_uri(path: str | os.PathLike) -> str:
    """``data:image/png;base64,…`` of a PNG file: the image travels inside the page."""
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")


_HTML_STYLE = """
body { font-family: sans-serif; max-width: 1400px; margin: 1em auto; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 3px 7px; } td { text-align: right; }
td:first-child, td:nth-child(2) { text-align: left; }
.headline { border: 2px solid #4c72b0; border-radius: 6px; padding: 0.5em 1em; background: #f5f8fc;
  display: flex; flex-wrap: wrap; gap: 1em; align-items: flex-start; }
.headline .text { flex: 1 1 560px; } .headline .thumb { flex: 0 1 480px; margin: 0; }
.headline td:nth-child(3) { text-align: left; }
.caveat { border-left: 4px solid #dd8452; background: #fdf3ec; padding: 0.4em 0.8em; }
.pass { color: #2a7a2a; font-weight: bold; } .warn { color: #b35900; font-weight: bold; }
.rule { font-size: 0.85em; color: #555; }
.pair { display: flex; flex-wrap: wrap; gap: 12px; align-items: flex-start; }
.pair figure { margin: 0; flex: 1 1 560px; max-width: 49%; } .pair figure.conf { flex-basis: 520px; }
figure.wide { margin: 0; max-width: 900px; }
figure img { width: 100%; background: #fff; } figcaption { font-size: 0.85em; color: #444; }
input.zoom { display: none; }
label.zoom img { cursor: zoom-in; }
input.zoom:checked + img { position: fixed; inset: 0; margin: auto; width: auto; height: auto;
  max-width: 98vw; max-height: 98vh; z-index: 10; cursor: zoom-out;
  box-shadow: 0 0 0 100vmax rgba(0, 0, 0, 0.6); }
dl.prov { display: grid; grid-template-columns: max-content auto; gap: 2px 1em; font-size: 0.9em; }
dl.prov dt { font-weight: bold; } dl.prov dd { margin: 0; font-family: monospace; word-break: break-all; }
"""

#: The hint under the page title on how to see a figure at full size.
ZOOM_HINT: str = "Click a figure to see it at full size; click it again to close."


def _zoomable(path: Path, alt: str, ident: str) -> str:
    """An embedded image that a click shows at full size (a hidden checkbox, CSS only, no copy of the data)."""
    esc = html.escape
    return (
        f'<label class="zoom" for="{esc(ident)}"><input class="zoom" type="checkbox" id="{esc(ident)}">'
        f'<img src="{png_data_uri(path)}" alt="{esc(alt)}" title="{esc(alt)}"></label>'
    )


def summary_html(c: SummaryContent, page: Path) -> str:
    """Self-contained HTML text of the summary: every image embedded as a ``data:`` URI, so the page links
    nothing (``page``, where it will be written, is taken for the Markdown's signature and not used)."""
    esc = html.escape
    counter = iter(range(1, 1_000_000))

    def figure(path: Path, caption: str, cls: str = "") -> str:
        ident = f"fig{next(counter)}"
        attr = f' class="{cls}"' if cls else ""
        return (
            f"<figure{attr}>{_zoomable(path, caption, ident)}<figcaption>{esc(caption)}</figcaption></figure>"
        )

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
        else f"<p>{esc(c.check_verdict())}</p>"
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
    headline = ""
    if c.headline is not None:
        h = c.headline
        # "all passed (… none a warning)" names a warning too: the class comes from the status
        verdict_class = {"warn": ' class="warn"', "pass": ' class="pass"'}.get(h.checks_status, "")
        result_table = ""
        if h.results:
            result_table = (
                "<table><tr>"
                + "".join(f"<th>{esc(col)}</th>" for col in HEADLINE_COLUMNS)
                + "</tr>"
                + "".join(
                    "<tr>" + "".join(f"<td>{esc(v)}</td>" for v in r) + "</tr>" for r in _headline_rows(h)
                )
                + f'</table><p class="rule">{esc(RECOMMENDATION_RULE)}</p>'
            )
        thumb = (
            figure(h.map_preview, f"{h.map_region}: LCZ map", "thumb") if h.map_preview is not None else ""
        )
        caveat = f'<p class="caveat">{esc(c.caveat)}</p>' if c.caveat else ""
        headline = (
            f'<h2 id="result">Result</h2><div class="headline"><div class="text">'
            f"<p><b>Classified:</b> {esc(h.data)}</p>{caveat}{result_table}"
            f"<p{verdict_class}>{esc(h.checks)}</p></div>{thumb}</div>"
        )
    model_items = "".join(f"<li><code>{esc(m)}</code>: {esc(text)}</li>" for m, text in c.models)
    alpha_items = "".join(f"<li>{esc(line.replace('`', ''))}</li>" for line in c.fusion_lines)
    metric_header = "".join(f"<th>{esc(h)}</th>" for h in header)
    metric_rows = "".join("<tr>" + "".join(f"<td>{esc(v)}</td>" for v in r) + "</tr>" for r in rows)
    figs = ""
    for g in c.figures:
        figs += f'<h3 id="strategy-{esc(g.strategy)}">{esc(g.strategy)}</h3>'
        if g.alpha is not None:
            figs += figure(g.alpha, f"{g.strategy}: validation score vs α", "wide")
        for model, confusion, reliability, per_class in g.models:
            pair = ""
            if confusion is not None:
                pair += figure(
                    confusion, f"{g.strategy} / {model}: confusion matrix (row-normalised, %)", "conf"
                )
            if reliability is not None:
                pair += figure(reliability, f"{g.strategy} / {model}: reliability diagram")
            if per_class is not None:
                pair += figure(per_class, f"{g.strategy} / {model}: per-class F1 with its interval")
            if pair:
                figs += (
                    f'<h4>{esc(g.strategy)} / <code>{esc(model)}</code></h4><div class="pair">{pair}</div>'
                )
    maps = "<h2>LCZ maps</h2>" if c.maps else ""
    for m in c.maps:
        maps += f"<h3>{esc(m.region)}</h3>"
        if m.preview.is_file():
            maps += figure(m.preview, f"{m.region}: LCZ map", "wide")
        if m.uncertainty is not None and m.uncertainty.is_file():
            maps += figure(m.uncertainty, f"{m.region}: probability of the map's class", "wide")
        map_header = "".join(f"<th>{esc(h)}</th>" for h in MAP_TABLE_COLUMNS.values())
        map_rows = "".join(
            "<tr>" + "".join(f"<td>{esc(v)}</td>" for v in r) + "</tr>" for r in _map_rows(m.agreement)
        )
        maps += f"<table><tr>{map_header}</tr>{map_rows}</table>"
    provenance = ""
    if c.provenance:
        provenance = (
            '<h2 id="provenance">Provenance</h2><dl class="prov">'
            + "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in c.provenance)
            + "</dl>"
        )
    regions = esc(", ".join(c.regions) if c.regions else NA_TEXT)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{esc(c.title)}</title>
<style>{_HTML_STYLE}</style></head><body>
<h1>{esc(c.title)}</h1>
<p class="rule">{esc(ZOOM_HINT)}</p>
{headline}
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
<h2>Figures per strategy and model</h2>{figs}
{maps}
{provenance}
</body></html>
"""
