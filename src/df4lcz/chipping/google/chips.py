"""Google Earth chipper: resample an RGB mosaic onto each sample's square as a 320×320×3 chip.

What a chip is
--------------
For a sample square ``xmin..xmax × ymin..ymax`` in the working CRS (column ``crs`` of the sample
table, typically UTM), the chip is the mosaic resampled onto the square's ``chip_px × chip_px``
grid (``dst_transform = from_origin(xmin, ymax, side/chip_px, side/chip_px)``) with GDAL's warper
(``rasterio.warp.reproject``, config ``google.resampling``) from whatever CRS the mosaic has (the demo and
Google tiles use EPSG:3857 at ≈1.19 m). GDAL interpolates in floating point and rounds to uint8.

Only windows are read: for each square, the source window covering the square transformed into
the mosaic's CRS (densified edges) plus a margin of ``WINDOW_MARGIN_PX`` pixels for the
resampling kernel. A mosaic is never loaded whole.

Validity and exclusions (never filled silently)
-----------------------------------------------
A source pixel is valid when it lies inside the raster and the raster's GDAL dataset mask says so
(alpha band of a 4-band RGBA file, a declared nodata value, or an internal mask; a plain 3-band
file without any of these is valid everywhere). The validity is warped with the same resampling
as the colours; a chip pixel is valid when at most ``INVALID_WEIGHT_TOL`` of its resampling
weight comes from invalid pixels. A sample is excluded with a reason when

* its square does not overlap the raster at all (``"outside the Google raster"``), or
* any chip pixel is invalid (``"partial coverage: …% of the chip has no data"``).

The mosaic is any Google input :mod:`df4lcz.chipping.google.sources` opens (a GeoTIFF/VRT, GeoTIFF
tiles, an XYZ/TMS tile folder, an MBTiles file). Inputs are checked up front with errors that name
the file: missing file, not a raster, no CRS,
band count other than 3 (RGB) or 4 (RGB + alpha), data type other than uint8, and a raster that
overlaps none of the samples (the ``samples`` rule runs the same checks, and more, before any chip
job: :mod:`df4lcz.chipping.inputs`). A window GDAL cannot read (a truncated or corrupt file whose
header opens) stops the job with the file, the pixel window and the sample.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import rasterio
import rasterio.errors
import rasterio.io
import rasterio.warp
import rasterio.windows
from pyproj import Transformer
from rasterio.crs import CRS
from rasterio.enums import ColorInterp, MaskFlags, Resampling
from rasterio.transform import from_origin
from rasterio.windows import Window

from ...errors import InputError
from ...logs import get_logger, progress
from .sources import GoogleInput, resolve_google
from .vrt import open_google, read_error_message

log = get_logger("google")  # logger name as before the split: same log lines

#: Resampling methods a user may choose, by name.
RESAMPLING_METHODS: dict[str, Resampling] = {
    "nearest": Resampling.nearest,
    "bilinear": Resampling.bilinear,
    "cubic": Resampling.cubic,
    "average": Resampling.average,
}

#: Extra source pixels read around the transformed square (covers the widest kernel, cubic).
WINDOW_MARGIN_PX: int = 4

#: Points added along each edge of the square when transforming its bounds to the source CRS.
DENSIFY_POINTS: int = 21

#: Largest share of a chip pixel's resampling weight that may come from invalid source pixels.
INVALID_WEIGHT_TOL: float = 1e-3

#: Columns the sample table must have.
REQUIRED_COLUMNS: tuple[str, ...] = ("sample_id", "crs", "xmin", "ymin", "xmax", "ymax")


@dataclass(frozen=True)
class _GoogleSource:
    """Facts about an opened mosaic that the chipper needs."""

    crs: CRS
    has_alpha: bool
    all_valid: bool


def check_google_raster(src: rasterio.io.DatasetReader, name: str | None = None) -> _GoogleSource:
    """Check an opened mosaic against what a Google Earth RGB input must be.

    Args:
        src: the opened mosaic (:func:`~df4lcz.chipping.google.sources.open_google`).
        name: what messages call it (default the dataset's name; a mosaic built in memory is
            better named by its input).

    Raises:
        InputError (a ValueError): no CRS, band count not 3 or 4, or data type not uint8 (message names the file).
    """
    name = name or src.name
    if src.crs is None:
        raise InputError(
            f"{name}: the Google raster has no CRS; assign one (e.g. gdal_edit.py -a_srs EPSG:3857)"
        )
    if src.count not in (3, 4):
        raise InputError(
            f"{name}: the Google raster has {src.count} band(s); expected 3 (RGB) or 4 (RGB + alpha)"
        )
    if any(dt != "uint8" for dt in src.dtypes):
        raise InputError(f"{name}: the Google raster has data type {src.dtypes[0]}; expected uint8 RGB")
    has_alpha = src.count == 4
    if has_alpha and src.colorinterp[3] != ColorInterp.alpha:
        log.warning(
            "%s: band 4 is not flagged as alpha (%s); using it as alpha anyway", name, src.colorinterp[3]
        )
    all_valid = not has_alpha and all(flags == [MaskFlags.all_valid] for flags in src.mask_flag_enums[:3])
    return _GoogleSource(src.crs, has_alpha, all_valid)


def _resampling(name: str) -> Resampling:
    try:
        return RESAMPLING_METHODS[name]
    except KeyError:
        raise ValueError(
            f"resampling {name!r} is not supported; expected one of {sorted(RESAMPLING_METHODS)}"
        ) from None


def _parse_crs(code: str) -> CRS:
    try:
        return CRS.from_user_input(code)
    except rasterio.errors.CRSError as exc:
        raise ValueError(f"sample table: column 'crs' holds {code!r}, which is not a CRS ({exc})") from exc


def _check_samples(samples: pd.DataFrame) -> None:
    missing = [c for c in REQUIRED_COLUMNS if c not in samples.columns]
    if missing:
        raise ValueError(f"sample table lacks column(s) {missing}; expected {list(REQUIRED_COLUMNS)}")
    side_x = (samples["xmax"] - samples["xmin"]).to_numpy(float)
    side_y = (samples["ymax"] - samples["ymin"]).to_numpy(float)
    bad = ~((side_x > 0) & np.isclose(side_x, side_y))
    if bad.any():
        sid = samples["sample_id"].to_numpy()[bad][0]
        raise ValueError(
            f"sample table: sample {sid} is not a square with xmax > xmin (xmin..xmax, ymin..ymax)"
        )


def _source_windows(
    src: rasterio.io.DatasetReader, dst_crs: CRS, bounds: np.ndarray
) -> tuple[list[Window | None], np.ndarray]:
    """Source windows covering squares given in ``dst_crs``.

    Args:
        src: the opened mosaic.
        dst_crs: CRS of the squares.
        bounds: (N, 4) ``xmin, ymin, xmax, ymax`` of the squares.

    Returns:
        One window per square (with ``WINDOW_MARGIN_PX`` margin, clipped to the raster; ``None``
        where the square misses the raster) and an (N,) bool array that is True where the
        unclipped window lies wholly inside the raster.
    """
    n = len(bounds)
    if n == 0:
        return [], np.zeros(0, dtype=bool)
    # DENSIFY_POINTS points along each edge of every square, transformed in one call
    t = np.linspace(0.0, 1.0, DENSIFY_POINTS)
    xmin, ymin, xmax, ymax = (bounds[:, k : k + 1] for k in range(4))
    along_x = xmin + (xmax - xmin) * t  # (N, P) points along the south and north edges
    along_y = ymin + (ymax - ymin) * t  # (N, P) points along the west and east edges
    ones = np.ones_like(t)
    xs = np.concatenate([along_x, along_x, xmin * ones, xmax * ones], 1)
    ys = np.concatenate([ymin * ones, ymax * ones, along_y, along_y], 1)
    transformer = Transformer.from_crs(dst_crs, src.crs, always_xy=True)
    sx, sy = transformer.transform(xs.ravel(), ys.ravel())
    inv = ~src.transform
    cols, rows = inv @ (np.asarray(sx), np.asarray(sy))
    cols = np.asarray(cols).reshape(n, -1)
    rows = np.asarray(rows).reshape(n, -1)
    finite = np.isfinite(cols).all(1) & np.isfinite(rows).all(1)
    col0 = np.floor(np.nan_to_num(cols.min(1))).astype(np.int64) - WINDOW_MARGIN_PX
    col1 = np.ceil(np.nan_to_num(cols.max(1))).astype(np.int64) + WINDOW_MARGIN_PX
    row0 = np.floor(np.nan_to_num(rows.min(1))).astype(np.int64) - WINDOW_MARGIN_PX
    row1 = np.ceil(np.nan_to_num(rows.max(1))).astype(np.int64) + WINDOW_MARGIN_PX
    inside = finite & (col0 >= 0) & (row0 >= 0) & (col1 <= src.width) & (row1 <= src.height)
    c0, r0 = np.maximum(col0, 0), np.maximum(row0, 0)
    c1, r1 = np.minimum(col1, src.width), np.minimum(row1, src.height)
    windows: list[Window | None] = [
        Window(int(c0[i]), int(r0[i]), int(c1[i] - c0[i]), int(r1[i] - r0[i]))
        if finite[i] and c1[i] > c0[i] and r1[i] > r0[i]
        else None
        for i in range(n)
    ]
    return windows, inside


def _read_valid(src: rasterio.io.DatasetReader, info: _GoogleSource, window: Window) -> np.ndarray:
    """(4, h, w) float32: R, G, B and validity (1 valid, 0 invalid) of a source window."""
    h, w = int(window.height), int(window.width)
    out = np.empty((4, h, w), dtype=np.float32)
    if info.has_alpha:
        raw = src.read(window=window)
        out[:3] = raw[:3]
        valid = raw[3] > 0
        other_masks = [
            f for f in src.mask_flag_enums[:3] if f != [MaskFlags.all_valid] and MaskFlags.alpha not in f
        ]
        if other_masks:
            valid &= src.dataset_mask(window=window) > 0
        out[3] = valid
    else:
        out[:3] = src.read([1, 2, 3], window=window)
        out[3] = 1.0 if info.all_valid else (src.dataset_mask(window=window) > 0)
    return out


def chip_google(
    raster_path: GoogleInput,
    samples: pd.DataFrame,
    chip_px: int,
    resampling: str,
) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Cut the RGB chip of every sample square from a Google Earth mosaic.

    Args:
        raster_path: the Google input: an RGB (or RGBA) uint8 GeoTIFF/VRT in any CRS, a list or glob
            of GeoTIFFs, a tile folder or an .mbtiles file, or a spec
            (:mod:`df4lcz.chipping.google.sources`).
        samples: table with ``sample_id``, ``crs`` (working CRS, e.g. ``"EPSG:32650"``) and the
            square ``xmin, ymin, xmax, ymax`` in that CRS (metres).
        chip_px: chip side in pixels (config ``google.chip_px``; 320 over 320 m in DF4LCZ).
        resampling: ``"nearest"``, ``"bilinear"``, ``"cubic"`` or ``"average"`` (config
            ``google.resampling``).

    Returns:
        ``sample_ids`` (N,) int64 of the chipped samples, in input order;
        ``images`` (N, chip_px, chip_px, 3) uint8 RGB, row 0 = north;
        ``excluded`` DataFrame with ``sample_id`` (int64) and ``reason`` (str), in input order.

    Raises:
        FileNotFoundError: the mosaic does not exist.
        ValueError: not a raster, no CRS, not 3/4 uint8 bands, a malformed sample table, a bad
            resampling name, a mosaic that overlaps none of the samples, or a window GDAL cannot
            read (truncated file; the message names the sample).
    """
    if chip_px < 1:
        raise ValueError(f"chip_px must be a positive number of pixels, got {chip_px}")
    method = _resampling(resampling)
    _check_samples(samples)
    n = len(samples)
    images = np.zeros((n, chip_px, chip_px, 3), dtype=np.uint8)
    ok = np.zeros(n, dtype=bool)
    reasons: list[tuple[int, str]] = []
    n_outside = 0
    ids = samples["sample_id"].to_numpy().astype(np.int64)
    bounds = samples[["xmin", "ymin", "xmax", "ymax"]].to_numpy(float)
    crs_codes = samples["crs"].astype(str).to_numpy()
    rgb = np.empty((3, chip_px, chip_px), dtype=np.uint8)
    rgbv = np.empty((4, chip_px, chip_px), dtype=np.float32)
    raster_path = resolve_google(raster_path)
    with open_google(raster_path) as src:
        info = check_google_raster(src, str(raster_path))
        src_bounds = tuple(round(b, 1) for b in src.bounds)
        windows: list[Window | None] = [None] * n
        inside = np.zeros(n, dtype=bool)
        crs_objects: dict[str, CRS] = {}
        for code in np.unique(crs_codes):
            crs_objects[code] = _parse_crs(code)
            sel = np.flatnonzero(crs_codes == code)
            group_windows, inside[sel] = _source_windows(src, crs_objects[code], bounds[sel])
            for i, w in zip(sel.tolist(), group_windows):
                windows[i] = w
        for i in progress(range(n), desc="google chips"):
            window = windows[i]
            if window is None:
                reasons.append((i, "outside the Google raster"))
                n_outside += 1
                continue
            xmin, ymin, xmax, ymax = bounds[i]
            warp_args = dict(
                src_transform=src.window_transform(window),
                src_crs=info.crs,
                dst_transform=from_origin(xmin, ymax, (xmax - xmin) / chip_px, (ymax - ymin) / chip_px),
                dst_crs=crs_objects[crs_codes[i]],
                resampling=method,
                num_threads=1,
            )
            fast = info.all_valid and inside[i]  # every pixel the kernel can reach exists and is valid
            try:
                pixels = src.read([1, 2, 3], window=window) if fast else _read_valid(src, info, window)
            except rasterio.errors.RasterioIOError as exc:
                message = read_error_message(raster_path, src, window, exc, f"sample {ids[i]}")
                raise InputError(message) from exc
            if fast:
                rgb.fill(0)
                rasterio.warp.reproject(pixels, rgb, **warp_args)
                images[i] = rgb.transpose(1, 2, 0)
                ok[i] = True
                continue
            rgbv.fill(0.0)
            rasterio.warp.reproject(pixels, rgbv, **warp_args)
            invalid = rgbv[3] < 1.0 - INVALID_WEIGHT_TOL
            if invalid.any():
                share = 100.0 * invalid.mean()
                reasons.append((i, f"partial coverage: {share:.1f}% of the chip has no data"))
                continue
            images[i] = np.clip(np.rint(rgbv[:3]), 0, 255).astype(np.uint8).transpose(1, 2, 0)
            ok[i] = True
    if n and n_outside == n:
        raise InputError(
            f"{raster_path}: the Google raster does not overlap any of the {n} sample squares "
            f"(raster bounds {src_bounds} in {info.crs}; samples in {sorted(set(crs_codes))})"
        )
    excluded = pd.DataFrame(
        {
            "sample_id": np.array([ids[i] for i, _ in reasons], dtype=np.int64),
            "reason": pd.Series([r for _, r in reasons], dtype=str),
        }
    )
    if len(excluded):
        log.info(
            "%s: %d of %d samples excluded (first: %s)",
            raster_path,
            len(excluded),
            n,
            excluded["reason"].iloc[0],
        )
    return ids[ok], images[ok], excluded
