"""Cutting the chips of both streams on the sample squares, and the samples valid in every stream.

* :mod:`df4lcz.chipping.google` — Google Earth RGB chips (:func:`~df4lcz.chipping.google.chip_google`);
* :mod:`df4lcz.chipping.google_sources` — a ``regions[].google`` spec (GeoTIFF/VRT, glob or list of
  GeoTIFFs, XYZ/TMS tile folder, MBTiles) → one lazily opened mosaic, and the files Snakemake tracks;
* :mod:`df4lcz.chipping.google_vrt` — the in-memory VRT that mosaics a tile folder or a GeoTIFF list;
* :mod:`df4lcz.chipping.sentinel2` — Sentinel-2 reflectance chips (band files, sources, squares,
  the chipper);
* :mod:`df4lcz.chipping.valid` — the samples present in every stream (:func:`valid_sample_table`);
* :mod:`df4lcz.chipping.inputs` — up-front checks of a region's rasters against its sample
  squares, run by the ``samples`` checkpoint before any chip job.

The chip files are read and written through :mod:`df4lcz.io.chips` (docs/contracts.md §2, §3).
"""
