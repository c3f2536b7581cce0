"""Prediction files ``results/predictions/{strategy}/{model}.csv`` (docs/contracts.md §8).

One row per sample of the val and test splits::

    sample_id,split,y_true,y_pred,p_1,...,p_17

with labels 1–17 and ``p_k`` the softmax probability of class ``k`` (rows sum to 1 within
:data:`PROB_SUM_TOL`). The ``predict`` rule writes probabilities with :data:`MODEL_FLOAT_FORMAT`
(``%.6g``); the ``fuse`` rule writes the fused probabilities at full float precision.
:func:`validate_predictions` is the one check of the contract: every reader and writer uses it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from df4lcz.atomic import atomic_path
from df4lcz.constants import LCZ_CODES, N_CLASSES, codes_to_index
from df4lcz.logs import get_logger

from ..errors import ContractError

log = get_logger(__name__)

#: Probability columns of a prediction file, in class order 1..17.
PROB_COLUMNS: tuple[str, ...] = tuple(f"p_{code}" for code in LCZ_CODES)

#: All columns a prediction file must have, in the order they are written.
PREDICTION_COLUMNS: tuple[str, ...] = ("sample_id", "split", "y_true", "y_pred", *PROB_COLUMNS)

#: Split values allowed in a prediction file.
PREDICTION_SPLITS: tuple[str, ...] = ("val", "test")

#: Largest accepted deviation of a probability row sum from 1 (CSV round-off of float32 softmax).
PROB_SUM_TOL: float = 1e-3

#: Number format of the probabilities in the prediction files of trained models (``predict``).
MODEL_FLOAT_FORMAT: str = "%.6g"


def validate_predictions(df: pd.DataFrame, where: str) -> pd.DataFrame:
    """Check a prediction frame against the contract and return a normalised copy.

    Normalisation: columns reordered to :data:`PREDICTION_COLUMNS` (extra columns dropped),
    ``sample_id``/``y_true``/``y_pred`` as int64, ``split`` as str, probabilities as float64.

    Args:
        df: frame with at least the columns of :data:`PREDICTION_COLUMNS`; N rows.
        where: name of the source (file path or description) used in error messages.

    Returns:
        The validated (N, 21) frame.

    Raises:
        ContractError (a ValueError): missing columns, missing values, duplicate ``sample_id``, a split other than
            val/test, labels outside 1–17, probabilities outside [0, 1] or rows not summing to 1.
    """
    missing = [c for c in PREDICTION_COLUMNS if c not in df.columns]
    if missing:
        raise ContractError(
            f"{where}: missing column(s) {missing}; expected columns {list(PREDICTION_COLUMNS)}"
        )
    out = df.loc[:, list(PREDICTION_COLUMNS)].copy()
    nulls = out.columns[out.isna().any(axis=0).to_numpy()].tolist()
    if nulls:
        raise ContractError(f"{where}: missing values in column(s) {nulls}")
    for col in ("sample_id", "y_true", "y_pred"):
        values = pd.to_numeric(out[col], errors="coerce")
        if values.isna().any() or not np.all(np.mod(values.to_numpy(dtype=float), 1.0) == 0.0):
            raise ContractError(f"{where}: column '{col}' must hold integers")
        out[col] = values.astype(np.int64)
    duplicated = out["sample_id"][out["sample_id"].duplicated()]
    if len(duplicated):
        raise ContractError(
            f"{where}: duplicate sample_id values, e.g. {duplicated.iloc[:5].tolist()}; "
            "each sample must appear once"
        )
    out["split"] = out["split"].astype(str)
    bad_split = sorted(set(out["split"]) - set(PREDICTION_SPLITS))
    if bad_split:
        raise ContractError(
            f"{where}: split values {bad_split} not allowed; expected one of {list(PREDICTION_SPLITS)}"
        )
    for col in ("y_true", "y_pred"):
        bad = out[col][(out[col] < 1) | (out[col] > N_CLASSES)]
        if len(bad):
            raise ContractError(
                f"{where}: column '{col}' has values {sorted(set(bad.tolist()))[:5]} "
                f"outside the LCZ codes 1–{N_CLASSES}"
            )
    try:
        proba = out.loc[:, list(PROB_COLUMNS)].to_numpy(dtype=np.float64)
    except (TypeError, ValueError):
        raise ContractError(f"{where}: probability columns p_1..p_{N_CLASSES} must be numeric") from None
    in_range = proba.min(initial=0.0) >= 0.0 and proba.max(initial=0.0) <= 1.0 + PROB_SUM_TOL
    if not np.all(np.isfinite(proba)) or not in_range:
        raise ContractError(f"{where}: probabilities must be finite and within [0, 1]")
    sums = proba.sum(axis=1)
    off = np.flatnonzero(np.abs(sums - 1.0) > PROB_SUM_TOL)
    if off.size:
        raise ContractError(
            f"{where}: {off.size} probability row(s) do not sum to 1 (±{PROB_SUM_TOL}), e.g. sample_id "
            f"{int(out['sample_id'].iloc[off[0]])} sums to {sums[off[0]]:.6f}"
        )
    out[list(PROB_COLUMNS)] = proba
    mismatch = int(np.count_nonzero(proba.argmax(axis=1) + 1 != out["y_pred"].to_numpy()))
    if mismatch:
        log.warning("%s: y_pred differs from argmax(p) for %d of %d samples", where, mismatch, len(out))
    return out.reset_index(drop=True)


def read_predictions(path: str | os.PathLike) -> pd.DataFrame:
    """Read and validate a prediction CSV (see :func:`validate_predictions`).

    Args:
        path: ``results/predictions/{strategy}/{model}.csv``.

    Returns:
        (N, 21) frame with columns :data:`PREDICTION_COLUMNS`.

    Raises:
        FileNotFoundError: the file does not exist.
        ContractError (a ValueError): the file is empty, unreadable as CSV, or breaks the contract.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: prediction file not found")
    try:
        df = pd.read_csv(path)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ContractError(f"{path}: not a readable prediction CSV ({exc})") from None
    return validate_predictions(df, str(path))


