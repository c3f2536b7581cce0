"""Stage of rule ``fuse``: ``df4lcz`` (the configured α) and ``df4lcz_tuned`` (α chosen on val).

Outputs, per split strategy: the two fused prediction files (docs/contracts.md §8) and the α curve
of the tuning (docs/contracts.md §9).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from ..evaluation.fusion import alpha_grid, fuse, tune_alpha
from ..io.alpha_curve import write_alpha_curve
from ..io.predictions import read_predictions, write_predictions
from ..logs import get_logger
from ..scripting import Job


def fuse_files(
    s2_path: str | os.PathLike,
    gcn_path: str | os.PathLike,
    out_path: str | os.PathLike,
    alpha: float | None,
    curve_path: str | os.PathLike | None = None,
    grid: Sequence[float] | np.ndarray | None = None,
    metric: str = "accuracy",
) -> float:
    """Fuse two prediction files into ``out_path``.

    Args:
        s2_path: Sentinel-2 prediction CSV.
        gcn_path: GCN prediction CSV.
        out_path: fused prediction CSV to write (atomic).
        alpha: fixed α, or ``None`` to tune it on the val split with
            :func:`~df4lcz.evaluation.fusion.tune_alpha`.
        curve_path: where to write the α curve (only used, and then required, when tuning).
        grid, metric: the α values and score of the tuning (``grid`` required when tuning).

    Returns:
        The α used.
    """
    pred_s2 = read_predictions(s2_path)
    pred_gcn = read_predictions(gcn_path)
    if alpha is None:
        if curve_path is None:
            raise ValueError("curve_path: required when alpha is None (tuned on val)")
        if grid is None:
            raise ValueError("grid: required when alpha is None (tuned on val)")
        alpha, curve = tune_alpha(pred_s2, pred_gcn, grid=grid, metric=metric)
        write_alpha_curve(curve, alpha, curve_path, metric=metric)
    write_predictions(fuse(pred_s2, pred_gcn, alpha), out_path, float_format=None)  # full precision
    return float(alpha)


def run(job: Job) -> None:
    """Fuse the strategy's Sentinel-2 and GCN predictions with the ``fusion`` config slice."""
    cfg = job.params["fusion"]
    fixed = fuse_files(job.input.s2, job.input.gcn, job.output.fixed, alpha=cfg["alpha"])
    tuned = fuse_files(job.input.s2, job.input.gcn, job.output.tuned, alpha=None, curve_path=job.output.curve,
                       grid=alpha_grid(cfg["grid_step"]))
    get_logger("fuse").info("%s: df4lcz α = %.2f, df4lcz_tuned α = %.2f", job.wildcards["strategy"], fixed, tuned)
