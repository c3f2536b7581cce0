"""Prediction files and the DF4LCZ late fusion of the two streams.

A prediction file (``results/predictions/{strategy}/{model}.csv``) holds one row per sample of
the val and test splits::

    sample_id,split,y_true,y_pred,p_1,...,p_17

with labels 1–17 and ``p_k`` the softmax probability of class ``k`` (rows sum to 1).

DF4LCZ fuses the Sentinel-2 stream and the graph (GCN) stream by a convex combination of their
softmax outputs, ``P = α·P_S2 + (1−α)·P_GCN`` (α = 0.6 in the paper), and predicts the argmax.
:func:`tune_alpha` chooses α on the validation split only, so the test split stays untouched.

Decisions documented here:

* :func:`fuse` inner-joins the two frames on ``sample_id``. Samples present in only one file are
  dropped with a logged warning (e.g. a stream that skipped a sample); it is an error if no
  sample is shared, or if a shared sample has a different ``y_true`` or ``split`` in the two files.
* :func:`tune_alpha` breaks ties between equally good α by taking the one closest to the paper's
  α = 0.6; if two are equally close, the smaller α wins.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from df4lcz import metrics
from df4lcz.atomic import atomic_path
from df4lcz.constants import LCZ_CODES, N_CLASSES
from df4lcz.logs import get_logger

log = get_logger(__name__)

#: Probability columns of a prediction file, in class order 1..17.
PROB_COLUMNS: tuple[str, ...] = tuple(f"p_{code}" for code in LCZ_CODES)

#: All columns a prediction file must have, in the order they are written.
PREDICTION_COLUMNS: tuple[str, ...] = ("sample_id", "split", "y_true", "y_pred", *PROB_COLUMNS)

#: Split values allowed in a prediction file.
PREDICTION_SPLITS: tuple[str, ...] = ("val", "test")

#: Largest accepted deviation of a probability row sum from 1 (CSV round-off of float32 softmax).
PROB_SUM_TOL: float = 1e-3

#: Fusion weight of the Sentinel-2 stream used in the DF4LCZ paper; also the tie-break target.
PAPER_ALPHA: float = 0.6

#: Default α grid searched by :func:`tune_alpha` (steps of 0.05).
DEFAULT_ALPHA_GRID: np.ndarray = np.linspace(0.0, 1.0, 21)

#: Metrics :func:`tune_alpha` can maximise.
TUNE_METRICS: tuple[str, ...] = ("accuracy", "kappa", "f1_weighted", "f1_macro")

#: Decimals used when comparing grid scores and distances for ties (floating round-off).
_TIE_DECIMALS: int = 12


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
        ValueError: missing columns, missing values, duplicate ``sample_id``, a split other than
            val/test, labels outside 1–17, probabilities outside [0, 1] or rows not summing to 1.
    """
    missing = [c for c in PREDICTION_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"{where}: missing column(s) {missing}; expected columns {list(PREDICTION_COLUMNS)}")
    out = df.loc[:, list(PREDICTION_COLUMNS)].copy()
    nulls = out.columns[out.isna().any(axis=0).to_numpy()].tolist()
    if nulls:
        raise ValueError(f"{where}: missing values in column(s) {nulls}")
    for col in ("sample_id", "y_true", "y_pred"):
        values = pd.to_numeric(out[col], errors="coerce")
        if values.isna().any() or not np.all(np.mod(values.to_numpy(dtype=float), 1.0) == 0.0):
            raise ValueError(f"{where}: column '{col}' must hold integers")
        out[col] = values.astype(np.int64)
    duplicated = out["sample_id"][out["sample_id"].duplicated()]
    if len(duplicated):
        raise ValueError(
            f"{where}: duplicate sample_id values, e.g. {duplicated.iloc[:5].tolist()}; "
            "each sample must appear once"
        )
    out["split"] = out["split"].astype(str)
    bad_split = sorted(set(out["split"]) - set(PREDICTION_SPLITS))
    if bad_split:
        raise ValueError(
            f"{where}: split values {bad_split} not allowed; expected one of {list(PREDICTION_SPLITS)}"
        )
    for col in ("y_true", "y_pred"):
        bad = out[col][(out[col] < 1) | (out[col] > N_CLASSES)]
        if len(bad):
            raise ValueError(
                f"{where}: column '{col}' has values {sorted(set(bad.tolist()))[:5]} "
                f"outside the LCZ codes 1–{N_CLASSES}"
            )
    try:
        proba = out.loc[:, list(PROB_COLUMNS)].to_numpy(dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: probability columns p_1..p_{N_CLASSES} must be numeric") from None
    in_range = proba.min(initial=0.0) >= 0.0 and proba.max(initial=0.0) <= 1.0 + PROB_SUM_TOL
    if not np.all(np.isfinite(proba)) or not in_range:
        raise ValueError(f"{where}: probabilities must be finite and within [0, 1]")
    sums = proba.sum(axis=1)
    off = np.flatnonzero(np.abs(sums - 1.0) > PROB_SUM_TOL)
    if off.size:
        raise ValueError(
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
        ValueError: the file is empty, unreadable as CSV, or breaks the contract.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: prediction file not found")
    try:
        df = pd.read_csv(path)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not a readable prediction CSV ({exc})") from None
    return validate_predictions(df, str(path))


def write_predictions(df: pd.DataFrame, path: str | os.PathLike) -> None:
    """Validate ``df`` and write it atomically as a prediction CSV (columns in contract order)."""
    checked = validate_predictions(df, f"predictions for {path}")
    with atomic_path(path) as tmp:
        checked.to_csv(tmp, index=False)


def probabilities(df: pd.DataFrame) -> np.ndarray:
    """Return the (N, 17) float64 probability matrix of a prediction frame (columns p_1..p_17)."""
    return df.loc[:, list(PROB_COLUMNS)].to_numpy(dtype=np.float64)


def _check_alpha(alpha: float, name: str = "alpha") -> float:
    """Return ``alpha`` as float if it lies in [0, 1], else raise ``ValueError`` naming ``name``."""
    try:
        value = float(alpha)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: {alpha!r} is not a fusion weight; expected a number in [0, 1]") from None
    if not np.isfinite(value) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{name}: {value} is not a fusion weight; expected a number in [0, 1]")
    return value


def fuse_probabilities(p_s2: np.ndarray, p_gcn: np.ndarray, alpha: float = PAPER_ALPHA) -> np.ndarray:
    """DF4LCZ late fusion ``α·P_S2 + (1 − α)·P_GCN`` of two ``(N, 17)`` probability arrays.

    Raises:
        ValueError: shapes differ or are not (N, 17); α outside [0, 1].
    """
    a = _check_alpha(alpha)
    p1, p2 = np.asarray(p_s2, dtype=np.float64), np.asarray(p_gcn, dtype=np.float64)
    if p1.shape != p2.shape or p1.ndim != 2 or p1.shape[1] != len(PROB_COLUMNS):
        raise ValueError(f"fusion: probabilities of shape {p1.shape} and {p2.shape}; "
                         f"expected two (N, {len(PROB_COLUMNS)})")
    return a * p1 + (1.0 - a) * p2


def _join_streams(pred_s2: pd.DataFrame, pred_gcn: pd.DataFrame) -> pd.DataFrame:
    """Inner-join two validated prediction frames on sample_id (suffixes _s2 / _gcn)."""
    merged = pred_s2.merge(pred_gcn, on="sample_id", how="inner", suffixes=("_s2", "_gcn"), sort=False)
    if merged.empty:
        raise ValueError("fusion: the Sentinel-2 and GCN predictions share no sample_id")
    dropped_s2 = len(pred_s2) - len(merged)
    dropped_gcn = len(pred_gcn) - len(merged)
    if dropped_s2 or dropped_gcn:
        log.warning(
            "fusion: %d Sentinel-2 and %d GCN samples have no partner and are dropped (%d fused)",
            dropped_s2, dropped_gcn, len(merged),
        )
    for col in ("y_true", "split"):
        differs = merged[f"{col}_s2"] != merged[f"{col}_gcn"]
        if differs.any():
            ids = merged.loc[differs, "sample_id"].iloc[:5].tolist()
            raise ValueError(
                f"fusion: '{col}' differs between the Sentinel-2 and GCN predictions for "
                f"{int(differs.sum())} sample(s), e.g. sample_id {ids}"
            )
    return merged


def _fused_frame(merged: pd.DataFrame, proba: np.ndarray) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "sample_id": merged["sample_id"].to_numpy(np.int64),
            "split": merged["split_s2"].to_numpy(),
            "y_true": merged["y_true_s2"].to_numpy(np.int64),
            "y_pred": (proba.argmax(axis=1) + 1).astype(np.int64),
        }
    )
    probs = pd.DataFrame(proba, columns=list(PROB_COLUMNS))
    return pd.concat([frame, probs], axis=1)


