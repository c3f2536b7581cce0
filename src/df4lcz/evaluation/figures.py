"""Evaluation figures: confusion matrices, reliability diagrams, the fusion α curve and per-class F1.

Figures are drawn with matplotlib's object-oriented API on an Agg canvas (``Figure`` +
``FigureCanvasAgg``), so no pyplot state or display backend is involved, and saved atomically.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib import patheffects
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from df4lcz.atomic import atomic_path
from df4lcz.constants import LCZ_CODES, LCZ_COLORS, LCZ_NAMES, LCZ_SHORT, N_CLASSES

#: Resolution of saved figures.
FIGURE_DPI: int = 120

#: Confusion-matrix normalisations: over true rows, predicted columns, all cells, or raw counts.
NORMALIZE_MODES: tuple[str | None, ...] = ("true", "pred", "all", None)

#: Normalised cells below this value are left unlabelled to keep the matrix readable.
MIN_ANNOTATED_FRACTION: float = 0.005


def _save(fig: Figure, path: str | os.PathLike) -> None:
    FigureCanvasAgg(fig)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=FIGURE_DPI)


def normalize_confusion(cm: np.ndarray, normalize: str | None = "true") -> np.ndarray:
    """Normalise a (17, 17) confusion matrix.

    Args:
        cm: (17, 17) counts, rows = true class.
        normalize: ``"true"`` (rows sum to 1 = producer's accuracy on the diagonal), ``"pred"``
            (columns sum to 1 = user's accuracy), ``"all"``, or ``None`` (counts as float).

    Returns:
        (17, 17) float64; rows/columns with no sample are NaN.
    """
    if normalize not in NORMALIZE_MODES:
        raise ValueError(f"normalize: {normalize!r} is not one of {list(NORMALIZE_MODES)}")
    arr = np.asarray(cm, dtype=np.float64)
    if arr.shape != (N_CLASSES, N_CLASSES):
        raise ValueError(f"cm: expected a ({N_CLASSES}, {N_CLASSES}) confusion matrix, got shape {arr.shape}")
    if normalize is None:
        return arr
    if normalize == "true":
        den = arr.sum(axis=1, keepdims=True)
    elif normalize == "pred":
        den = arr.sum(axis=0, keepdims=True)
    else:
        den = np.array([[arr.sum()]])
    out = np.full(arr.shape, np.nan)
    np.divide(arr, den, out=out, where=np.broadcast_to(den, arr.shape) > 0)
    return out


def plot_confusion_matrix(
    cm: np.ndarray, path: str | os.PathLike, title: str, normalize: str | None = "true"
) -> None:
    """Draw a (17, 17) confusion matrix with LCZ labels (1–10, A–G) and save it as ``path`` (PNG).

    Rows are true classes, columns predicted classes. Normalised cells are shown in percent;
    classes without samples are left blank. Tick labels carry the LCZ colour as a small swatch.
    """
    values = normalize_confusion(cm, normalize)
    # Fixed margins instead of a layout engine: one draw per save (the 17×17 labels dominate the cost).
    fig = Figure(figsize=(9.0, 7.5))
    fig.subplots_adjust(left=0.22, right=0.90, bottom=0.09, top=0.94)
    ax = fig.add_subplot(1, 1, 1)
    shown = values * 100.0 if normalize else values
    vmax = 100.0 if normalize else max(float(np.nanmax(values)) if np.isfinite(values).any() else 1.0, 1.0)
    image = ax.imshow(np.ma.masked_invalid(shown), cmap="Blues", vmin=0.0, vmax=vmax)
    cbar = fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    cbar.set_label(
        "% of " + {"true": "true class", "pred": "predicted class", "all": "samples"}[normalize]
        if normalize
        else "samples"
    )
    for i in range(N_CLASSES):
        for j in range(N_CLASSES):
            v = values[i, j]
            if not np.isfinite(v) or v == 0 or (normalize and v < MIN_ANNOTATED_FRACTION):
                continue
            text = f"{shown[i, j]:.0f}" if normalize else f"{int(v)}"
            ax.text(
                j,
                i,
                text,
                ha="center",
                va="center",
                fontsize=6.5,
                color="white" if shown[i, j] > 0.6 * vmax else "black",
            )
    ticks = np.arange(N_CLASSES)
    labels = [LCZ_SHORT[c] for c in LCZ_CODES]
    ax.set_xticks(ticks, labels)
    row_labels = [f"{LCZ_SHORT[c]} {LCZ_NAMES[c].removeprefix(LCZ_SHORT[c] + ' ')}" for c in LCZ_CODES]
    ax.set_yticks(ticks, row_labels, fontsize=7)
    for tick_labels in (ax.get_xticklabels(), ax.get_yticklabels()):
        for label, code in zip(tick_labels, LCZ_CODES):
            r, g, b = LCZ_COLORS[code]
            label.set_bbox({"facecolor": (r / 255, g / 255, b / 255, 0.35), "edgecolor": "none", "pad": 1.0})
    ax.set_xlabel("Predicted LCZ")
    ax.set_ylabel("True LCZ")
    ax.set_title(title)
    _save(fig, path)


#: Colours of the reliability diagram: accuracy bars, the gap where over-confident (fill) and where
#: under-confident (hatched outline, no fill).
RELIABILITY_COLORS: dict[str, str] = {"accuracy": "#4c72b0", "over": "#e6a06e", "under": "#c44e52"}


def _draw_reliability(ax, bins: pd.DataFrame, label: str) -> None:
    width = (bins["upper"] - bins["lower"]).to_numpy(float)
    centres = bins["lower"].to_numpy(float) + width / 2
    acc = bins["accuracy"].to_numpy(float)
    conf = bins["confidence"].to_numpy(float)
    filled = bins["count"].to_numpy() > 0
    ax.bar(
        centres[filled],
        acc[filled],
        width=width[filled],
        color=RELIABILITY_COLORS["accuracy"],
        edgecolor="white",
        label="accuracy",
    )
    # The gap to the mean confidence, never blended with the accuracy bar: above it where the model is
    # over-confident (a filled bar from accuracy up to confidence), and as a hatched outline without
    # fill over it where under-confident (from confidence up to accuracy). Every colour is in the legend.
    over = filled & (conf > acc)
    under = filled & (conf < acc)
    if over.any():
        ax.bar(
            centres[over],
            (conf - acc)[over],
            bottom=acc[over],
            width=width[over],
            color=RELIABILITY_COLORS["over"],
            edgecolor="none",
            label="gap: over-confident (confidence > accuracy)",
        )
    if under.any():
        ax.bar(
            centres[under],
            (acc - conf)[under],
            bottom=conf[under],
            width=width[under],
            facecolor="none",
            edgecolor=RELIABILITY_COLORS["under"],
            hatch="////",
            linewidth=0.8,
            label="gap: under-confident (confidence < accuracy)",
        )
    ax.plot([0, 1], [0, 1], color="black", linestyle="--", linewidth=1.0, label="perfect calibration")
    count = bins["count"].to_numpy(float)
    n = count.sum()
    gaps = np.abs(acc - conf)[filled]
    ece = float(np.sum(count[filled] / n * gaps)) if n else float("nan")
    ax.text(
        0.03,
        0.95,
        f"ECE = {100 * ece:.2f} %\nN = {int(n)}",
        transform=ax.transAxes,
        va="top",
        fontsize=9,
        bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none"},
    )
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("Confidence (max probability)")
    ax.set_ylabel("Accuracy")
    ax.set_title(label)
    ax.legend(loc="lower right", fontsize=8)


def plot_reliability(
    bins_before: pd.DataFrame, bins_after: pd.DataFrame | None, path: str | os.PathLike, title: str
) -> None:
    """Reliability diagram(s) from :func:`df4lcz.evaluation.calibration.reliability_bins` tables.

    One panel for the raw probabilities and, when ``bins_after`` is given, one after temperature
    scaling; saved as ``path`` (PNG).
    """
    panels = [(bins_before, "before temperature scaling")]
    if bins_after is not None:
        panels.append((bins_after, "after temperature scaling"))
    fig = Figure(figsize=(5.0 * len(panels), 4.8), layout="constrained")
    for k, (bins, label) in enumerate(panels, start=1):
        _draw_reliability(fig.add_subplot(1, len(panels), k), bins, label)
    fig.suptitle(title)
    _save(fig, path)


#: Line colours of the α curves, in the order the models appear.
ALPHA_CURVE_COLORS: tuple[str, ...] = ("#4c72b0", "#dd8452", "#55a868", "#8172b3")


def plot_alpha_curve(
    curve: pd.DataFrame,
    path: str | os.PathLike,
    chosen: Mapping[str, float] | None = None,
    title: str = "Fusion weight on the validation split",
) -> None:
    """Plot the validation score against the fusion weight α, one line per tuned fusion model.

    Args:
        curve: columns ``alpha``, ``score`` and ``model`` (one line per model; without ``model`` a
            single line), optionally ``metric`` (the y label).
        path: PNG to write.
        chosen: ``{model: chosen α}``, marked on each line.
        title: figure title.
    """
    for col in ("alpha", "score"):
        if col not in curve.columns:
            raise ValueError(f"curve: missing column '{col}'; expected columns model, alpha, score")
    groups = list(curve.groupby("model", sort=False)) if "model" in curve.columns else [("score", curve)]
    fig = Figure(figsize=(5.5, 3.8), layout="constrained")
    ax = fig.add_subplot(1, 1, 1)
    for k, (model, rows) in enumerate(groups):
        color = ALPHA_CURVE_COLORS[k % len(ALPHA_CURVE_COLORS)]
        ax.plot(rows["alpha"], rows["score"], marker="o", markersize=3.5, color=color, label=str(model))
        alpha = (chosen or {}).get(str(model))
        if alpha is None:
            continue
        at = rows.loc[np.isclose(rows["alpha"].to_numpy(float), alpha, atol=1e-12), "score"]
        ax.axvline(alpha, color=color, linestyle="--", linewidth=1.0)
        if len(at):
            ax.plot(
                [alpha],
                [at.iloc[0]],
                marker="*",
                markersize=12,
                color=color,
                label=f"{model}: chosen α = {alpha:.2f}",
            )
    ax.legend(loc="lower center", fontsize=8)
    ax.set_xlim(0, 1)
    ax.set_xlabel("α (weight of the Sentinel-2 stream; 1 − α for the GCN)")
    metric = str(curve["metric"].iloc[0]) if "metric" in curve.columns and len(curve) else "score"
    ax.set_ylabel(f"validation {metric}")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    _save(fig, path)


def plot_per_class_f1(table: pd.DataFrame, path: str | os.PathLike, title: str) -> None:
    """Per-class F1 (in %) with its bootstrap interval, one bar per LCZ class; saved as ``path`` (PNG).

    Args:
        table: the per-class table (:func:`df4lcz.evaluation.metrics.per_class_table`) with columns
            ``class``, ``F1``, ``support`` and, when the intervals were computed, ``F1_lo``/``F1_hi``.
            Classes with no test sample and no prediction (F1 undefined) are left empty and marked
            ``n/a``; an undefined interval draws no error bar.
        path: PNG to write.
        title: figure title.
    """
    codes = table["class"].to_numpy(np.int64)
    f1 = 100.0 * table["F1"].to_numpy(float)
    has_ci = {"F1_lo", "F1_hi"} <= set(table.columns)
    lo = 100.0 * table["F1_lo"].to_numpy(float) if has_ci else np.full(codes.size, np.nan)
    hi = 100.0 * table["F1_hi"].to_numpy(float) if has_ci else np.full(codes.size, np.nan)
    x = np.arange(codes.size)
    fig = Figure(figsize=(8.0, 4.0), layout="constrained")
    ax = fig.add_subplot(1, 1, 1)
    colors = [tuple(v / 255 for v in LCZ_COLORS[int(c)]) for c in codes]
    ax.bar(x, np.nan_to_num(f1), color=colors, edgecolor="#333333", linewidth=0.6)
    ok = np.isfinite(lo) & np.isfinite(hi) & np.isfinite(f1)
    # percentile intervals need not contain the point estimate: draw lo…hi, not ± errors around F1
    halo = [patheffects.withStroke(linewidth=3.0, foreground="white")]  # visible on dark bars (LCZ E)
    ax.vlines(x[ok], lo[ok], hi[ok], color="black", linewidth=1.2, path_effects=halo)
    ax.hlines(
        np.concatenate([lo[ok], hi[ok]]),
        np.tile(x[ok] - 0.15, 2),
        np.tile(x[ok] + 0.15, 2),
        color="black",
        linewidth=1.2,
        path_effects=halo,
    )
    for k in np.flatnonzero(~np.isfinite(f1)):
        ax.text(x[k], 1.0, "n/a", ha="center", va="bottom", fontsize=7, color="#666666")
    support = table["support"].to_numpy(np.int64)
    ax.set_xticks(x, [f"{LCZ_SHORT[int(c)]}\nn={n}" for c, n in zip(codes, support)], fontsize=7)
    ax.set_ylim(0, 105)
    ax.set_xlabel("LCZ (n = test samples)")
    ax.set_ylabel("F1 (%)")
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    _save(fig, path)
