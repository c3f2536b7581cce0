"""Map tiles: the region's grid cut into square blocks of output pixels, one map job each.

The owner of three map files (docs/contracts.md §12):

* the **tile plan** (``results/maps/tiles/{region}/plan.json``, :func:`write_plan` / :func:`read_plan`):
  the output grid, the area covered by both rasters (WKB, hex) and the list of tiles. It is a pure
  function of the raster footprints, the stride and ``map.tile_windows``, cheap to compute;
* a **tile** (``results/maps/tiles/{region}/{tile}.tif``, :func:`write_tile` / :func:`check_tile`): the
  fused class probabilities of the tile's pixels, 17 float32 bands (band ``k`` = LCZ code ``k``),
  **NaN = nodata** where no window was classified;
* a **stream tile** (``results/maps/tiles/{region}/{tile}_streams.tif``, :func:`write_stream_tile` /
  :func:`read_stream_tile`; with ``map.uncertainty``): each stream's most probable LCZ per pixel, 2
  uint8 bands (band 1 the Sentinel-2 stream's, band 2 the GCN's), **0 = nodata**;
* the **VRT of the tiles** (``results/maps/{region}_tiles.vrt``, :func:`write_tiles_vrt`): the tiles
  as one 17-band raster over the whole grid (GDAL's VRT driver reads it; NaN where no tile).

A tile is a block of ``tile_px × tile_px`` output pixels, ``tile_px = round(√map.tile_windows)``,
blocks aligned on the grid's top-left corner (the last row/column of blocks may be narrower); only
blocks holding at least one window wholly inside both rasters are tiles. Its id is
``r{row_off}c{col_off}`` (its first output row and column).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import numpy as np
import rasterio
import rasterio.errors
import shapely
from pyproj import CRS
from rasterio.transform import Affine
from shapely.geometry.base import BaseGeometry

from ..atomic import atomic_path, write_text_atomic
from ..constants import LCZ_CODES, LCZ_NAMES, N_CLASSES
from ..errors import ConfigError, ContractError
from .grid import MapGrid, candidate_rows

#: ``format`` entry of a tile plan.
PLAN_FORMAT: str = "df4lcz-map-tiles"
#: Version of the tile plan layout.
PLAN_VERSION: int = 1
#: Nodata of a tile's probability bands.
TILE_NODATA: float = float("nan")
#: Data type of a tile's probability bands.
TILE_DTYPE: str = "float32"
#: Data type and nodata of a stream tile's two bands (the streams' most probable LCZ codes).
STREAM_TILE_DTYPE: str = "uint8"
STREAM_TILE_NODATA: int = 0
#: Band descriptions of a stream tile.
STREAM_TILE_BANDS: tuple[str, ...] = (
    "most probable LCZ of the Sentinel-2 stream (0 = nodata)",
    "most probable LCZ of the GCN stream (0 = nodata)",
)
#: Pattern of a tile id (the ``{tile}`` wildcard of rule ``lcz_map_tile``).
TILE_ID_PATTERN: str = r"r\d+c\d+"

PathLike = str | os.PathLike


@dataclass(frozen=True)
class MapTile:
    """One block of output pixels (rows ``row_off … row_off + height − 1``, likewise columns).

    Attributes:
        id: ``r{row_off}c{col_off}``.
        row_off, col_off: first output row / column of the block.
        height, width: block size in pixels.
        n_windows: windows of the block wholly inside both rasters.
    """

    id: str
    row_off: int
    col_off: int
    height: int
    width: int
    n_windows: int

    @property
    def rows(self) -> range:
        """Output rows of the tile."""
        return range(self.row_off, self.row_off + self.height)

    @property
    def cols(self) -> range:
        """Output columns of the tile."""
        return range(self.col_off, self.col_off + self.width)


@dataclass(frozen=True)
class TilePlan:
    """The output grid, the covered area and the tiles of one region's map."""

    grid: MapGrid
    coverage: BaseGeometry
    tile_windows: int
    tile_px: int
    tiles: tuple[MapTile, ...]

    @property
    def n_windows(self) -> int:
        """Windows of the map wholly inside both rasters."""
        return sum(t.n_windows for t in self.tiles)

    def tile(self, tile_id: str) -> MapTile:
        """The tile named ``tile_id`` (``KeyError`` naming the known range when absent)."""
        for t in self.tiles:
            if t.id == tile_id:
                return t
        raise KeyError(
            f"tile {tile_id!r} is not in the plan ({len(self.tiles)} tiles"
            f"{', e.g. ' + self.tiles[0].id if self.tiles else ''})"
        )


