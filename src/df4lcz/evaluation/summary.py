"""The one-page Markdown + HTML summary of a run: what it shows and how each format renders it.

:func:`summary_content` gathers everything once: first the result at a glance (:class:`Headline`: what
was classified, the fused model the run recommends by its validation accuracy
(:func:`recommend_fusion`) with its test OA and κ and their intervals beside the better single stream,
the map thumbnail, the input checks' verdict), then the detail (data, the input checks' warnings of
docs/contracts.md §13, what ran — the segmentation backend and the graphs behind the GCN —, models,
the fusion tables of §9 with the validation comparison of the paper's and the calibrated fusion, the
metrics table of §11, the figures that exist grouped per strategy and model, the maps) and the
provenance block. :mod:`df4lcz.evaluation.summary_pages` renders it as Markdown and as a
self-contained HTML page; the ``summary`` rule (:mod:`df4lcz.stages.summary`) writes both pages.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from df4lcz.constants import FUSION_MODEL_NAMES, GCN_MODEL_NAME, LCZ_SHORT, MAIN_S2_MODEL, SPLIT_NAMES
from df4lcz.evaluation.fusion import recommend_fusion
from df4lcz.evaluation.provenance import gcn_description
from df4lcz.evaluation.report import (
    alpha_png_path,
    confusion_png_path,
    per_class_f1_png_path,
    reliability_png_path,
)
from df4lcz.io.checks import CheckRow, warnings_of
from df4lcz.io.tables import NA_TEXT
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

#: Text of the "Input checks" section when checks ran and none recorded a warning ({n}: rows recorded).
NO_CHECK_TEXT: str = "All passed: {n} check(s) recorded, none a warning."

#: Text of the "Input checks" section when no check record was read.
NO_CHECKS_RUN_TEXT: str = "No input-check records were read."

#: How the summary picks the model it recommends (shown under the headline table).
RECOMMENDATION_RULE: str = (
    "Recommended: per strategy, the fused model with the highest validation accuracy in "
    "results/predictions/<strategy>/fusion.csv (ties: the first of "
    + ", ".join(FUSION_MODEL_NAMES)
    + ", i.e. the one with fewer fitted settings). The α of a tuned model was chosen on that same "
    "validation split, so its validation accuracy is optimistic; the test intervals say whether the "
    "difference is real."
)

#: Paper settings the demo departs from (docs/method.md), shown with the run's own values.
PAPER_SETTINGS: tuple[tuple[str, str], ...] = (
    ("segmentation", "SAM vit_h"),
    ("graph edges", "complete, features over whole masks"),
    ("3D ResNet11 width", "64"),
    ("S2 epochs", "≤ 100"),
    ("GCN epochs", "≤ 100"),
)

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


def percent_text(value: float) -> str:
    """``value`` (a fraction) as a percentage with two decimals, e.g. ``"92.57 %"``."""
    return f"{100.0 * float(value):.2f} %"


def fusion_lines(strategy: str, table: pd.DataFrame) -> list[str]:
    """The summary's lines on one strategy's fusion table: α, temperatures and validation accuracy of
    every fusion model, and which fusion (paper or calibrated) is better on validation."""
    rows = {str(r["model"]): r for r in table.to_dict("records")}
    parts = [
        f"`{m}` α = {r['alpha']:.2f}{' (tuned)' if r['alpha_tuned'] else ''}, val {percent_text(r['val_accuracy'])}"
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
        f"`{strategy}`: on validation {verdict}: `{_CAL}` {percent_text(cal['val_accuracy'])} vs `{_FIXED}` "
        f"{percent_text(raw['val_accuracy'])} at α = {raw['alpha']:.2f}"
    )
    if _CAL_TUNED in rows and _TUNED in rows:
        line += (
            f"; with α tuned: `{_CAL_TUNED}` {percent_text(rows[_CAL_TUNED]['val_accuracy'])} vs `{_TUNED}` "
            f"{percent_text(rows[_TUNED]['val_accuracy'])}"
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
class ModelResult:
    """One row of the headline table: a model's test OA and κ with their intervals."""

    strategy: str
    model: str
    role: str  # why the row is there ("recommended …", "better single stream …")
    oa: str
    kappa: str
    n_test: int


@dataclass(frozen=True)
class Headline:
    """The result at a glance: what was classified, the recommended models, the checks' verdict, the map."""

    data: str
    demo: bool
    results: tuple[ModelResult, ...]
    checks: str
    #: the verdict's kind (:func:`checks_status`): "warn", "pass" or "none" (no record read)
    checks_status: str = "none"
    map_region: str | None = None
    map_preview: Path | None = None