def fuse(pred_s2: pd.DataFrame, pred_gcn: pd.DataFrame, alpha: float = PAPER_ALPHA) -> pd.DataFrame:
    """Late fusion ``P = α·P_S2 + (1−α)·P_GCN`` followed by argmax.

    Args:
        pred_s2: prediction frame of the Sentinel-2 model (N1 rows, contract columns).
        pred_gcn: prediction frame of the GCN (N2 rows).
        alpha: weight of the Sentinel-2 stream, in [0, 1].

    Returns:
        Prediction frame (M rows, contract columns) over the M samples common to both inputs, in
        the order of ``pred_s2``; ``y_pred`` is the argmax of the fused probabilities (first class
        on ties).

    Raises:
        ValueError: α outside [0, 1]; an input breaks the contract; no shared sample; a shared
            sample with different ``y_true`` or ``split``.
    """
    a = _check_alpha(alpha)
    merged = _join_streams(validate_predictions(pred_s2, "Sentinel-2 predictions"),
                           validate_predictions(pred_gcn, "GCN predictions"))
    p_s2 = merged.loc[:, [f"{c}_s2" for c in PROB_COLUMNS]].to_numpy(np.float64)
    p_gcn = merged.loc[:, [f"{c}_gcn" for c in PROB_COLUMNS]].to_numpy(np.float64)
    return _fused_frame(merged, fuse_probabilities(p_s2, p_gcn, a))


