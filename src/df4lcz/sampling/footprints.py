"""Raster footprints and CRS: what area a region's rasters cover, in the working CRS."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import shapely
from pyproj import CRS, Transformer
from shapely.geometry import Polygon, box

from ..chipping.google_sources import GoogleInput, open_google, resolve_google


def sentinel2_reference_file(path: str | os.PathLike) -> Path:
    """The file whose CRS and grid define a Sentinel-2 input (itself, or a folder's B02 file)."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{p}: Sentinel-2 input not found")
    if p.is_dir():
        for pattern in ("*_B02.jp2", "*_B02_10m.jp2", "*B02*.jp2", "*B02*.tif", "*B02*.TIF"):
            hits = sorted(p.rglob(pattern))
            if hits:
                return hits[0]
        raise FileNotFoundError(f"{p}: no B02 band file (*_B02.jp2 or *B02*.tif) found in the Sentinel-2 folder")
    return p


def raster_footprint(path: str | os.PathLike, working_crs: str) -> Polygon:
    """The raster's bounds as a polygon in ``working_crs`` (edges densified before reprojection).

    Raises:
        FileNotFoundError: missing file. ValueError: unreadable raster or raster without CRS.
    """
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{p}: raster not found")
    try:
        with rasterio.open(p) as src:
            bounds, crs = src.bounds, src.crs
    except rasterio.errors.RasterioIOError as exc:
        raise ValueError(f"{p}: not a readable raster ({exc})") from exc
    return bounds_footprint(bounds, crs, working_crs, str(p))


def google_footprint(google: GoogleInput, working_crs: str) -> Polygon:
    """The footprint (as :func:`raster_footprint`) of a Google input in any of its forms.

    A tile folder's or a GeoTIFF mosaic's footprint is the bounding box of its tiles; squares over
    missing tiles inside it are excluded by the chipper (alpha 0).
    """
    resolved = resolve_google(google)
    with open_google(resolved) as src:
        return bounds_footprint(src.bounds, src.crs, working_crs, str(resolved))


def bounds_footprint(bounds: Any, crs: Any, working_crs: str, name: str) -> Polygon:
    """``bounds`` (left, bottom, right, top in ``crs``) as a polygon in ``working_crs``.

    Raises:
        ValueError: ``crs`` is None (the message names ``name``).
    """
    if crs is None:
        raise ValueError(f"{name}: raster has no CRS; georeference it (e.g. gdal_edit.py -a_srs EPSG:…)")
    left, bottom, right, top = bounds
    poly = box(left, bottom, right, top)
    if CRS.from_user_input(crs) == CRS.from_user_input(working_crs):
        return poly
    step = max(right - left, top - bottom) / 64
    dense = shapely.segmentize(poly, step)
    tr = Transformer.from_crs(crs, working_crs, always_xy=True)
    return shapely.transform(dense, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))


def raster_crs(path: Path) -> Any:
    """The CRS of a raster (``ValueError`` when unreadable or without CRS)."""
    try:
        with rasterio.open(path) as src:
            if src.crs is None:
                raise ValueError(f"{path}: raster has no CRS; georeference it")
            return src.crs
    except rasterio.errors.RasterioIOError as exc:
        raise ValueError(f"{path}: not a readable raster ({exc})") from exc
