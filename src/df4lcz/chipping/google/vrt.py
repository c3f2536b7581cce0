"""The in-memory VRT that mosaics a Google input of several files into one 4-band raster.

:mod:`df4lcz.chipping.google.sources` locates a Google input on disk (which form, which files);
this module turns a located tile folder or GeoTIFF list into VRT XML, checking the files as it opens
them. Nothing is copied: the VRT is a few lines of XML per source file, and GDAL reads only the
windows the chipper asks for.

Every mosaic built here has 4 uint8 bands, RGB + alpha (:data:`MOSAIC_COLOR_INTERP`): the alpha of
a source is its GDAL mask (the alpha band of an RGBA file, its nodata, or all valid), and pixels no
source covers have alpha 0.

* :func:`tiles_vrt`: tiles of one zoom placed on the EPSG:3857 grid. Tile ``(z, x, y)`` (XYZ rows,
  north = 0) covers x from ``-H + x·C/2^z`` to ``-H + (x+1)·C/2^z`` and y from ``H - y·C/2^z`` down
  to ``H - (y+1)·C/2^z`` (``H`` = :data:`WEB_MERCATOR_HALF_M`, ``C = 2H``). The VRT spans the
  tiles' bounding block; :data:`TILE_PROBES` tiles spread over the list are opened to check they
  are square uint8 RGB(A) tiles of one size.
* :func:`mosaic_vrt`: GeoTIFFs of one CRS and band layout, north-up, at the finest pixel size (a
  later file wins where two overlap); mixed pixel sizes are logged.

Errors name the config key (e.g. ``regions[0].google``) and the odd file.
"""

from __future__ import annotations

import math
import os
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
import rasterio.errors
import rasterio.io
from rasterio.crs import CRS
from rasterio.errors import NotGeoreferencedWarning
from rasterio.io import MemoryFile
from rasterio.windows import Window

from ...errors import InputError
from ...logs import get_logger
from .sources import GoogleInput, ResolvedGoogle, Tile, resolve_google

log = get_logger("google")

#: Half the side of the Web-Mercator square (EPSG:3857 metres from the origin to the edge).
WEB_MERCATOR_HALF_M: float = 20037508.342789244

#: CRS of XYZ/TMS tiles and MBTiles files.
WEB_MERCATOR_CRS: str = "EPSG:3857"

#: Tiles of a folder opened to check their size and band count (spread over the tile list).
TILE_PROBES: int = 8

#: Distance (in pixels) within which a GeoTIFF's offset in the mosaic is taken as whole.
PIXEL_SNAP_TOL: float = 1e-6

#: Relative difference of pixel sizes above which a GeoTIFF mosaic is reported as mixed resolution.
RESOLUTION_RTOL: float = 1e-6

#: Colour interpretation of the 4 bands of a mosaic built here.
MOSAIC_COLOR_INTERP: tuple[str, ...] = ("Red", "Green", "Blue", "Alpha")


def open_raster(path: str, **options: str) -> rasterio.io.DatasetReader:
    """Open one file of a Google input with GDAL (``options``: open options of its driver).

    Raises:
        FileNotFoundError: ``path`` does not exist.
        InputError: GDAL cannot read it (the message names the file).
    """
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: Google Earth mosaic not found")
    try:
        return rasterio.open(path, **options)
    except rasterio.errors.RasterioIOError as exc:
        raise InputError(f"{path}: not a raster GDAL can read ({exc})") from exc


@dataclass(frozen=True)
class _Source:
    """One file of a VRT mosaic: where it goes and which of its bands feed R, G, B and alpha."""

    path: str
    width: int
    height: int
    dst: tuple[float, float, float, float]  # x offset, y offset, width, height in mosaic pixels
    bands: tuple[str, str, str, str]  # source band of R, G, B, alpha ("mask,1": band 1's mask)
    block: tuple[int, int]


