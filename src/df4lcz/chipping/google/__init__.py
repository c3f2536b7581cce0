"""Google Earth imagery: a ``regions[].google`` input located, opened and cut into RGB chips.

* :mod:`.sources` — the forms a ``regions[].google`` value may take (GeoTIFF/VRT, glob or list of
  GeoTIFFs, XYZ/TMS tile folder, MBTiles), located on disk, and the files Snakemake tracks (no
  raster library imported: the workflow calls it while it loads);
* :mod:`.vrt` — the in-memory VRT that mosaics a tile folder or a GeoTIFF list, and
  :func:`~.vrt.open_google`, which opens any form as one 4-band raster;
* :mod:`.chips` — the chipper (:func:`~.chips.chip_google`) and the raster checks of the
  ``samples`` checkpoint (:func:`~.chips.check_google_raster`).
"""
