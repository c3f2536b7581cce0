"""Up-front checks of a region's rasters against its sample squares (run by the ``samples`` checkpoint).

A chip job would find a bad raster only after the whole DAG was built and other jobs had run; the
``samples`` checkpoint calls :func:`check_region_rasters` as soon as the squares are laid, so these
inputs fail the run before any chipping, with a message naming the raster and what was expected:

* **Google mosaic**: a CRS, 3 (RGB) or 4 (RGB + alpha) bands of uint8
  (:func:`~df4lcz.chipping.google.chips.check_google_raster`); its ground pixel compared with the chip
  pixel (``samples.size_m / google.chip_px``): a mosaic much coarser than the chip grid is
  upsampled by that factor (a warning above :data:`UPSAMPLING_WARN_FACTOR`, an error above
  ``google.max_upsampling``); and some sample square must hold valid pixels (alpha > 0, not the
  declared nodata, inside the internal mask).
* **Sentinel-2 input**: opens as the chipper opens it (every band identified, georeferenced);
  values of at least 16 bits (uint8 is a rendered picture, not DN); its radiometry (how values
  become reflectance: product metadata, ``regions[].s2_scale``/``s2_offset``, float reflectance
  recognised; :mod:`df4lcz.chipping.sentinel2.radiometry`) logged; and some sample square must hold
  valid pixels in every file (nodata as the chipper defines it: the declared nodata value, else DN 0
  in all bands). With several inputs, each is checked, and one without data over the squares is a
  warning.

The nodata checks read :data:`CHECKED_SQUARES` squares spread over the table first (the Google
mosaic decimated to at most :data:`CHECK_PX` pixels a side per square); only when none of them holds
data are all squares read. Squares that touch nodata are not an error here: the chippers exclude
them one by one (docs/contracts.md §2, §3).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence

import numpy as np
import rasterio
import rasterio.errors
import rasterio.warp
from rasterio.crs import CRS
from rasterio.windows import Window

from ..errors import InputError
from ..io.checks import CheckRow
from ..logs import get_logger
from .google.chips import check_google_raster
from .google.sources import GoogleInput, resolve_google
from .google.vrt import open_google, read_error_message
from .sentinel2 import open_sentinel2
from .sentinel2.sources import expand_inputs
from .sentinel2.stac import StacScene
from .sentinel2.warp import invalid_mask
from .windows import square_windows

log = get_logger("samples")

#: Upsampling factor (Google ground pixel / chip pixel) above which a warning is logged.
UPSAMPLING_WARN_FACTOR: float = 1.5

#: Squares read first by the nodata checks (spread evenly over the table).
CHECKED_SQUARES: int = 64

#: Largest side (pixels) of the decimated Google read of one square in the nodata check.
CHECK_PX: int = 16


def check_region_rasters(
    region: str,
    google: GoogleInput,
    sentinel2: str | os.PathLike | Sequence[str | os.PathLike],
    s2_band_names: Sequence[str] | None,
    bounds: np.ndarray,
    working_crs: str,
    chip_px: int,
    max_upsampling: float,
    s2_scale: float | None = None,
    s2_offset: float | Sequence[float] | None = None,
) -> list[CheckRow]:
    """Check both rasters of ``region`` against its sample squares.

    Args:
        region: region name (for messages).
        google: the Google Earth input (a path, or a spec: :mod:`df4lcz.chipping.google.sources`).
        sentinel2: the Sentinel-2 input(s) (multi-band raster, band folder or product; or a list).
        s2_band_names: ``regions[].s2_band_names``.
        s2_scale, s2_offset: ``regions[].s2_scale`` / ``s2_offset``.
        bounds: (N, 4) squares ``xmin, ymin, xmax, ymax`` in ``working_crs``; nothing is checked
            when N is 0.
        working_crs: CRS of the squares.
        chip_px: ``google.chip_px``.
        max_upsampling: ``google.max_upsampling``.

    Returns:
        The input-check rows (docs/contracts.md §13): the Google upsampling factor when above
        :data:`UPSAMPLING_WARN_FACTOR`.

    Raises:
        InputError (a ValueError): see the module docstring; the message names the raster.
    """
    bounds = np.asarray(bounds, dtype=np.float64).reshape(-1, 4)
    if len(bounds) == 0:
        return []
    crs = CRS.from_user_input(working_crs)
    rows = check_google(region, google, bounds, crs, chip_px, max_upsampling)
    inputs = expand_inputs(sentinel2)
    for path, item in inputs:
        check_sentinel2(
            region, path, s2_band_names, bounds, crs, s2_scale, s2_offset, several=len(inputs) > 1, item=item
        )
    return rows


def _read(
    path: str | os.PathLike, square: np.ndarray, window: Window, read: Callable[[], np.ndarray]
) -> np.ndarray:
    """``read()``, with GDAL read errors turned into a message naming the file, window and square."""
    try:
        return read()
    except rasterio.errors.RasterioIOError as exc:
        raise InputError(
            f"{path}: failed to read pixels (column {window.col_off}, row {window.row_off}, {window.width} × "
            f"{window.height}) under the sample square x {square[0]:.0f}..{square[2]:.0f}, "
            f"y {square[1]:.0f}..{square[3]:.0f} ({exc}); the file is truncated or corrupt: re-download or "
            "rebuild it"
        ) from exc


def _first_with_data(n: int, has_data: Callable[[int], bool]) -> tuple[int | None, int]:
    """Index of a square with data: :data:`CHECKED_SQUARES` spread squares first, then all.

    Returns (index or None, how many squares of the spread subset lack data).
    """
    spread = np.unique(np.linspace(0, n - 1, min(n, CHECKED_SQUARES)).round().astype(int))
    empty = 0
    for i in spread:
        if has_data(int(i)):
            return int(i), empty
        empty += 1
    checked = set(spread.tolist())
    for i in range(n):
        if i not in checked and has_data(i):
            return i, empty
    return None, empty


def ground_pixel_m(dataset: rasterio.io.DatasetReader, crs: CRS, x: float, y: float) -> float:
    """Ground size (in ``crs`` units) of the raster's pixel at ``(x, y)`` of ``crs``: its longer side."""
    if dataset.crs != crs:
        (u,), (v,) = rasterio.warp.transform(crs, dataset.crs, [x], [y])
    else:
        u, v = x, y
    t = dataset.transform
    pts_x, pts_y = [u, u + t.a, u + t.b], [v, v + t.d, v + t.e]  # the pixel's corner and its two sides
    if dataset.crs != crs:
        pts_x, pts_y = rasterio.warp.transform(dataset.crs, crs, pts_x, pts_y)
    side_col = math.hypot(pts_x[1] - pts_x[0], pts_y[1] - pts_y[0])
    side_row = math.hypot(pts_x[2] - pts_x[0], pts_y[2] - pts_y[0])
    return max(side_col, side_row)


