"""Importers of published LCZ datasets into this workflow's stage files (docs/contracts.md §1, §3, §5, §6).

* :mod:`.lczc_ges2` — the released DF4LCZ data (LCZC-GES2): ``sen2_image_{i}.npz``,
  ``graph_{i}.npz`` and split pickles → ``results/samples.parquet``, Sentinel-2 chip shards,
  graph shards and split tables.
* :mod:`.so2sat` — So2Sat LCZ42 HDF5 files (``training.h5``, ``validation.h5``, ``testing.h5``)
  → sample table, Sentinel-2 chip shards and the official split, read slice by slice.

Every file is written through :mod:`df4lcz.io` (the same writers as the raw-data path), so
training, prediction, fusion and evaluation run on imported data unchanged. The stages of the
import rules (``df4lcz.stages.lczc_ges2_*``, ``df4lcz.stages.so2sat_*``) call these functions.
"""
