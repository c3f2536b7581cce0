"""Cutting the chips of both streams on the sample squares, and the samples valid in every stream.

* :mod:`df4lcz.chipping.google` — Google Earth imagery: the input forms and the files Snakemake
  tracks (:mod:`~df4lcz.chipping.google.sources`), the VRT mosaic and opening
  (:mod:`~df4lcz.chipping.google.vrt`), the RGB chipper (:mod:`~df4lcz.chipping.google.chips`);
* :mod:`df4lcz.chipping.sentinel2` — Sentinel-2 reflectance chips (band files, sources, squares,
  the chipper);
* :mod:`df4lcz.chipping.valid` — the samples present in every stream (:func:`valid_sample_table`);
* :mod:`df4lcz.chipping.inputs` — up-front checks of a region's rasters against its sample
  squares, run by the ``samples`` checkpoint before any chip job.

The chip files are read and written through :mod:`df4lcz.io.chips` (docs/contracts.md §2, §3).
"""
