"""The Sentinel-2 chipper: which source pixels each chip draws on, and cutting the chips group by group."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import rasterio
import rasterio.errors
import rasterio.warp
from rasterio.crs import CRS
from rasterio.enums import Resampling
from rasterio.transform import Affine
from rasterio.windows import Window

from ...constants import S2_BANDS
from ...errors import InputError
from ...io.chips import S2_PIXEL_SIZE_M
from ...logs import get_logger, progress
from .squares import GRID_TOLERANCE_PX, Squares, group_squares, resolve_working_crs, squares_from_table

if TYPE_CHECKING:
    from .radiometry import Radiometry
    from .sources import RasterPart, Sentinel2Source

log = get_logger("sentinel2")  # logger name as before the split: same log lines

#: Resampling methods a user may choose, by name.
RESAMPLING_METHODS: dict[str, Resampling] = {
    "nearest": Resampling.nearest,
    "bilinear": Resampling.bilinear,
    "cubic": Resampling.cubic,
}

#: Half-width (in source pixels, at scale 1) of each interpolation kernel; nearest is special-cased.
KERNEL_RADIUS_PX: dict[str, float] = {"nearest": 0.5, "bilinear": 1.0, "cubic": 2.0}

#: Side (target pixels) of the tiles in which nearby samples are read together (bounds memory).
DEFAULT_TILE_PX: int = 512

#: Fixed cost of one ``rasterio.warp.reproject`` call, in destination pixels warped (~0.8 ms
#: against ~30–100 ns per pixel and band, measured with GDAL 3.10). A group is warped as one grid
#: unless warping its samples one by one is cheaper under this cost model.
WARP_CALL_COST_PX: int = 10_000


@dataclass
class _Support:
    """Per sample (N,), the inclusive range of source pixels the kernel draws on, in one file."""

    col0: np.ndarray
    col1: np.ndarray
    row0: np.ndarray
    row1: np.ndarray

    def inside(self, width: int, height: int) -> np.ndarray:
        """(N,) bool: the whole support lies in the raster."""
        return (self.col0 >= 0) & (self.row0 >= 0) & (self.col1 < width) & (self.row1 < height)

    def overlaps(self, width: int, height: int) -> np.ndarray:
        """(N,) bool: the support touches the raster at all."""
        return (self.col1 >= 0) & (self.row1 >= 0) & (self.col0 < width) & (self.row0 < height)


def _kernel_range(
    lo: np.ndarray, hi: np.ndarray, scale: np.ndarray, method: str
) -> tuple[np.ndarray, np.ndarray]:
    """Inclusive source-pixel index range used by ``method`` for sample positions lo..hi.

    ``lo``/``hi`` (N,) are the extreme chip-pixel-centre positions in source pixel coordinates
    (pixel i spans [i, i+1)), ``scale`` (N,) the chip pixel size in source pixels. A pixel is in
    the support when its centre is closer than the kernel radius (× scale when downsampling).
    When chip and source pixels coincide (scale 1, centres on centres) every kernel is
    interpolating, so only the pixels under the chip are used.
    """
    eps = GRID_TOLERANCE_PX
    if method == "nearest":
        first, last = np.floor(lo - eps), np.floor(hi + eps)
    else:
        radius = KERNEL_RADIUS_PX[method] * np.maximum(1.0, scale)
        first = np.floor(lo - 0.5 - radius + eps) + 1
        last = np.ceil(hi - 0.5 + radius - eps) - 1
    aligned = (np.abs(scale - 1.0) < eps) & (np.abs(lo - 0.5 - np.round(lo - 0.5)) < eps)
    first = np.where(aligned, np.round(lo - 0.5), first)
    last = np.where(aligned, np.round(hi - 0.5), last)
    return first, last


def _support(
    part: RasterPart, squares: Squares, working_crs: CRS, same_crs: bool, chip_px: int, method: str
) -> _Support:
    """Source pixels of ``part`` that each square's chip draws on (see :class:`_Support`)."""
    half = S2_PIXEL_SIZE_M / 2
    span = (chip_px - 1) * S2_PIXEL_SIZE_M  # first to last chip-pixel centre
    # corners and edge midpoints of the box of chip-pixel centres: (N, 8)
    fx = np.array([0, 0.5, 1, 1, 1, 0.5, 0, 0])
    fy = np.array([0, 0, 0, 0.5, 1, 1, 1, 0.5])
    xs = squares.xmin[:, None] + half + fx[None, :] * span
    ys = squares.ymax[:, None] - half - fy[None, :] * span
    if not same_crs:
        tx, ty = rasterio.warp.transform(working_crs, part.dataset.crs, xs.ravel(), ys.ravel())
        xs = np.asarray(tx, dtype=np.float64).reshape(xs.shape)
        ys = np.asarray(ty, dtype=np.float64).reshape(ys.shape)
    inverse = ~part.dataset.transform
    cols = inverse.a * xs + inverse.b * ys + inverse.c
    rows = inverse.d * xs + inverse.e * ys + inverse.f
    with np.errstate(invalid="ignore"):
        bad = ~(np.isfinite(cols).all(1) & np.isfinite(rows).all(1))
        cols[bad], rows[bad] = -1e9, -1e9  # unprojectable → far outside
        scale = np.maximum(cols.max(1) - cols.min(1), rows.max(1) - rows.min(1)) / max(chip_px - 1, 1)
    col0, col1 = _kernel_range(cols.min(1), cols.max(1), scale, method)
    row0, row1 = _kernel_range(rows.min(1), rows.max(1), scale, method)
    return _Support(_to_index(col0), _to_index(col1), _to_index(row0), _to_index(row1))