def tile_side(tile_windows: int) -> int:
    """Side (output pixels) of a square tile of about ``tile_windows`` windows."""
    if int(tile_windows) != tile_windows or tile_windows < 1:
        raise ConfigError(f"map.tile_windows: {tile_windows!r} must be an integer ≥ 1")
    return max(1, round(math.sqrt(int(tile_windows))))


def tile_id(row_off: int, col_off: int) -> str:
    """Id of the tile whose first pixel is ``(row_off, col_off)``."""
    return f"r{row_off}c{col_off}"


def plan_tiles(grid: MapGrid, coverage: BaseGeometry, tile_windows: int) -> TilePlan:
    """Cut ``grid`` into square tiles of about ``tile_windows`` windows; keep those holding a window."""
    side = tile_side(tile_windows)
    counts = np.zeros((math.ceil(grid.height / side), math.ceil(grid.width / side)), dtype=np.int64)
    for row, flat in zip(range(grid.height), candidate_rows(grid, coverage)):
        cols = flat - row * grid.width
        np.add.at(counts[row // side], cols // side, 1)
    tiles = []
    for (ti, tj), n in np.ndenumerate(counts):
        if n == 0:
            continue
        r0, c0 = ti * side, tj * side
        tiles.append(
            MapTile(tile_id(r0, c0), r0, c0, min(side, grid.height - r0), min(side, grid.width - c0), int(n))
        )
    return TilePlan(grid, coverage, int(tile_windows), side, tuple(tiles))


def write_plan(path: PathLike, plan: TilePlan) -> None:
    """Write a tile plan as JSON (atomic)."""
    g = plan.grid
    doc = {
        "format": PLAN_FORMAT,
        "version": PLAN_VERSION,
        "grid": {
            "crs": g.crs,
            "transform": list(g.transform)[:6],
            "width": g.width,
            "height": g.height,
            "stride_m": g.stride_m,
            "window_m": g.window_m,
        },
        "coverage_wkb": shapely.to_wkb(plan.coverage, hex=True),
        "tile_windows": plan.tile_windows,
        "tile_px": plan.tile_px,
        "n_windows": plan.n_windows,
        "tiles": [asdict(t) for t in plan.tiles],
    }
    write_text_atomic(path, json.dumps(doc, indent=1) + "\n")


def read_plan(path: PathLike) -> TilePlan:
    """Read a tile plan written by :func:`write_plan`.

    Raises:
        FileNotFoundError: no such file.
        ContractError (a ValueError): not a tile plan of this version.
    """
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ContractError(f"{path}: not a JSON tile plan ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != PLAN_FORMAT or doc.get("version") != PLAN_VERSION:
        raise ContractError(
            f"{path}: expected a map tile plan (format {PLAN_FORMAT!r}, version {PLAN_VERSION})"
        )
    try:
        g = doc["grid"]
        grid = MapGrid(
            str(g["crs"]),
            Affine(*[float(v) for v in g["transform"]]),
            int(g["width"]),
            int(g["height"]),
            float(g["stride_m"]),
            float(g["window_m"]),
        )
        tiles = tuple(MapTile(**t) for t in doc["tiles"])
        coverage = shapely.from_wkb(doc["coverage_wkb"])
        return TilePlan(grid, coverage, int(doc["tile_windows"]), int(doc["tile_px"]), tiles)
    except (KeyError, TypeError, shapely.errors.GEOSException) as exc:
        raise ContractError(f"{path}: malformed map tile plan ({exc!r})") from None


def tile_transform(grid: MapGrid, tile: MapTile) -> Affine:
    """Affine transform of a tile's raster."""
    return grid.transform @ Affine.translation(tile.col_off, tile.row_off)


def write_tile(
    path: PathLike,
    probabilities: np.ndarray,
    grid: MapGrid,
    tile: MapTile,
    tags: Mapping[str, Any] | None = None,
) -> None:
    """Write a tile's probabilities ``(17, height, width)`` (NaN = no window) as a float32 GeoTIFF (atomic)."""
    arr = np.asarray(probabilities, dtype=np.float32)
    if arr.shape != (N_CLASSES, tile.height, tile.width):
        raise ValueError(
            f"{path}: tile probabilities must have shape {(N_CLASSES, tile.height, tile.width)}, "
            f"got {arr.shape}"
        )
    profile = {
        "driver": "GTiff",
        "width": tile.width,
        "height": tile.height,
        "count": N_CLASSES,
        "dtype": TILE_DTYPE,
        "crs": grid.crs,
        "transform": tile_transform(grid, tile),
        "nodata": TILE_NODATA,
        "compress": "deflate",
        "interleave": "pixel",
    }
    with atomic_path(path) as tmp:
        with rasterio.open(tmp, "w", **profile) as dst:
            dst.write(arr)
            for code in LCZ_CODES:
                dst.set_band_description(code, f"P(LCZ {code}: {LCZ_NAMES[code]})")
            dst.update_tags(tile=tile.id, **{k: str(v) for k, v in (tags or {}).items()})


def stream_tile_path(tile_path: PathLike) -> Path:
    """The stream tile beside the tile file ``tile_path`` (``{tile}.tif`` → ``{tile}_streams.tif``)."""
    p = Path(tile_path)
    return p.with_name(f"{p.stem}_streams.tif")


def write_stream_tile(path: PathLike, codes: np.ndarray, grid: MapGrid, tile: MapTile) -> None:
    """Write a tile's streams' most probable LCZ codes ``(2, height, width)`` uint8 (0 = no window) (atomic)."""
    arr = np.asarray(codes)
    if arr.shape != (2, tile.height, tile.width) or arr.dtype != np.uint8:
        raise ValueError(
            f"{path}: stream codes must be uint8 of shape {(2, tile.height, tile.width)}, "
            f"got {arr.dtype} {arr.shape}"
        )
    profile = {
        "driver": "GTiff",
        "width": tile.width,
        "height": tile.height,
        "count": 2,
        "dtype": STREAM_TILE_DTYPE,
        "crs": grid.crs,
        "transform": tile_transform(grid, tile),
        "nodata": STREAM_TILE_NODATA,
        "compress": "deflate",
    }
    with atomic_path(path) as tmp:
        with rasterio.open(tmp, "w", **profile) as dst:
            dst.write(arr)
            for band, text in enumerate(STREAM_TILE_BANDS, start=1):
                dst.set_band_description(band, text)
            dst.update_tags(tile=tile.id)


def read_stream_tile(path: PathLike, grid: MapGrid, tile: MapTile) -> np.ndarray:
    """The ``(2, height, width)`` uint8 stream codes of stream tile ``path`` of ``tile``.

    Raises:
        FileNotFoundError: no such file.
        ContractError (a ValueError): not a readable raster, or not this tile's stream tile.
    """
    if not Path(path).exists():
        raise FileNotFoundError(f"{path}: stream tile of map tile {tile.id} is missing")
    try:
        with rasterio.open(path) as src:
            got = (src.count, src.dtypes[0], src.height, src.width)
            transform, data = src.transform, src.read()
    except rasterio.errors.RasterioIOError as exc:
        raise ContractError(f"{path}: not a readable raster ({exc})") from None
    want = (2, STREAM_TILE_DTYPE, tile.height, tile.width)
    if got != want or not transform.almost_equals(tile_transform(grid, tile)):
        raise ContractError(
            f"{path}: expected the stream tile of {tile.id} (2 {STREAM_TILE_DTYPE} bands of {tile.height} × "
            f"{tile.width} px), got bands/dtype/size {got}; remove it and rerun the map"
        )
    return data


def check_tile(path: PathLike, grid: MapGrid, tile: MapTile) -> dict[str, str]:
    """Check that ``path`` is the tile ``tile`` of ``grid`` (bands, dtype, size, position); return its tags.

    Raises:
        FileNotFoundError: no such file.
        ContractError (a ValueError): not a readable raster, or not this tile.
    """
    if not Path(path).exists():
        raise FileNotFoundError(f"{path}: map tile {tile.id} is missing")
    try:
        with rasterio.open(path) as src:
            got = (src.count, src.dtypes[0], src.height, src.width)
            transform, tags = src.transform, src.tags()
    except rasterio.errors.RasterioIOError as exc:
        raise ContractError(f"{path}: not a readable raster ({exc})") from None
    want = (N_CLASSES, TILE_DTYPE, tile.height, tile.width)
    if got != want or not transform.almost_equals(tile_transform(grid, tile)):
        raise ContractError(
            f"{path}: expected map tile {tile.id} ({N_CLASSES} {TILE_DTYPE} bands of {tile.height} × "
            f"{tile.width} px at {tuple(tile_transform(grid, tile))[:6]}), got bands/dtype/size {got} "
            f"at {tuple(transform)[:6]}; remove it and rerun the map"
        )
    return tags


def write_tiles_vrt(
    path: PathLike, grid: MapGrid, tiles: Sequence[MapTile], tile_paths: Sequence[PathLike]
) -> None:
    """Write the VRT mosaic of ``tiles`` (files ``tile_paths``) over the whole grid (atomic).

    Tile paths are stored relative to the VRT when they lie below its folder.
    """
    if len(tiles) != len(tile_paths):
        raise ValueError(f"{path}: {len(tiles)} tiles but {len(tile_paths)} tile files")
    folder = Path(path).resolve().parent
    t = grid.transform
    lines = [
        f'<VRTDataset rasterXSize="{grid.width}" rasterYSize="{grid.height}">',
        f'  <SRS dataAxisToSRSAxisMapping="1,2">{escape(CRS.from_user_input(grid.crs).to_wkt())}</SRS>',
        f"  <GeoTransform>{t.c!r}, {t.a!r}, {t.b!r}, {t.f!r}, {t.d!r}, {t.e!r}</GeoTransform>",
    ]
    sources = []
    for tile, tile_path in zip(tiles, tile_paths):
        resolved = Path(tile_path).resolve()
        try:
            name, relative = resolved.relative_to(folder).as_posix(), 1
        except ValueError:
            name, relative = str(resolved), 0
        sources.append((tile, name, relative))
    for band in LCZ_CODES:
        lines.append(f'  <VRTRasterBand dataType="Float32" band="{band}">')
        lines.append("    <NoDataValue>nan</NoDataValue>")
        lines.append(f"    <Description>{escape(f'P(LCZ {band}: {LCZ_NAMES[band]})')}</Description>")
        for tile, name, relative in sources:
            lines += [
                "    <SimpleSource>",
                f'      <SourceFilename relativeToVRT="{relative}">{escape(name)}</SourceFilename>',
                f"      <SourceBand>{band}</SourceBand>",
                f'      <SrcRect xOff="0" yOff="0" xSize="{tile.width}" ySize="{tile.height}"/>',
                f'      <DstRect xOff="{tile.col_off}" yOff="{tile.row_off}" xSize="{tile.width}" ySize="{tile.height}"/>',
                "    </SimpleSource>",
            ]
        lines.append("  </VRTRasterBand>")
    lines.append("</VRTDataset>")
    write_text_atomic(path, "\n".join(lines) + "\n")