@dataclass(frozen=True)
class FigureGroup:
    """The figures of one strategy: its α curve and, per model, the confusion and reliability figures."""

    strategy: str
    alpha: Path | None
    # (model, confusion, reliability, per-class F1 with intervals)
    models: tuple[tuple[str, Path | None, Path | None, Path | None], ...]


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
    figures: tuple[FigureGroup, ...]
    maps: tuple[MapSection, ...] = ()
    #: the per-class table of samples kept and lost (header, rows), shown under "Input checks" when a
    #: class lost more than samples.warn_class_loss_fraction (a ``class_loss`` warning); else None
    class_loss: tuple[tuple[str, ...], tuple[tuple[str, ...], ...]] | None = None
    headline: Headline | None = None
    #: the provenance block: (label, value) pairs (:func:`df4lcz.evaluation.provenance.run_provenance`)
    provenance: tuple[tuple[str, str], ...] = ()
    #: the demo-vs-paper caveat (:func:`demo_caveat`); empty when the run is not the demo
    caveat: str = ""
    #: input-check rows read (the "all passed" text counts them); None: no record read
    n_check_rows: int | None = None

    def check_verdict(self) -> str:
        """The "Input checks" text when no warning is listed."""
        if self.n_check_rows is None:
            return NO_CHECKS_RUN_TEXT
        return NO_CHECK_TEXT.format(n=self.n_check_rows)


def _interval(row: Mapping, metric: str, percent: bool) -> str:
    value, lo, hi = row.get(metric), row.get(f"{metric}_lo"), row.get(f"{metric}_hi")
    if value is None or pd.isna(value):
        return NA_TEXT
    scale, digits = (100.0, 2) if percent else (1.0, 3)
    text = f"{scale * float(value):.{digits}f}" + (" %" if percent else "")
    if lo is None or hi is None or pd.isna(lo) or pd.isna(hi):
        return text
    return text + f" [{scale * float(lo):.{digits}f}, {scale * float(hi):.{digits}f}]"


def headline_results(table: pd.DataFrame, fusion: Mapping[str, pd.DataFrame]) -> tuple[ModelResult, ...]:
    """Per strategy: the recommended fused model (:func:`recommend_fusion`) and the single stream
    (``resnet11_3d`` or ``gcn``) with the higher test OA; without a fusion table, the streams evaluated."""
    out: list[ModelResult] = []
    for strategy in dict.fromkeys(table["strategy"]):
        rows = {str(r["model"]): r for r in table[table["strategy"] == strategy].to_dict("records")}

        def result(model: str, role: str, strategy: str = strategy, rows: dict = rows) -> ModelResult:
            r = rows[model]
            return ModelResult(
                strategy,
                model,
                role,
                _interval(r, "OA", True),
                _interval(r, "kappa", False),
                int(r["n_test"]),
            )

        pick = recommend_fusion(fusion[strategy], list(rows)) if strategy in fusion else None
        if pick is not None:
            out.append(result(pick[0], f"recommended (validation accuracy {percent_text(pick[1])})"))
        streams = [m for m in (MAIN_S2_MODEL, GCN_MODEL_NAME) if m in rows]
        if pick is not None and streams:
            best = max(streams, key=lambda m: (float(rows[m]["OA"]), -streams.index(m)))
            out.append(result(best, "better single stream (test OA)"))
        elif pick is None:
            out += [result(m, "single stream (no fusion)") for m in streams]
    return tuple(out)


def data_sentence(
    regions: Sequence[str], n_samples: int | None, classes: Sequence[int], dataset: str | None
) -> str:
    """What was classified: samples, classes and regions, and whether the data are the synthetic demo."""
    parts = []
    if n_samples is not None:
        parts.append(f"{n_samples} labelled samples")
    if classes:
        codes = ", ".join(LCZ_SHORT[int(c)] for c in sorted(classes))
        parts.append(f"{len(classes)} LCZ classes ({codes})")
    where = ", ".join(regions) if regions else NA_TEXT
    text = (" of ".join(parts) + " in " if parts else "Regions: ") + where
    if dataset == "demo":
        text += " — synthetic demo cities (dataset demo), not real data"
    elif dataset:
        text += f" (dataset {dataset})"
    return text + "."


def checks_status(checks: Sequence[CheckRow], ran: bool) -> str:
    """What :func:`checks_verdict` says: "warn" (a check warned), "pass" (they ran, none warned) or
    "none" (no record read); the page colours the verdict by it, not by its words."""
    if warnings_of(checks):
        return "warn"
    return "pass" if ran else "none"


def checks_verdict(checks: Sequence[CheckRow], ran: bool) -> str:
    """The headline's one line on the input checks."""
    n_warn = len(warnings_of(checks))
    if n_warn:
        return f"Input checks: {n_warn} warning(s), listed under Input checks below."
    if ran:
        return f"Input checks: all passed ({len(checks)} check(s) recorded, none a warning)."
    return "Input checks: no record read."