def _to_index(values: np.ndarray) -> np.ndarray:
    """Float pixel indexes (N,) → int64, clipped far outside any raster (no overflow)."""
    return np.clip(values, -(2**40), 2**40).astype(np.int64)


def _is_aligned(part: RasterPart, same_crs: bool, x0: float, y0: float) -> tuple[int, int] | None:
    """(col, row) of the grid origin ``x0, y0`` in ``part`` when its 10 m grid is the chips' grid."""
    t = part.dataset.transform
    if not same_crs or t.b != 0 or t.d != 0:
        return None
    if abs(t.a - S2_PIXEL_SIZE_M) > GRID_TOLERANCE_PX or abs(t.e + S2_PIXEL_SIZE_M) > GRID_TOLERANCE_PX:
        return None
    col, row = (x0 - t.c) / S2_PIXEL_SIZE_M, (t.f - y0) / S2_PIXEL_SIZE_M
    if abs(col - round(col)) > GRID_TOLERANCE_PX or abs(row - round(row)) > GRID_TOLERANCE_PX:
        return None
    return int(round(col)), int(round(row))


def invalid_mask(part: RasterPart, raw: np.ndarray) -> tuple[np.ndarray, str]:
    """(h, w) bool nodata mask of a raw window (k, h, w), and how nodata was defined."""
    nodata = part.dataset.nodata
    if raw.dtype.kind == "f":
        nan = np.isnan(raw).any(0)
    else:
        nan = np.zeros(raw.shape[1:], dtype=bool)
    if nodata is not None and not (isinstance(nodata, float) and math.isnan(nodata)):
        return nan | (raw == nodata).any(0), f"nodata value {nodata:g}"
    if nodata is not None:
        return nan, "NaN"
    what = "DN 0" if raw.shape[0] == 1 else "DN 0 in all bands"
    if raw.size == 0 or raw.min() > 0:  # cheap test first: S2 data rarely holds a 0
        return nan, what
    return nan | (raw == 0).all(0), what


def _chip_grid(x0: float, y0: float) -> Affine:
    """North-up 10 m grid with its upper-left corner at ``(x0, y0)`` (= ``from_origin``)."""
    return Affine(S2_PIXEL_SIZE_M, 0.0, float(x0), 0.0, -S2_PIXEL_SIZE_M, float(y0))


def _window_transform(transform: Affine, window: Window) -> Affine:
    """Geotransform of ``window`` of a raster with ``transform`` (= ``window_transform``)."""
    t, col, row = transform, window.col_off, window.row_off
    return Affine(t.a, t.b, t.c + t.a * col + t.b * row, t.d, t.e, t.f + t.d * col + t.e * row)


