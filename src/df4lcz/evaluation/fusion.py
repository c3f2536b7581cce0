"""The DF4LCZ late fusion of the two streams, and the choice of its weight α on validation.

DF4LCZ fuses the Sentinel-2 stream and the graph (GCN) stream by a convex combination of their
softmax outputs, ``P = α·P_S2 + (1−α)·P_GCN`` (α = 0.6 in the paper, :data:`PAPER_ALPHA`), and
predicts the argmax. :func:`tune_alpha` chooses α on the validation split only, so the test split
stays untouched. Inputs and outputs are prediction frames (docs/contracts.md §8,
:mod:`df4lcz.io.predictions`); the α curves and the fusion table are docs/contracts.md §9
(:mod:`df4lcz.io.alpha_curve`).

Calibrated fusion (``fusion.calibrate``): a convex mix of softmax outputs is dominated by the more
confident stream, whether or not it is the better one (an under-trained 3D ResNet11 is
under-confident, T ≈ 0.5, the GCN is not). :func:`calibrate_stream` therefore temperature-scales each
stream with its own T fitted on its val rows (minimum NLL, :func:`~df4lcz.evaluation.calibration.fit_temperature`;
Koller et al., TGRS 2024) before fusing. :func:`fusion_outputs` makes the paper's two fusions of the
raw probabilities (``df4lcz``: fixed α, ``df4lcz_tuned``: α tuned on val) and, when calibrating,
the same two of the scaled ones (``df4lcz_cal``, ``df4lcz_cal_tuned``).

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
from dataclasses import dataclass

import numpy as np
import pandas as pd

from df4lcz.constants import FUSION_MODEL_NAMES, PAPER_FUSION_MODEL_NAMES
from df4lcz.evaluation import metrics
from df4lcz.evaluation.calibration import apply_temperature, fit_temperature
from df4lcz.io.predictions import PROB_COLUMNS, probabilities, validate_predictions
from df4lcz.logs import get_logger

from ..errors import ContractError

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
        raise ValueError(
            f"fusion: probabilities of shape {p1.shape} and {p2.shape}; expected two (N, {len(PROB_COLUMNS)})"
        )
    return a * p1 + (1.0 - a) * p2


def _join_streams(pred_s2: pd.DataFrame, pred_gcn: pd.DataFrame) -> pd.DataFrame:
    """Inner-join two validated prediction frames on sample_id (suffixes _s2 / _gcn)."""
    merged = pred_s2.merge(pred_gcn, on="sample_id", how="inner", suffixes=("_s2", "_gcn"), sort=False)
    if merged.empty:
        raise ContractError("fusion: the Sentinel-2 and GCN predictions share no sample_id")
    dropped_s2 = len(pred_s2) - len(merged)
    dropped_gcn = len(pred_gcn) - len(merged)
    if dropped_s2 or dropped_gcn:
        log.warning(
            "fusion: %d Sentinel-2 and %d GCN samples have no partner and are dropped (%d fused)",
            dropped_s2,
            dropped_gcn,
            len(merged),
        )
    for col in ("y_true", "split"):
        differs = merged[f"{col}_s2"] != merged[f"{col}_gcn"]
        if differs.any():
            ids = merged.loc[differs, "sample_id"].iloc[:5].tolist()
            raise ContractError(
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
    merged = _join_streams(
        validate_predictions(pred_s2, "Sentinel-2 predictions"),
        validate_predictions(pred_gcn, "GCN predictions"),
    )
    p_s2 = merged.loc[:, [f"{c}_s2" for c in PROB_COLUMNS]].to_numpy(np.float64)
    p_gcn = merged.loc[:, [f"{c}_gcn" for c in PROB_COLUMNS]].to_numpy(np.float64)
    return _fused_frame(merged, fuse_probabilities(p_s2, p_gcn, a))


def _score(metric: str, y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Score (N,) predicted labels against (N,) true labels with one of :data:`TUNE_METRICS`."""
    if metric == "accuracy":
        return metrics.overall_accuracy(y_true, y_pred)
    cm = metrics.confusion_matrix(y_true, y_pred)
    if metric == "kappa":
        return float(metrics.cohen_kappa(cm))
    if metric == "f1_weighted":
        return float(metrics.f1_weighted(cm))
    return float(metrics.f1_macro(cm))


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
    merged = _join_streams(
        validate_predictions(pred_s2, "Sentinel-2 predictions"),
        validate_predictions(pred_gcn, "GCN predictions"),
    )
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