def demo_caveat(settings: Mapping[str, object]) -> str:
    """The demo-vs-paper caveat: the demo's synthetic data and its settings against the paper's
    (docs/method.md). ``settings``: ``segmentation``, ``graph edges``, ``3D ResNet11 width``,
    ``S2 epochs``, ``GCN epochs`` of this run (missing ones are left out)."""
    diffs = "; ".join(
        f"{name} {settings[name]} (paper: {paper})" for name, paper in PAPER_SETTINGS if name in settings
    )
    return (
        "Demo run: the cities, images and labels are synthetic (generated by the demo_city rule), and the "
        "settings are sized for a small CPU machine, not the paper's"
        + (f" ({diffs})" if diffs else "")
        + ". These numbers show that the workflow runs end to end; they say nothing about how DF4LCZ "
        "performs on real cities (presets/paper.yaml holds the paper's settings; docs/method.md)."
    )


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
    uncertainty: Path | None = None  # preview of the uncertainty COG (map.uncertainty), when made


def map_sections(maps: Mapping[str, Sequence[str | os.PathLike]]) -> tuple[MapSection, ...]:
    """``{region: (preview PNG, agreement CSV[, uncertainty preview PNG])}`` → the map sections
    (agreement CSVs read here)."""
    sections = []
    for region, (png, csv, *rest) in maps.items():
        for path in (png, *rest):
            if not Path(path).is_file():
                log.warning("summary: map preview %s not found; not embedded", path)
        uncertainty = Path(rest[0]) if rest else None
        sections.append(MapSection(str(region), Path(png), pd.read_csv(csv, dtype={"lcz": str}), uncertainty))
    return tuple(sections)


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
    n_samples: int | None = None,
    classes: Sequence[int] = (),
    dataset: str | None = None,
    checks_ran: bool | None = None,
    provenance: Sequence[tuple[str, str]] = (),
    caveat_settings: Mapping[str, object] | None = None,
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
        n_samples, classes: labelled samples and the LCZ codes among them (the headline).
        dataset: the ``dataset`` config value; ``"demo"`` adds the demo-vs-paper caveat.
        checks_ran: whether input-check records were read (default: ``checks`` is not empty);
            without warnings the pages then say the checks all passed.
        provenance: the provenance block (:func:`df4lcz.evaluation.provenance.run_provenance`).
        caveat_settings: this run's values of :data:`PAPER_SETTINGS` for the demo caveat.
    """
    fig_dir = Path(figure_dir)
    descriptions = {**MODEL_DESCRIPTIONS, GCN_MODEL_NAME: gcn_description(segmentation_backend, graphs)}
    models = tuple((m, descriptions.get(m, "comparative baseline")) for m in dict.fromkeys(table["model"]))

    def present(path: Path) -> Path | None:
        if path.is_file():
            return path
        log.warning("summary: figure %s not found; not embedded", path)
        return None

    groups = []
    for strategy in dict.fromkeys(table["strategy"]):
        alpha = present(alpha_png_path(fig_dir, strategy)) if strategy in fusion else None
        group_models = tuple(
            (
                str(model),
                present(confusion_png_path(fig_dir, strategy, model)),
                present(reliability_png_path(fig_dir, strategy, model)),
                present(per_class_f1_png_path(fig_dir, strategy, model)),
            )
            for model in table.loc[table["strategy"] == strategy, "model"]
        )
        groups.append(FigureGroup(str(strategy), alpha, group_models))

    lines = [line for strategy, t in fusion.items() for line in fusion_lines(strategy, t)]
    if not lines:
        lines.append("no fusion model evaluated")
    counts = {str(s): {str(k): int(v) for k, v in c.items()} for s, c in split_counts.items()}
    order = {name: i for i, name in enumerate(SPLIT_NAMES)}
    split_names = tuple(sorted({k for c in counts.values() for k in c}, key=lambda s: (order.get(s, 3), s)))
    ran = bool(checks) if checks_ran is None else checks_ran
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
        figures=tuple(groups),
        maps=tuple(maps),
        class_loss=class_loss_section(checks, class_loss),
        headline=Headline(
            data=data_sentence(regions, n_samples, classes, dataset),
            demo=dataset == "demo",
            results=headline_results(table, fusion),
            checks=checks_verdict(checks, ran),
            checks_status=checks_status(checks, ran),
            map_region=maps[0].region if maps and maps[0].preview.is_file() else None,
            map_preview=maps[0].preview if maps and maps[0].preview.is_file() else None,
        ),
        provenance=tuple((str(k), str(v)) for k, v in provenance),
        caveat=demo_caveat(caveat_settings or {}) if dataset == "demo" else "",
        n_check_rows=len(checks) if ran else None,
    )
