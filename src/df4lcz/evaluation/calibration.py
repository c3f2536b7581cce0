"""Calibration of softmax outputs: ECE/MCE, reliability bins and temperature scaling.

Follows the evaluation of Koller et al. (IEEE TGRS 2024) on LCZ classification: the confidence of
a sample is its largest class probability and its prediction the argmax (first class on ties);
confidences are put into ``n_bins`` equal-width bins on [0, 1], right-closed like Guo et al.
(2017): bin m holds m/M < conf ≤ (m+1)/M (bin 0 also holds conf = 0). The number of bins M is
the ``evaluate.n_bins`` setting (20 in Koller et al. 2024).

* ECE = Σ_m |B_m|/N · |acc(B_m) − conf(B_m)|,  MCE = max over non-empty bins |acc − conf|.
* Temperature scaling: one scalar T > 0 so that ``softmax(log p / T)`` minimises the mean
  negative log-likelihood on the validation split; ``log p`` stands in for the logits (they agree
  up to a per-row constant, which softmax ignores). Probabilities are floored at
  :data:`PROB_FLOOR` before the log so zeros stay finite.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import minimize_scalar

from df4lcz.constants import N_CLASSES
from df4lcz.evaluation.metrics import as_labels
from df4lcz.logs import get_logger

log = get_logger(__name__)

#: Floor applied to probabilities before taking logs.
PROB_FLOOR: float = 1e-12

#: Search interval for the temperature T (searched on log T).
TEMPERATURE_BOUNDS: tuple[float, float] = (0.05, 20.0)

#: Absolute tolerance on log T for the bounded scalar search.
LOG_T_TOL: float = 1e-6

#: Columns of the reliability table (:func:`reliability_bins`).
RELIABILITY_COLUMNS: tuple[str, ...] = ("bin", "lower", "upper", "count", "accuracy", "confidence")


def _check_proba(proba: np.ndarray, name: str = "proba") -> np.ndarray:
    arr = np.asarray(proba, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != N_CLASSES:
        raise ValueError(f"{name}: expected an (N, {N_CLASSES}) probability array, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)) or (arr.size and arr.min() < 0.0):
        raise ValueError(f"{name}: probabilities must be finite and non-negative")
    return arr


def _check_pair(proba: np.ndarray, y_true: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    p = _check_proba(proba)
    y = as_labels(y_true, "y_true")
    if y.size != p.shape[0]:
        raise ValueError(f"y_true has {y.size} labels but proba has {p.shape[0]} rows")
    return p, y


def _check_n_bins(n_bins: int) -> int:
    if int(n_bins) != n_bins or n_bins < 1:
        raise ValueError(f"n_bins: {n_bins!r} is not a positive integer")
    return int(n_bins)


def reliability_bins(proba: np.ndarray, y_true: np.ndarray, n_bins: int) -> pd.DataFrame:
    """Per-bin counts, accuracy and mean confidence of the max-probability prediction.

    Args:
        proba: (N, 17) class probabilities (column k ↔ class k+1).
        y_true: (N,) true codes 1–17.
        n_bins: number of equal-width bins on [0, 1].

    Returns:
        (n_bins, 6) frame with columns :data:`RELIABILITY_COLUMNS`; ``accuracy`` and
        ``confidence`` are NaN for empty bins.
    """
    p, y = _check_pair(proba, y_true)
    m = _check_n_bins(n_bins)
    edges = np.linspace(0.0, 1.0, m + 1)
    idx, conf, correct = confidence_bins(p, y, m)
    count = np.bincount(idx, minlength=m)
    safe = np.maximum(count, 1)
    acc = np.where(count > 0, np.bincount(idx, weights=correct, minlength=m) / safe, np.nan)
    mean_conf = np.where(count > 0, np.bincount(idx, weights=conf, minlength=m) / safe, np.nan)
    return pd.DataFrame(
        {
            "bin": np.arange(m),
            "lower": edges[:-1],
            "upper": edges[1:],
            "count": count.astype(np.int64),
            "accuracy": acc,
            "confidence": mean_conf,
        }
    )


def confidence_bins(
    proba: np.ndarray, y_true: np.ndarray, n_bins: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bin of each sample's confidence, the confidence and whether the argmax is right.

    Args:
        proba: (N, 17) probabilities; y_true: (N,) codes 1–17; n_bins: equal-width bins on [0, 1].

    Returns:
        ``(bin, confidence, correct)``: (N,) int64 bin indices 0..n_bins−1 (right-closed bins, see
        the module docstring), (N,) float64 max probabilities, (N,) float64 1.0/0.0.
    """
    p, y = _check_pair(proba, y_true)
    m = _check_n_bins(n_bins)
    if p.shape[0] == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0)
    conf = p.max(axis=1)
    correct = (p.argmax(axis=1) + 1 == y).astype(np.float64)
    idx = np.searchsorted(np.linspace(0.0, 1.0, m + 1)[1:-1], conf, side="left").astype(np.int64)
    return idx, conf, correct


