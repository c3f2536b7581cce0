"""The raster window under each sample square (shared by the up-front checks and the cloud fractions)."""

from __future__ import annotations

import math

import numpy as np
import rasterio
import rasterio.warp
from rasterio.crs import CRS
from rasterio.windows import Window

#: Pixel edges closer than this (in pixels) to a square's edge count as on it (floating-point noise).
EDGE_TOLERANCE_PX: float = 1e-6


def square_windows(dataset: rasterio.io.DatasetReader, crs: CRS, bounds: np.ndarray) -> list[Window | None]:
    """The raster window covering each square (corners and edge midpoints transformed), clipped.

    ``None`` where a square misses the raster.
    """
    fx = np.array([0.0, 0.5, 1.0, 1.0, 1.0, 0.5, 0.0, 0.0])
    fy = np.array([0.0, 0.0, 0.0, 0.5, 1.0, 1.0, 1.0, 0.5])
    xs = bounds[:, :1] + fx * (bounds[:, 2:3] - bounds[:, :1])
    ys = bounds[:, 1:2] + fy * (bounds[:, 3:4] - bounds[:, 1:2])
    if dataset.crs != crs:
        tx, ty = rasterio.warp.transform(crs, dataset.crs, xs.ravel(), ys.ravel())
        xs, ys = np.asarray(tx).reshape(xs.shape), np.asarray(ty).reshape(ys.shape)
    inv = ~dataset.transform
    cols = inv.a * xs + inv.b * ys + inv.c
    rows = inv.d * xs + inv.e * ys + inv.f
    out: list[Window | None] = []
    for c, r in zip(cols, rows):
        if not (np.isfinite(c).all() and np.isfinite(r).all()):
            out.append(None)
            continue
        c0, c1 = (
            max(math.floor(c.min() + EDGE_TOLERANCE_PX), 0),
            min(math.ceil(c.max() - EDGE_TOLERANCE_PX), dataset.width),
        )
        r0, r1 = (
            max(math.floor(r.min() + EDGE_TOLERANCE_PX), 0),
            min(math.ceil(r.max() - EDGE_TOLERANCE_PX), dataset.height),
        )
        out.append(Window(c0, r0, c1 - c0, r1 - r0) if c1 > c0 and r1 > r0 else None)
    return out
