"""Scene-classification metrics for LCZ predictions, implemented with numpy.

All metrics are computed from the 17 × 17 confusion matrix ``cm`` (rows = true class,
columns = predicted class, both in code order 1..17). Definitions and edge-case semantics:

* **OA** = trace(cm) / N. **OA_BU** = accuracy over samples whose *true* class is built (1–10),
  **OA_N** = the same over 11–17. Each is NaN when it covers no sample. (OA_BU is the LCZ
  Generator's *OA_u*, urban classes only; it is not its *OA_bu*, the built-vs-natural accuracy.)
* **Weighted accuracy** = Σ_ij w_ij · cm_ij / N for a given (17, 17) credit matrix w
  (:func:`weighted_accuracy`): the form of the LCZ Generator's OA_w (Demuzere et al. 2021; weights of
  Bechtel et al. 2019). OA_w itself is not reported: its published weights are not transcribed here
  (docs/method.md). NaN when N = 0.
* **Cohen's kappa** = (N·trace − Σ_k r_k c_k) / (N² − Σ_k r_k c_k), with r, c the row and column
  sums. NaN when undefined (no sample, or every sample has the same true *and* predicted class),
  which is scikit-learn's ``cohen_kappa_score`` with its default ``replace_undefined_by=nan``.
* **Per-class** (class k): user's accuracy UA = precision = tp / c_k, producer's accuracy
  PA = recall = tp / r_k, F1 = 2·tp / (r_k + c_k); each NaN when its denominator is 0 (never a
  warning). Support = r_k.
* **Macro F1** averages the per-class F1 over the classes present in y_true ∪ y_pred (scikit-learn's
  default ``labels``); classes absent from both are not counted as 0. A class present in y_true but
  never predicted has F1 = 0 (as scikit-learn ≥ 1.3, which computes F1 as 2tp/(2tp+fp+fn)).
* **Weighted F1** = Σ_k F1_k · r_k / N (classes with no support get weight 0). NaN when N = 0.

The functions of a confusion matrix also take a stack ``(..., 17, 17)`` of them (the bootstrap of
:mod:`~df4lcz.evaluation.bootstrap` scores a thousand resamplings at once) and then return arrays
``(...)`` instead of floats; one implementation serves both.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from df4lcz.constants import BUILT_CODES, LCZ_CODES, LCZ_NAMES, N_CLASSES, NATURAL_CODES

#: Columns of the per-class table (:func:`per_class_table`).
PER_CLASS_COLUMNS: tuple[str, ...] = ("class", "name", "UA", "PA", "F1", "support")

#: Per-class scores that get a bootstrap interval (columns ``<score>_lo``, ``<score>_hi``).
PER_CLASS_CI_SCORES: tuple[str, ...] = ("UA", "PA", "F1")

#: The per-class interval columns, in order (``UA_lo, UA_hi, PA_lo, …``), after
#: :data:`PER_CLASS_COLUMNS` in ``per_class_{strategy}_{model}.csv``.
PER_CLASS_CI_COLUMNS: tuple[str, ...] = tuple(
    f"{m}_{end}" for m in PER_CLASS_CI_SCORES for end in ("lo", "hi")
)


def as_labels(y: np.ndarray | list[int] | pd.Series, name: str) -> np.ndarray:
    """Return ``y`` as a 1-D int64 array of LCZ codes 1–17, or raise ``ValueError`` naming ``name``."""
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D array of labels, got shape {arr.shape}")
    if arr.size and (not np.issubdtype(arr.dtype, np.number) or not np.all(np.mod(arr, 1) == 0)):
        raise ValueError(f"{name}: labels must be integers 1–{N_CLASSES}")
    arr = arr.astype(np.int64)
    bad = arr[(arr < 1) | (arr > N_CLASSES)]
    if bad.size:
        shown = sorted(set(bad.tolist()))[:5]
        raise ValueError(f"{name}: values {shown} are outside the LCZ codes 1–{N_CLASSES}")
    return arr


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Confusion matrix over all 17 classes.

    Args:
        y_true: (N,) true codes 1–17.
        y_pred: (N,) predicted codes 1–17.

    Returns:
        (17, 17) int64, ``cm[i, j]`` = number of samples of true class i+1 predicted as j+1.
    """
    t = as_labels(y_true, "y_true")
    p = as_labels(y_pred, "y_pred")
    if t.shape != p.shape:
        raise ValueError(f"y_true and y_pred differ in length: {t.size} vs {p.size}")
    flat = np.bincount((t - 1) * N_CLASSES + (p - 1), minlength=N_CLASSES * N_CLASSES)
    return flat.reshape(N_CLASSES, N_CLASSES).astype(np.int64)


