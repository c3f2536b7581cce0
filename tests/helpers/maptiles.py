"""Synthetic map grids, plans and tiles for the map-tile tests (no rasters, no models needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import shapely
from rasterio.transform import Affine

from df4lcz.constants import N_CLASSES
from df4lcz.mapping.grid import MapGrid
from df4lcz.mapping.tiles import TilePlan, plan_tiles, write_tile

#: Working CRS of the synthetic grids (UTM 50N).
CRS = "EPSG:32650"
#: Top-left corner of the synthetic grids.
ORIGIN = (500_000.0, 4_000_000.0)


def synthetic_grid(height: int, width: int, stride_m: float = 100.0) -> MapGrid:
    """A north-up grid of ``height × width`` pixels of ``stride_m`` at :data:`ORIGIN`."""
    x0, y0 = ORIGIN
    return MapGrid(CRS, Affine(stride_m, 0.0, x0, 0.0, -stride_m, y0), width, height, stride_m)


def inset_coverage(grid: MapGrid, inset_m: float) -> shapely.Polygon:
    """The grid's extent shrunk by ``inset_m`` on every side (the area covered by both rasters)."""
    t = grid.transform
    return shapely.box(
        t.c + inset_m,
        t.f - grid.height * grid.stride_m + inset_m,
        t.c + grid.width * grid.stride_m - inset_m,
        t.f - inset_m,
    )


def random_probabilities(height: int, width: int, seed: int, holes: float = 0.1) -> np.ndarray:
    """``(17, H, W)`` float32 probabilities (Dirichlet, rows summing to 1) with a fraction of NaN pixels."""
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.full(N_CLASSES, 0.3), size=(height, width)).astype(np.float32)
    p = np.moveaxis(p, -1, 0)
    p[:, rng.random((height, width)) < holes] = np.nan
    return p


def write_plan_tiles(
    plan: TilePlan, probabilities: np.ndarray, folder: Path, tags: dict[str, str] | None = None
) -> list[Path]:
    """Write each tile of ``plan`` with its block of ``probabilities`` ``(17, H, W)``; pixels whose window is
    not inside the plan's coverage are NaN (as a tile job leaves them). Returns the tile paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for tile in plan.tiles:
        block = probabilities[:, tile.rows.start : tile.rows.stop, tile.cols.start : tile.cols.stop]
        path = folder / f"{tile.id}.tif"
        write_tile(path, block, plan.grid, tile, tags or {"stride_m": plan.grid.stride_m})
        paths.append(path)
    return paths


def plan_for(height: int, width: int, tile_windows: int, inset_m: float = 0.0) -> TilePlan:
    """Plan of a synthetic grid whose coverage is the extent grown by half a window minus ``inset_m``."""
    grid = synthetic_grid(height, width)
    return plan_tiles(grid, inset_coverage(grid, inset_m - grid.window_m / 2), tile_windows)
