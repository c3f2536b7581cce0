"""Stage of rule ``fuse``: the fusion models of one split strategy.

``df4lcz`` (the paper: raw stream probabilities, the configured α) and ``df4lcz_tuned`` (raw, α
chosen on val); with ``fusion.calibrate`` also ``df4lcz_cal`` and ``df4lcz_cal_tuned`` (each stream
temperature-scaled on val first). Outputs: one prediction file per model (docs/contracts.md §8), the
α curves of the tuned models and the fusion table with the α, temperatures and validation accuracy
of every model (docs/contracts.md §9).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ..evaluation.fusion import alpha_grid, fusion_model_names, fusion_outputs, fusion_table
from ..io.alpha_curve import write_alpha_curve, write_fusion_table
from ..io.predictions import read_predictions, write_predictions
from ..logs import get_logger
from ..scripting import Job

log = get_logger(__name__)


def fuse_files(
    s2_path: str | os.PathLike,
    gcn_path: str | os.PathLike,
    outputs: Mapping[str, str | os.PathLike],
    curve_path: str | os.PathLike,
    table_path: str | os.PathLike,
    *,
    alpha: float,
    grid: Sequence[float] | np.ndarray,
    calibrate: bool,
    metric: str = "accuracy",
) -> pd.DataFrame:
    """Fuse two prediction files into every fusion model's prediction file.

    Args:
        s2_path, gcn_path: the Sentinel-2 and GCN prediction CSVs.
        outputs: ``{model: prediction CSV to write}`` for exactly the models of
            :func:`~df4lcz.evaluation.fusion.fusion_model_names` (``calibrate``).
        curve_path: the α curves of the tuned models; table_path: the fusion table.
        alpha, grid, calibrate: fixed α, α values searched on val, whether to calibrate the streams.
        metric: score maximised by the α search.

    Returns:
        The fusion table (also written to ``table_path``).

    Raises:
        ValueError: ``outputs`` names other models than the run makes.
    """
    expected = fusion_model_names(calibrate)
    if sorted(outputs) != sorted(expected):
        raise ValueError(
            f"outputs: fusion models {sorted(outputs)} given; with calibrate={calibrate} the fuse rule "
            f"makes {list(expected)}"
        )
    results = fusion_outputs(
        read_predictions(s2_path),
        read_predictions(gcn_path),
        alpha=alpha,
        grid=grid,
        calibrate=calibrate,
        metric=metric,
    )
    for out in results:
        write_predictions(out.predictions, outputs[out.model], float_format=None)  # full precision
    write_alpha_curve(
        {out.model: (out.curve, out.alpha) for out in results if out.curve is not None},
        curve_path,
        metric=metric,
    )
    table = fusion_table(results)
    write_fusion_table(table, table_path)
    return table


def run(job: Job) -> None:
    """Fuse the strategy's Sentinel-2 and GCN predictions with the ``fusion`` config slice."""
    cfg = job.params["fusion"]
    models = list(job.params["models"])
    table = fuse_files(
        job.input.s2,
        job.input.gcn,
        dict(zip(models, job.output.predictions)),
        job.output.curve,
        job.output.table,
        alpha=cfg["alpha"],
        grid=alpha_grid(cfg["grid_step"]),
        calibrate=cfg["calibrate"],
    )
    for rec in table.to_dict("records"):
        temps = f", T_s2 = {rec['T_s2']:.3f}, T_gcn = {rec['T_gcn']:.3f}" if rec["calibrated"] else ""
        log.info(
            "%s: %s α = %.2f%s, val accuracy %.4f (n = %d)",
            job.wildcards["strategy"],
            rec["model"],
            rec["alpha"],
            temps,
            rec["val_accuracy"],
            rec["n_val"],
        )