def _vrt(width: int, height: int, crs: CRS, transform: rasterio.Affine, sources: Sequence[_Source]) -> str:
    """VRT XML of a 4-band (RGB + alpha) uint8 mosaic of ``sources``."""
    root = ET.Element("VRTDataset", rasterXSize=str(width), rasterYSize=str(height))
    ET.SubElement(root, "SRS").text = crs.to_wkt()
    ET.SubElement(root, "GeoTransform").text = ", ".join(repr(float(v)) for v in transform.to_gdal())
    for k, interp in enumerate(MOSAIC_COLOR_INTERP):
        band = ET.SubElement(root, "VRTRasterBand", dataType="Byte", band=str(k + 1))
        ET.SubElement(band, "ColorInterp").text = interp
        for s in sources:
            el = ET.SubElement(band, "SimpleSource")
            ET.SubElement(el, "SourceFilename", relativeToVRT="0").text = s.path
            ET.SubElement(el, "SourceBand").text = s.bands[k]
            ET.SubElement(
                el,
                "SourceProperties",
                RasterXSize=str(s.width),
                RasterYSize=str(s.height),
                DataType="Byte",
                BlockXSize=str(s.block[0]),
                BlockYSize=str(s.block[1]),
            )
            ET.SubElement(el, "SrcRect", xOff="0", yOff="0", xSize=str(s.width), ySize=str(s.height))
            ET.SubElement(
                el, "DstRect", {k2: _num(v) for k2, v in zip(("xOff", "yOff", "xSize", "ySize"), s.dst)}
            )
    return ET.tostring(root, encoding="unicode")


def _num(v: float) -> str:
    r = round(v)
    return str(r) if abs(v - r) < PIXEL_SNAP_TOL else repr(float(v))


def tile_name(tile: Tile, zoom: int | None) -> str:
    """How messages name a tile: ``z/x/y`` (XYZ row) and its file."""
    return f"{zoom}/{tile.x}/{tile.y} ({tile.path})" if zoom is not None else tile.path


def unreadable_tile(resolved: ResolvedGoogle, src: rasterio.io.DatasetReader, window: Window) -> Tile | None:
    """The first tile under ``window`` whose pixels cannot be read through the opened tile-folder mosaic.

    A read through the in-memory VRT fails naming only the VRT; this reads each tile under
    ``window`` on its own to name the corrupt one. None for other forms, or when every tile
    there reads.

    Args:
        resolved: the located input (only ``"tiles"`` is searched).
        src: the opened mosaic (:func:`open_google`), whose pixel grid is the tiles' bounding block.
        window: the window whose read failed.
    """
    if resolved.form != "tiles" or not resolved.tiles:
        return None
    x0 = min(t.x for t in resolved.tiles)
    y0 = min(t.y for t in resolved.tiles)
    side = src.width // (max(t.x for t in resolved.tiles) - x0 + 1)
    col0, row0 = int(window.col_off) // side, int(window.row_off) // side
    col1 = (int(math.ceil(window.col_off + window.width)) - 1) // side
    row1 = (int(math.ceil(window.row_off + window.height)) - 1) // side
    for tile in resolved.tiles:
        if col0 <= tile.x - x0 <= col1 and row0 <= tile.y - y0 <= row1 and not _tile_reads(tile.path):
            return tile
    return None


