"""Wall-to-wall LCZ map of one region from the trained Sentinel-2 model and GCN.

A 320 m window (one DF4LCZ scene) slides over the region; each output pixel carries the fused class
of the window centred on it. :mod:`.region` (``plan_map``, ``gather_map``, ``map_region``) and
:mod:`.classify` (one tile: ``map_tile``) are the entry points the stages (``df4lcz.stages.lcz_map``,
``lcz_map_tile``) call; they use the modules in this order:

* :mod:`.grid` — the map grid, the windows wholly inside both rasters and their sample table;
* :mod:`.tiles` — the grid cut into tiles (one map job each): the tile plan, tile files and their VRT;
* :mod:`.inference` — classification of a batch of windows with both streams and the fusion;
* :mod:`.classify` — the models opened once per tile, the tile's windows classified batch by batch;
* :mod:`.gather` — the tiles' probabilities block by block: Gaussian filter, argmax, probability bands;
* :mod:`.outputs` — the class COG with the LCZ colour table and its ``.qml``, the probability
  GeoTIFF, the PNG preview and the agreement CSV (docs/contracts.md §12);
* :mod:`.agreement` — the agreement table against the labelled polygons and a truth raster.
"""
