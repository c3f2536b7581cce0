"""Importer of the released DF4LCZ dataset (LCZC-GES2) into this workflow's stage files.

Modules: :mod:`.files` (reading the published ``.npz`` files), :mod:`.scan` (finding them and
the sample table), :mod:`.sentinel2` (chip shards), :mod:`.graphs` (graph shards), :mod:`.splits`
(split pickles).

Published layout (files may sit in any sub-folders of the dataset root)
-----------------------------------------------------------------------
* ``sen2_image_{i}.npz`` — key ``image``: the Sentinel-2 patch, ``(32, 32, 10)`` (H, W, bands in
  So2Sat order B2, B3, B4, B5, B6, B7, B8, B8A, B11, B12); key ``label``: the LCZ code 1–17.
* ``graph_{i}.npz`` — key ``x``: ``(n, 5)`` node features (mean R, G, B and bounding-box centre
  cx, cy of the n SAM instances); key ``a``: ``(n, n)`` dense adjacency; key ``y``: the LCZ code
  1–17, either as a scalar (any 1-element array) or one-hot ``(17,)`` (position k ↔ code k + 1).
* Split pickles (e.g. ``split_random.pkl``, ``split_polygon.pkl`` — "splitting the sample pool"
  and "splitting the polygon pool") — a dict with keys ``train``, ``validation``, ``test``, each a
  list or array of sample indices ``i``.

The index ``i`` of the file names becomes the ``sample_id`` unchanged, so the split pickles apply
directly.

What is written (the same contracts as the raw-data path, docs/contracts.md §1, §3, §5, §6)
-----------------------------------------------------------------------------------------
* :func:`.scan.write_samples_table` → ``results/samples.parquet``: the columns of
  :data:`df4lcz.io.samples.SAMPLE_COLUMNS` with the same dtypes. Imported patches carry no location:
  ``crs`` is ``""``, ``xmin…ymax`` are NaN and the geometry is null (``read_samples`` accepts
  this). ``polygon_id`` is unknown, so every sample is its own polygon (``polygon_id =
  sample_id``); use the released ``split_polygon.pkl`` for the polygon split. Two extra columns,
  ``s2_path`` and ``graph_path``, tell the shard importers where each sample's files are.
* :func:`.sentinel2.import_s2_shard` → ``results/chips/sentinel2/{shard}.h5`` through
  :func:`df4lcz.io.chips.write_chips` (band names in the attrs, So2Sat order).
  **Scale:** the released patches are reflectance floats. A patch whose maximum exceeds
  :data:`.sentinel2.DN_DETECT_THRESHOLD` (1.5) is taken to be in digital numbers and divided by 10000
  (:data:`~df4lcz.constants.S2_REFLECTANCE_SCALE`); values are then clipped to [0, 1] as the
  contract requires (the counts of rescaled patches and clipped values are logged and stored as
  file attrs). A patch with NaN/inf values is excluded with a reason, like nodata chips.
* :func:`.graphs.import_graph_shard` → ``results/graphs/{shard}.h5`` through
  :func:`df4lcz.io.graphs.write_graphs`: every nonzero entry of ``a`` is an edge (``a`` may be the
  binary or the already normalised adjacency), the matrix is symmetrised, the diagonal dropped,
  and both directions stored (``edge_index`` sorted by source, then target). Feature names are
  :data:`df4lcz.graphs.features.DF4LCZ_FEATURES` (the paper's five: r, g, b, cx, cy). A graph
  with no node or with NaN/inf features is left out (logged); ``valid_samples`` then excludes that sample from both streams.
* :func:`.splits.import_split` → ``results/splits/{strategy}.csv`` (``train``/``validation``/``test`` →
  ``train``/``val``/``test``).

Only load pickles from a source you trust: unpickling can run arbitrary code.
"""
