"""Sample squares: where the 320 m scenes are cut, which class they carry, which shard runs them.

A sample is a square of ``size_m`` in the region's working CRS (the Sentinel-2 UTM zone) that
lies entirely inside one labelled polygon and inside the footprints of both rasters. Squares sit
on a grid of ``stride_m`` (per polygon, centred in its bounding box, or one global grid), with
corners snapped to the 10 m Sentinel-2 grid so Sentinel-2 chips need no resampling.

Sample ids are consecutive integers in a fixed order (region name, polygon id, row from the
north, column from the west), so the same inputs and settings always give the same ids.
Shards are consecutive runs of ``shard_size`` samples within one region. The table is the file
of docs/contracts.md §1, written and read by :mod:`df4lcz.io.samples`.

Modules:

* :mod:`~df4lcz.sampling.settings` — the validated settings (``samples`` section, one region).
* :mod:`~df4lcz.sampling.footprints` — raster footprints and CRS in the working CRS.
* :mod:`~df4lcz.sampling.labels` — reading and checking the labelled polygons (repairing invalid
  ones, merging overlapping polygons of one class, refusing overlaps of different classes).
* :mod:`~df4lcz.sampling.wudapt` — WUDAPT training areas: KML/KMZ with one folder per class.
* :mod:`~df4lcz.sampling.grid` — grid squares inside a polygon; ids, shards, EPSG:4326 footprints.
* :mod:`~df4lcz.sampling.build` — the whole sample table of all regions, and its class summary.
* :mod:`~df4lcz.sampling.overview` — the overview figure of one region.
* :mod:`~df4lcz.sampling.splits` — train/val/test splits over the sample or polygon pool.
"""
