"""The sample squares of a Sentinel-2 chipping job: table checks, working CRS, groups of nearby squares."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import rasterio.errors
import scipy.ndimage
from rasterio.crs import CRS

from ...io.chips import S2_PIXEL_SIZE_M

#: Tolerance (in pixels) for deciding that two grids line up or that a square is 320 m wide.
GRID_TOLERANCE_PX: float = 1e-6

#: Tolerance (m) on the side of a sample square.
SQUARE_SIDE_TOLERANCE_M: float = 1e-3


@dataclass
class Squares:
    """Sample squares as arrays (N,)."""

    ids: np.ndarray
    xmin: np.ndarray
    ymax: np.ndarray


def squares_from_table(samples: pd.DataFrame, chip_px: int) -> Squares:
    """Validate the sample table and return its squares."""
    required = ["sample_id", "xmin", "ymin", "xmax", "ymax"]
    missing = [c for c in required if c not in samples.columns]
    if missing:
        raise ValueError(f"samples: missing column(s) {missing}; expected {required}")
    ids = samples["sample_id"].to_numpy()
    if ids.dtype.kind not in "iu":
        raise ValueError(f"samples: sample_id must be integers, got dtype {ids.dtype}")
    ids = ids.astype(np.int64)
    if len(np.unique(ids)) != len(ids):
        raise ValueError("samples: sample_id values are not unique")
    coords = {c: samples[c].to_numpy(dtype=np.float64) for c in required[1:]}
    if not all(np.isfinite(v).all() for v in coords.values()):
        raise ValueError("samples: xmin/ymin/xmax/ymax contain non-finite values")
    side = chip_px * S2_PIXEL_SIZE_M
    for lo, hi in (("xmin", "xmax"), ("ymin", "ymax")):
        bad = np.abs(coords[hi] - coords[lo] - side) > SQUARE_SIDE_TOLERANCE_M
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            size = coords[hi][i] - coords[lo][i]
            raise ValueError(
                f"samples: square of sample_id {ids[i]} has {hi}-{lo} = {size:.3f} m; "
                f"expected {side:g} m ({chip_px} px of {S2_PIXEL_SIZE_M:g} m)"
            )
    return Squares(ids, coords["xmin"], coords["ymax"])


def resolve_working_crs(samples: pd.DataFrame, working_crs: str | None) -> CRS:
    """The working CRS from the argument and/or the ``crs`` column (which must agree)."""
    column = [str(v) for v in pd.unique(samples["crs"])] if "crs" in samples.columns else []
    if working_crs is None:
        if len(column) != 1:
            raise ValueError(
                f"samples: cannot tell the working CRS (crs column values: {column}); pass working_crs"
            )
        working_crs = column[0]
    try:
        crs = CRS.from_user_input(working_crs)
    except rasterio.errors.CRSError as exc:
        raise ValueError(f"working_crs: {working_crs!r} is not a valid CRS ({exc})") from exc
    for value in column:
        if CRS.from_user_input(value) != crs:
            raise ValueError(f"samples: crs column has {value!r} but working_crs is {working_crs!r}")
    return crs


def group_squares(squares: Squares, tile_px: int, chip_px: int) -> list[np.ndarray]:
    """Index arrays (into ``squares``) of groups of nearby samples that are chipped together.

    Samples are first split by sub-pixel phase of their 10 m grid (so one grid serves a whole
    group) and by tile of ``tile_px`` target pixels (which bounds a group's extent and memory),
    then, inside a tile, into clusters of squares less than one square apart (8-connected on a
    grid of square-sized cells), so that one window read per cluster decodes little beyond what
    the squares cover. Groups come out tile by tile, north to south then west to east.
    """
    phase_x = np.round(np.mod(squares.xmin, S2_PIXEL_SIZE_M), 3) % S2_PIXEL_SIZE_M
    phase_y = np.round(np.mod(squares.ymax, S2_PIXEL_SIZE_M), 3) % S2_PIXEL_SIZE_M
    tile_m = tile_px * S2_PIXEL_SIZE_M
    tile_x = np.floor(squares.xmin / tile_m)
    tile_y = -np.floor(squares.ymax / tile_m)  # north first
    keys = np.stack([phase_x, phase_y, tile_y, tile_x], axis=1)
    _, inverse = np.unique(keys, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    order = np.argsort(inverse, kind="stable")
    groups: list[np.ndarray] = []
    for members in np.split(order, np.flatnonzero(np.diff(inverse[order])) + 1):
        groups.extend(_clusters(squares, members, chip_px))
    return groups


def _clusters(squares: Squares, members: np.ndarray, chip_px: int) -> list[np.ndarray]:
    """Split ``members`` (samples of one tile and phase) into clusters of nearby squares.

    Each square marks the 2×2 square-sized cells around its upper-left corner's cell; clusters
    are the 8-connected components of the marked cells.
    """
    if len(members) == 1:
        return [members]
    cell_m = chip_px * S2_PIXEL_SIZE_M
    # cells (of one square's size) touched by each square's top-left and bottom-right corners
    xmin, ymax = squares.xmin[members], squares.ymax[members]
    c0 = np.floor((xmin - xmin.min()) / cell_m + GRID_TOLERANCE_PX).astype(np.int64)
    r0 = np.floor((ymax.max() - ymax) / cell_m + GRID_TOLERANCE_PX).astype(np.int64)
    on_grid = np.zeros((int(r0.max()) + 2, int(c0.max()) + 2), dtype=bool)
    for dr in (0, 1):
        for dc in (0, 1):
            on_grid[r0 + dr, c0 + dc] = True
    labels, count = scipy.ndimage.label(on_grid, structure=np.ones((3, 3), dtype=bool))
    label_of = labels[r0, c0]
    if count == 1:
        return [members]
    order = np.argsort(label_of, kind="stable")
    return np.split(members[order], np.flatnonzero(np.diff(label_of[order])) + 1)