def ece_mce_from_sums(
    count: np.ndarray, correct: np.ndarray, confidence: np.ndarray
) -> tuple[float | np.ndarray, float | np.ndarray]:
    """ECE and MCE from per-bin sums ``(..., M)``: sample count, number correct, summed confidence.

    ECE = Σ_m |correct_m − confidence_m| / N; MCE = max over non-empty bins of
    |correct_m − confidence_m| / count_m. Both NaN where N = 0. Counts may be weights (a bootstrap
    resampling counts a sample as often as it was drawn). Floats for ``(M,)`` inputs, arrays of
    shape ``(...)`` for stacks.
    """
    count = np.asarray(count, dtype=np.float64)
    gap_sum = np.abs(np.asarray(correct, dtype=np.float64) - np.asarray(confidence, dtype=np.float64))
    n = count.sum(axis=-1)
    filled = count > 0
    gap = np.where(filled, gap_sum / np.where(filled, count, 1.0), -np.inf)
    empty = n == 0
    ece = np.where(empty, np.nan, gap_sum.sum(axis=-1) / np.where(empty, 1.0, n))
    mce = np.where(empty, np.nan, gap.max(axis=-1))
    if ece.ndim == 0:
        return float(ece), float(mce)
    return ece, mce


def ece_mce_from_bins(bins: pd.DataFrame) -> tuple[float, float]:
    """ECE and MCE from a :func:`reliability_bins` table; both NaN when all bins are empty."""
    count = bins["count"].to_numpy(np.float64)
    filled = count > 0
    acc = np.where(filled, bins["accuracy"].to_numpy(np.float64), 0.0)
    conf = np.where(filled, bins["confidence"].to_numpy(np.float64), 0.0)
    ece, mce = ece_mce_from_sums(count, acc * count, conf * count)
    return float(ece), float(mce)


def ece_mce(proba: np.ndarray, y_true: np.ndarray, n_bins: int) -> tuple[float, float]:
    """Expected and maximum calibration error (fractions) of (N, 17) probabilities vs (N,) labels.

    Returns:
        ``(ece, mce)``; both NaN when N = 0.
    """
    return ece_mce_from_bins(reliability_bins(proba, y_true, n_bins))


def _log_proba(proba: np.ndarray) -> np.ndarray:
    return np.log(np.maximum(proba, PROB_FLOOR))


def _log_softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax of (N, K) scores (numerically stable)."""
    shifted = z - z.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def apply_temperature(proba: np.ndarray, temperature: float) -> np.ndarray:
    """Temperature-scaled probabilities ``softmax(log p / T)``.

    Args:
        proba: (N, 17) probabilities.
        temperature: T > 0 (T > 1 softens, T < 1 sharpens).

    Returns:
        (N, 17) float64 probabilities, rows summing to 1.
    """
    t = float(temperature)
    if not np.isfinite(t) or t <= 0.0:
        raise ValueError(f"temperature: {temperature!r} is not a positive finite number")
    p = _check_proba(proba)
    if p.shape[0] == 0:
        return p.copy()
    return np.exp(_log_softmax(_log_proba(p) / t))


def temperature_nll(proba: np.ndarray, y_true: np.ndarray, temperature: float) -> float:
    """Mean negative log-likelihood of (N,) labels under ``softmax(log p / T)``."""
    p, y = _check_pair(proba, y_true)
    logp = _log_softmax(_log_proba(p) / float(temperature))
    return float(-logp[np.arange(y.size), y - 1].mean())


def fit_temperature(
    proba_val: np.ndarray,
    y_val: np.ndarray,
    bounds: tuple[float, float] = TEMPERATURE_BOUNDS,
) -> float:
    """Fit the scalar temperature T minimising the validation NLL of ``softmax(log p / T)``.

    The search runs on log T with scipy's bounded Brent method inside ``bounds``; an optimum on
    a bound is logged as a warning (the model is then extremely over- or under-confident).

    Args:
        proba_val: (N, 17) validation probabilities, N ≥ 1.
        y_val: (N,) validation labels 1–17.
        bounds: (T_min, T_max), 0 < T_min < T_max.

    Returns:
        T > 0.
    """
    p, y = _check_pair(proba_val, y_val)
    if y.size == 0:
        raise ValueError("proba_val: no validation samples to fit a temperature on")
    lo, hi = (float(b) for b in bounds)
    if not 0.0 < lo < hi or not np.isfinite(hi):
        raise ValueError(f"bounds: {bounds!r} must satisfy 0 < T_min < T_max < inf")
    logp = _log_proba(p)
    rows = np.arange(y.size)
    cols = y - 1

    def nll(log_t: float) -> float:
        return float(-_log_softmax(logp / np.exp(log_t))[rows, cols].mean())

    res = minimize_scalar(
        nll, bounds=(np.log(lo), np.log(hi)), method="bounded", options={"xatol": LOG_T_TOL}
    )
    t = float(np.exp(res.x))
    if np.isclose(res.x, np.log(lo), atol=1e-3) or np.isclose(res.x, np.log(hi), atol=1e-3):
        log.warning("fit_temperature: optimum T = %.4g lies on the search bound %s", t, bounds)
    return t
