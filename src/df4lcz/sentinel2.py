"""Sentinel-2 chipper: cut 32×32×10 reflectance chips on the sample squares.

Input forms
-----------
* **One multi-band raster** (GeoTIFF, VRT, …). Bands are identified by their band descriptions
  (``"B02"``, ``"B2"``, ``"B8A"``, ``"SR_B2"`` … are all understood), or by ``band_names`` given by
  the caller (one name per band of the file, in file order). A 10-band file without usable
  descriptions is taken to be in So2Sat order (:data:`~df4lcz.constants.S2_BANDS`).
* **A folder of per-band files** as in a SAFE granule (``*_B02.jp2``, ``*_B8A.jp2``, L2A
  ``*_B02_10m.jp2`` …; ``.jp2``/``.tif``/``.tiff``, searched recursively, quality masks under
  ``QI_DATA`` / ``MSK_*`` ignored). Where a band exists at several resolutions (L2A ``R10m``/
  ``R20m``/``R60m``), the finest is used.

What a chip is (the promise the tests check)
--------------------------------------------
For a sample square ``xmin..xmax × ymin..ymax`` in the working CRS (side ``chip_px × 10 m``), the
chip of each band equals ``rasterio.warp.reproject`` of that band onto the square's 10 m grid
(``dst_transform = from_origin(xmin, ymax, 10, 10)``, ``chip_px × chip_px`` pixels,
``dst_crs = working CRS``) with the chosen resampling (``"bilinear"`` by default, ``"nearest"``,
``"cubic"``), as float32, divided by 10000 and clipped to [0, 1]. When the raster is in the
working CRS with 10 m pixels and the square lies on its pixel grid, this is exactly the raw
pixel block (no interpolation happens). Bands are stacked in So2Sat order → ``(32, 32, 10)``.

Exclusion rules (never filled silently)
---------------------------------------
A sample is excluded, and reported with its ``sample_id`` and a reason, when any source pixel that
the resampling kernel draws on for the square (nearest: the pixel under each chip pixel centre;
bilinear: the 2×2 neighbours; cubic: 4×4; widened when downsampling)

* lies outside the raster (``"outside raster …"`` / ``"partial coverage …"``), or
* is nodata: equal to the file's declared nodata value (in any band), or, when the file declares
  none, 0 DN in all bands of the file (for per-band files, whose bands live on different grids,
  that is 0 DN in that band — 0 is the NODATA value of every band of Sentinel-2 L1C/L2A products).

Memory
------
Only windows are read. Samples are processed in groups: clusters of nearby squares inside one
tile of at most ``tile_px × tile_px`` target pixels (default 512, i.e. 5.12 km). Each group
needs one band-interleaved window read per file plus, where resampling is needed, one warp of
the group's grid (or of each square, when that is cheaper). Memory therefore depends on the tile
size and the number of samples, never on the raster size.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import rasterio
import rasterio.errors
import rasterio.warp
import scipy.ndimage
from rasterio.crs import CRS
from rasterio.enums import Resampling
from rasterio.transform import Affine
from rasterio.windows import Window

from .chips import check_sample_ids, write_chip_shard
from .constants import S2_BANDS, S2_CHIP_PX, S2_REFLECTANCE_SCALE
from .io.hdf5 import read_h5
from .logs import get_logger, progress

log = get_logger(__name__)

#: Ground sampling distance of the output chips (m): the native resolution of B02/B03/B04/B08.
TARGET_PIXEL_M: float = 10.0

#: Resampling methods a user may choose, by name.
RESAMPLING_METHODS: dict[str, Resampling] = {
    "nearest": Resampling.nearest,
    "bilinear": Resampling.bilinear,
    "cubic": Resampling.cubic,
}

#: Half-width (in source pixels, at scale 1) of each interpolation kernel; nearest is special-cased.
KERNEL_RADIUS_PX: dict[str, float] = {"nearest": 0.5, "bilinear": 1.0, "cubic": 2.0}

#: Default side (target pixels) of the tiles in which nearby samples are read together.
DEFAULT_TILE_PX: int = 512

#: File extensions recognised as per-band rasters in a folder.
BAND_FILE_EXTENSIONS: tuple[str, ...] = (".jp2", ".tif", ".tiff")

#: Tolerance (in pixels) for deciding that two grids line up or that a square is 320 m wide.
GRID_TOLERANCE_PX: float = 1e-6

#: Tolerance (m) on the side of a sample square.
SQUARE_SIDE_TOLERANCE_M: float = 1e-3

#: Fixed cost of one ``rasterio.warp.reproject`` call, in destination pixels warped (~0.8 ms
#: against ~30–100 ns per pixel and band, measured with GDAL 3.10). A group is warped as one grid
#: unless warping its samples one by one is cheaper under this cost model.
WARP_CALL_COST_PX: int = 10_000

# "B2", "B02", "B8A", "b8a", "SR_B2", "B02_10m" → band token not glued to other letters/digits.
_BAND_TOKEN_RE = re.compile(r"(?<![A-Z0-9])B0?(\d{1,2})(A?)(?![A-Z0-9])")
_RESOLUTION_SUFFIX_RE = re.compile(r"_(\d+)M$")


# --------------------------------------------------------------------------------------------
# Band names and files
# --------------------------------------------------------------------------------------------


def normalise_band_name(name: str | None) -> str | None:
    """Return the canonical Sentinel-2 band name (``"B02"``, ``"B8A"``, …) found in ``name``.

    ``"B2"``, ``"b02"``, ``"B02 (490 nm)"``, ``"SR_B2"`` → ``"B02"``; ``"B8A"``/``"B8a"`` →
    ``"B8A"``. Returns ``None`` when ``name`` holds no Sentinel-2 band token (B01–B12, B8A).
    If several tokens occur, the last one wins (file stems put the band last).
    """
    if not name:
        return None
    matches = list(_BAND_TOKEN_RE.finditer(str(name).strip().upper()))
    if not matches:
        return None
    number, suffix = int(matches[-1].group(1)), matches[-1].group(2)
    if suffix:
        return "B8A" if number == 8 else None
    if not 1 <= number <= 12:
        return None
    return f"B{number:02d}"


def _file_resolution_m(stem: str) -> float:
    """Resolution (m) encoded in an L2A file stem (``…_B02_10m`` → 10); 0 when the stem has none."""
    m = _RESOLUTION_SUFFIX_RE.search(stem.upper())
    return float(m.group(1)) if m else 0.0


def find_band_files(folder: str | os.PathLike, bands: Sequence[str] = S2_BANDS) -> dict[str, Path]:
    """Find one file per band in a folder of per-band Sentinel-2 rasters (searched recursively).

    Recognises ``*_B02.jp2``, ``*_B8A.tif``, L2A ``*_B02_10m.jp2`` and the like; ignores quality
    masks (``MSK_*`` files and anything under a ``QI_DATA`` folder). Where one band exists at
    several resolutions (L2A ``R10m``/``R20m``/``R60m``) the finest resolution is kept.

    Args:
        folder: directory to search.
        bands: band names wanted (canonical spelling, e.g. :data:`S2_BANDS`).

    Returns:
        ``{band: path}`` for every band in ``bands``, in the order of ``bands``.

    Raises:
        FileNotFoundError: ``folder`` does not exist.
        ValueError: a wanted band has no file (the band is named), or one band has several
            files at the same resolution (they are listed).
    """
    root = Path(folder)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: Sentinel-2 band folder not found")
    candidates: dict[str, list[tuple[float, Path]]] = {}
    for path in sorted(root.rglob("*")):
        if path.suffix.lower() not in BAND_FILE_EXTENSIONS or not path.is_file():
            continue
        if path.name.upper().startswith("MSK_") or "QI_DATA" in (p.upper() for p in path.parts):
            continue
        stem = path.stem
        band = normalise_band_name(_RESOLUTION_SUFFIX_RE.sub("", stem.upper()))
        if band is None:
            continue
        candidates.setdefault(band, []).append((_file_resolution_m(stem), path))
    found: dict[str, Path] = {}
    missing = [b for b in bands if b not in candidates]
    if missing:
        raise ValueError(
            f"{root}: no file for band(s) {', '.join(repr(b) for b in missing)} "
            f"(looked recursively for *_<BAND>{{{','.join(BAND_FILE_EXTENSIONS)}}}); "
            f"bands found: {sorted(candidates) or 'none'}"
        )
    for band in bands:
        options = sorted(candidates[band], key=lambda item: item[0])
        best = [p for res, p in options if res == options[0][0]]
        if len(best) > 1:
            raise ValueError(
                f"{root}: several files for band {band!r}: {[str(p) for p in best]}; "
                "point to a single granule folder"
            )
        found[band] = best[0]
    return found


# --------------------------------------------------------------------------------------------
# The opened source
# --------------------------------------------------------------------------------------------


@dataclass
class RasterPart:
    """One opened file of a Sentinel-2 source and the S2 bands it provides.

    Attributes:
        path: the file.
        dataset: the open rasterio dataset.
        indexes: 1-based band indexes in the file, one per provided band.
        positions: the matching positions in :data:`S2_BANDS` (0–9).
    """

    path: Path
    dataset: Any
    indexes: tuple[int, ...]
    positions: tuple[int, ...]

    @property
    def label(self) -> str:
        """``file name`` plus the band names for per-band files, for messages."""
        if len(self.positions) == 1:
            return f"{self.path.name} ({S2_BANDS[self.positions[0]]})"
        return self.path.name


def _open_raster(path: Path) -> Any:
    """Open ``path`` with rasterio, turning GDAL failures into a ``ValueError`` naming it."""
    try:
        dataset = rasterio.open(path)
    except rasterio.errors.RasterioIOError as exc:
        raise ValueError(f"{path}: cannot be read as a raster ({exc})") from exc
    if dataset.crs is None:
        dataset.close()
        raise ValueError(f"{path}: raster has no CRS; Sentinel-2 input must be georeferenced (e.g. UTM)")
    if dataset.transform == Affine.identity():
        dataset.close()
        raise ValueError(f"{path}: raster has no geotransform; Sentinel-2 input must be georeferenced")
    return dataset


class Sentinel2Source:
    """An opened Sentinel-2 input (multi-band file or per-band folder), ready for chipping.

    Open it once per job with :func:`open_sentinel2`, use :meth:`chip` any number of times, and
    close it (or use it as a context manager).
    """

    def __init__(self, path: Path, parts: list[RasterPart], form: str) -> None:
        self.path = path
        self.parts = parts
        self.form = form  # "multiband" or "folder"

    @property
    def band_files(self) -> dict[str, Path]:
        """``{band: file}`` in So2Sat order."""
        out = {S2_BANDS[pos]: part.path for part in self.parts for pos in part.positions}
        return {band: out[band] for band in S2_BANDS}

    @property
    def crs(self) -> CRS:
        """CRS of the first file (B02's file for a folder)."""
        return self.parts[0].dataset.crs

    def close(self) -> None:
        """Close every file."""
        for part in self.parts:
            part.dataset.close()

    def __enter__(self) -> Sentinel2Source:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Sentinel2Source({str(self.path)!r}, form={self.form!r}, files={len(self.parts)})"

    def chip(
        self,
        samples: pd.DataFrame,
        working_crs: str | None = None,
        resampling: str = "bilinear",
        chip_px: int = S2_CHIP_PX,
        tile_px: int = DEFAULT_TILE_PX,
        reflectance_scale: float = S2_REFLECTANCE_SCALE,
    ) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
        """Cut one chip per sample square; see :func:`chip_sentinel2` for the arguments."""
        return _chip_source(self, samples, working_crs, resampling, chip_px, tile_px, reflectance_scale)


def open_sentinel2(path: str | os.PathLike, band_names: Sequence[str] | None = None) -> Sentinel2Source:
    """Open a Sentinel-2 input: a multi-band raster file or a folder of per-band files.

    Args:
        path: multi-band raster (GeoTIFF, VRT, …) or folder of per-band files.
        band_names: for a multi-band file without band descriptions, the band name of every band
            in file order (e.g. ``["B02", "B03", …]``); not allowed for a folder.

    Returns:
        The opened source (close it, or use ``with``).

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: a band is missing, the bands cannot be identified, a file is unreadable or
            has no CRS — always naming the file.
    """
    root = Path(path)
    if not root.exists():
        raise FileNotFoundError(
            f"{root}: Sentinel-2 input not found (expected a multi-band raster or a band folder)"
        )
    if root.is_dir():
        if band_names is not None:
            raise ValueError(
                f"{root}: band_names applies to a multi-band file, not to a folder of per-band files"
            )
        return _open_folder(root)
    return _open_multiband(root, band_names)


def _open_folder(root: Path) -> Sentinel2Source:
    files = find_band_files(root, S2_BANDS)
    parts: list[RasterPart] = []
    try:
        for position, band in enumerate(S2_BANDS):
            dataset = _open_raster(files[band])
            parts.append(RasterPart(files[band], dataset, (1,), (position,)))
            if dataset.count != 1:
                log.warning(
                    "%s: %d bands in a per-band file; using band 1 as %s", files[band], dataset.count, band
                )
    except BaseException:
        for part in parts:
            part.dataset.close()
        raise
    return Sentinel2Source(root, parts, "folder")


def _open_multiband(path: Path, band_names: Sequence[str] | None) -> Sentinel2Source:
    dataset = _open_raster(path)
    try:
        names = _identify_bands(path, dataset.count, dataset.descriptions, band_names)
    except BaseException:
        dataset.close()
        raise
    indexes = tuple(names.index(band) + 1 for band in S2_BANDS)
    part = RasterPart(path, dataset, indexes, tuple(range(len(S2_BANDS))))
    return Sentinel2Source(path, [part], "multiband")


def _identify_bands(
    path: Path, count: int, descriptions: Sequence[str | None], band_names: Sequence[str] | None
) -> list[str | None]:
    """Name every band of a multi-band file (``None`` for bands that are not S2 bands)."""
    expected = ", ".join(S2_BANDS)
    if band_names is not None:
        if len(band_names) != count:
            raise ValueError(
                f"{path}: band_names has {len(band_names)} names but the file has {count} bands; "
                "give one name per band in file order"
            )
        names = [normalise_band_name(n) for n in band_names]
        unknown = [n for n, canon in zip(band_names, names) if canon is None]
        if unknown:
            raise ValueError(f"{path}: band_names {unknown} are not Sentinel-2 band names (B01…B12, B8A)")
        source = "band_names"
    else:
        names = [normalise_band_name(d) for d in descriptions]
        source = "band descriptions"
        if not any(names):
            if count == len(S2_BANDS):
                log.info("%s: no band descriptions; assuming So2Sat band order %s", path, expected)
                return list(S2_BANDS)
            raise ValueError(
                f"{path}: found {count} band(s) and no band descriptions naming Sentinel-2 bands; "
                f"expected 10 bands in So2Sat order ({expected}) or descriptions such as 'B02'/'B8A'. "
                "Pass band_names=[...] (one name per band, in file order) to say which band is which"
            )
    duplicated = sorted({n for n in names if n is not None and names.count(n) > 1})
    if duplicated:
        raise ValueError(f"{path}: band(s) {duplicated} named twice in the {source} ({list(descriptions)})")
    missing = [b for b in S2_BANDS if b not in names]
    if missing:
        raise ValueError(
            f"{path}: band(s) {missing} not found among the {source} {list(band_names or descriptions)} "
            f"of its {count} band(s); expected {expected}. Pass band_names=[...] to name the bands"
        )
    return names


# --------------------------------------------------------------------------------------------
# Chipping
# --------------------------------------------------------------------------------------------


def chip_sentinel2(
    source_path: str | os.PathLike,
    samples: pd.DataFrame,
    working_crs: str | None = None,
    resampling: str = "bilinear",
    band_names: Sequence[str] | None = None,
    chip_px: int = S2_CHIP_PX,
    tile_px: int = DEFAULT_TILE_PX,
    reflectance_scale: float = S2_REFLECTANCE_SCALE,
) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Cut the 10-band Sentinel-2 chip of every sample square.

    Args:
        source_path: multi-band raster or folder of per-band files (see :func:`open_sentinel2`).
        samples: table with ``sample_id`` and the square ``xmin, ymin, xmax, ymax`` in the working
            CRS (side ``chip_px × 10`` m); a ``crs`` column, if present, must agree with
            ``working_crs``.
        working_crs: CRS of the squares (e.g. ``"EPSG:32650"``); default: the ``crs`` column.
        resampling: ``"bilinear"`` (default), ``"nearest"`` or ``"cubic"``; used for bands not on
            the square's 10 m grid (20 m bands, unaligned squares, other CRSs).
        band_names: names of the bands of a multi-band file without descriptions.
        chip_px: chip side in pixels (32 → 320 m squares).
        tile_px: side (pixels) of the tiles within which samples are read together; bounds memory.
        reflectance_scale: DN divisor (10000 for L1C/L2A digital numbers).

    Returns:
        ``sample_ids`` (N,) int64 of the chipped samples, in input order;
        ``images`` (N, chip_px, chip_px, 10) float32 reflectance in [0, 1], So2Sat band order;
        ``excluded`` DataFrame with ``sample_id`` (int64) and ``reason`` (str), in input order.

    Raises:
        FileNotFoundError / ValueError: see :func:`open_sentinel2`; also when the raster overlaps
            none of the squares, or the sample table is malformed.
    """
    with open_sentinel2(source_path, band_names=band_names) as source:
        return source.chip(samples, working_crs, resampling, chip_px, tile_px, reflectance_scale)


@dataclass
class _Squares:
    """Sample squares as arrays (N,)."""

    ids: np.ndarray
    xmin: np.ndarray
    ymax: np.ndarray


def _squares_from_table(samples: pd.DataFrame, chip_px: int) -> _Squares:
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
    side = chip_px * TARGET_PIXEL_M
    for lo, hi in (("xmin", "xmax"), ("ymin", "ymax")):
        bad = np.abs(coords[hi] - coords[lo] - side) > SQUARE_SIDE_TOLERANCE_M
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            size = coords[hi][i] - coords[lo][i]
            raise ValueError(
                f"samples: square of sample_id {ids[i]} has {hi}-{lo} = {size:.3f} m; "
                f"expected {side:g} m ({chip_px} px of {TARGET_PIXEL_M:g} m)"
            )
    return _Squares(ids, coords["xmin"], coords["ymax"])


def _resolve_working_crs(samples: pd.DataFrame, working_crs: str | None) -> CRS:
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
    part: RasterPart, squares: _Squares, working_crs: CRS, same_crs: bool, chip_px: int, method: str
) -> _Support:
    """Source pixels of ``part`` that each square's chip draws on (see :class:`_Support`)."""
    half = TARGET_PIXEL_M / 2
    span = (chip_px - 1) * TARGET_PIXEL_M  # first to last chip-pixel centre
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
    if abs(t.a - TARGET_PIXEL_M) > GRID_TOLERANCE_PX or abs(t.e + TARGET_PIXEL_M) > GRID_TOLERANCE_PX:
        return None
    col, row = (x0 - t.c) / TARGET_PIXEL_M, (t.f - y0) / TARGET_PIXEL_M
    if abs(col - round(col)) > GRID_TOLERANCE_PX or abs(row - round(row)) > GRID_TOLERANCE_PX:
        return None
    return int(round(col)), int(round(row))


def _invalid_mask(part: RasterPart, raw: np.ndarray) -> tuple[np.ndarray, str]:
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


def _groups(squares: _Squares, tile_px: int, chip_px: int) -> list[np.ndarray]:
    """Index arrays (into ``squares``) of groups of nearby samples that are chipped together.

    Samples are first split by sub-pixel phase of their 10 m grid (so one grid serves a whole
    group) and by tile of ``tile_px`` target pixels (which bounds a group's extent and memory),
    then, inside a tile, into clusters of squares less than one square apart (8-connected on a
    grid of square-sized cells), so that one window read per cluster decodes little beyond what
    the squares cover. Groups come out tile by tile, north to south then west to east.
    """
    phase_x = np.round(np.mod(squares.xmin, TARGET_PIXEL_M), 3) % TARGET_PIXEL_M
    phase_y = np.round(np.mod(squares.ymax, TARGET_PIXEL_M), 3) % TARGET_PIXEL_M
    tile_m = tile_px * TARGET_PIXEL_M
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


def _clusters(squares: _Squares, members: np.ndarray, chip_px: int) -> list[np.ndarray]:
    """Split ``members`` (samples of one tile and phase) into clusters of nearby squares.

    Each square marks the 2×2 square-sized cells around its upper-left corner's cell; clusters
    are the 8-connected components of the marked cells.
    """
    if len(members) == 1:
        return [members]
    cell_m = chip_px * TARGET_PIXEL_M
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


def _chip_grid(x0: float, y0: float) -> Affine:
    """North-up 10 m grid with its upper-left corner at ``(x0, y0)`` (= ``from_origin``)."""
    return Affine(TARGET_PIXEL_M, 0.0, float(x0), 0.0, -TARGET_PIXEL_M, float(y0))


def _window_transform(transform: Affine, window: Window) -> Affine:
    """Geotransform of ``window`` of a raster with ``transform`` (= ``window_transform``)."""
    t, col, row = transform, window.col_off, window.row_off
    return Affine(t.a, t.b, t.c + t.a * col + t.b * row, t.d, t.e, t.f + t.d * col + t.e * row)


def _read_window(part: RasterPart, window: Window) -> np.ndarray:
    """Band-interleaved read (k, h, w) of ``part``'s bands; read errors name the file."""
    try:
        return part.dataset.read(part.indexes, window=window)
    except rasterio.errors.RasterioIOError as exc:
        raise ValueError(f"{part.path}: failed to read window {window} ({exc})") from exc


def _chip_source(
    source: Sentinel2Source,
    samples: pd.DataFrame,
    working_crs: str | None,
    resampling: str,
    chip_px: int,
    tile_px: int,
    reflectance_scale: float,
) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Implementation of :meth:`Sentinel2Source.chip` (see :func:`chip_sentinel2`)."""
    if resampling not in RESAMPLING_METHODS:
        raise ValueError(
            f"resampling: {resampling!r} is not supported; expected one of {list(RESAMPLING_METHODS)}"
        )
    if chip_px < 1 or tile_px < 1 or not reflectance_scale > 0:
        raise ValueError(
            "chip_px, tile_px and reflectance_scale must be positive, "
            f"got {chip_px}, {tile_px}, {reflectance_scale}"
        )
    n_bands = len(S2_BANDS)
    empty = (
        np.zeros(0, np.int64),
        np.zeros((0, chip_px, chip_px, n_bands), np.float32),
        pd.DataFrame({"sample_id": np.zeros(0, np.int64), "reason": pd.Series([], dtype=str)}),
    )
    if len(samples) == 0:
        return empty
    crs = _resolve_working_crs(samples, working_crs)
    squares = _squares_from_table(samples, chip_px)
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
            b, side = part.dataset.bounds, chip_px * TARGET_PIXEL_M
            raise ValueError(
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
        sub = _Squares(squares.ids[candidates], squares.xmin[candidates], squares.ymax[candidates])
        index = np.flatnonzero(candidates)
        groups = _groups(sub, tile_px, chip_px)
        for members in progress(groups, desc=f"sentinel-2 chips ({source.path.name})"):
            _chip_group(
                source, supports, same_crs, crs, resampling, chip_px, sub, index, members, images, reasons
            )

    keep = np.array([r is None for r in reasons])
    if not keep.all():
        images = images[keep]
    images /= np.float32(reflectance_scale)
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
    sub: _Squares,
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
    cols = np.round((sub.xmin[members] - x0) / TARGET_PIXEL_M).astype(np.int64)
    rows = np.round((y0 - sub.ymax[members]) / TARGET_PIXEL_M).astype(np.int64)
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
        raw = _read_window(part, window)
        invalid, what = _invalid_mask(part, raw)
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
            for k, m in slots:
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


# --------------------------------------------------------------------------------------------
# HDF5 shard files
# --------------------------------------------------------------------------------------------


def write_sentinel2_chips(
    path: str | os.PathLike,
    sample_ids: np.ndarray,
    images: np.ndarray,
    excluded: pd.DataFrame,
    attrs: dict[str, Any] | None = None,
) -> None:
    """Write a Sentinel-2 chip shard (DESIGN.md §5) atomically.

    Datasets: ``sample_id`` (N,) int64, ``image`` (N, H, W, 10) float32 in [0, 1] (So2Sat band
    order), ``excluded_sample_id`` (M,) int64 and ``excluded_reason`` (M,) UTF-8 strings.
    Attrs: ``bands`` (the 10 band names), ``reflectance_scale``, ``pixel_size_m`` plus ``attrs``.

    Raises:
        ValueError: shapes, dtype, range or the excluded table do not fit the contract.
    """
    ids = check_sample_ids(path, sample_ids)
    img = np.asarray(images)
    bad_shape = img.ndim != 4 or img.shape[0] != len(ids) or img.shape[1] != img.shape[2]
    if bad_shape or img.shape[3] != len(S2_BANDS):
        raise ValueError(f"{path}: images must be (N={len(ids)}, H, H, {len(S2_BANDS)}), got {img.shape}")
    if img.dtype != np.float32:
        raise ValueError(f"{path}: images must be float32 reflectance, got {img.dtype}")
    if img.size and not (np.isfinite(img).all() and img.min() >= 0.0 and img.max() <= 1.0):
        raise ValueError(f"{path}: images must be finite reflectance in [0, 1]")
    all_attrs: dict[str, Any] = dict(attrs or {})
    all_attrs.update(
        bands=list(S2_BANDS), reflectance_scale=S2_REFLECTANCE_SCALE, pixel_size_m=TARGET_PIXEL_M
    )
    write_chip_shard(path, ids, img, excluded, all_attrs)


def read_sentinel2_chips(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Read a Sentinel-2 chip shard: ``sample_id`` (N,) int64 and ``image`` (N, H, H, 10) float32.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not HDF5, datasets missing, or shapes/dtype/band attrs off the contract.
    """
    data, attrs = read_h5(path, ["sample_id", "image"])
    ids, img = data["sample_id"], data["image"]
    if ids.ndim != 1 or img.ndim != 4 or img.shape[0] != len(ids) or img.shape[1] != img.shape[2]:
        raise ValueError(
            f"{path}: expected sample_id (N,) and image (N, H, H, 10); got {ids.shape} and {img.shape}"
        )
    if img.shape[3] != len(S2_BANDS) or img.dtype != np.float32:
        raise ValueError(
            f"{path}: image must be float32 with {len(S2_BANDS)} bands; got {img.dtype} {img.shape}"
        )
    bands = attrs.get("bands")
    if bands is None or list(bands) != list(S2_BANDS):
        raise ValueError(f"{path}: attr 'bands' is {bands!r}; expected {list(S2_BANDS)}")
    return ids.astype(np.int64), img


def read_sentinel2_excluded(path: str | os.PathLike) -> pd.DataFrame:
    """Read the excluded samples of a chip shard as a DataFrame ``sample_id``, ``reason``."""
    data, _ = read_h5(path, ["excluded_sample_id", "excluded_reason"])
    raw = data["excluded_reason"].tolist()
    reasons = [r.decode("utf-8") if isinstance(r, bytes) else str(r) for r in raw]
    ids = data["excluded_sample_id"].astype(np.int64)
    return pd.DataFrame({"sample_id": ids, "reason": pd.Series(reasons, dtype=str)})
