"""The map's files (docs/contracts.md §12): the LCZ GeoTIFF, its PNG preview and the agreement CSV.

* GeoTIFF (uint8, one band): LCZ codes 1–17; **0 = nodata** (:data:`NODATA`) where the window is
  not wholly inside both rasters or a chipper excluded it (nodata, partial coverage). Tiled
  (256 × 256), deflate-compressed, nodata 0, with the standard LCZ colour table
  (:data:`df4lcz.constants.LCZ_COLORS`; entry 0 transparent) and tags recording the settings.
* PNG preview with a legend of the classes present.
* Agreement CSV (:data:`AGREEMENT_COLUMNS`, built by :mod:`df4lcz.mapping.agreement`), floats with
  6 significant digits.

Every file is written atomically.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import rasterio

from ..atomic import atomic_path
from ..constants import LCZ_CODES, LCZ_COLORS, LCZ_NAMES
from .grid import MapGrid

#: Output value of pixels without a class.
NODATA: int = 0

#: Tile size of the GeoTIFF.
GTIFF_BLOCK_PX: int = 256

#: The preview PNG is subsampled to at most this many pixels along its longer side.
PREVIEW_MAX_PX: int = 1600

#: Columns of the agreement CSV.
AGREEMENT_COLUMNS: tuple[str, ...] = ("reference", "lcz", "name", "n_pixels", "n_agree", "agreement", "n_unmapped")

PathLike = str | os.PathLike


def lcz_colormap() -> dict[int, tuple[int, int, int, int]]:
    """GeoTIFF colour table: ``0`` transparent, LCZ codes 1–17 with :data:`LCZ_COLORS` (opaque)."""
    return {NODATA: (0, 0, 0, 0), **{c: (*LCZ_COLORS[c], 255) for c in LCZ_CODES}}


def write_lcz_geotiff(
    path: PathLike, codes: np.ndarray, grid: MapGrid, tags: Mapping[str, Any] | None = None
) -> None:
    """Write ``codes`` ``(H, W)`` uint8 as a tiled, compressed GeoTIFF with the LCZ colour table (atomic)."""
    arr = np.asarray(codes)
    if arr.shape != grid.shape or arr.dtype != np.uint8:
        raise ValueError(f"{path}: codes must be uint8 of shape {grid.shape}, got {arr.dtype} {arr.shape}")
    profile = {
        "driver": "GTiff", "width": grid.width, "height": grid.height, "count": 1, "dtype": "uint8",
        "crs": grid.crs, "transform": grid.transform, "nodata": NODATA, "tiled": True,
        "blockxsize": GTIFF_BLOCK_PX, "blockysize": GTIFF_BLOCK_PX, "compress": "deflate",
    }
    with atomic_path(path) as tmp:
        with rasterio.open(tmp, "w", **profile) as dst:
            dst.write(arr, 1)
            dst.write_colormap(1, lcz_colormap())
            dst.set_band_description(1, "LCZ (1-17; 11-17 = A-G; 0 = nodata)")
            dst.update_tags(**{k: str(v) for k, v in (tags or {}).items()})


def _legend_label(code: int) -> str:
    return f"LCZ {LCZ_NAMES[code]}" if code > 10 else f"LCZ {code} {LCZ_NAMES[code]}"


def plot_lcz_map(codes: np.ndarray, grid: MapGrid, path: PathLike, title: str | None = None) -> None:
    """PNG preview of a map ``(H, W)`` with a legend of the classes present (written atomically)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    arr = np.asarray(codes)
    step = max(1, math.ceil(max(arr.shape) / PREVIEW_MAX_PX))
    view = arr[::step, ::step]
    palette = np.zeros((256, 4), dtype=np.float32)
    for code, rgba in lcz_colormap().items():
        palette[code] = np.asarray(rgba, dtype=np.float32) / 255.0
    t = grid.transform
    extent = (t.c, t.c + grid.width * grid.stride_m, t.f - grid.height * grid.stride_m, t.f)
    fig = Figure(figsize=(10.0, 7.5))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    ax.set_facecolor("white")
    ax.imshow(palette[view], extent=extent, interpolation="nearest")
    present = [c for c in LCZ_CODES if (arr == c).any()]
    handles = [Patch(facecolor=tuple(v / 255 for v in LCZ_COLORS[c]), edgecolor="0.3", label=_legend_label(c))
               for c in present]
    if (arr == NODATA).any():
        handles.append(Patch(facecolor="white", edgecolor="0.3", label="no data"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, title="class")
    ax.ticklabel_format(useOffset=False, style="plain")
    ax.set_xlabel(f"x (m, {grid.crs})")
    ax.set_ylabel("y (m)")
    ax.set_title(title or f"LCZ map, {grid.stride_m:g} m pixels ({grid.width} × {grid.height})")
    fig.subplots_adjust(left=0.1, right=0.68, top=0.93, bottom=0.08)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110)



def write_agreement(path: PathLike, table: pd.DataFrame) -> None:
    """Write the agreement table (:data:`AGREEMENT_COLUMNS`, floats ``%.6g``) as CSV (atomic)."""
    if list(table.columns) != list(AGREEMENT_COLUMNS):
        raise ValueError(f"{path}: agreement columns must be {list(AGREEMENT_COLUMNS)}, got {list(table.columns)}")
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False, float_format="%.6g")
