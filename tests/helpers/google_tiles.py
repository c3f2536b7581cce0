"""Google imagery in the forms users have it, cut from one Web-Mercator mosaic by test code.

:func:`tile_aligned_mosaic` makes an RGB raster on the zoom-``z`` tile grid (whole 256-px tiles)
covering a box; the writers cut that same array into an XYZ or TMS tile folder of PNGs (lossless),
an MBTiles file (SQLite, the same PNG bytes, rows in TMS order) and a set of GeoTIFF tiles. Every
form then holds exactly the pixels of the single mosaic GeoTIFF (:func:`write_mosaic_geotiff`).

The tile arithmetic here is written from the definition (tile ``(z, x, y)`` spans EPSG:3857 x from
``-H + x·C/2^z`` to ``-H + (x+1)·C/2^z``, rows from the north) independently of
``df4lcz.chipping.google.sources``.
"""

from __future__ import annotations

import math
import sqlite3
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
import rasterio.enums
import rasterio.warp
from pyproj import Transformer
from rasterio.errors import NotGeoreferencedWarning
from rasterio.io import MemoryFile
from rasterio.transform import from_origin

#: Half the Web-Mercator square (m) and the tile side (px) of the XYZ/TMS grids.
HALF_M = 20037508.342789244
TILE = 256


@dataclass(frozen=True)
class Mosaic:
    """An RGB uint8 raster on the zoom-``zoom`` tile grid: tiles ``x0.. x0+nx-1`` × ``y0.. y0+ny-1`` (XYZ)."""

    data: np.ndarray  # (3, ny·256, nx·256)
    zoom: int
    x0: int
    y0: int

    @property
    def nx(self) -> int:
        return self.data.shape[2] // TILE

    @property
    def ny(self) -> int:
        return self.data.shape[1] // TILE

    @property
    def transform(self) -> rasterio.Affine:
        tile_m = 2 * HALF_M / 2**self.zoom
        return from_origin(
            -HALF_M + self.x0 * tile_m, HALF_M - self.y0 * tile_m, tile_m / TILE, tile_m / TILE
        )

    def tiles(self) -> Iterable[tuple[int, int, np.ndarray]]:
        """``(x, y_xyz, (3, 256, 256) pixels)`` of every tile."""
        for j in range(self.ny):
            for i in range(self.nx):
                yield (
                    self.x0 + i,
                    self.y0 + j,
                    self.data[:, j * TILE : (j + 1) * TILE, i * TILE : (i + 1) * TILE],
                )


def tile_aligned_mosaic(
    bounds: tuple[float, float, float, float], crs: str, zoom: int, seed: int = 0
) -> Mosaic:
    """A seeded RGB mosaic on the zoom-``zoom`` tiles covering ``bounds`` (given in ``crs``).

    Pixels: a smooth pattern (so bilinear resampling has something to interpolate) plus noise.
    """
    tr = Transformer.from_crs(crs, "EPSG:3857", always_xy=True)
    xs, ys = tr.transform(
        [bounds[0], bounds[2], bounds[0], bounds[2]], [bounds[1], bounds[1], bounds[3], bounds[3]]
    )
    tile_m = 2 * HALF_M / 2**zoom
    x0, x1 = math.floor((min(xs) + HALF_M) / tile_m), math.floor((max(xs) + HALF_M) / tile_m)
    y0, y1 = math.floor((HALF_M - max(ys)) / tile_m), math.floor((HALF_M - min(ys)) / tile_m)
    h, w = (y1 - y0 + 1) * TILE, (x1 - x0 + 1) * TILE
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:h, 0:w]
    smooth = np.stack([cols * 0.2, rows * 0.15, (cols + rows) * 0.1]) % 200
    data = (smooth + rng.integers(0, 56, size=(3, h, w))).astype(np.uint8)
    return Mosaic(data, zoom, x0, y0)


def mosaic_from_raster(path: Path, zoom: int, bounds: tuple[float, float, float, float]) -> Mosaic:
    """The RGB raster ``path`` warped (bilinear) onto the zoom-``zoom`` tiles covering ``bounds`` (raster CRS).

    What a user's XYZ/MBTiles pyramid of the same imagery holds: the tiles of this mosaic are cut from it.
    """
    with rasterio.open(path) as src:
        tr = Transformer.from_crs(src.crs, "EPSG:3857", always_xy=True)
        xs, ys = tr.transform(
            [bounds[0], bounds[2], bounds[0], bounds[2]], [bounds[1], bounds[1], bounds[3], bounds[3]]
        )
        tile_m = 2 * HALF_M / 2**zoom
        x0, x1 = math.floor((min(xs) + HALF_M) / tile_m), math.floor((max(xs) + HALF_M) / tile_m)
        y0, y1 = math.floor((HALF_M - max(ys)) / tile_m), math.floor((HALF_M - min(ys)) / tile_m)
        data = np.zeros((3, (y1 - y0 + 1) * TILE, (x1 - x0 + 1) * TILE), np.uint8)
        transform = from_origin(-HALF_M + x0 * tile_m, HALF_M - y0 * tile_m, tile_m / TILE, tile_m / TILE)
        for band in range(3):
            rasterio.warp.reproject(
                rasterio.band(src, band + 1),
                data[band],
                dst_transform=transform,
                dst_crs="EPSG:3857",
                resampling=rasterio.enums.Resampling.bilinear,
            )
    return Mosaic(data, zoom, x0, y0)


