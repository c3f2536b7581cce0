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
  (``"B02"``, ``"B2"``, ``"B8A"``, ``"SR_B2"`` … are all understood), or by ``band_names`` given by
  the caller (one name per band of the file, in file order). A file whose descriptions name no
  band is an error that says how to name them (the band order is never guessed).
* **A folder of per-band files** as in a SAFE granule (``*_B02.jp2``, ``*_B8A.jp2``, L2A
  ``*_B02_10m.jp2`` …; ``.jp2``/``.tif``/``.tiff``, searched recursively, quality masks under
  ``QI_DATA`` / ``MSK_*`` ignored). Where a band exists at several resolutions (L2A ``R10m``/
  ``R20m``/``R60m``), the finest is used.
* **A product** as ESA ships it: a ``.SAFE`` folder or its ``.zip`` (L1C or L2A, read in place
  through ``/vsizip/``), with its quantification value and baseline ≥ 04.00 offsets.
* **Several inputs** of one region (:mod:`.scenes`): each sample takes the clearest that covers it.

What a chip is (the promise the tests check)
--------------------------------------------
For a sample square ``xmin..xmax × ymin..ymax`` in the working CRS (side ``chip_px × 10 m``), the
chip of each band equals ``rasterio.warp.reproject`` of that band onto the square's 10 m grid
(``dst_transform = from_origin(xmin, ymax, 10, 10)``, ``chip_px × chip_px`` pixels,
``dst_crs = working CRS``) with the chosen resampling (config ``sentinel2.resampling``: ``"nearest"``, ``"bilinear"``,
``"cubic"``), as float32, turned into reflectance ``(value + offset) / scale`` (:mod:`.radiometry`:
10000 and 0 for digital numbers without metadata) and clipped to [0, 1]. When the raster is in the
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
tile of at most ``tile_px × tile_px`` target pixels (:data:`~.warp.DEFAULT_TILE_PX` = 512, i.e.
5.12 km). Each group needs one band-interleaved window read per file plus, where resampling is
needed, one warp of the group's grid (or of each square, when that is cheaper). Memory therefore depends on the tile
size and the number of samples, never on the raster size.
"""

from .bands import find_band_files, normalise_band_name
from .sources import RasterPart, Sentinel2Source, chip_sentinel2, open_sentinel2
from .warp import RESAMPLING_METHODS

__all__ = [
    "RESAMPLING_METHODS",
    "RasterPart",
    "Sentinel2Source",
    "chip_sentinel2",
    "find_band_files",
    "normalise_band_name",
    "open_sentinel2",
]
