"""Input-check records ``results/checks/*.csv`` (docs/contracts.md §13): one writer, reader, validator.

A stage that finds doubtful input it can still work with (polygons repaired or dropped, a Google
mosaic upsampled, chips without masks, one-node graphs, a class that lost many samples) logs a warning and records one row per
finding, so the run summary can list it under "Input checks" instead of leaving it in a log file
nobody opens. Files:

* ``results/checks/samples.csv`` — the ``samples`` checkpoint (label files, Google mosaics, squares
  lost per class outside the rasters);
* ``results/checks/graphs/{shard}.csv`` — the ``graphs`` rule (zero-mask chips, one-node graphs);
* ``results/checks/graphs.csv`` — the ``graph_checks`` gather (one-node graphs over all shards);
* ``results/checks/valid_samples.csv`` — the ``valid_samples`` rule (samples lost per class);
* ``results/checks/splits/region.csv`` — the ``region_split_checks`` rule (only with the ``region``
  strategy: classes of the test regions that no training sample has).

CSV columns :data:`CHECK_COLUMNS`: ``stage`` (the rule), ``level`` (``info`` or ``warning``),
``subject`` (the file or config key concerned), ``check`` (a name of :data:`CHECK_NAMES`),
``value`` (the measured count, fraction or factor), ``threshold`` (the limit it was compared with;
empty when none) and ``message`` (one line a person reads). A file with no finding holds the
header only.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import astuple, dataclass

import pandas as pd

from ..atomic import atomic_path
from ..errors import ContractError

#: Columns of a checks file, in order.
CHECK_COLUMNS: tuple[str, ...] = ("stage", "level", "subject", "check", "value", "threshold", "message")

#: Levels of a row: ``info`` is recorded for the record only, ``warning`` is shown in the summary.
CHECK_LEVELS: tuple[str, ...] = ("info", "warning")

#: Names of the checks stages record (``check`` column).
CHECK_NAMES: tuple[str, ...] = (
    "non_polygon_features",  # label file: features that are not polygons, ignored (count)
    "polygons_repaired",  # label file: invalid polygons repaired with make_valid (count)
    "polygons_dropped",  # label file: polygons dropped, no area or not reprojectable (fraction)
    "polygons_merged",  # label file: overlapping polygons of one class merged (count of rows merged away)
    "google_upsampling",  # Google mosaic: ground pixel / chip pixel (factor)
    "zero_mask_chips",  # chips without any mask (fraction)
    "single_node_graphs",  # graphs of one node (fraction)
    "class_loss",  # a class's samples lost to coverage, nodata, clouds, … (fraction of its samples)
    "missing_train_class",  # region split: a class with test samples but none in train (its test samples)
)

#: Float format of ``value`` and ``threshold`` in the CSV.
FLOAT_FORMAT: str = "%.6g"


@dataclass(frozen=True)
class CheckRow:
    """One finding of an input check (one CSV row; fields as :data:`CHECK_COLUMNS`)."""

    stage: str
    level: str
    subject: str
    check: str
    value: float
    threshold: float | None
    message: str


def validate_checks(where: str, rows: Sequence[CheckRow]) -> None:
    """Check ``rows`` against the contract.

    Raises:
        ValueError: naming ``where``, the row and the bad field (unknown level or check name,
            empty stage/subject/message, a message over several lines, a non-finite value).
    """
    for i, row in enumerate(rows):
        if row.level not in CHECK_LEVELS:
            raise ContractError(
                f"{where}: row {i}: level {row.level!r}; expected one of {list(CHECK_LEVELS)}"
            )
        if row.check not in CHECK_NAMES:
            raise ContractError(f"{where}: row {i}: check {row.check!r}; expected one of {list(CHECK_NAMES)}")
        for name in ("stage", "subject", "message"):
            text = getattr(row, name)
            if not isinstance(text, str) or not text.strip():
                raise ContractError(f"{where}: row {i}: {name} is empty; expected text")
        if "\n" in row.message:
            raise ContractError(f"{where}: row {i}: the message spans several lines; expected one line")
        if not math.isfinite(float(row.value)):
            raise ContractError(f"{where}: row {i}: value {row.value!r} is not a finite number")


def write_checks(path: str | os.PathLike, rows: Iterable[CheckRow]) -> None:
    """Write a checks file atomically (header only when ``rows`` is empty).

    Raises:
        ValueError: a row breaks the contract (:func:`validate_checks`); nothing is written.
    """
    rows = list(rows)
    validate_checks(str(path), rows)
    frame = pd.DataFrame([astuple(r) for r in rows], columns=list(CHECK_COLUMNS))
    frame["value"] = frame["value"].astype(float)
    frame["threshold"] = pd.to_numeric(frame["threshold"], errors="raise").astype(float)
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False, float_format=FLOAT_FORMAT)


def read_checks(path: str | os.PathLike) -> list[CheckRow]:
    """Read a checks file.

    Raises:
        FileNotFoundError: no such file.
        ContractError (a ValueError): columns other than :data:`CHECK_COLUMNS`, or a row breaking the contract.
    """
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: checks file not found")
    frame = pd.read_csv(
        path,
        dtype={"stage": str, "level": str, "subject": str, "check": str, "message": str},
        keep_default_na=False,
        na_values={"value": [""], "threshold": [""]},
    )
    if tuple(frame.columns) != CHECK_COLUMNS:
        raise ContractError(f"{path}: columns {list(frame.columns)}; expected {list(CHECK_COLUMNS)}")
    rows = [
        CheckRow(
            stage=r.stage,
            level=r.level,
            subject=r.subject,
            check=r.check,
            value=float(r.value),
            threshold=None if pd.isna(r.threshold) else float(r.threshold),
            message=r.message,
        )
        for r in frame.itertuples(index=False)
    ]
    validate_checks(str(path), rows)
    return rows


def warnings_of(rows: Iterable[CheckRow]) -> list[CheckRow]:
    """The rows of level ``warning``, in order."""
    return [r for r in rows if r.level == "warning"]
