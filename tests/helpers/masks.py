"""Reference helpers for segmentation tests."""

from __future__ import annotations

import numpy as np


def mask_bbox_xywh(mask: np.ndarray) -> list[int]:
    """SAM-style ``[x, y, w, h]`` of a bool ``(H, W)`` mask (inclusive maxima; empty → zeros)."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    if len(rows) == 0:
        return [0, 0, 0, 0]
    return [int(cols[0]), int(rows[0]), int(cols[-1] - cols[0]), int(rows[-1] - rows[0])]


def records_of_masks(masks, scores: bool = True) -> list[dict]:
    """SAM-style records of bool ``(H, W)`` masks, in the given order (area and XYWH box computed here)."""
    nan = float("nan")
    return [
        {
            "segmentation": np.asarray(m, dtype=bool),
            "area": int(np.sum(m)),
            "bbox": mask_bbox_xywh(m),
            "predicted_iou": 0.9 if scores else nan,
            "stability_score": 0.95 if scores else nan,
        }
        for m in masks
    ]


def masks_of_label_map(labels: np.ndarray) -> list[np.ndarray]:
    """One bool mask per label present in a label map (0 = background), in label order."""
    return [labels == v for v in np.unique(labels) if v != 0]


def paint(masks, shape) -> np.ndarray:
    """Masks painted in order with a plain loop (later wins), labels 1..K; 0 = none."""
    out = np.zeros(shape, dtype=np.int64)
    for k, m in enumerate(masks, start=1):
        out[np.asarray(m, dtype=bool)] = k
    return out


def overlapping_masks() -> list[np.ndarray]:
    """Four masks of a 6 × 6 chip, largest first: 'small' overlaps 'big'; 'hidden' is covered by
    the later copy of itself (same pixel)."""
    big = np.zeros((6, 6), bool)
    big[:, :4] = True
    small = np.zeros((6, 6), bool)
    small[1:3, 2:6] = True
    hidden = np.zeros((6, 6), bool)
    hidden[4, 0] = True
    return [big, small, hidden, hidden.copy()]