def _tile_reads(path: str) -> bool:
    """Whether GDAL decodes a tile file. It is read in two halves: GDAL's whole-image read of a
    truncated PNG can return zeros without an error, where a window read (the chipper's) fails."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with rasterio.open(path) as t:
                half = max(1, t.height // 2)
                t.read(window=Window(0, 0, t.width, half))
                if t.height > half:
                    t.read(window=Window(0, half, t.width, t.height - half))
    except rasterio.errors.RasterioIOError:
        return False
    return True


def read_error_message(
    resolved: ResolvedGoogle, src: rasterio.io.DatasetReader, window: Window, exc: Exception, where: str
) -> str:
    """The message of a failed read of ``window`` (``where``: what was read, e.g. ``sample 12``):
    names the corrupt tile (``z/x/y`` and its path) of a tile folder, else the input."""
    what = f"(column {window.col_off}, row {window.row_off}, {window.width} × {window.height}) of {where} ({exc})"
    tile = unreadable_tile(resolved, src, window)
    if tile is not None:
        return (
            f"{resolved.spec.key}: tile {tile_name(tile, resolved.zoom)} of the tile folder {resolved} is "
            f"truncated or corrupt: reading pixels {what} failed; expected a readable PNG/JPEG/WebP tile: "
            "re-download that tile, or delete it (its squares are then excluded as missing)"
        )
    return (
        f"{resolved}: failed to read pixels {what}; the Google raster is truncated or corrupt: re-download "
        "or rebuild it"
    )


def tile_layout(tiles: Sequence[Tile], key: str, zoom: int | None = None) -> tuple[int, int]:
    """``(tile side in px, band count)`` of a tile folder, checked on :data:`TILE_PROBES` spread tiles.

    Raises:
        InputError: a probed tile GDAL cannot read, that is not square uint8 RGB/RGBA, or whose size
            differs from the first probed tile's (the message names ``key`` and the tile).
    """
    picks = np.unique(np.linspace(0, len(tiles) - 1, min(len(tiles), TILE_PROBES)).round().astype(int))
    layout: tuple[int, int] | None = None
    first = ""
    for i in picks:
        path = tiles[int(i)].path
        try:
            with warnings.catch_warnings():  # tiles carry no georeferencing: the VRT gives it
                warnings.simplefilter("ignore", NotGeoreferencedWarning)
                with rasterio.open(path) as t:
                    size, count, dtypes = (t.width, t.height), t.count, set(t.dtypes)
        except rasterio.errors.RasterioIOError as exc:
            raise InputError(
                f"{key}: tile {tile_name(tiles[int(i)], zoom)} is not an image GDAL can read ({exc})"
            ) from exc
        if size[0] != size[1] or count not in (3, 4) or dtypes != {"uint8"}:
            raise InputError(
                f"{key}: tile {path} is {size[0]} × {size[1]} px with {count} band(s) of "
                f"{'/'.join(sorted(dtypes))}; expected square uint8 RGB or RGBA tiles (a paletted or grey "
                "PNG must be expanded to RGB)"
            )
        if layout is None:
            layout, first = (size[0], count), path
        elif size[0] != layout[0]:
            raise InputError(
                f"{key}: tile {path} is {size[0]} px wide but {first} is {layout[0]} px; "
                "expected tiles of one size"
            )
    assert layout is not None
    return layout


def tiles_vrt(tiles: Sequence[Tile], zoom: int, key: str) -> str:
    """VRT XML of a tile folder's ``tiles`` at ``zoom``: their bounding block of the zoom's grid.

    Args:
        tiles: the tiles (at least one), rows in the XYZ scheme.
        zoom: their zoom level.
        key: the config key named in errors (see :func:`tile_layout`).
    """
    assert tiles
    side, _ = tile_layout(tiles, key, zoom)
    tile_m = 2 * WEB_MERCATOR_HALF_M / 2**zoom
    pixel_m = tile_m / side
    x0, x1 = min(t.x for t in tiles), max(t.x for t in tiles)
    y0, y1 = min(t.y for t in tiles), max(t.y for t in tiles)
    transform = rasterio.Affine(
        pixel_m, 0.0, -WEB_MERCATOR_HALF_M + x0 * tile_m, 0.0, -pixel_m, WEB_MERCATOR_HALF_M - y0 * tile_m
    )
    bands = ("1", "2", "3", "mask,1")  # RGB or RGBA tiles alike: the alpha is band 1's mask
    sources = [
        _Source(t.path, side, side, ((t.x - x0) * side, (t.y - y0) * side, side, side), bands, (side, 1))
        for t in tiles
    ]
    return _vrt(
        (x1 - x0 + 1) * side, (y1 - y0 + 1) * side, CRS.from_user_input(WEB_MERCATOR_CRS), transform, sources
    )


def mosaic_vrt(files: Sequence[str], key: str, label: str) -> str:
    """VRT XML of several GeoTIFFs: one CRS and band layout, north-up, at the finest pixel size.

    Args:
        files: the GeoTIFF/VRT files, in order (a later file wins where two overlap).
        key: the config key named in errors.
        label: how the input is named in the mixed-resolution warning.

    Raises:
        InputError: a file without CRS, or with another CRS or band layout than the first, a rotated
            or flipped file, or bands other than 3 or 4 uint8 (the message names the file).
    """
    infos = []
    for path in files:
        with open_raster(path) as src:
            infos.append(
                (
                    path,
                    src.crs,
                    src.count,
                    tuple(src.dtypes),
                    src.transform,
                    src.width,
                    src.height,
                    src.block_shapes[0],
                )
            )
    path0, crs0, count0, dtypes0 = infos[0][:4]
    if crs0 is None:
        raise InputError(f"{key}: {path0} has no CRS; assign one (e.g. gdal_edit.py -a_srs EPSG:3857)")
    for path, crs, count, dtypes, t, *_ in infos:
        if crs != crs0:
            raise InputError(
                f"{key}: {path} is in {crs.to_string() if crs else 'no CRS'} but {path0} is in "
                f"{crs0.to_string()}; expected every GeoTIFF of the mosaic in one CRS (reproject it)"
            )
        if count != count0 or dtypes != dtypes0:
            raise InputError(
                f"{key}: {path} has {count} band(s) of {'/'.join(dtypes)} but {path0} has {count0} of "
                f"{'/'.join(dtypes0)}; expected every GeoTIFF of the mosaic with one band layout"
            )
        if t.b != 0 or t.d != 0 or t.a <= 0 or t.e >= 0:
            raise InputError(
                f"{key}: {path} is rotated or flipped (geotransform {tuple(t)[:6]}); expected north-up "
                "GeoTIFFs (gdalwarp them first)"
            )
    if count0 not in (3, 4) or set(dtypes0) != {"uint8"}:
        raise InputError(
            f"{key}: {path0} has {count0} band(s) of {'/'.join(dtypes0)}; expected 3 (RGB) or 4 "
            "(RGB + alpha) uint8 bands"
        )
    res_x = min(i[4].a for i in infos)
    res_y = min(-i[4].e for i in infos)
    if any(
        not math.isclose(i[4].a, res_x, rel_tol=RESOLUTION_RTOL)
        or not math.isclose(-i[4].e, res_y, rel_tol=RESOLUTION_RTOL)
        for i in infos
    ):
        log.warning(
            "%s: the GeoTIFFs of %s have different pixel sizes; the mosaic uses the finest (%g × %g) "
            "and resamples the others (nearest)",
            key,
            label,
            res_x,
            res_y,
        )
    left = min(i[4].c for i in infos)
    top = max(i[4].f for i in infos)
    right = max(i[4].c + i[4].a * i[5] for i in infos)
    bottom = min(i[4].f + i[4].e * i[6] for i in infos)
    width = max(1, math.ceil((right - left) / res_x - PIXEL_SNAP_TOL))
    height = max(1, math.ceil((top - bottom) / res_y - PIXEL_SNAP_TOL))
    bands = ("1", "2", "3", "4" if count0 == 4 else "mask,1")
    sources = []
    for path, _, _, _, t, w, h, block in infos:
        dst = ((t.c - left) / res_x, (top - t.f) / res_y, w * t.a / res_x, -h * t.e / res_y)
        sources.append(_Source(os.path.abspath(path), w, h, dst, bands, (block[1], block[0])))
    transform = rasterio.Affine(res_x, 0.0, left, 0.0, -res_y, top)
    return _vrt(width, height, crs0, transform, sources)


@contextmanager
def open_google(value: GoogleInput) -> Iterator[rasterio.io.DatasetReader]:
    """Open a Google input as one raster (a context manager; nothing is read yet).

    Raises:
        FileNotFoundError: a missing path.
        InputError: any problem listed in the module docstring, or a file GDAL cannot open
            (the message names it).
    """
    resolved = resolve_google(value)
    if resolved.form == "raster":
        with open_raster(resolved.files[0]) as src:
            yield src
        return
    if resolved.form == "mbtiles":
        with open_raster(resolved.files[0], ZOOM_LEVEL=str(resolved.zoom), USE_BOUNDS="NO") as src:
            yield src
        return
    name = Path(resolved.files[0]).name or "google"
    with MemoryFile(resolved.vrt_xml.encode("utf-8"), filename=f"{name}.vrt") as mem, mem.open() as src:
        yield src
