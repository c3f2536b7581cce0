"""Percentile bootstrap confidence intervals of the test-split metrics (docs/contracts.md §11).

The LCZ community reports accuracy as a spread (the LCZ Generator, Demuzere et al. 2021, repeats
its 70/30 split 25 times); here the spread is a percentile bootstrap over the test split:

* **Units.** Test samples are resampled, or whole clusters (``clusters``: e.g. the polygon of every
  sample for the polygon split strategy) — a cluster bootstrap keeps the samples of one polygon
  together, as the polygon split keeps them together. Units are ordered: samples as they come
  (prediction files are sorted by ``sample_id``), clusters by sorted cluster id.
* **Resampling.** ``rng = numpy.random.default_rng(seed)``; resampling b draws
  ``rng.integers(0, U, size=U)`` unit indices with replacement (U units), b = 0 … n_boot − 1 in
  order; a sample counts as often as its unit was drawn. The same seed and test split give every
  model the same resamplings (paired intervals).
* **Interval.** Each metric is computed on every resampling (NaN where undefined, e.g. OA_N of a
  resampling without land-cover samples); the interval is the ``(1 − ci)/2`` and ``(1 + ci)/2``
  percentiles (numpy's linear interpolation) of the defined values; NaN when none is defined or
  ``n_boot`` is 0.
* **Per class.** UA, PA and F1 of each class get intervals the same way
  (:func:`per_class_intervals`): the same units, seed and draws, so resampling b is the same
  resampling for the scalar metrics and for every class; a class's score is NaN in the resamplings
  where it is undefined (e.g. UA of a class never predicted there) and the percentiles are taken
  over the others.
* **What varies.** Only the test samples: the temperature behind ``ECE_ts``/``MCE_ts`` stays the one
  fitted on val.

Resamplings are scored in blocks of :data:`BLOCK` at once from per-resampling confusion matrices and
confidence-bin sums, with the same metric functions as the point estimates.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from scipy import sparse

from df4lcz.constants import BUILT_CODES, N_CLASSES, NATURAL_CODES
from df4lcz.evaluation import calibration, metrics
from df4lcz.io.tables import CI_METRICS

#: Metrics that get an interval, in the order of the ``metrics.csv`` columns (the table's own list).
BOOTSTRAP_METRICS: tuple[str, ...] = CI_METRICS

#: Resamplings scored at once (memory: BLOCK × N test samples float64).
BLOCK: int = 100


def _check(n_boot: int, ci: float) -> tuple[int, float]:
    if int(n_boot) != n_boot or n_boot < 0:
        raise ValueError(f"n_boot: {n_boot!r} is not a non-negative integer number of resamplings")
    if not 0.0 < float(ci) < 1.0:
        raise ValueError(f"ci: {ci!r} is not an interval coverage; expected a number in (0, 1)")
    return int(n_boot), float(ci)


def unit_index(n_samples: int, clusters: np.ndarray | None) -> tuple[np.ndarray, int]:
    """``(unit of each sample (N,) int64, number of units U)``: samples, or sorted unique clusters."""
    if clusters is None:
        return np.arange(n_samples, dtype=np.int64), n_samples
    arr = np.asarray(clusters)
    if arr.shape != (n_samples,):
        raise ValueError(
            f"clusters: expected one cluster id per test sample ({n_samples}), got shape {arr.shape}"
        )
    uniq, inverse = np.unique(arr, return_inverse=True)
    return inverse.astype(np.int64).reshape(-1), int(uniq.size)


def resampling_weights(units: np.ndarray, n_units: int, n_boot: int, seed: int) -> Iterator[np.ndarray]:
    """Blocks ``(b, N)`` float64 of how often each sample is in resamplings b (see module docstring)."""
    rng = np.random.default_rng(seed)
    done = 0
    while done < n_boot:
        b = min(BLOCK, n_boot - done)
        draws = rng.integers(0, n_units, size=(b, n_units))
        flat = (draws + np.arange(b)[:, None] * n_units).ravel()
        unit_counts = np.bincount(flat, minlength=b * n_units).reshape(b, n_units)
        yield unit_counts[:, units].astype(np.float64)
        done += b


def _indicator(index: np.ndarray, n_columns: int, values: np.ndarray | None = None) -> sparse.csr_matrix:
    """Sparse (N, n_columns) matrix with ``values`` (default 1) at column ``index[i]`` of row i."""
    data = np.ones(index.size) if values is None else np.asarray(values, dtype=np.float64)
    return sparse.csr_matrix((data, (np.arange(index.size), index)), shape=(index.size, n_columns))


def _weighted_sums(matrix: sparse.csr_matrix, weights: np.ndarray) -> np.ndarray:
    """``weights (b, N) @ matrix (N, K)`` as a dense (b, K) array."""
    return np.asarray((matrix.T @ weights.T).T)


def _calibration_sums(proba: np.ndarray, y_true: np.ndarray, n_bins: int) -> tuple[sparse.csr_matrix, ...]:
    idx, conf, correct = calibration.confidence_bins(proba, y_true, n_bins)
    return _indicator(idx, n_bins), _indicator(idx, n_bins, correct), _indicator(idx, n_bins, conf)


def bootstrap_metrics(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    proba: np.ndarray,
    proba_ts: np.ndarray | None,
    n_bins: int,
    n_boot: int,
    seed: int,
    clusters: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Every metric of :data:`BOOTSTRAP_METRICS` on each of ``n_boot`` resamplings of the test split.

    Args:
        y_true, y_pred: (N,) codes 1–17 of the test samples.
        proba: (N, 17) test probabilities; ``proba_ts`` the same after temperature scaling (``None``:
            ECE_ts/MCE_ts are NaN).
        n_bins: calibration bins.
        n_boot: resamplings; seed: seed of the draws.
        clusters: (N,) cluster id of each sample to resample whole clusters, or ``None`` (samples).

    Returns:
        ``{metric: (n_boot,) float64}``.
    """
    t = metrics.as_labels(y_true, "y_true")
    p = metrics.as_labels(y_pred, "y_pred")
    if t.shape != p.shape:
        raise ValueError(f"y_true and y_pred differ in length: {t.size} vs {p.size}")
    units, n_units = unit_index(t.size, clusters)
    out: dict[str, list[float | np.ndarray]] = {m: [] for m in BOOTSTRAP_METRICS}
    if t.size == 0 or n_boot == 0:
        return {m: np.full(int(n_boot), np.nan) for m in BOOTSTRAP_METRICS}
    pairs = _indicator((t - 1) * N_CLASSES + (p - 1), N_CLASSES * N_CLASSES)
    calib = {"": _calibration_sums(proba, t, n_bins)}
    if proba_ts is not None:
        calib["_ts"] = _calibration_sums(proba_ts, t, n_bins)
    for weights in resampling_weights(units, n_units, n_boot, seed):
        cm = _weighted_sums(pairs, weights).reshape(-1, N_CLASSES, N_CLASSES)
        out["OA"].append(metrics.overall_accuracy_cm(cm))
        out["OA_BU"].append(metrics.group_accuracy(cm, BUILT_CODES))
        out["OA_N"].append(metrics.group_accuracy(cm, NATURAL_CODES))
        out["kappa"].append(metrics.cohen_kappa(cm))
        out["F1_weighted"].append(metrics.f1_weighted(cm))
        out["F1_macro"].append(metrics.f1_macro(cm))
        for suffix in ("", "_ts"):
            if suffix not in calib:
                nan = np.full(weights.shape[0], np.nan)
                out[f"ECE{suffix}"].append(nan)
                out[f"MCE{suffix}"].append(nan)
                continue
            sums = [_weighted_sums(m, weights) for m in calib[suffix]]
            ece, mce = calibration.ece_mce_from_sums(*sums)
            out[f"ECE{suffix}"].append(ece)
            out[f"MCE{suffix}"].append(mce)
    return {m: np.concatenate(v) for m, v in out.items()}