def calibrate_stream(pred: pd.DataFrame, where: str) -> tuple[pd.DataFrame, float]:
    """Temperature-scale one stream's prediction frame with T fitted on its own val rows.

    Args:
        pred: prediction frame (val and test rows).
        where: name of the stream for messages.

    Returns:
        ``(scaled frame, T)``: the frame with ``softmax(log p / T)`` probabilities (rows sum to 1)
        and their arg-max as ``y_pred``; same rows and order.

    Raises:
        ValueError: the frame breaks the contract or has no val row.
    """
    frame = validate_predictions(pred, where)
    val = (frame["split"] == "val").to_numpy()
    if not val.any():
        raise ValueError(
            f"{where}: no validation samples (split == 'val') to fit the stream's temperature on "
            "(fusion.calibrate)"
        )
    proba = probabilities(frame)
    temperature = fit_temperature(proba[val], frame.loc[val, "y_true"].to_numpy())
    scaled = apply_temperature(proba, temperature)
    out = frame.copy()
    out.loc[:, list(PROB_COLUMNS)] = scaled
    out["y_pred"] = (scaled.argmax(axis=1) + 1).astype(np.int64)
    log.info("%s: temperature T = %.4f fitted on %d val samples", where, temperature, int(val.sum()))
    return out, temperature


@dataclass(frozen=True)
class FusionOutput:
    """One fusion model of a split strategy (a row of the fusion table, docs/contracts.md §9).

    Attributes:
        model: one of :data:`~df4lcz.constants.FUSION_MODEL_NAMES`.
        predictions: fused prediction frame (contract columns).
        alpha: the α used.
        alpha_tuned: whether α was tuned on val (``curve`` then holds the search).
        temperatures: ``(T_s2, T_gcn)`` of the calibrated fusions, ``None`` for the raw ones.
        val_accuracy: accuracy of the fused predictions on the val rows; n_val: their number.
        curve: (G, 2) frame ``alpha, score`` of the α search, ``None`` for a fixed α.
    """

    model: str
    predictions: pd.DataFrame
    alpha: float
    alpha_tuned: bool
    temperatures: tuple[float, float] | None
    val_accuracy: float
    n_val: int
    curve: pd.DataFrame | None


def fusion_model_names(calibrate: bool) -> tuple[str, ...]:
    """Fusion models of a run: the paper's two, plus the two calibrated ones when ``calibrate``."""
    return FUSION_MODEL_NAMES if calibrate else PAPER_FUSION_MODEL_NAMES


def _output(
    model: str,
    fused: pd.DataFrame,
    alpha: float,
    temperatures: tuple[float, float] | None,
    curve: pd.DataFrame | None,
) -> FusionOutput:
    val = fused[fused["split"] == "val"]
    acc = metrics.overall_accuracy(val["y_true"].to_numpy(), val["y_pred"].to_numpy())
    return FusionOutput(
        model=model,
        predictions=fused,
        alpha=float(alpha),
        alpha_tuned=curve is not None,
        temperatures=temperatures,
        val_accuracy=acc,
        n_val=len(val),
        curve=curve,
    )


def fusion_outputs(
    pred_s2: pd.DataFrame,
    pred_gcn: pd.DataFrame,
    *,
    alpha: float,
    grid: Sequence[float] | np.ndarray,
    calibrate: bool,
    metric: str = "accuracy",
) -> list[FusionOutput]:
    """Every fusion model of a split strategy, in the order of :func:`fusion_model_names`.

    Args:
        pred_s2, pred_gcn: the two streams' prediction frames (val and test rows).
        alpha: fixed α of ``df4lcz`` and ``df4lcz_cal`` (``fusion.alpha``).
        grid: α values searched on val for the tuned models (:func:`alpha_grid`).
        calibrate: also fuse the temperature-scaled streams (``fusion.calibrate``).
        metric: tuning score, one of :data:`TUNE_METRICS`.
    """
    variants: list[tuple[pd.DataFrame, pd.DataFrame, tuple[float, float] | None]] = [
        (pred_s2, pred_gcn, None)
    ]
    if calibrate:
        s2_cal, t_s2 = calibrate_stream(pred_s2, "Sentinel-2 predictions")
        gcn_cal, t_gcn = calibrate_stream(pred_gcn, "GCN predictions")
        variants.append((s2_cal, gcn_cal, (t_s2, t_gcn)))
    names = fusion_model_names(calibrate)
    outputs = []
    for k, (s2, gcn, temperatures) in enumerate(variants):
        fixed_name, tuned_name = names[2 * k], names[2 * k + 1]
        outputs.append(_output(fixed_name, fuse(s2, gcn, alpha), alpha, temperatures, None))
        tuned_alpha, curve = tune_alpha(s2, gcn, grid=grid, metric=metric)
        outputs.append(_output(tuned_name, fuse(s2, gcn, tuned_alpha), tuned_alpha, temperatures, curve))
    return outputs