def _read_window(part: RasterPart, window: Window, sample_ids: np.ndarray) -> np.ndarray:
    """Band-interleaved read (k, h, w) of ``part``'s bands for the samples ``sample_ids``.

    Raises:
        InputError (a ValueError): GDAL cannot read the window (a truncated or corrupt file whose header is
            intact); the message names the file, the window and the samples.
    """
    try:
        return part.dataset.read(part.indexes, window=window)
    except rasterio.errors.RasterioIOError as exc:
        ids = [int(i) for i in sample_ids[:5]]
        more = f" and {len(sample_ids) - 5} more" if len(sample_ids) > 5 else ""
        raise InputError(
            f"{part.path}: failed to read pixels (column {window.col_off}, row {window.row_off}, "
            f"{window.width} × {window.height}) of sample(s) {ids}{more} ({exc}); the file is truncated "
            "or corrupt: re-download or rebuild it"
        ) from exc


def chip_source(
    source: Sentinel2Source,
    samples: pd.DataFrame,
    working_crs: str | None,
    resampling: str,
    chip_px: int,
    tile_px: int,
    radiometry: Radiometry,
) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Implementation of :meth:`Sentinel2Source.chip` (see :func:`chip_sentinel2`).

    Chips hold ``radiometry.apply`` of the resampled stored values, clipped to [0, 1].
    """
    if resampling not in RESAMPLING_METHODS:
        raise ValueError(
            f"resampling: {resampling!r} is not supported; expected one of {list(RESAMPLING_METHODS)}"
        )
    if chip_px < 1 or tile_px < 1:
        raise ValueError(f"chip_px and tile_px must be positive, got {chip_px}, {tile_px}")
    n_bands = len(S2_BANDS)
    empty = (
        np.zeros(0, np.int64),
        np.zeros((0, chip_px, chip_px, n_bands), np.float32),
        pd.DataFrame({"sample_id": np.zeros(0, np.int64), "reason": pd.Series([], dtype=str)}),
    )
    if len(samples) == 0:
        return empty
    crs = resolve_working_crs(samples, working_crs)
    squares = squares_from_table(samples, chip_px)
    n = len(squares.ids)
    reasons: list[str | None] = [None] * n

    supports = []
    same_crs = [part.dataset.crs == crs for part in source.parts]
    for part, same in zip(source.parts, same_crs):
        sup = _support(part, squares, crs, same, chip_px, resampling)
        supports.append(sup)
        width, height = part.dataset.width, part.dataset.height
        overlaps, inside = sup.overlaps(width, height), sup.inside(width, height)
        if part is source.parts[0] and not overlaps.any():
            b, side = part.dataset.bounds, chip_px * S2_PIXEL_SIZE_M
            raise InputError(
                f"{part.path}: the raster (bounds {b.left:.0f}, {b.bottom:.0f}, {b.right:.0f}, {b.top:.0f} "
                f"in {part.dataset.crs}) does not overlap any of the {n} sample squares "
                f"(x {squares.xmin.min():.0f}..{squares.xmin.max() + side:.0f}, "
                f"y {squares.ymax.min() - side:.0f}..{squares.ymax.max():.0f} in {crs}); "
                "check that the input covers the region and the working CRS"
            )
        for i in np.flatnonzero(~inside):
            if reasons[i] is None:
                if overlaps[i]:
                    reasons[i] = f"partial coverage: square extends beyond {part.label}"
                else:
                    reasons[i] = f"outside raster: square misses {part.label}"

    images = np.zeros((n, chip_px, chip_px, n_bands), dtype=np.float32)
    candidates = np.array([r is None for r in reasons])
    if candidates.any():
        sub = Squares(squares.ids[candidates], squares.xmin[candidates], squares.ymax[candidates])
        index = np.flatnonzero(candidates)
        groups = group_squares(sub, tile_px, chip_px)
        for members in progress(groups, desc=f"sentinel-2 chips ({source.path.name})"):
            _chip_group(
                source, supports, same_crs, crs, resampling, chip_px, sub, index, members, images, reasons
            )

    keep = np.array([r is None for r in reasons])
    if not keep.all():
        images = images[keep]
    radiometry.apply(images)
    np.clip(images, 0.0, 1.0, out=images)
    excluded = pd.DataFrame(
        {
            "sample_id": squares.ids[~keep].astype(np.int64),
            "reason": pd.Series([r for r in reasons if r is not None], dtype=str),
        }
    )
    if len(excluded):
        counts = excluded["reason"].str.split(":").str[0].value_counts().to_dict()
        log.info("%s: %d chips, %d samples excluded %s", source.path, int(keep.sum()), len(excluded), counts)
    return squares.ids[keep], images, excluded


def _chip_group(
    source: Sentinel2Source,
    supports: list[_Support],
    same_crs: list[bool],
    crs: CRS,
    resampling: str,
    chip_px: int,
    sub: Squares,
    index: np.ndarray,
    members: np.ndarray,
    images: np.ndarray,
    reasons: list[str | None],
) -> None:
    """Fill ``images[index[members]]`` for one group of nearby samples sharing a grid phase.

    ``sub`` holds the candidate squares, ``index`` maps them to rows of ``images``/``reasons``.
    Samples found to hit nodata get a reason and are skipped by later files.
    """
    x0 = float(sub.xmin[members].min())
    y0 = float(sub.ymax[members].max())
    cols = np.round((sub.xmin[members] - x0) / S2_PIXEL_SIZE_M).astype(np.int64)
    rows = np.round((y0 - sub.ymax[members]) / S2_PIXEL_SIZE_M).astype(np.int64)
    height, width = int(rows.max()) + chip_px, int(cols.max()) + chip_px
    grid = _chip_grid(x0, y0)
    for part, sup, same in zip(source.parts, supports, same_crs):
        alive = np.array([reasons[index[m]] is None for m in members])
        if not alive.any():
            return
        live = members[alive]
        c0, r0 = int(sup.col0[index[live]].min()), int(sup.row0[index[live]].min())
        c1, r1 = int(sup.col1[index[live]].max()), int(sup.row1[index[live]].max())
        window = Window(c0, r0, c1 - c0 + 1, r1 - r0 + 1)
        raw = _read_window(part, window, sub.ids[live])
        invalid, what = invalid_mask(part, raw)
        if invalid.any():
            for m in live:
                i = index[m]
                box = invalid[
                    sup.row0[i] - r0 : sup.row1[i] - r0 + 1, sup.col0[i] - c0 : sup.col1[i] - c0 + 1
                ]
                bad = int(box.sum())
                if bad:
                    reasons[i] = f"nodata: {bad} source pixel(s) with {what} in {part.label}"
        positions = list(part.positions)
        origin = _is_aligned(part, same, x0, y0)
        slots = [(k, m) for k, m in zip(np.flatnonzero(alive), live) if reasons[index[m]] is None]
        if origin is not None:  # the file's pixels are the chips' pixels: slice, no interpolation
            oc, orow = origin[0] - c0, origin[1] - r0
            for k, m in slots:
                top, left = orow + rows[k], oc + cols[k]
                block = raw[:, top : top + chip_px, left : left + chip_px]
                images[index[m]][..., positions] = block.transpose(1, 2, 0)
            continue
        # No nodata is passed to the warper: the supports of the samples still alive hold no
        # nodata pixel (checked above), and a destination pre-filled with NaN and not
        # re-initialised shows any pixel the warper did not write (GDAL's fast kernels only run
        # without nodata masks: ~2.5× faster).
        warp = dict(
            src_transform=_window_transform(part.dataset.transform, window),
            src_crs=part.dataset.crs,
            dst_crs=crs,
            init_dest_nodata=False,
            resampling=RESAMPLING_METHODS[resampling],
        )
        n_bands = len(positions)
        per_sample_cost = len(slots) * (WARP_CALL_COST_PX + chip_px * chip_px * n_bands)
        if per_sample_cost >= WARP_CALL_COST_PX + height * width * n_bands:
            dst = np.full((len(positions), height, width), np.nan, dtype=np.float32)
            rasterio.warp.reproject(raw, dst, dst_transform=grid, **warp)
            blocks = {m: dst[:, rows[k] : rows[k] + chip_px, cols[k] : cols[k] + chip_px] for k, m in slots}
        else:
            blocks = {}
            for _k, m in slots:
                dst = np.full((len(positions), chip_px, chip_px), np.nan, dtype=np.float32)
                square = _chip_grid(sub.xmin[m], sub.ymax[m])
                rasterio.warp.reproject(raw, dst, dst_transform=square, **warp)
                blocks[m] = dst
        for m, block in blocks.items():
            i = index[m]
            if np.isnan(block).any():  # safety net: the warper left pixels empty
                empty_px = int(np.isnan(block).any(0).sum())
                reasons[i] = f"nodata: {empty_px} chip pixel(s) left empty by resampling {part.label}"
                continue
            images[i][..., positions] = block.transpose(1, 2, 0)