def percentile_interval(values: np.ndarray, ci: float) -> tuple[float, float]:
    """``(lo, hi)``: the (1 − ci)/2 and (1 + ci)/2 percentiles of the non-NaN ``values``; NaN if none."""
    arr = np.asarray(values, dtype=np.float64)
    arr = arr[~np.isnan(arr)]
    if arr.size == 0:
        return float("nan"), float("nan")
    lo, hi = np.percentile(arr, [50.0 * (1.0 - ci), 50.0 * (1.0 + ci)])
    return float(lo), float(hi)


def confidence_intervals(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    proba: np.ndarray,
    proba_ts: np.ndarray | None,
    *,
    n_bins: int,
    n_boot: int,
    ci: float,
    seed: int,
    clusters: np.ndarray | None = None,
) -> dict[str, tuple[float, float]]:
    """``{metric: (lo, hi)}`` percentile bootstrap intervals of :data:`BOOTSTRAP_METRICS`.

    Arguments as :func:`bootstrap_metrics`; ``ci`` the coverage (e.g. 0.95). See the module docstring.
    """
    n_boot, ci = _check(n_boot, ci)
    samples = bootstrap_metrics(y_true, y_pred, proba, proba_ts, n_bins, n_boot, seed, clusters)
    return {m: percentile_interval(samples[m], ci) for m in BOOTSTRAP_METRICS}