def write_mosaic_geotiff(path: Path, mosaic: Mosaic) -> Path:
    """The mosaic as one 3-band GeoTIFF in EPSG:3857: the reference of the other forms (equal on the tests' small
    chips; an RGB source is warped as uint8, the tiled forms as RGBA floats: docs/inputs.md)."""
    _, h, w = mosaic.data.shape
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=w,
        height=h,
        count=3,
        dtype="uint8",
        crs="EPSG:3857",
        transform=mosaic.transform,
        tiled=True,
        blockxsize=256,
        blockysize=256,
    ) as dst:
        dst.write(mosaic.data)
    return path


def png_bytes(pixels: np.ndarray, rgba: bool = False) -> bytes:
    """A PNG (no georeferencing) of (3, h, w) pixels; ``rgba`` adds an opaque alpha band."""
    if rgba:
        pixels = np.concatenate([pixels, np.full((1, *pixels.shape[1:]), 255, np.uint8)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with MemoryFile() as mem:
            with mem.open(
                driver="PNG",
                width=pixels.shape[2],
                height=pixels.shape[1],
                count=pixels.shape[0],
                dtype="uint8",
            ) as dst:
                dst.write(pixels)
            return bytes(mem.read())


def write_tile_folder(
    root: Path,
    mosaic: Mosaic,
    scheme: str = "xyz",
    ext: str = ".png",
    rgba_every: int = 0,
    skip: Iterable[tuple[int, int]] = (),
) -> Path:
    """``root/{z}/{x}/{y}{ext}`` tiles of the mosaic (rows numbered per ``scheme``: xyz or tms).

    Args:
        rgba_every: every n-th tile is written as RGBA (opaque alpha) instead of RGB (0: none).
        skip: XYZ ``(x, y)`` of tiles left out (missing tiles).
    """
    left_out = set(skip)
    for k, (x, y, pixels) in enumerate(mosaic.tiles()):
        if (x, y) in left_out:
            continue
        row = 2**mosaic.zoom - 1 - y if scheme == "tms" else y
        path = root / str(mosaic.zoom) / str(x) / f"{row}{ext}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(png_bytes(pixels, rgba=bool(rgba_every) and k % rgba_every == 0))
    return root


def write_mbtiles(path: Path, mosaics: Iterable[Mosaic], bounds_meta: bool = True) -> Path:
    """An MBTiles 1.3 file (``metadata`` and ``tiles`` tables) holding the PNG tiles of each mosaic."""
    mosaics = list(mosaics)
    db = sqlite3.connect(path)
    try:
        db.execute("CREATE TABLE metadata (name TEXT, value TEXT)")
        db.execute(
            "CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB)"
        )
        db.execute("CREATE UNIQUE INDEX tile_index ON tiles (zoom_level, tile_column, tile_row)")
        zooms = [m.zoom for m in mosaics]
        meta = {
            "name": "test",
            "format": "png",
            "type": "baselayer",
            "version": "1.0",
            "minzoom": str(min(zooms)),
            "maxzoom": str(max(zooms)),
        }
        if bounds_meta:
            finest = max(mosaics, key=lambda m: m.zoom)
            t = finest.transform
            to_ll = Transformer.from_crs("EPSG:3857", "EPSG:4326", always_xy=True)
            lon0, lat0 = to_ll.transform(t.c, t.f + t.e * finest.data.shape[1])
            lon1, lat1 = to_ll.transform(t.c + t.a * finest.data.shape[2], t.f)
            meta["bounds"] = f"{lon0!r},{lat0!r},{lon1!r},{lat1!r}"
        db.executemany("INSERT INTO metadata VALUES (?, ?)", sorted(meta.items()))
        for m in mosaics:
            db.executemany(
                "INSERT INTO tiles VALUES (?, ?, ?, ?)",
                [(m.zoom, x, 2**m.zoom - 1 - y, png_bytes(p)) for x, y, p in m.tiles()],
            )
        db.commit()
    finally:
        db.close()
    return path


def write_geotiff_tiles(
    folder: Path, mosaic: Mosaic, block_px: int, crs: str = "EPSG:3857", count: int = 3
) -> list[Path]:
    """The mosaic cut into ``block_px`` GeoTIFFs ``part_{row}_{col}.tif`` (the last ones smaller).

    ``count`` 4 adds an opaque alpha band.
    """
    folder.mkdir(parents=True, exist_ok=True)
    _, h, w = mosaic.data.shape
    t = mosaic.transform
    out = []
    for r0 in range(0, h, block_px):
        for c0 in range(0, w, block_px):
            part = mosaic.data[:, r0 : r0 + block_px, c0 : c0 + block_px]
            if count == 4:
                part = np.concatenate([part, np.full((1, *part.shape[1:]), 255, np.uint8)])
            path = folder / f"part_{r0 // block_px}_{c0 // block_px}.tif"
            profile = dict(
                driver="GTiff",
                width=part.shape[2],
                height=part.shape[1],
                count=part.shape[0],
                dtype="uint8",
                crs=crs,
                transform=t @ rasterio.Affine.translation(c0, r0),
            )
            if count == 4:
                profile["photometric"] = "RGB"
                profile["alpha"] = "YES"
            with rasterio.open(path, "w", **profile) as dst:
                dst.write(part)
            out.append(path)
    return out
