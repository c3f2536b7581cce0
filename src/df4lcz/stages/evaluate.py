"""Stage of rule ``evaluate``: metrics tables, per-class and confusion tables, and the figures.

Reads the prediction files (docs/contracts.md §8), α curves (§9) and, for the cluster bootstrap of
the polygon and region strategies, the sample table's ``polygon_id`` (§1); writes the tables of §11
(``metrics.csv``, ``metrics.md``, ``per_class_{strategy}_{model}.csv``,
``confusion_{strategy}_{model}.csv``) and the PNGs ``confusion_{strategy}_{model}.png``,
``reliability_{strategy}_{model}.png``, ``per_class_f1_{strategy}_{model}.png`` and
``alpha_{strategy}.png``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from ..constants import CLUSTERED_STRATEGIES
from ..errors import ContractError
from ..evaluation import figures
from ..evaluation.report import (
    alpha_png_path,
    check_name,
    confusion_csv_path,
    confusion_png_path,
    evaluate_frame,
    per_class_f1_png_path,
    per_class_path,
    reliability_png_path,
)
from ..io.alpha_curve import read_alpha_curve
from ..io.predictions import read_predictions
from ..io.samples import read_samples
from ..io.tables import METRIC_COLUMNS, table_note, write_confusion, write_metrics, write_per_class
from ..logs import get_logger
from ..scripting import Job

log = get_logger(__name__)


def evaluate(
    predictions: Mapping[tuple[str, str], str | os.PathLike],
    out_dir: str | os.PathLike,
    n_bins: int,
    *,
    n_boot: int,
    ci: float,
    seed: int,
    clusters: Mapping[str, pd.Series] | None = None,
    figure_dir: str | os.PathLike | None = None,
    alpha_curves: Mapping[str, str | os.PathLike] | None = None,
) -> pd.DataFrame:
    """Evaluate prediction files and write tables and figures (see module docstring).

    Args:
        predictions: ``{(strategy, model): path to the prediction CSV}``; rows keep this order.
        out_dir: directory for ``metrics.csv``, ``metrics.md``, per-class and confusion CSVs.
        n_bins: calibration bins (``evaluate.n_bins``).
        n_boot, ci, seed: bootstrap resamplings, coverage and seed (``evaluate.bootstrap``,
            ``evaluate.ci``, ``seed``).
        clusters: ``{strategy: cluster id indexed by sample_id}`` for the strategies whose test
            polygons are resampled whole; other strategies resample test samples.
        figure_dir: directory for PNGs (default ``out_dir``).
        alpha_curves: ``{strategy: α-curve CSV}`` to plot.

    Returns:
        The metrics frame (len(predictions) rows, columns :data:`~df4lcz.io.tables.METRIC_COLUMNS`, fractions).
    """
    if not predictions:
        raise ValueError("predictions: no prediction files given")
    out = Path(out_dir)
    fig_dir = out if figure_dir is None else Path(figure_dir)
    rows = []
    for (strategy, model), path in predictions.items():
        check_name(strategy, "strategy")
        check_name(model, "model")
        pred = read_predictions(path)
        row, scores, bins_before, bins_after, per_class = evaluate_frame(
            pred,
            strategy,
            model,
            n_bins,
            n_boot=n_boot,
            ci=ci,
            seed=seed,
            clusters=(clusters or {}).get(strategy),
        )
        rows.append(row)
        write_per_class(per_class_path(out, strategy, model), per_class)
        write_confusion(confusion_csv_path(out, strategy, model), scores.confusion)
        figures.plot_confusion_matrix(
            scores.confusion,
            confusion_png_path(fig_dir, strategy, model),
            f"{model} — {strategy} (test, n = {scores.n})",
            normalize="true",
        )
        figures.plot_reliability(
            bins_before,
            bins_after,
            reliability_png_path(fig_dir, strategy, model),
            f"{model} — {strategy} (test)",
        )
        figures.plot_per_class_f1(
            per_class,
            per_class_f1_png_path(fig_dir, strategy, model),
            f"{model} — {strategy}: per-class F1 (test, n = {scores.n})",
        )
        log.info(
            "%s/%s: OA %.4f, kappa %.4f, ECE %.4f (n_test = %d)",
            strategy,
            model,
            scores.oa,
            scores.kappa,
            row["ECE"],
            scores.n,
        )
    for strategy, curve_path in (alpha_curves or {}).items():
        check_name(strategy, "strategy")
        chosen, curve = read_alpha_curve(curve_path)
        figures.plot_alpha_curve(
            curve, alpha_png_path(fig_dir, strategy), chosen, title=f"Fusion weight on val — {strategy}"
        )
    table = pd.DataFrame(rows, columns=list(METRIC_COLUMNS))
    table["n_test"] = table["n_test"].astype(np.int64)
    write_metrics(out / "metrics.csv", out / "metrics.md", table, table_note(n_bins, n_boot, ci))
    return table


def polygon_clusters(samples_path: str | os.PathLike) -> pd.Series:
    """``polygon_id`` indexed by ``sample_id`` (the clusters of the polygon and region strategies)."""
    table = read_samples(samples_path, columns=["sample_id", "polygon_id"])
    if table["polygon_id"].isna().any():
        ids = table.loc[table["polygon_id"].isna(), "sample_id"].iloc[:5].tolist()
        raise ContractError(
            f"{samples_path}: polygon_id is empty for sample_id {ids}; the polygon "
            "and region strategies' bootstrap resamples whole polygons and needs every sample's polygon"
        )
    return pd.Series(
        table["polygon_id"].to_numpy(), index=table["sample_id"].to_numpy(np.int64), name="polygon_id"
    )


def run(job: Job) -> None:
    """Evaluate every (strategy, model) of ``eval_keys`` and plot the α curves of the tuned fusions."""
    keys = [tuple(k) for k in job.params["eval_keys"]]
    predictions = dict(zip(keys, job.input.predictions))
    curves = dict(zip(job.params["fusion_strategies"], job.input.curves))
    strategies = {s for s, _ in keys}
    clustered = [s for s in CLUSTERED_STRATEGIES if s in strategies]
    by_polygon = polygon_clusters(job.input.samples) if clustered else None
    clusters = {s: by_polygon for s in clustered if by_polygon is not None}
    settings = job.params["evaluate"]
    evaluate(
        predictions,
        Path(job.output.metrics).parent,
        n_bins=settings["n_bins"],
        n_boot=settings["bootstrap"],
        ci=settings["ci"],
        seed=job.params["seed"],
        clusters=clusters,
        figure_dir=Path(job.output.confusion[0]).parent,
        alpha_curves=curves,
    )
