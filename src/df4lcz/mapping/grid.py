"""The map grid: output pixels = window centres, the windows inside both rasters, their sample table.

A 320 m window (:data:`WINDOW_M`, one DF4LCZ scene: a 32 × 32 Sentinel-2 chip) slides over the
region in the working CRS with a step of ``stride_m``. Output pixel ``(row, col)`` is ``stride_m``
wide and carries the class of the window **centred on it**. The output pixels tile the bounding
box of the overlap of the Google and Sentinel-2 footprints: ``width = ceil((xmax - xmin) /
stride_m)``, ``height`` likewise, with the first window centre moved by less than 5 m so that
window centres (hence, for strides that are multiples of 10 m, window corners) lie on the
Sentinel-2 10 m pixel grid — the Sentinel-2 chips are then plain pixel blocks, without
resampling. Output origin = first centre − ``stride_m / 2``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
import rasterio
import rasterio.errors
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError
from rasterio.transform import Affine
from shapely.geometry.base import BaseGeometry

from ..chipping.google.sources import GoogleInput
from ..constants import S2_CHIP_PX
from ..errors import ConfigError, InputError
from ..io.chips import S2_PIXEL_SIZE_M
from ..sampling.footprints import google_footprint, sentinel2_footprint, sentinel2_reference_file

#: Side of the classified window (m): one Sentinel-2 chip of 32 × 10 m (a DF4LCZ scene).
WINDOW_M: float = S2_CHIP_PX * S2_PIXEL_SIZE_M

#: Snapping tolerance (m) of the window grid.
_EPS_M: float = 1e-6

PathLike = str | os.PathLike


@dataclass(frozen=True)
class MapGrid:
    """The output grid: ``height × width`` pixels of ``stride_m`` in ``crs``; pixel = window centre.

    Attributes:
        crs: working CRS (e.g. ``"EPSG:32650"``).
        transform: north-up affine transform of the output raster.
        width, height: output size in pixels.
        stride_m: output pixel size = step between window centres (m).
        window_m: side of the classified window (m).
    """

    crs: str
    transform: Affine
    width: int
    height: int
    stride_m: float
    window_m: float = WINDOW_M

    @property
    def shape(self) -> tuple[int, int]:
        """``(height, width)``."""
        return self.height, self.width

    def centres(self, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Window centres ``x``, ``y`` (float64, same shape as ``rows``/``cols``) in the working CRS."""
        x = self.transform.c + (np.asarray(cols, dtype=np.float64) + 0.5) * self.stride_m
        y = self.transform.f - (np.asarray(rows, dtype=np.float64) + 0.5) * self.stride_m
        return x, y

    def window_bounds(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """``(N, 4)`` float64 ``xmin, ymin, xmax, ymax`` of the windows centred on pixels ``(rows, cols)``."""
        x, y = self.centres(np.ravel(rows), np.ravel(cols))
        h = self.window_m / 2.0
        return np.stack([x - h, y - h, x + h, y + h], axis=1)


def _snap(value: float, phase: float, step: float = S2_PIXEL_SIZE_M) -> float:
    """``value`` moved to the nearest point of the grid ``phase + k·step``."""
    return phase + round((value - phase) / step) * step


def _grid_phase(reference: str | os.PathLike, crs: CRS) -> tuple[float, float]:
    """Offset (m) of the Sentinel-2 10 m pixel grid in the working CRS (0, 0 when not in that CRS)."""
    try:
        with rasterio.open(reference) as src:
            t, src_crs = src.transform, src.crs
    except rasterio.errors.RasterioIOError as exc:
        raise InputError(f"{reference}: not a readable raster ({exc})") from exc
    north_up = (
        t.b == 0
        and t.d == 0
        and math.isclose(abs(t.a), S2_PIXEL_SIZE_M)
        and math.isclose(abs(t.e), S2_PIXEL_SIZE_M)
    )
    if src_crs is None or CRS.from_user_input(src_crs) != crs or not north_up:
        return 0.0, 0.0
    return float(t.c % S2_PIXEL_SIZE_M), float(t.f % S2_PIXEL_SIZE_M)


def map_grid(
    google: GoogleInput, sentinel2: PathLike, stride_m: float, working_crs: str | None
) -> tuple[MapGrid, BaseGeometry]:
    """The output grid of a region and the area covered by both rasters (:mod:`df4lcz.mapping`).

    Args:
        google: Google Earth input (any form of :mod:`df4lcz.chipping.google.sources`).
        sentinel2: Sentinel-2 multi-band raster or band folder.
        stride_m: output pixel size (m), > 0.
        working_crs: CRS of the map; ``None``: the Sentinel-2 input's CRS.

    Returns:
        ``(grid, coverage)``: the :class:`MapGrid` and the footprint intersection (working CRS).

    Raises:
        FileNotFoundError: an input is missing.
        ValueError: bad stride, unreadable rasters, or rasters that do not overlap.
    """
    if not (isinstance(stride_m, (int, float)) and math.isfinite(stride_m) and stride_m > 0):
        raise ValueError(f"stride_m: {stride_m!r} must be a positive number of metres")
    reference = sentinel2_reference_file(sentinel2)
    if working_crs is None:
        try:
            with rasterio.open(reference) as src:
                if src.crs is None:
                    raise InputError(f"{reference}: raster has no CRS; georeference it or pass working_crs")
                working_crs = src.crs.to_string()
        except rasterio.errors.RasterioIOError as exc:
            raise InputError(f"{reference}: not a readable raster ({exc})") from exc
    try:
        crs = CRS.from_user_input(working_crs)
    except CRSError as exc:
        raise ConfigError(f"working_crs: {working_crs!r} is not a CRS ({exc})") from None
    crs_name = crs.to_string()
    coverage = shapely.intersection(
        google_footprint(google, crs_name), sentinel2_footprint(sentinel2, crs_name)
    )
    if coverage.is_empty or coverage.area <= 0:
        raise InputError(
            f"the Google raster {google} and the Sentinel-2 input {sentinel2} do not overlap "
            f"(in {crs_name}); nothing to map"
        )
    left, bottom, right, top = coverage.bounds
    width = max(1, math.ceil((right - left) / stride_m - _EPS_M))
    height = max(1, math.ceil((top - bottom) / stride_m - _EPS_M))
    phase_x, phase_y = _grid_phase(reference, crs)
    cx0 = _snap(left + stride_m / 2.0, phase_x)
    cy0 = _snap(top - stride_m / 2.0, phase_y)
    transform = Affine(
        float(stride_m), 0.0, cx0 - stride_m / 2.0, 0.0, -float(stride_m), cy0 + stride_m / 2.0
    )
    return MapGrid(crs_name, transform, int(width), int(height), float(stride_m)), coverage


def candidate_rows(
    grid: MapGrid, coverage: BaseGeometry, rows: range | None = None, cols: range | None = None
) -> Iterator[np.ndarray]:
    """Per output row of ``rows``, the flat indices (int64) of its windows in ``cols`` wholly inside ``coverage``.

    ``rows`` / ``cols`` default to the whole grid; a map tile (:mod:`df4lcz.mapping.tiles`) passes its own.
    """
    shapely.prepare(coverage)
    rows = range(grid.height) if rows is None else rows
    col_idx = np.arange(grid.width) if cols is None else np.arange(cols.start, cols.stop, dtype=np.int64)
    for row in rows:
        b = grid.window_bounds(np.full(len(col_idx), row), col_idx)
        inside = shapely.contains(coverage, shapely.box(b[:, 0], b[:, 1], b[:, 2], b[:, 3]))
        yield row * grid.width + col_idx[inside].astype(np.int64)


def candidate_batches(
    grid: MapGrid,
    coverage: BaseGeometry,
    batch_size: int,
    rows: range | None = None,
    cols: range | None = None,
) -> Iterator[np.ndarray]:
    """Flat pixel indices (row-major, int64) of the windows inside ``coverage``, ``batch_size`` at a time.

    ``rows`` / ``cols``: as :func:`candidate_rows`.
    """
    pending: list[np.ndarray] = []
    n_pending = 0
    for flat in candidate_rows(grid, coverage, rows, cols):
        pending.append(flat)
        n_pending += len(flat)
        while n_pending >= batch_size:
            joined = np.concatenate(pending)
            yield joined[:batch_size]
            rest = joined[batch_size:]
            pending, n_pending = [rest], len(rest)
    if n_pending:
        yield np.concatenate(pending)


def window_table(grid: MapGrid, flat: np.ndarray) -> pd.DataFrame:
    """Sample table of windows (``sample_id`` = flat pixel index, ``crs``, ``xmin … ymax``) for the chippers."""
    rows, cols = np.divmod(np.asarray(flat, dtype=np.int64), grid.width)
    b = grid.window_bounds(rows, cols)
    return pd.DataFrame(
        {
            "sample_id": np.asarray(flat, dtype=np.int64),
            "crs": grid.crs,
            "xmin": b[:, 0],
            "ymin": b[:, 1],
            "xmax": b[:, 2],
            "ymax": b[:, 3],
        }
    )
