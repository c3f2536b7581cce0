"""The α curve ``results/predictions/{strategy}/alpha_curve.csv`` (docs/contracts.md §9).

One row per α of the grid searched on the validation split by the ``fuse`` rule:
``alpha,score,metric,chosen`` — ``score`` the validation score of the fused predictions at that
α, ``metric`` the name of the score, ``chosen`` True on exactly one row (the α of ``df4lcz_tuned``).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from df4lcz.atomic import atomic_path

#: Columns of an α curve file, in order.
ALPHA_CURVE_COLUMNS: tuple[str, ...] = ("alpha", "score", "metric", "chosen")


def write_alpha_curve(curve: pd.DataFrame, alpha: float, path: str | os.PathLike, metric: str) -> None:
    """Write the α grid curve atomically as CSV: ``alpha,score,metric,chosen`` (one row per α).

    Args:
        curve: (G, 2) frame with columns ``alpha`` and ``score``.
        alpha: the chosen α (marked ``chosen``).
        path: the CSV to write.
        metric: name of the score.
    """
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
