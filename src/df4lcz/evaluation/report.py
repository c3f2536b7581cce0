"""Evaluation of one prediction frame, and the names of the files the ``evaluate`` rule writes.

The ``evaluate`` rule (:mod:`df4lcz.stages.evaluate`) turns prediction files
(``results/predictions/{strategy}/{model}.csv``, docs/contracts.md §8) into the metrics tables of
docs/contracts.md §11 (:mod:`df4lcz.io.tables`) and the figures
``confusion_{strategy}_{model}.png``, ``reliability_{strategy}_{model}.png`` and, for strategies
with a tuned fusion, ``alpha_{strategy}.png``; and ``per_class_f1_{strategy}_{model}.png`` (per-class
F1 with its bootstrap interval).

Metrics are measured on the test split; the temperature for ``ECE_ts``/``MCE_ts`` is fitted on
the val rows of the same prediction file (NaN when it has none). Every metric also gets a percentile
bootstrap interval over the test samples, or over whole clusters (polygons) when given
(:mod:`~df4lcz.evaluation.bootstrap`); so do the per-class UA, PA and F1, from the same resamplings.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from df4lcz.evaluation import calibration, metrics
from df4lcz.evaluation.bootstrap import confidence_intervals, per_class_intervals
from df4lcz.io.predictions import probabilities
from df4lcz.logs import get_logger

log = get_logger(__name__)

#: Split on which metrics are measured, and split used to fit the temperature.
EVAL_SPLIT: str = "test"
TEMPERATURE_SPLIT: str = "val"

_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def check_name(value: str, what: str) -> str:
    """Return ``value`` if it is usable in file names (letters, digits, ``_ . -``), else raise ``ValueError``."""
    if not isinstance(value, str) or not _NAME_PATTERN.match(value):
        raise ValueError(
            f"{what}: {value!r} is not usable in file names; expected letters, digits, '_', '.', '-'"
        )
    return value


def per_class_path(out_dir: str | os.PathLike, strategy: str, model: str) -> Path:
    """``{out_dir}/per_class_{strategy}_{model}.csv``."""
    return Path(out_dir) / f"per_class_{strategy}_{model}.csv"


def confusion_csv_path(out_dir: str | os.PathLike, strategy: str, model: str) -> Path:
    """``{out_dir}/confusion_{strategy}_{model}.csv``."""
    return Path(out_dir) / f"confusion_{strategy}_{model}.csv"


def confusion_png_path(figure_dir: str | os.PathLike, strategy: str, model: str) -> Path:
    """``{figure_dir}/confusion_{strategy}_{model}.png``."""
    return Path(figure_dir) / f"confusion_{strategy}_{model}.png"


def reliability_png_path(figure_dir: str | os.PathLike, strategy: str, model: str) -> Path:
    """``{figure_dir}/reliability_{strategy}_{model}.png``."""
    return Path(figure_dir) / f"reliability_{strategy}_{model}.png"


def per_class_f1_png_path(figure_dir: str | os.PathLike, strategy: str, model: str) -> Path:
    """``{figure_dir}/per_class_f1_{strategy}_{model}.png``."""
    return Path(figure_dir) / f"per_class_f1_{strategy}_{model}.png"


def alpha_png_path(figure_dir: str | os.PathLike, strategy: str) -> Path:
    """``{figure_dir}/alpha_{strategy}.png``."""
    return Path(figure_dir) / f"alpha_{strategy}.png"


def output_files(
    keys: Sequence[tuple[str, str]],
    out_dir: str | os.PathLike,
    figure_dir: str | os.PathLike | None = None,
    alpha_strategies: Sequence[str] = (),
) -> list[Path]:
    """Every file the ``evaluate`` rule writes for these (strategy, model) keys."""
    fig_dir = Path(out_dir) if figure_dir is None else Path(figure_dir)
    paths = [Path(out_dir) / "metrics.csv", Path(out_dir) / "metrics.md"]
    for strategy, model in keys:
        paths += [
            per_class_path(out_dir, strategy, model),
            confusion_csv_path(out_dir, strategy, model),
            confusion_png_path(fig_dir, strategy, model),
            reliability_png_path(fig_dir, strategy, model),
            per_class_f1_png_path(fig_dir, strategy, model),
        ]
    paths += [alpha_png_path(fig_dir, s) for s in alpha_strategies]
    return paths


def evaluate_frame(
    pred: pd.DataFrame,
    strategy: str,
    model: str,
    n_bins: int,
    *,
    n_boot: int,
    ci: float,
    seed: int,
    clusters: pd.Series | None,
) -> tuple[dict[str, object], metrics.ClassificationMetrics, pd.DataFrame, pd.DataFrame | None, pd.DataFrame]:
    """Metrics of one validated prediction frame, with bootstrap intervals.

    Args:
        pred: prediction frame (contract columns) with val and test rows.
        strategy, model: names stored in the row.
        n_bins: calibration bins (``evaluate.n_bins``).
        n_boot, ci, seed: bootstrap resamplings, interval coverage and seed (``evaluate.bootstrap``,
            ``evaluate.ci``, ``seed``).
        clusters: cluster (polygon) id indexed by ``sample_id`` to resample whole clusters, or
            ``None`` to resample test samples.

    Returns:
        ``(row, scores, bins_before, bins_after, per_class)``: the ``metrics.csv`` row (keys
        :data:`df4lcz.io.tables.METRIC_COLUMNS`), the test-split
        :class:`~df4lcz.evaluation.metrics.ClassificationMetrics`, the test reliability bins before
        temperature scaling and after it (``None`` without val), and the per-class table with its
        bootstrap intervals (:func:`~df4lcz.evaluation.metrics.per_class_table`).
    """
    test = pred[pred["split"] == EVAL_SPLIT]
    val = pred[pred["split"] == TEMPERATURE_SPLIT]
    if test.empty:
        log.warning("%s/%s: no test samples; metrics are NaN", strategy, model)
    scores = metrics.classification_metrics(test["y_true"].to_numpy(), test["y_pred"].to_numpy())
    p_test = probabilities(test)
    y_test = test["y_true"].to_numpy()
    bins_before = calibration.reliability_bins(p_test, y_test, n_bins)
    ece, mce = calibration.ece_mce_from_bins(bins_before)
    if val.empty:
        log.warning("%s/%s: no val samples; temperature scaling skipped", strategy, model)
        temperature, ece_ts, mce_ts, bins_after = float("nan"), float("nan"), float("nan"), None
    else:
        temperature = calibration.fit_temperature(probabilities(val), val["y_true"].to_numpy())
        p_scaled = calibration.apply_temperature(p_test, temperature)
        bins_after = calibration.reliability_bins(p_scaled, y_test, n_bins)
        ece_ts, mce_ts = calibration.ece_mce_from_bins(bins_after)
    unit_ids = None if clusters is None else cluster_ids(test["sample_id"].to_numpy(), clusters, strategy)
    intervals = confidence_intervals(
        test["y_true"].to_numpy(),
        test["y_pred"].to_numpy(),
        p_test,
        None if val.empty else p_scaled,
        n_bins=n_bins,
        n_boot=n_boot,
        ci=ci,
        seed=seed,
        clusters=unit_ids,
    )
    per_class = metrics.per_class_table(
        scores.confusion,
        per_class_intervals(
            test["y_true"].to_numpy(),
            test["y_pred"].to_numpy(),
            n_boot=n_boot,
            ci=ci,
            seed=seed,
            clusters=unit_ids,
        ),
    )
    row: dict[str, object] = {
        "strategy": strategy,
        "model": model,
        "OA": scores.oa,
        "OA_BU": scores.oa_bu,
        "OA_N": scores.oa_n,
        "kappa": scores.kappa,
        "F1_weighted": scores.f1_weighted,
        "F1_macro": scores.f1_macro,
        "ECE": ece,
        "MCE": mce,
        "ECE_ts": ece_ts,
        "MCE_ts": mce_ts,
        "T": temperature,
        "n_test": scores.n,
    }
    for metric, (lo, hi) in intervals.items():
        row[f"{metric}_lo"], row[f"{metric}_hi"] = lo, hi
    row["bootstrap_unit"] = "sample" if clusters is None else "polygon"
    return row, scores, bins_before, bins_after, per_class


def cluster_ids(sample_ids: np.ndarray, clusters: pd.Series, strategy: str) -> np.ndarray:
    """Cluster id of each test sample from ``clusters`` (indexed by sample_id).

    Raises:
        ValueError: a test sample has no cluster (naming the strategy and a few sample ids).
    """
    found = clusters.reindex(sample_ids)
    if found.isna().any():
        ids = sample_ids[found.isna().to_numpy()][:5].tolist()
        raise ValueError(
            f"{strategy}: {int(found.isna().sum())} test sample(s) have no polygon_id in the "
            f"sample table, e.g. sample_id {ids}"
        )
    return found.to_numpy()
