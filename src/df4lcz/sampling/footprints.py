"""Raster footprints and CRS: what area a region's rasters cover, in the working CRS."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import shapely
from pyproj import CRS, Transformer
from shapely.geometry import Polygon, box
from shapely.geometry.base import BaseGeometry

from ..chipping.google.sources import GoogleInput, resolve_google
from ..chipping.google.vrt import open_google
from ..chipping.sentinel2.bands import find_band_files
from ..chipping.sentinel2.products import is_product, open_product
from ..chipping.sentinel2.stac import is_stac_file, read_stac
from ..errors import InputError


def sentinel2_inputs(spec: str | os.PathLike | Sequence[str | os.PathLike]) -> list[str]:
    """The inputs of ``regions[].sentinel2`` (one path or a list) as a list of strings."""
    return [str(spec)] if isinstance(spec, (str, os.PathLike)) else [str(p) for p in spec]


def sentinel2_reference_file(spec: str | os.PathLike | Sequence[str | os.PathLike]) -> str:
    """The file whose CRS and grid define a Sentinel-2 input: the first input's B02 file (or the file itself).

    ``.SAFE`` products (folder or zip) give their granule's B02 file (a ``/vsizip/`` path for a zip); a
    STAC file its first item's B02 asset.
    """
    return _b02_files(sentinel2_inputs(spec)[0])[0]


def _b02_files(path: str) -> list[str]:
    """The B02 file of each scene of one input (a STAC ItemCollection holds several)."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{p}: Sentinel-2 input not found")
    if is_stac_file(p) and p.is_file():
        return [item.band_hrefs["B02"] for item in read_stac(p)]
    return [_b02_file(p)]


def _b02_file(p: Path) -> str:
    if is_product(p):
        return open_product(p).band_files["B02"]
    if p.is_dir():
        return str(find_band_files(p, ("B02",))["B02"])
    return str(p)


def sentinel2_footprint(
    spec: str | os.PathLike | Sequence[str | os.PathLike], working_crs: str
) -> BaseGeometry:
    """The area covered by a region's Sentinel-2 inputs (union of each input's B02 footprint), in ``working_crs``."""
    files = [f for p in sentinel2_inputs(spec) for f in _b02_files(p)]
    parts = [raster_footprint(f, working_crs) for f in files]
    return parts[0] if len(parts) == 1 else shapely.union_all(parts)


def raster_footprint(path: str | os.PathLike, working_crs: str) -> Polygon:
    """The raster's bounds as a polygon in ``working_crs`` (edges densified before reprojection).

    Raises:
        FileNotFoundError: missing file. ValueError: unreadable raster or raster without CRS.
    """
    p = str(path)
    if not p.startswith("/vsi") and not Path(p).exists():
        raise FileNotFoundError(f"{p}: raster not found")
    try:
        with rasterio.open(p) as src:
            bounds, crs = src.bounds, src.crs
    except rasterio.errors.RasterioIOError as exc:
        raise InputError(f"{p}: not a readable raster ({exc})") from exc
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
        raise InputError(f"{name}: raster has no CRS; georeference it (e.g. gdal_edit.py -a_srs EPSG:…)")
    left, bottom, right, top = bounds
    poly = box(left, bottom, right, top)
    if CRS.from_user_input(crs) == CRS.from_user_input(working_crs):
        return poly
    step = max(right - left, top - bottom) / 64
    dense = shapely.segmentize(poly, step)
    tr = Transformer.from_crs(crs, working_crs, always_xy=True)
    return shapely.transform(dense, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))


def raster_crs(path: str | os.PathLike) -> Any:
    """The CRS of a raster (``ValueError`` when unreadable or without CRS)."""
    try:
        with rasterio.open(path) as src:
            if src.crs is None:
                raise InputError(f"{path}: raster has no CRS; georeference it")
            return src.crs
    except rasterio.errors.RasterioIOError as exc:
        raise InputError(f"{path}: not a readable raster ({exc})") from exc
