"""Metrics tables (docs/contracts.md §11) and the count tables of the samples and splits rules.

* ``results/tables/metrics.csv`` — one row per (strategy, model), columns :data:`METRIC_COLUMNS`.
  Metric values are **fractions** (OA 0.8731, ECE 0.0412; kappa is a coefficient), ``T`` is the
  fitted temperature, ``n_test`` the number of test samples (int); then the bootstrap interval
  ``<metric>_lo``, ``<metric>_hi`` of every metric of :data:`CI_METRICS` (empty when undefined or
  ``evaluate.bootstrap`` is 0) and ``bootstrap_unit`` (``sample`` or ``polygon``: what was resampled).
* ``results/tables/metrics.md`` — the same table paper-style (:func:`format_cell`): OA, OA_BU,
  OA_N, F1 and calibration errors in **percent with 2 decimals**, kappa with 4 decimals, T with 3,
  NaN shown as ``n/a``; a metric with an interval is shown as ``value ± half its width``; under a
  title and a note naming the calibration bins and the bootstrap (:func:`table_note`).
* ``per_class_{strategy}_{model}.csv`` — class, name, UA, PA, F1, support (fractions; 17 rows),
  then the bootstrap intervals ``UA_lo, UA_hi, PA_lo, PA_hi, F1_lo, F1_hi`` (empty where undefined).
* ``confusion_{strategy}_{model}.csv`` — 17 × 17 counts, index column ``true`` (rows = true
  class), columns the predicted codes ``1``…``17``.
* count tables: ``results/tables/samples_per_class.csv`` and ``results/splits/{strategy}_summary.csv``.

All files are written atomically.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from df4lcz.atomic import atomic_path, write_text_atomic
from df4lcz.constants import LCZ_CODES

from ..errors import ContractError

#: Columns of the paper-style tables (``metrics.md``, the summary), in order.
DISPLAY_COLUMNS: tuple[str, ...] = (
    "strategy",
    "model",
    "OA",
    "OA_BU",
    "OA_N",
    "kappa",
    "F1_weighted",
    "F1_macro",
    "ECE",
    "MCE",
    "ECE_ts",
    "MCE_ts",
    "T",
    "n_test",
)

#: Metrics with a bootstrap confidence interval (columns ``<metric>_lo``, ``<metric>_hi``).
CI_METRICS: tuple[str, ...] = (
    "OA",
    "OA_BU",
    "OA_N",
    "kappa",
    "F1_weighted",
    "F1_macro",
    "ECE",
    "MCE",
    "ECE_ts",
    "MCE_ts",
)

#: The interval columns, in order (``OA_lo, OA_hi, OA_BU_lo, …``).
CI_COLUMNS: tuple[str, ...] = tuple(f"{m}_{end}" for m in CI_METRICS for end in ("lo", "hi"))

#: Columns of ``metrics.csv``, in order.
METRIC_COLUMNS: tuple[str, ...] = (*DISPLAY_COLUMNS, *CI_COLUMNS, "bootstrap_unit")

#: Values of ``bootstrap_unit``: test samples, or whole polygons (polygon strategy).
BOOTSTRAP_UNITS: tuple[str, ...] = ("sample", "polygon")

#: Columns shown in percent (× 100, 2 decimals) in the Markdown/HTML tables.
PERCENT_COLUMNS: tuple[str, ...] = (
    "OA",
    "OA_BU",
    "OA_N",
    "F1_weighted",
    "F1_macro",
    "ECE",
    "MCE",
    "ECE_ts",
    "MCE_ts",
)

#: Header text of each column in the paper-style tables.
DISPLAY_HEADERS: dict[str, str] = {
    "strategy": "Strategy",
    "model": "Model",
    "OA": "OA (%)",
    "OA_BU": "OA_BU (%)",
    "OA_N": "OA_N (%)",
    "kappa": "κ",
    "F1_weighted": "F1 weighted (%)",
    "F1_macro": "F1 macro (%)",
    "ECE": "ECE (%)",
    "MCE": "MCE (%)",
    "ECE_ts": "ECE TS (%)",
    "MCE_ts": "MCE TS (%)",
    "T": "T",
    "n_test": "n test",
}

#: Text shown for an undefined value.
NA_TEXT: str = "n/a"

#: Note under the metrics table (:func:`table_note`).
TABLE_NOTE: str = (
    "Test split. OA, OA_BU (true class LCZ 1–10), OA_N (LCZ A–G), F1 and calibration errors in %; "
    "κ = Cohen's kappa; ECE/MCE over {n_bins} equal-width confidence bins; "
    "ECE TS/MCE TS after temperature scaling with T fitted on the validation split."
)

#: Sentence added to the note when intervals were computed.
CI_NOTE: str = (
    " ± is half the width of the {ci:g} % percentile bootstrap interval over {n_boot} resamplings "
    "of the test samples (whole test polygons for the polygon and region strategies)."
)


def table_note(n_bins: int, n_boot: int, ci: float) -> str:
    """The note under the metrics table: calibration bins and, when ``n_boot`` > 0, the bootstrap."""
    note = TABLE_NOTE.format(n_bins=n_bins)
    if n_boot > 0:
        note += CI_NOTE.format(ci=100.0 * ci, n_boot=n_boot)
    return note


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def format_cell(column: str, value: Any, half_width: Any = None) -> str:
    """Paper-style text of one metrics value, ``value ± half_width`` when that is given (module docstring)."""
    if column in ("strategy", "model"):
        return str(value)
    if _missing(value):
        return NA_TEXT
    pm = not _missing(half_width)
    if column in PERCENT_COLUMNS:
        text = f"{100.0 * float(value):.2f}"
        return f"{text} ± {100.0 * float(half_width):.2f}" if pm else text
    if column == "kappa":
        text = f"{float(value):.4f}"
        return f"{text} ± {float(half_width):.4f}" if pm else text
    if column == "T":
        return f"{float(value):.3f}"
    if column == "n_test":
        return str(int(value))
    return str(value)


def half_width(record: dict, metric: str) -> float | None:
    """Half the width of the metric's interval in a metrics row; ``None`` without one."""
    lo: Any = record.get(f"{metric}_lo")
    hi: Any = record.get(f"{metric}_hi")
    if metric not in CI_METRICS or _missing(lo) or _missing(hi):
        return None
    return (float(hi) - float(lo)) / 2.0