def _check_cm(cm: np.ndarray) -> np.ndarray:
    arr = np.asarray(cm)
    if arr.ndim < 2 or arr.shape[-2:] != (N_CLASSES, N_CLASSES):
        raise ValueError(
            f"cm: expected a ({N_CLASSES}, {N_CLASSES}) confusion matrix (or a stack of them), "
            f"got shape {arr.shape}"
        )
    if np.any(arr < 0):
        raise ValueError("cm: counts must be non-negative")
    return arr.astype(np.float64)


def _out(value: np.ndarray) -> float | np.ndarray:
    """A float for one confusion matrix, the array for a stack."""
    arr = np.asarray(value, dtype=np.float64)
    return float(arr) if arr.ndim == 0 else arr


def _ratio(num: ArrayLike, den: ArrayLike) -> np.ndarray:
    """Element-wise num / den with NaN where den == 0 (no warning)."""
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    out = np.full(np.broadcast(num, den).shape, np.nan)
    np.divide(num, den, out=out, where=den != 0)
    return out


def overall_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Fraction of (N,) predictions equal to the (N,) truth; NaN when N = 0."""
    t = as_labels(y_true, "y_true")
    p = as_labels(y_pred, "y_pred")
    if t.shape != p.shape:
        raise ValueError(f"y_true and y_pred differ in length: {t.size} vs {p.size}")
    return float(_ratio(np.count_nonzero(t == p), t.size))


def overall_accuracy_cm(cm: np.ndarray) -> float | np.ndarray:
    """trace(cm) / N of a (17, 17) confusion matrix (or a stack); NaN when N = 0."""
    arr = _check_cm(cm)
    return _out(_ratio(np.trace(arr, axis1=-2, axis2=-1), arr.sum(axis=(-2, -1))))


def group_accuracy(cm: np.ndarray, codes: tuple[int, ...]) -> float | np.ndarray:
    """Accuracy over the samples whose true class is in ``codes`` (OA_BU, OA_N); NaN if none."""
    arr = _check_cm(cm)
    rows = np.asarray(codes, dtype=np.int64) - 1
    correct = np.diagonal(arr, axis1=-2, axis2=-1)[..., rows].sum(axis=-1)
    return _out(_ratio(correct, arr[..., rows, :].sum(axis=(-2, -1))))


def weighted_accuracy(cm: np.ndarray, weights: np.ndarray) -> float | np.ndarray:
    """Σ_ij w_ij · cm_ij / N of a (17, 17) confusion matrix (or a stack); NaN when N = 0.

    Args:
        cm: confusion matrix, rows = true class.
        weights: (17, 17) credit of predicting class j+1 for true class i+1 (w_ii = 1).
    """
    arr = _check_cm(cm)
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (N_CLASSES, N_CLASSES):
        raise ValueError(f"weights: expected a ({N_CLASSES}, {N_CLASSES}) matrix, got shape {w.shape}")
    return _out(_ratio((arr * w).sum(axis=(-2, -1)), arr.sum(axis=(-2, -1))))


def cohen_kappa(cm: np.ndarray) -> float | np.ndarray:
    """Cohen's kappa of a (17, 17) confusion matrix (or a stack); NaN when undefined (module docstring)."""
    arr = _check_cm(cm)
    n = arr.sum(axis=(-2, -1))
    chance = (arr.sum(axis=-1) * arr.sum(axis=-2)).sum(axis=-1)
    # n = 0 gives chance = 0 and so a zero denominator too: NaN either way
    return _out(_ratio(n * np.trace(arr, axis1=-2, axis2=-1) - chance, n * n - chance))


