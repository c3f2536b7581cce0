"""From mask records to instance label maps: the content of the masks file.

:func:`postprocess_masks` sorts records by area (largest first, stable), drops those with
``area < min_area`` and keeps at most ``max_masks``. :func:`segment_images` paints the kept masks
into one instance label map per image in that order, so **where masks overlap, the smaller mask
wins** (it is painted later, over the larger one; small objects such as roofs stay visible on top
of large background masks). Masks left with no visible pixel are dropped and labels renumbered,
so label ``k`` (1-based) is the ``k``-th kept mask and every label 1..K occurs; 0 = background.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..io.masks import MaskSet
from ..logs import progress
from .protocol import Segmenter

#: Overlap rule recorded in the masks file.
OVERLAP_RULE: str = "masks painted largest first; where masks overlap the smaller mask wins"

#: Label type of :func:`paint_labels` when none is given.
_UINT8: np.dtype = np.dtype(np.uint8)


def postprocess_masks(records: Sequence[dict[str, Any]], min_area: int, max_masks: int) -> list[dict[str, Any]]:
    """Sort records by ``area`` (largest first, ties keep their order), drop ``area < min_area``,
    keep at most ``max_masks``."""
    if min_area < 0 or max_masks < 0:
        raise ValueError(f"min_area and max_masks must be >= 0, got {min_area}, {max_masks}")
    ordered = sorted(records, key=lambda r: -int(r["area"]))
    return [r for r in ordered if int(r["area"]) >= min_area][:max_masks]


def label_dtype(max_masks: int) -> np.dtype:
    """uint8 when ``max_masks`` ≤ 255, else uint16."""
    if max_masks > np.iinfo(np.uint16).max:
        raise ValueError(f"max_masks {max_masks} exceeds {np.iinfo(np.uint16).max}")
    return np.dtype(np.uint8 if max_masks <= np.iinfo(np.uint8).max else np.uint16)


def paint_labels(
    records: Sequence[dict[str, Any]], shape: tuple[int, int], dtype: np.dtype = _UINT8
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Paint records (already ordered largest first) into an instance label map.

    Later (smaller) masks overwrite earlier ones; records left without visible pixels are dropped
    and the labels renumbered 1..K.

    Returns:
        ``labels`` ``(H, W)``, ``kept`` (K,) indices into ``records``, ``visible`` (K,) pixel counts.
    """
    if len(records) > np.iinfo(dtype).max:
        raise ValueError(f"{len(records)} masks do not fit labels of type {dtype}")
    labels = np.zeros(shape, dtype=dtype)
    for k, rec in enumerate(records, start=1):
        seg = rec["segmentation"]
        if seg.shape != shape:
            raise ValueError(f"mask {k - 1} has shape {seg.shape}; expected {shape}")
        labels[seg] = k
    counts = np.bincount(labels.ravel(), minlength=len(records) + 1)[1:]
    kept = np.flatnonzero(counts > 0)
    if len(kept) < len(records):
        remap = np.zeros(len(records) + 1, dtype=dtype)
        remap[kept + 1] = np.arange(1, len(kept) + 1, dtype=dtype)
        labels = remap[labels]
    return labels, kept, counts[kept].astype(np.int64)


def segment_images(images: np.ndarray, segmenter: Segmenter, min_area: int, max_masks: int) -> MaskSet:
    """Segment ``(N, H, W, 3)`` uint8 images and build their label maps (module docstring).

    Args:
        images: RGB chips.
        segmenter: a :class:`~df4lcz.segmentation.sam.SamSegmenter` or
            :class:`~df4lcz.segmentation.classical.ClassicalSegmenter`.
        min_area: masks with fewer pixels are dropped (``segment.min_area``).
        max_masks: at most this many masks per image, largest first (``segment.max_masks``).
    """
    imgs = np.asarray(images)
    if imgs.ndim != 4 or imgs.shape[3] != 3 or imgs.dtype != np.uint8:
        raise ValueError(f"images must be (N, H, W, 3) uint8, got {imgs.dtype} {imgs.shape}")
    n, h, w = imgs.shape[:3]
    dtype = label_dtype(max_masks)
    labels = np.zeros((n, h, w), dtype=dtype)
    counts = np.zeros(n, dtype=np.int64)
    bbox, area, visible, iou, stab = [], [], [], [], []
    for i in progress(range(n), desc=f"segment ({segmenter.backend})"):
        kept_records = postprocess_masks(segmenter.segment(imgs[i]), min_area, max_masks)
        labels[i], kept, vis = paint_labels(kept_records, (h, w), dtype)
        recs = [kept_records[j] for j in kept]
        counts[i] = len(recs)
        bbox += [r["bbox"] for r in recs]
        area += [r["area"] for r in recs]
        iou += [r["predicted_iou"] for r in recs]
        stab += [r["stability_score"] for r in recs]
        visible.append(vis)
    params = {**segmenter.describe(), "min_area": int(min_area), "max_masks": int(max_masks),
              "overlap_rule": OVERLAP_RULE}
    return MaskSet(
        labels=labels,
        mask_ptr=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
        bbox=np.asarray(bbox, dtype=np.int32).reshape(-1, 4),
        area=np.asarray(area, dtype=np.int64),
        visible_area=np.concatenate(visible).astype(np.int64) if visible else np.zeros(0, np.int64),
        predicted_iou=np.asarray(iou, dtype=np.float32),
        stability_score=np.asarray(stab, dtype=np.float32),
        params=params,
    )
