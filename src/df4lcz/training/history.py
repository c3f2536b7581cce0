"""The training-curve figure ``results/figures/training/{strategy}_{model}.png``."""

from __future__ import annotations

import os

import pandas as pd

from ..atomic import atomic_path
from ..io.history import validate_history


def plot_history(history: pd.DataFrame, path: str | os.PathLike, title: str | None = None) -> None:
    """Training curves (loss and accuracy, train vs val, per epoch) as an image, written atomically."""
    from matplotlib.figure import Figure  # no pyplot: no global figure state, Agg canvas

    validate_history(history)
    fig = Figure(figsize=(10, 4), layout="constrained")
    axes = fig.subplots(1, 2)
    for ax, key, label in ((axes[0], "loss", "loss"), (axes[1], "accuracy", "accuracy")):
        ax.plot(history["epoch"], history[key], marker=".", label="train")
        ax.plot(history["epoch"], history[f"val_{key}"], marker=".", label="validation")
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120)