def _score(metric: str, y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Score (N,) predicted labels against (N,) true labels with one of :data:`TUNE_METRICS`."""
    if metric == "accuracy":
        return metrics.overall_accuracy(y_true, y_pred)
    cm = metrics.confusion_matrix(y_true, y_pred)
    if metric == "kappa":
        return metrics.cohen_kappa(cm)
    if metric == "f1_weighted":
        return metrics.f1_weighted(cm)
    return metrics.f1_macro(cm)


def choose_alpha(grid: np.ndarray, scores: np.ndarray, target: float = PAPER_ALPHA) -> float:
    """Pick the α with the highest score; ties → closest to ``target``, then the smaller α.

    Args:
        grid: (G,) candidate α values.
        scores: (G,) score of each candidate (higher is better; NaN never wins).

    Returns:
        The chosen α (an element of ``grid``).
    """
    s = np.round(np.where(np.isnan(scores), -np.inf, scores), _TIE_DECIMALS)
    best = np.flatnonzero(s == s.max())
    dist = np.round(np.abs(grid[best] - target), _TIE_DECIMALS)
    closest = best[dist == dist.min()]
    return float(grid[closest[np.argmin(grid[closest])]])


def tune_alpha(
    pred_s2: pd.DataFrame,
    pred_gcn: pd.DataFrame,
    grid: Sequence[float] | np.ndarray | None = None,
    metric: str = "accuracy",
) -> tuple[float, pd.DataFrame]:
    """Choose the fusion weight α on the validation split.

    Every α of ``grid`` is scored by ``metric`` on the samples with ``split == "val"`` common to
    both streams; the best wins, ties going to the α closest to 0.6 (then the smaller one).

    Args:
        pred_s2: Sentinel-2 prediction frame (val and test rows; only val is used).
        pred_gcn: GCN prediction frame.
        grid: (G,) candidate α values in [0, 1]; default ``np.linspace(0, 1, 21)``.
        metric: one of :data:`TUNE_METRICS` (all are higher-is-better).

    Returns:
        ``(alpha, curve)`` with ``curve`` a (G, 2) frame with columns ``alpha`` and ``score``.

    Raises:
        ValueError: unknown metric, empty/invalid grid, or no shared validation sample.
    """
    if metric not in TUNE_METRICS:
        raise ValueError(f"metric: {metric!r} is not supported; expected one of {list(TUNE_METRICS)}")
    alphas = np.asarray(DEFAULT_ALPHA_GRID if grid is None else grid, dtype=np.float64)
    if alphas.ndim != 1 or alphas.size == 0:
        raise ValueError(f"grid: expected a non-empty 1-D sequence of α values, got shape {alphas.shape}")
    for value in alphas:
        _check_alpha(value, "grid")
    merged = _join_streams(validate_predictions(pred_s2, "Sentinel-2 predictions"),
                           validate_predictions(pred_gcn, "GCN predictions"))
    val = merged[merged["split_s2"] == "val"]
    if val.empty:
        raise ValueError("tune_alpha: no validation samples (split == 'val') shared by both streams")
    p_s2 = val.loc[:, [f"{c}_s2" for c in PROB_COLUMNS]].to_numpy(np.float64)
    p_gcn = val.loc[:, [f"{c}_gcn" for c in PROB_COLUMNS]].to_numpy(np.float64)
    y_true = val["y_true_s2"].to_numpy(np.int64)
    scores = np.array(
        [_score(metric, y_true, (a * p_s2 + (1.0 - a) * p_gcn).argmax(axis=1) + 1) for a in alphas]
    )
    alpha = choose_alpha(alphas, scores)
    log.info("tune_alpha: α = %.3f (%s = %.4f on %d val samples)", alpha, metric, scores.max(), len(val))
    return alpha, pd.DataFrame({"alpha": alphas, "score": scores})


def write_alpha_curve(
    curve: pd.DataFrame, alpha: float, path: str | os.PathLike, metric: str = "accuracy"
) -> None:
    """Write the α grid curve atomically as CSV: ``alpha,score,metric,chosen`` (one row per α)."""
    out = curve.loc[:, ["alpha", "score"]].copy()
    out["metric"] = metric
    out["chosen"] = np.isclose(out["alpha"].to_numpy(float), alpha, rtol=0.0, atol=1e-12)
    with atomic_path(path) as tmp:
        out.to_csv(tmp, index=False)


def read_alpha_curve(path: str | os.PathLike) -> tuple[float, pd.DataFrame]:
    """Read a curve written by :func:`write_alpha_curve`; return ``(chosen alpha, curve)``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: α curve file not found")
    curve = pd.read_csv(path)
    missing = [c for c in ("alpha", "score", "chosen") if c not in curve.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {missing}; expected alpha, score, metric, chosen")
    chosen = curve.loc[curve["chosen"].astype(bool), "alpha"]
    if len(chosen) != 1:
        raise ValueError(f"{path}: expected exactly one row with chosen = True, found {len(chosen)}")
    return float(chosen.iloc[0]), curve


def fuse_files(
    s2_path: str | os.PathLike,
    gcn_path: str | os.PathLike,
    out_path: str | os.PathLike,
    alpha: float | None = PAPER_ALPHA,
    curve_path: str | os.PathLike | None = None,
    grid: Sequence[float] | np.ndarray | None = None,
    metric: str = "accuracy",
) -> float:
    """Fuse two prediction files into ``out_path`` (one call per Snakemake ``fuse`` job).

    Args:
        s2_path: Sentinel-2 prediction CSV.
        gcn_path: GCN prediction CSV.
        out_path: fused prediction CSV to write (atomic).
        alpha: fixed α, or ``None`` to tune it on the val split with :func:`tune_alpha`.
        curve_path: where to write the α curve (only used, and then required, when tuning).
        grid, metric: passed to :func:`tune_alpha` when tuning.

    Returns:
        The α used.
    """
    pred_s2 = read_predictions(s2_path)
    pred_gcn = read_predictions(gcn_path)
    if alpha is None:
        if curve_path is None:
            raise ValueError("curve_path: required when alpha is None (tuned on val)")
        alpha, curve = tune_alpha(pred_s2, pred_gcn, grid=grid, metric=metric)
        write_alpha_curve(curve, alpha, curve_path, metric=metric)
    write_predictions(fuse(pred_s2, pred_gcn, alpha), out_path)
    return float(alpha)