def fusion_table(outputs: Sequence[FusionOutput]) -> pd.DataFrame:
    """The fusion table (docs/contracts.md §9): one row per output (columns of
    :data:`df4lcz.io.alpha_curve.FUSION_TABLE_COLUMNS`)."""
    rows = []
    for out in outputs:
        t_s2, t_gcn = out.temperatures if out.temperatures is not None else (np.nan, np.nan)
        rows.append(
            {
                "model": out.model,
                "calibrated": out.temperatures is not None,
                "alpha": out.alpha,
                "alpha_tuned": out.alpha_tuned,
                "T_s2": t_s2,
                "T_gcn": t_gcn,
                "val_accuracy": out.val_accuracy,
                "n_val": out.n_val,
            }
        )
    return pd.DataFrame(rows)


#: ``map.fusion`` value that picks the fused model the summary recommends (:func:`fusion_setting`).
RECOMMENDED: str = "recommended"


@dataclass(frozen=True)
class FusionSetting:
    """How one fused model of a split strategy fuses (a row of its fusion table, docs/contracts.md §9).

    Attributes:
        model: one of :data:`~df4lcz.constants.FUSION_MODEL_NAMES`.
        alpha: the α of ``P = α·P_S2 + (1 − α)·P_GCN``.
        temperatures: ``(T_s2, T_gcn)`` the streams are scaled with first (``softmax(log p / T)``),
            ``None`` for the fusions of the raw probabilities.
    """

    model: str
    alpha: float
    temperatures: tuple[float, float] | None

    def fuse(self, p_s2: np.ndarray, p_gcn: np.ndarray) -> np.ndarray:
        """The fused ``(N, 17)`` probabilities of two streams' ``(N, 17)`` probabilities, as the
        evaluation fused them for :attr:`model` (:func:`calibrate_stream`, :func:`fuse_probabilities`)."""
        if self.temperatures is not None:
            p_s2 = apply_temperature(p_s2, self.temperatures[0])
            p_gcn = apply_temperature(p_gcn, self.temperatures[1])
        return fuse_probabilities(p_s2, p_gcn, self.alpha)


def recommend_fusion(fusion: pd.DataFrame, evaluated: Sequence[str]) -> tuple[str, float] | None:
    """The fused model a strategy recommends (the summary states the rule): among the fusion table's
    models that were evaluated, the highest ``val_accuracy``, ties to the first of
    :data:`FUSION_MODEL_NAMES`; ``(model, validation accuracy)``, or None when none was evaluated."""
    rows = {str(r["model"]): float(r["val_accuracy"]) for r in fusion.to_dict("records")}
    order = [m for m in FUSION_MODEL_NAMES if m in rows and m in evaluated]
    order += [m for m in rows if m in evaluated and m not in order]
    if not order:
        return None
    best = max(order, key=lambda m: (round(rows[m], 12), -order.index(m)))
    return best, rows[best]


def fusion_setting(table: pd.DataFrame, model: str, where: str = "fusion table") -> FusionSetting:
    """The α and temperatures the evaluation used for fused ``model`` (``map.fusion``) of a fusion table.

    ``model`` may be :data:`RECOMMENDED`: the fused model the summary recommends
    (:func:`recommend_fusion`: highest ``val_accuracy``).

    Raises:
        ContractError (a ValueError): ``model`` is not a row of the table.
    """
    from df4lcz.io.alpha_curve import validate_fusion_table

    checked = validate_fusion_table(table, where)
    models = [str(m) for m in checked["model"]]
    if model == RECOMMENDED:
        pick = recommend_fusion(checked, models)
        if pick is None:
            raise ContractError(f"{where}: no fused model to recommend")
        model = pick[0]
    if model not in models:
        raise ContractError(
            f"{where}: no row for fused model {model!r} (map.fusion); it has {models} "
            "(the calibrated fusions need fusion.calibrate: true)"
        )
    row = checked[checked["model"] == model].iloc[0]
    temperatures = (float(row["T_s2"]), float(row["T_gcn"])) if bool(row["calibrated"]) else None
    return FusionSetting(model, float(row["alpha"]), temperatures)


def read_fusion_setting(path: str | os.PathLike | None, model: str | None) -> FusionSetting | None:
    """:func:`fusion_setting` of the fusion table file ``path``; ``None`` when no file is given (the
    map's default fusion ``df4lcz`` with its own α reads none)."""
    from df4lcz.io.alpha_curve import read_fusion_table

    if not path:
        return None
    return fusion_setting(read_fusion_table(path), str(model), str(path))
