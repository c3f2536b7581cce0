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