def check_google(
    region: str, google: GoogleInput, bounds: np.ndarray, crs: CRS, chip_px: int, max_upsampling: float
) -> list[CheckRow]:
    """The Google checks of :func:`check_region_rasters` (band count, dtype, resolution, data).

    Returns:
        One ``google_upsampling`` warning row when the factor exceeds :data:`UPSAMPLING_WARN_FACTOR`
        (threshold ``google.max_upsampling``), else none.
    """
    rows: list[CheckRow] = []
    resolved = resolve_google(google)
    path = str(resolved)  # what messages call the input
    with open_google(resolved) as src:
        info = check_google_raster(src, path)
        side = float(np.median(bounds[:, 2] - bounds[:, 0]))
        chip_m = side / chip_px
        cx = float((bounds[:, 0].min() + bounds[:, 2].max()) / 2)
        cy = float((bounds[:, 1].min() + bounds[:, 3].max()) / 2)
        pixel_m = ground_pixel_m(src, crs, cx, cy)
        factor = pixel_m / chip_m
        if factor > max_upsampling:
            raise InputError(
                f"{path}: the Google raster's pixels are {pixel_m:.2g} m on the ground, {factor:.1f}× the chip "
                f"pixel of {chip_m:.2g} m (samples.size_m / google.chip_px); chips would be upsampled "
                f"{factor:.1f}× (more than google.max_upsampling = {max_upsampling:g}). Expected imagery of "
                f"about {chip_m:.2g} m/px (zoom 17–18); give a finer mosaic, or raise google.max_upsampling"
            )
        if factor > UPSAMPLING_WARN_FACTOR:
            message = (
                f"{path}: Google pixels are {pixel_m:.2g} m on the ground, {factor:.1f}× the {chip_m:.2g} m "
                f"chip pixel: chips are upsampled {factor:.1f}× (region {region}; expected about "
                f"{chip_m:.2g} m/px, limit google.max_upsampling = {max_upsampling:g})"
            )
            log.warning("%s", message)
            rows.append(
                CheckRow(
                    "samples", "warning", str(path), "google_upsampling", factor, max_upsampling, message
                )
            )
        if info.all_valid:
            return rows
        windows = square_windows(src, crs, bounds)

        def has_data(i: int) -> bool:
            w = windows[i]
            if w is None:
                return False
            shape = (min(int(w.height), CHECK_PX), min(int(w.width), CHECK_PX))
            try:
                mask = src.dataset_mask(window=w, out_shape=shape)
            except rasterio.errors.RasterioIOError as exc:
                sq = bounds[i]
                where = f"the sample square x {sq[0]:.0f}..{sq[2]:.0f}, y {sq[1]:.0f}..{sq[3]:.0f}"
                raise InputError(read_error_message(resolved, src, w, exc, where)) from exc
            return bool(mask.any())

        found, empty = _first_with_data(len(bounds), has_data)
        if found is None:
            why = (
                "its alpha band (band 4) is 0 over every one"
                if info.has_alpha
                else f"every pixel there is nodata (nodata value {src.nodata}, or the raster's mask)"
            )
            raise InputError(
                f"{path}: the Google raster has no valid pixel over any of the {len(bounds)} sample squares of "
                f"region {region!r}: {why}; expected RGB imagery over the labelled polygons"
            )
        if empty:
            log.info(
                "%s: %d of the first squares checked hold no valid pixel (region %s); the chipper "
                "excludes squares with nodata",
                path,
                empty,
                region,
            )
    return rows


