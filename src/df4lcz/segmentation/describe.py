"""One line naming the segmentation behind masks files (for the summary), from their attrs."""

from __future__ import annotations

import os
from collections.abc import Sequence

from ..io.masks import read_mask_attrs

#: Attrs named in the line, per backend (classical: per method), before ``min_area``, ``max_masks``.
SAM_KEYS: tuple[str, ...] = (
    "points_per_side",
    "pred_iou_thresh",
    "stability_score_thresh",
    "box_nms_thresh",
    "crop_n_layers",
    "crop_nms_thresh",
    "crop_n_points_downscale_factor",
    "min_mask_region_area",
)
CLASSICAL_KEYS: dict[str, tuple[str, ...]] = {
    "felzenszwalb": ("scale", "sigma", "min_size"),
    "slic": ("n_segments", "compactness", "sigma"),
}


def describe_backend(mask_files: Sequence[str | os.PathLike]) -> str:
    """One line naming the segmentation behind masks files, from their attrs (for reports).

    E.g. ``"SAM vit_h (points_per_side 12, pred_iou_thresh 0.88, …)"`` or ``"classical
    felzenszwalb (scale 150, sigma 0.8, min_size 50)"``; ``"none"`` without files. Files made
    with different settings are all listed, separated by ``"; "``.
    """
    lines: list[str] = []
    for path in mask_files:
        attrs = read_mask_attrs(path)
        backend = attrs.get("backend", "unknown")
        if backend == "sam":
            keys = SAM_KEYS
            head = f"SAM {attrs.get('model_type', '?')}"
        elif backend == "classical":
            method = attrs.get("method", "?")
            keys = CLASSICAL_KEYS["felzenszwalb"] if method == "felzenszwalb" else CLASSICAL_KEYS["slic"]
            head = f"classical {method}"
        else:
            keys, head = (), str(backend)
        settings = ", ".join(f"{k} {attrs[k]}" for k in (*keys, "min_area", "max_masks") if k in attrs)
        line = f"{head} ({settings})" if settings else head
        if line not in lines:
            lines.append(line)
    return "; ".join(lines) if lines else "none"