def _pairs(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, sparse.csr_matrix]:
    t = metrics.as_labels(y_true, "y_true")
    p = metrics.as_labels(y_pred, "y_pred")
    if t.shape != p.shape:
        raise ValueError(f"y_true and y_pred differ in length: {t.size} vs {p.size}")
    return t, _indicator((t - 1) * N_CLASSES + (p - 1), N_CLASSES * N_CLASSES)


def bootstrap_per_class(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    n_boot: int,
    seed: int,
    clusters: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Per-class UA, PA and F1 on each of ``n_boot`` resamplings (the draws of :func:`bootstrap_metrics`).

    Returns:
        ``{score: (n_boot, 17) float64}`` for each of
        :data:`~df4lcz.evaluation.metrics.PER_CLASS_CI_SCORES`, column k ↔ class k+1, NaN where undefined.
    """
    t, pairs = _pairs(y_true, y_pred)
    units, n_units = unit_index(t.size, clusters)
    if t.size == 0 or n_boot == 0:
        return {s: np.full((int(n_boot), N_CLASSES), np.nan) for s in metrics.PER_CLASS_CI_SCORES}
    out: dict[str, list[np.ndarray]] = {s: [] for s in metrics.PER_CLASS_CI_SCORES}
    for weights in resampling_weights(units, n_units, n_boot, seed):
        scores = metrics.per_class_scores(_weighted_sums(pairs, weights).reshape(-1, N_CLASSES, N_CLASSES))
        for score in metrics.PER_CLASS_CI_SCORES:
            out[score].append(scores[score])
    return {s: np.concatenate(v) for s, v in out.items()}


def per_class_intervals(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    *,
    n_boot: int,
    ci: float,
    seed: int,
    clusters: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """``{score: (17, 2) lo/hi}`` percentile intervals of per-class UA, PA and F1 (module docstring).

    Same units, seed and draws as :func:`confidence_intervals`; NaN rows where a class's score is
    undefined on every resampling (e.g. a class absent from the test split) or ``n_boot`` is 0.
    """
    n_boot, ci = _check(n_boot, ci)
    samples = bootstrap_per_class(y_true, y_pred, n_boot, seed, clusters)
    return {
        score: np.array([percentile_interval(values[:, k], ci) for k in range(N_CLASSES)])
        for score, values in samples.items()
    }