def check_sentinel2(
    region: str,
    path: str | os.PathLike,
    band_names: Sequence[str] | None,
    bounds: np.ndarray,
    crs: CRS,
    scale: float | None = None,
    offset: float | Sequence[float] | None = None,
    several: bool = False,
    item: StacScene | None = None,
) -> None:
    """The Sentinel-2 checks of :func:`check_region_rasters` for one input (bands, dtype, data).

    With ``several`` inputs, one that covers none of the squares is reported (a warning), not an error.
    ``item``: the STAC item of the file ``path`` (:func:`~.sentinel2.sources.expand_inputs`).
    """
    with open_sentinel2(path, band_names=band_names, scale=scale, offset=offset, item=item) as source:
        where = item.where if item is not None else path
        log.info("%s: %s (region %s)", where, source.radiometry.attrs()["radiometry"], region)
        for part in source.parts:
            dtypes = sorted({part.dataset.dtypes[k - 1] for k in part.indexes})
            if any(np.dtype(d).itemsize < 2 or np.dtype(d).kind not in "uif" for d in dtypes):
                raise InputError(
                    f"{part.path}: Sentinel-2 band(s) of data type {', '.join(dtypes)}; expected digital numbers "
                    "(reflectance × 10000) as uint16, int16 or float (an 8-bit raster is a rendered picture)"
                )
        for part in source.parts:
            windows = square_windows(part.dataset, crs, bounds)
            what = ["nodata"]

            def has_data(i: int, part=part, windows=windows, what=what) -> bool:
                w = windows[i]
                if w is None:
                    return False
                raw = _read(part.path, bounds[i], w, lambda: part.dataset.read(part.indexes, window=w))
                invalid, what[0] = invalid_mask(part, raw)
                return not invalid.all()

            found, empty = _first_with_data(len(bounds), has_data)
            if found is None:
                message = (
                    f"{part.path}: the Sentinel-2 input has no valid pixel over any of the {len(bounds)} sample "
                    f"squares of region {region!r}: every pixel there is {what[0]}; expected digital numbers over "
                    "the labelled polygons"
                )
                if several:
                    log.warning("%s (one of several inputs: the others must cover the squares)", message)
                    return
                raise InputError(message)
            if empty:
                log.info(
                    "%s: %d of the first squares checked hold only nodata (region %s); the chipper "
                    "excludes squares with nodata",
                    part.path,
                    empty,
                    region,
                )
