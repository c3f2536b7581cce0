"""Per-class sample accounts ``results/checks/class_loss/{stage}.csv`` (docs/contracts.md §13).

What each labelled class kept and lost, and why: the ``samples`` checkpoint writes the squares of
the polygons lost to the raster footprints, the ``valid_samples`` rule adds the samples the chippers
excluded (nodata, partial coverage, clouds, …), so its file is the whole account of the run.

CSV ``lcz,reason,subject,samples``, one row per class and reason, sorted by ``lcz``: the reason
:data:`KEPT` (the class's samples kept; exactly one row per class), :data:`CAPPED` (squares
``samples.max_per_polygon`` left out: not a loss), or a reason for a loss (``outside the Google
raster``, ``sentinel2: cloud``, …) with ``subject`` the input file responsible (empty when not
known) and ``samples`` > 0. A sample lost for several reasons counts under one (the first stream's).
"""

from __future__ import annotations

import os

import pandas as pd

from ..atomic import atomic_path
from ..errors import ContractError

#: Columns of an account file, in order.
CLASS_LOSS_COLUMNS: tuple[str, ...] = ("lcz", "reason", "subject", "samples")

#: Reason of a class's kept samples.
KEPT: str = "kept"

#: Reason of the squares ``samples.max_per_polygon`` left out (not a loss).
CAPPED: str = "not taken (samples.max_per_polygon)"

#: Reasons that are not losses.
NOT_LOST: tuple[str, ...] = (KEPT, CAPPED)


def validate_class_loss(where: str, table: pd.DataFrame) -> pd.DataFrame:
    """Check an account against the contract; returns it with the columns' dtypes.

    Raises:
        ContractError (a ValueError): other columns, a class code outside 1–17, an empty reason, a
            negative count, a loss of 0, a class without exactly one ``kept`` row, repeated rows.
    """
    if tuple(table.columns) != CLASS_LOSS_COLUMNS:
        raise ContractError(f"{where}: columns {list(table.columns)}; expected {list(CLASS_LOSS_COLUMNS)}")
    out = table.copy()
    try:
        out["lcz"] = out["lcz"].astype("int64")
        out["samples"] = out["samples"].astype("int64")
    except (TypeError, ValueError) as exc:
        raise ContractError(f"{where}: lcz and samples must be integers ({exc})") from exc
    out["reason"] = out["reason"].astype(str)
    out["subject"] = out["subject"].fillna("").astype(str)
    if not out["lcz"].between(1, 17).all():
        raise ContractError(f"{where}: class codes {sorted(set(out.lcz) - set(range(1, 18)))}; expected 1–17")
    if (out["reason"].str.strip() == "").any():
        raise ContractError(f"{where}: an empty reason; expected text")
    if (out["samples"] < 0).any():
        raise ContractError(f"{where}: a negative count of samples")
    lost = ~out["reason"].isin(NOT_LOST)
    if (out.loc[lost, "samples"] == 0).any():
        raise ContractError(f"{where}: a loss of 0 samples; expected rows only for reasons with a loss")
    kept = out[out["reason"] == KEPT].groupby("lcz").size()
    if set(kept.index) != set(out["lcz"]) or (kept != 1).any():
        raise ContractError(f"{where}: expected exactly one {KEPT!r} row per class")
    if out.duplicated(["lcz", "reason", "subject"]).any():
        raise ContractError(f"{where}: a (lcz, reason, subject) row repeated")
    return out


def write_class_loss(path: str | os.PathLike, table: pd.DataFrame) -> None:
    """Write an account atomically, sorted by class (kept first, then the reasons as given).

    Raises:
        ContractError (a ValueError): the table breaks the contract; nothing is written.
    """
    out = validate_class_loss(str(path), table[list(CLASS_LOSS_COLUMNS)])
    order = (out["reason"] != KEPT).astype(int)
    out = out.assign(_o=order).sort_values(["lcz", "_o"], kind="stable").drop(columns="_o")
    with atomic_path(path) as tmp:
        out.to_csv(tmp, index=False)


def read_class_loss(path: str | os.PathLike) -> pd.DataFrame:
    """Read an account.

    Raises:
        FileNotFoundError: no such file.
        ContractError (a ValueError): the file breaks the contract.
    """
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: class account not found")
    table = pd.read_csv(path, dtype={"reason": str, "subject": str}, keep_default_na=False)
    return validate_class_loss(str(path), table)
