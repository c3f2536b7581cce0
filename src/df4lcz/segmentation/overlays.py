"""The mask-overlay figure of a shard: chips with one colour per mask, rows = LCZ classes.

Masks are drawn as the painted label map (:func:`df4lcz.segmentation.labels.paint_labels`:
largest first, the smaller mask wins where masks overlap), painted only for the samples drawn.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..atomic import atomic_path
from ..constants import LCZ_SHORT
from ..io.masks import MaskSet
from .labels import paint_labels

#: Opacity of the label colours drawn over the chip.
OVERLAY_ALPHA: float = 0.45


def overlay_image(image: np.ndarray, labels: np.ndarray, alpha: float = OVERLAY_ALPHA) -> np.ndarray:
    """``(H, W, 3)`` float RGB in [0, 1]: the chip with one colour per label and white outlines."""
    from matplotlib import colormaps
    from matplotlib.colors import ListedColormap
    from skimage.segmentation import find_boundaries

    base = image.astype(np.float32) / 255.0
    tab20 = colormaps["tab20"]
    assert isinstance(tab20, ListedColormap)
    palette = np.asarray(tab20.colors, dtype=np.float32)
    colours = palette[(labels.astype(np.int64) - 1) % len(palette)]
    fg = (labels > 0)[..., None]
    out = np.where(fg, (1 - alpha) * base + alpha * colours, base)
    out[find_boundaries(labels, mode="inner")] = 1.0
    return out


def plot_mask_overlays(
    images: np.ndarray, maskset: MaskSet, classes: np.ndarray, path: str | os.PathLike, per_class: int
) -> Path:
    """PNG of mask overlays for up to ``per_class`` samples of each LCZ class present.

    Args:
        images: ``(N, H, W, 3)`` uint8 chips.
        maskset: the masks of the N chips (whole masks; painted here for the samples drawn).
        classes: ``(N,)`` LCZ codes 1–17 of the samples.
        path: output PNG (written atomically).
        per_class: samples drawn per class (rows = classes, columns = samples;
            ``segment.overlay_samples_per_class``).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    classes = np.asarray(classes).reshape(-1)
    if not (len(images) == len(maskset) == len(classes)):
        raise ValueError(
            f"images, masks and classes differ in length: {len(images)}, {len(maskset)}, {len(classes)}"
        )
    present = sorted(set(classes.tolist()))
    cols = max(1, per_class)
    rows = max(1, len(present))
    fig = Figure(figsize=(2.2 * cols, 2.3 * rows), dpi=100)
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax in axes.ravel():
        ax.set_axis_off()
    if not present or per_class < 1:
        axes[0, 0].text(0.5, 0.5, "no samples", ha="center", va="center")
    for r, code in enumerate(present):
        for c, i in enumerate(np.flatnonzero(classes == code)[:per_class]):
            ax = axes[r, c]
            labels = paint_labels(maskset, int(i))
            ax.imshow(overlay_image(images[i], labels), interpolation="nearest")
            n_masks = int(maskset.n_masks()[i])
            n_visible = int(len(np.unique(labels)) - (labels == 0).any())
            hidden = f" ({n_masks - n_visible} hidden)" if n_visible < n_masks else ""
            ax.set_title(f"LCZ {LCZ_SHORT.get(int(code), code)} · {n_masks} masks{hidden}", fontsize=8)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    return Path(path)