def write_predictions(
    df: pd.DataFrame, path: str | os.PathLike, float_format: str | None = MODEL_FLOAT_FORMAT
) -> None:
    """Validate ``df`` and write it atomically as a prediction CSV (columns in contract order).

    Args:
        df: prediction frame (see :func:`validate_predictions`).
        path: the CSV to write.
        float_format: number format of the probabilities: :data:`MODEL_FLOAT_FORMAT` (``%.6g``) for
            the predictions of a trained model, ``None`` (full float precision) for fused predictions.
    """
    checked = validate_predictions(df, f"predictions for {path}")
    with atomic_path(path) as tmp:
        checked.to_csv(tmp, index=False, float_format=float_format)


def probabilities(df: pd.DataFrame) -> np.ndarray:
    """Return the (N, 17) float64 probability matrix of a prediction frame (columns p_1..p_17)."""
    return df.loc[:, list(PROB_COLUMNS)].to_numpy(dtype=np.float64)


def predictions_frame(
    sample_ids: Sequence[int] | np.ndarray,
    split: str | Sequence[str] | np.ndarray,
    y_true: Sequence[int] | np.ndarray,
    proba: np.ndarray,
) -> pd.DataFrame:
    """Predictions table ``sample_id,split,y_true,y_pred,p_1…p_17``.

    Args:
        sample_ids: ``(N,)`` sample ids.
        split: one split name for all rows, or ``(N,)`` names.
        y_true: ``(N,)`` true LCZ codes 1–17.
        proba: ``(N, 17)`` class probabilities (column j = code j + 1).

    Returns:
        DataFrame with ``y_pred`` = argmax code (1–17).
    """
    proba = np.asarray(proba, dtype=np.float64)
    n = len(sample_ids)
    if proba.ndim != 2 or proba.shape != (n, N_CLASSES):
        raise ValueError(f"predictions_frame: proba has shape {proba.shape}; expected ({n}, {N_CLASSES})")
    if len(y_true) != n:
        raise ValueError(f"predictions_frame: {len(y_true)} labels for {n} sample ids")
    y_idx = codes_to_index(np.asarray(y_true), "predictions_frame: y_true")
    if isinstance(split, str):
        splits = np.full(n, split, dtype=object)
    else:
        splits = np.asarray(split, dtype=object)
        if len(splits) != n:
            raise ValueError(f"predictions_frame: {len(splits)} split names for {n} sample ids")
    frame = pd.DataFrame(
        {
            "sample_id": np.asarray(sample_ids, dtype=np.int64),
            "split": splits,
            "y_true": y_idx + 1,
            "y_pred": proba.argmax(axis=1) + 1,
        }
    )
    return pd.concat([frame, pd.DataFrame(proba, columns=list(PROB_COLUMNS))], axis=1)
