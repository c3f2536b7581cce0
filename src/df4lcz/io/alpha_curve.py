"""The fuse rule's two record files (docs/contracts.md §9): the α curve and the fusion table.

* ``results/predictions/{strategy}/alpha_curve.csv`` — one row per (tuned fusion model, α of the
  grid searched on the validation split): ``model,alpha,score,metric,chosen``; ``model`` is
  ``df4lcz_tuned`` (raw probabilities) or ``df4lcz_cal_tuned`` (temperature-scaled streams),
  ``score`` the validation score of the fused predictions at that α, ``metric`` its name,
  ``chosen`` True on exactly one row per model (the α that model uses).
* ``results/predictions/{strategy}/fusion.csv`` — one row per fusion model:
  ``model,calibrated,alpha,alpha_tuned,T_s2,T_gcn,val_accuracy,n_val``; ``calibrated`` whether the
  streams were temperature-scaled first, ``T_s2``/``T_gcn`` their temperatures fitted on val
  (empty for the raw fusions), ``val_accuracy`` the accuracy of the fused predictions on the
  ``n_val`` validation samples both streams share.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from df4lcz.atomic import atomic_path

from ..errors import ContractError

#: Columns of an α curve file, in order.
ALPHA_CURVE_COLUMNS: tuple[str, ...] = ("model", "alpha", "score", "metric", "chosen")

#: Columns of a fusion table, in order.
FUSION_TABLE_COLUMNS: tuple[str, ...] = (
    "model",
    "calibrated",
    "alpha",
    "alpha_tuned",
    "T_s2",
    "T_gcn",
    "val_accuracy",
    "n_val",
)


def _bools(series: pd.Series, where: str, column: str) -> pd.Series:
    """A column of True/False (as pandas reads them back) as bool, else ``ValueError``."""
    mapped = series.map({True: True, False: False, "True": True, "False": False})
    if mapped.isna().any():
        raise ContractError(
            f"{where}: column '{column}' must hold True/False, got {sorted(set(series.astype(str)))[:5]}"
        )
    return mapped.astype(bool)


def write_alpha_curve(
    curves: Mapping[str, tuple[pd.DataFrame, float]], path: str | os.PathLike, metric: str
) -> None:
    """Write the α curves of the tuned fusions atomically (one row per model and α).

    Args:
        curves: ``{model: (curve, chosen α)}`` with ``curve`` a (G, 2) frame ``alpha, score``.
        path: the CSV to write.
        metric: name of the score.
    """
    parts = []
    for model, (curve, alpha) in curves.items():
        part = curve.loc[:, ["alpha", "score"]].copy()
        part.insert(0, "model", model)
        part["metric"] = metric
        part["chosen"] = np.isclose(part["alpha"].to_numpy(float), alpha, rtol=0.0, atol=1e-12)
        parts.append(part)
    out = validate_alpha_curve(pd.concat(parts, ignore_index=True), str(path))
    with atomic_path(path) as tmp:
        out.to_csv(tmp, index=False)


def validate_alpha_curve(curve: pd.DataFrame, where: str) -> pd.DataFrame:
    """Check an α curve frame (columns, α in [0, 1], one chosen row per model); return it, ``chosen`` bool."""
    missing = [c for c in ALPHA_CURVE_COLUMNS if c not in curve.columns]
    if missing:
        raise ContractError(
            f"{where}: missing column(s) {missing}; expected {', '.join(ALPHA_CURVE_COLUMNS)}"
        )
    out = curve.loc[:, list(ALPHA_CURVE_COLUMNS)].copy()
    out["chosen"] = _bools(out["chosen"], where, "chosen")
    alpha = out["alpha"].to_numpy(float)
    if np.isnan(alpha).any() or (alpha < 0).any() or (alpha > 1).any():
        raise ContractError(f"{where}: alpha values must lie in [0, 1]")
    for model, rows in out.groupby("model", sort=False):
        if int(rows["chosen"].sum()) != 1:
            raise ContractError(
                f"{where}: expected exactly one row with chosen = True for model {model!r}, "
                f"found {int(rows['chosen'].sum())}"
            )
    return out


def read_alpha_curve(path: str | os.PathLike) -> tuple[dict[str, float], pd.DataFrame]:
    """Read an α curve file; return ``({model: chosen α}, curve)``.

    Raises:
        FileNotFoundError: no such file.
        ContractError (a ValueError): the file breaks the contract (naming the file).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: α curve file not found")
    curve = validate_alpha_curve(pd.read_csv(path), str(path))
    chosen = curve[curve["chosen"]]
    return dict(zip(chosen["model"].astype(str), chosen["alpha"].astype(float))), curve


def validate_fusion_table(table: pd.DataFrame, where: str) -> pd.DataFrame:
    """Check a fusion table (columns, unique models, α in [0, 1], temperatures > 0 exactly on the
    calibrated rows); return it with bool ``calibrated``/``alpha_tuned`` and int ``n_val``."""
    missing = [c for c in FUSION_TABLE_COLUMNS if c not in table.columns]
    if missing:
        raise ContractError(
            f"{where}: missing column(s) {missing}; expected {', '.join(FUSION_TABLE_COLUMNS)}"
        )
    out = table.loc[:, list(FUSION_TABLE_COLUMNS)].copy()
    if out["model"].duplicated().any():
        raise ContractError(
            f"{where}: duplicate model {out.loc[out['model'].duplicated(), 'model'].tolist()}"
        )
    for col in ("calibrated", "alpha_tuned"):
        out[col] = _bools(out[col], where, col)
    alpha = out["alpha"].to_numpy(float)
    if np.isnan(alpha).any() or (alpha < 0).any() or (alpha > 1).any():
        raise ContractError(f"{where}: alpha values must lie in [0, 1]")
    temps = out[["T_s2", "T_gcn"]].to_numpy(float)
    cal = out["calibrated"].to_numpy()
    if np.isnan(temps[cal]).any() or (temps[cal] <= 0).any() or not np.isnan(temps[~cal]).all():
        raise ContractError(
            f"{where}: T_s2/T_gcn must be positive on calibrated rows and empty on the others"
        )
    out["n_val"] = out["n_val"].astype(np.int64)
    return out


def write_fusion_table(table: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write a fusion table (columns :data:`FUSION_TABLE_COLUMNS`) atomically."""
    out = validate_fusion_table(table, str(path))
    with atomic_path(path) as tmp:
        out.to_csv(tmp, index=False)


def read_fusion_table(path: str | os.PathLike) -> pd.DataFrame:
    """Read and check a fusion table.

    Raises:
        FileNotFoundError: no such file.
        ContractError (a ValueError): the file breaks the contract (naming the file).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: fusion table not found")
    return validate_fusion_table(pd.read_csv(path), str(path))