def per_class_scores(cm: np.ndarray) -> dict[str, np.ndarray]:
    """Per-class UA (precision), PA (recall), F1 and support of a (17, 17) confusion matrix.

    Returns:
        Dict of (17,) arrays (``(..., 17)`` for a stack) ``UA``, ``PA``, ``F1`` (float64, NaN when
        undefined) and ``support`` (int64), index k ↔ class k+1.
    """
    arr = _check_cm(cm)
    tp = np.diagonal(arr, axis1=-2, axis2=-1)
    support = arr.sum(axis=-1)
    predicted = arr.sum(axis=-2)
    return {
        "UA": _ratio(tp, predicted),
        "PA": _ratio(tp, support),
        "F1": _ratio(2.0 * tp, support + predicted),
        "support": support.astype(np.int64),
    }


def f1_macro(cm: np.ndarray) -> float | np.ndarray:
    """Mean F1 over the classes present in y_true ∪ y_pred; NaN when there is no sample."""
    f1 = per_class_scores(cm)["F1"]
    present = ~np.isnan(f1)
    return _out(_ratio(np.where(present, f1, 0.0).sum(axis=-1), present.sum(axis=-1)))


def f1_weighted(cm: np.ndarray) -> float | np.ndarray:
    """Support-weighted mean F1 (weights = true-class counts); NaN when there is no sample."""
    scores = per_class_scores(cm)
    support = scores["support"].astype(np.float64)
    return _out(_ratio(np.nansum(scores["F1"] * support, axis=-1), support.sum(axis=-1)))


def per_class_table(cm: np.ndarray, intervals: dict[str, np.ndarray] | None = None) -> pd.DataFrame:
    """(17, 6) frame with columns :data:`PER_CLASS_COLUMNS` (class code, name, UA, PA, F1, support).

    Args:
        cm: (17, 17) confusion matrix.
        intervals: ``{score: (17, 2) lo/hi}`` for each of :data:`PER_CLASS_CI_SCORES` (see
            :func:`df4lcz.evaluation.bootstrap.per_class_intervals`); adds the columns
            :data:`PER_CLASS_CI_COLUMNS` (17 × 12 frame).
    """
    scores = per_class_scores(cm)
    table = pd.DataFrame(
        {
            "class": np.array(LCZ_CODES, dtype=np.int64),
            "name": [LCZ_NAMES[c] for c in LCZ_CODES],
            "UA": scores["UA"],
            "PA": scores["PA"],
            "F1": scores["F1"],
            "support": scores["support"],
        }
    )
    if intervals is not None:
        for score in PER_CLASS_CI_SCORES:
            bounds = np.asarray(intervals[score], dtype=np.float64)
            if bounds.shape != (N_CLASSES, 2):
                raise ValueError(f"intervals[{score!r}]: expected shape ({N_CLASSES}, 2), got {bounds.shape}")
            table[f"{score}_lo"], table[f"{score}_hi"] = bounds[:, 0], bounds[:, 1]
    return table


@dataclass(frozen=True)
class ClassificationMetrics:
    """Scalar metrics (fractions in [0, 1], kappa in [−1, 1]) plus the confusion matrix."""

    oa: float
    oa_bu: float
    oa_n: float
    kappa: float
    f1_weighted: float
    f1_macro: float
    n: int
    confusion: np.ndarray  # (17, 17) int64, rows = true class

    def per_class(self) -> pd.DataFrame:
        """Per-class table, see :func:`per_class_table`."""
        return per_class_table(self.confusion)


def classification_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> ClassificationMetrics:
    """All scalar metrics of (N,) predicted vs (N,) true LCZ codes (see module docstring)."""
    cm = confusion_matrix(y_true, y_pred)
    n = int(cm.sum())
    return ClassificationMetrics(
        oa=float(overall_accuracy_cm(cm)),
        oa_bu=float(group_accuracy(cm, BUILT_CODES)),
        oa_n=float(group_accuracy(cm, NATURAL_CODES)),
        kappa=float(cohen_kappa(cm)),
        f1_weighted=float(f1_weighted(cm)),
        f1_macro=float(f1_macro(cm)),
        n=n,
        confusion=cm,
    )
