"""Per-class account of the samples lost, and why (docs/contracts.md §13, issue 24).

A Google raster covering half the labelled area loses the squares of the other half, and a class
may vanish with them. The account is made where each loss is first known:

* the ``samples`` checkpoint (:func:`footprint_losses`): a polygon's squares laid as if the rasters
  covered everything, those not wholly inside the Google raster or the Sentinel-2 input counted per
  class; it stops here, before any chip job, when a class loses too much;
* the ``valid_samples`` rule (:func:`exclusion_account`): the samples a chipper excluded (nodata,
  partial coverage, clouds, …), added to the ``samples`` account.

:func:`class_loss_checks` compares each class's lost share with ``samples.warn_class_loss_fraction``
(a warning above it, and always when a class lost everything) and ``samples.max_class_loss_fraction``
(an error at or above it, naming the class, its counts per reason and the files responsible).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from ..constants import LCZ_NAMES
from ..errors import InputError
from ..io.checks import CheckRow
from ..io.class_loss import CAPPED, CLASS_LOSS_COLUMNS, KEPT, NOT_LOST
from ..logs import get_logger

log = get_logger("samples")

#: Config keys of the two thresholds.
WARN_KEY: str = "samples.warn_class_loss_fraction"
MAX_KEY: str = "samples.max_class_loss_fraction"

#: Reasons of the ``samples`` rule (squares outside a raster's footprint).
OUTSIDE_GOOGLE: str = "outside the Google raster"
OUTSIDE_S2: str = "outside the Sentinel-2 input"
OUTSIDE_BOTH: str = "outside both rasters"


def footprint_losses(
    full: np.ndarray, size_m: float, google: BaseGeometry, sentinel2: BaseGeometry
) -> dict[str, int]:
    """How many of the squares ``full`` (corners (K, 2)) are not wholly inside each footprint.

    Returns:
        ``{reason: count}`` over :data:`OUTSIDE_GOOGLE`, :data:`OUTSIDE_S2`, :data:`OUTSIDE_BOTH`
        (only reasons with a count).
    """
    if len(full) == 0:
        return {}
    boxes = shapely.box(full[:, 0], full[:, 1], full[:, 0] + size_m, full[:, 1] + size_m)
    in_g = shapely.contains(google, boxes)
    in_s = shapely.contains(sentinel2, boxes)
    counts = {
        OUTSIDE_GOOGLE: int((~in_g & in_s).sum()),
        OUTSIDE_S2: int((in_g & ~in_s).sum()),
        OUTSIDE_BOTH: int((~in_g & ~in_s).sum()),
    }
    return {k: v for k, v in counts.items() if v}


def account_frame(rows: Iterable[tuple[int, str, str, int]]) -> pd.DataFrame:
    """``(lcz, reason, subject, samples)`` rows summed into an account (one ``kept`` row per class)."""
    rows = list(rows)
    rows += [(code, KEPT, "", 0) for code in sorted({int(r[0]) for r in rows})]
    table = pd.DataFrame(rows, columns=list(CLASS_LOSS_COLUMNS))
    table["lcz"] = table["lcz"].astype("int64")
    table["samples"] = table["samples"].astype("int64")
    table = table.groupby(["lcz", "reason", "subject"], as_index=False, sort=False)["samples"].sum()
    table = table[(table["reason"] == KEPT) | (table["samples"] > 0)]
    order = (table["reason"] != KEPT).astype(int)
    table = table.assign(_o=order).sort_values(["lcz", "_o"], kind="stable").drop(columns="_o")
    return table[list(CLASS_LOSS_COLUMNS)].reset_index(drop=True)


def exclusion_account(
    samples: pd.DataFrame,
    valid: pd.DataFrame,
    subjects: Mapping[int, Mapping[str, str]],
    before: pd.DataFrame | None,
) -> pd.DataFrame:
    """The account of the ``valid_samples`` rule: the ``samples`` account with the chippers' exclusions.

    Args:
        samples: the sample table (``sample_id``, ``lcz``).
        valid: the valid-sample table (``sample_id``, ``valid``, ``reason`` as ``stream: why; …``).
        subjects: ``{sample_id: {stream: input file}}`` of the excluded samples (the chip file's
            ``source``), naming the file responsible.
        before: the ``samples`` rule's account (None for imported datasets): its losses and capped
            squares are carried over; ``kept`` becomes the valid samples.
    """
    lcz = dict(zip(samples["sample_id"].astype(int), samples["lcz"].astype(int)))
    rows: list[tuple[int, str, str, int]] = []
    if before is not None:
        rows += [
            (int(r.lcz), r.reason, r.subject, int(r.samples)) for r in before.itertuples() if r.reason != KEPT
        ]
    for code in sorted(set(lcz.values()) | (set(before["lcz"]) if before is not None else set())):
        rows.append((code, KEPT, "", 0))
    for sid, ok, reason in zip(valid["sample_id"].astype(int), valid["valid"].astype(bool), valid["reason"]):
        if sid not in lcz:
            continue
        if ok:
            rows.append((lcz[sid], KEPT, "", 1))
            continue
        first = str(reason).split("; ")[0]
        stream, _, why = first.partition(": ")
        if not why:  # "missing from the {stream} files"
            stream, why = first.removeprefix("missing from the ").removesuffix(" files"), "missing"
        kind = why.split(":")[0].strip()
        rows.append((lcz[sid], f"{stream}: {kind}", subjects.get(sid, {}).get(stream, ""), 1))
    return account_frame(rows)


def class_totals(account: pd.DataFrame) -> pd.DataFrame:
    """Per class: ``kept``, ``capped``, ``lost`` and the lost ``fraction`` (of kept + capped + lost)."""
    lost = ~account["reason"].isin(NOT_LOST)
    codes = sorted(set(account["lcz"]))
    out = pd.DataFrame(
        {
            "kept": account[account.reason == KEPT].groupby("lcz")["samples"].sum(),
            "capped": account[account.reason == CAPPED].groupby("lcz")["samples"].sum(),
            "lost": account[lost].groupby("lcz")["samples"].sum(),
        },
        index=pd.Index(codes, name="lcz"),
    )
    out = out.fillna(0).astype("int64")
    total = out.kept + out.capped + out.lost
    out["fraction"] = np.where(total > 0, out.lost / total.where(total > 0, 1), 0.0)
    return out


def _class_name(code: int) -> str:
    return f"LCZ {code} ({LCZ_NAMES.get(code, '?')})"


def _reasons_text(account: pd.DataFrame, code: int) -> str:
    parts = []
    for r in account[(account.lcz == code) & ~account.reason.isin(NOT_LOST)].itertuples():
        parts.append(f"{int(r.samples)} {r.reason}" + (f" {r.subject}" if r.subject else ""))
    return "; ".join(parts)


def class_loss_checks(
    account: pd.DataFrame, stage: str, warn_fraction: float, max_fraction: float | None, what: str
) -> list[CheckRow]:
    """The ``class_loss`` check rows of an account (one per class with a loss), or an error.

    Args:
        account: the account (:mod:`df4lcz.io.class_loss`).
        stage: the rule recording the rows.
        warn_fraction: ``samples.warn_class_loss_fraction``: a class losing more is a warning.
        max_fraction: ``samples.max_class_loss_fraction`` (None: never an error).
        what: what the rule counts, for messages (``squares``, ``samples``).

    Returns:
        A row per class with a loss: ``value`` its lost fraction, ``threshold`` ``warn_fraction``,
        level ``warning`` above it or when the class lost everything, else ``info``. Warnings are logged.

    Raises:
        InputError: some class lost ``max_fraction`` of its squares or more; the message names each
            such class, its counts per reason and the files responsible.
    """
    totals = class_totals(account)
    rows: list[CheckRow] = []
    too_many = []
    for code, t in totals.iterrows():
        if t.lost == 0:
            continue
        code = int(code)
        total = int(t.kept + t.capped + t.lost)
        lost_all = t.kept == 0
        share = f"{int(t.lost)} of its {total} {what} ({100 * t.fraction:.1f} %)"
        message = (
            f"{_class_name(code)} lost {'all ' if lost_all else ''}{share}: {_reasons_text(account, code)}; "
            f"{int(t.kept)} kept (warning above {WARN_KEY} = {warn_fraction:g})"
        )
        level = "warning" if lost_all or t.fraction > warn_fraction else "info"
        if level == "warning":
            log.warning("%s", message)
        else:
            log.info("%s", message)
        rows.append(
            CheckRow(stage, level, f"LCZ {code}", "class_loss", float(t.fraction), warn_fraction, message)
        )
        if max_fraction is not None and t.fraction >= max_fraction:
            too_many.append(f"{_class_name(code)} lost {share}: {_reasons_text(account, code)}")
    if too_many and max_fraction is not None:
        raise InputError(
            f"{len(too_many)} class(es) lost {100 * max_fraction:g} % of their {what} or more ({MAX_KEY} = "
            f"{max_fraction:g}): " + " | ".join(too_many) + ". Expected rasters covering the labelled "
            f"polygons of every class: extend or fix those inputs, drop the class's polygons from the labels, "
            f"or raise {MAX_KEY} (null never stops)"
        )
    return rows


def class_loss_table(account: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    """The summary's per-class table: header and rows (class, name, kept, lost, one column per reason)."""
    totals = class_totals(account)
    reasons = list(dict.fromkeys(r for r in account["reason"] if r != KEPT))
    header = ["LCZ", "name", "kept", "lost", *reasons]
    rows = []
    for code, t in totals.iterrows():
        per = account[account.lcz == code].groupby("reason")["samples"].sum()
        rows.append(
            [
                str(int(code)),
                LCZ_NAMES.get(int(code), ""),
                str(int(t.kept)),
                f"{int(t.lost)} ({100 * t.fraction:.1f} %)",
                *(str(int(per.get(r, 0))) for r in reasons),
            ]
        )
    return header, rows
