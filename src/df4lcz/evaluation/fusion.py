"""The DF4LCZ late fusion of the two streams, and the choice of its weight α on validation.

DF4LCZ fuses the Sentinel-2 stream and the graph (GCN) stream by a convex combination of their
softmax outputs, ``P = α·P_S2 + (1−α)·P_GCN`` (α = 0.6 in the paper, :data:`PAPER_ALPHA`), and
predicts the argmax. :func:`tune_alpha` chooses α on the validation split only, so the test split
stays untouched. Inputs and outputs are prediction frames (docs/contracts.md §8,
:mod:`df4lcz.io.predictions`); the α curve is docs/contracts.md §9 (:mod:`df4lcz.io.alpha_curve`).

Decisions documented here:

* :func:`fuse` inner-joins the two frames on ``sample_id``. Samples present in only one file are
  dropped with a logged warning (e.g. a stream that skipped a sample); it is an error if no
  sample is shared, or if a shared sample has a different ``y_true`` or ``split`` in the two files.
* :func:`tune_alpha` breaks ties between equally good α by taking the one closest to the paper's
  α = 0.6; if two are equally close, the smaller α wins.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from df4lcz.evaluation import metrics
from df4lcz.io.predictions import PROB_COLUMNS, validate_predictions
from df4lcz.logs import get_logger

log = get_logger(__name__)

#: Fusion weight of the Sentinel-2 stream used in the DF4LCZ paper; also the tie-break target.
PAPER_ALPHA: float = 0.6

#: Metrics :func:`tune_alpha` can maximise.
TUNE_METRICS: tuple[str, ...] = ("accuracy", "kappa", "f1_weighted", "f1_macro")

#: Decimals used when comparing grid scores and distances for ties (floating round-off).
_TIE_DECIMALS: int = 12


def _check_alpha(alpha: float, name: str = "alpha") -> float:
    """Return ``alpha`` as float if it lies in [0, 1], else raise ``ValueError`` naming ``name``."""
    try:
        value = float(alpha)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: {alpha!r} is not a fusion weight; expected a number in [0, 1]") from None
    if not np.isfinite(value) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{name}: {value} is not a fusion weight; expected a number in [0, 1]")
    return value


def fuse_probabilities(p_s2: np.ndarray, p_gcn: np.ndarray, alpha: float) -> np.ndarray:
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


def fuse(pred_s2: pd.DataFrame, pred_gcn: pd.DataFrame, alpha: float) -> pd.DataFrame:
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
    grid: Sequence[float] | np.ndarray,
    metric: str = "accuracy",
) -> tuple[float, pd.DataFrame]:
    """Choose the fusion weight α on the validation split.

    Every α of ``grid`` is scored by ``metric`` on the samples with ``split == "val"`` common to
    both streams; the best wins, ties going to the α closest to 0.6 (then the smaller one).

    Args:
        pred_s2: Sentinel-2 prediction frame (val and test rows; only val is used).
        pred_gcn: GCN prediction frame.
        grid: (G,) candidate α values in [0, 1] (the ``fuse`` rule uses :func:`alpha_grid`).
        metric: one of :data:`TUNE_METRICS` (all are higher-is-better).

    Returns:
        ``(alpha, curve)`` with ``curve`` a (G, 2) frame with columns ``alpha`` and ``score``.

    Raises:
        ValueError: unknown metric, empty/invalid grid, or no shared validation sample.
    """
    if metric not in TUNE_METRICS:
        raise ValueError(f"metric: {metric!r} is not supported; expected one of {list(TUNE_METRICS)}")
    alphas = np.asarray(grid, dtype=np.float64)
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


def alpha_grid(step: float) -> np.ndarray:
    """The α values searched by the ``fuse`` rule: 0, ``step``, 2·``step`` … ≤ 1, rounded to 6 decimals."""
    return np.round(np.arange(0.0, 1.0 + 1e-9, step), 6)