def formatted_table(table: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    """``(header, rows)``: display headers and the paper-style cells of every metrics row."""
    header = [DISPLAY_HEADERS[c] for c in DISPLAY_COLUMNS]
    rows = [
        [format_cell(c, rec[c], half_width(rec, c)) for c in DISPLAY_COLUMNS]
        for rec in table.to_dict("records")
    ]
    return header, rows


def metrics_markdown_table(table: pd.DataFrame) -> str:
    """The metrics table as a GitHub-flavoured Markdown table (one row per (strategy, model))."""
    header, rows = formatted_table(table)
    align = ["---", "---"] + ["---:"] * (len(header) - 2)
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def validate_metrics(table: pd.DataFrame, where: str = "metrics_table") -> pd.DataFrame:
    """Return ``table`` if it has every column of :data:`METRIC_COLUMNS`, known ``bootstrap_unit``
    values and ordered intervals (``lo ≤ hi``, both or neither empty), else raise ``ValueError``."""
    missing = [c for c in METRIC_COLUMNS if c not in table.columns]
    if missing:
        raise ContractError(f"{where}: missing column(s) {missing}; expected {list(METRIC_COLUMNS)}")
    units = set(table["bootstrap_unit"].dropna()) - set(BOOTSTRAP_UNITS)
    if units:
        raise ContractError(
            f"{where}: bootstrap_unit {sorted(units)} not allowed; expected one of {list(BOOTSTRAP_UNITS)}"
        )
    for metric in CI_METRICS:
        lo, hi = table[f"{metric}_lo"].to_numpy(float), table[f"{metric}_hi"].to_numpy(float)
        if np.any(np.isnan(lo) != np.isnan(hi)) or np.any(lo > hi):
            raise ContractError(f"{where}: {metric}_lo/{metric}_hi must both be empty or satisfy lo ≤ hi")
    return table


def write_metrics(
    csv_path: str | os.PathLike, md_path: str | os.PathLike, table: pd.DataFrame, note: str
) -> None:
    """Write ``metrics.csv`` (fractions) and ``metrics.md`` (paper style, under ``note``).

    Args:
        csv_path, md_path: the two files.
        table: one row per (strategy, model), columns :data:`METRIC_COLUMNS` (``n_test`` int64).
        note: the text under the title (:func:`table_note`).
    """
    validate_metrics(table, str(csv_path))
    with atomic_path(csv_path) as tmp:
        table.to_csv(tmp, index=False)
    md = f"# LCZ classification metrics\n\n{note}\n\n{metrics_markdown_table(table)}"
    write_text_atomic(md_path, md)


def read_metrics(path: str | os.PathLike) -> pd.DataFrame:
    """Read and check ``metrics.csv`` (columns :data:`METRIC_COLUMNS`)."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"{path}: metrics table not found")
    return validate_metrics(pd.read_csv(path), str(path))


def write_per_class(path: str | os.PathLike, table: pd.DataFrame) -> None:
    """Write a per-class table (class, name, UA, PA, F1, support and the intervals) atomically."""
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False)


def write_confusion(path: str | os.PathLike, confusion: np.ndarray) -> None:
    """Write a (17, 17) confusion matrix (rows = true class) with index ``true`` and code columns."""
    frame = pd.DataFrame(
        confusion, index=pd.Index(LCZ_CODES, name="true"), columns=[str(c) for c in LCZ_CODES]
    )
    with atomic_path(path) as tmp:
        frame.to_csv(tmp)


def write_count_table(path: str | os.PathLike, table: pd.DataFrame) -> None:
    """Write a count table (samples per class and region, samples per class and split) atomically."""
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False)
