"""Importers of published LCZ datasets into this workflow's stage files (DESIGN.md §5, §7).

* :mod:`.lczc_ges2` — the released DF4LCZ data (LCZC-GES2): ``sen2_image_{i}.npz``,
  ``graph_{i}.npz`` and split pickles → ``results/samples.parquet``, Sentinel-2 chip shards,
  graph shards and split tables.
* :mod:`.so2sat` — So2Sat LCZ42 HDF5 files (``training.h5``, ``validation.h5``, ``testing.h5``)
  → sample table, Sentinel-2 chip shards and the official split, read slice by slice.
* :mod:`.fixtures` — small seeded files in both published formats, for tests and demos.

The files written are the same contracts the chippers and graph builder write, so training,
prediction, fusion and evaluation run on imported data unchanged.
"""

from __future__ import annotations

from .lczc_ges2 import (
    import_graph_shard,
    import_s2_shard,
    import_split,
    scan_lczc_ges2,
    write_samples_table,
)
from .so2sat import import_so2sat_shard, so2sat_samples, so2sat_split

__all__ = [
    "import_graph_shard",
    "import_s2_shard",
    "import_so2sat_shard",
    "import_split",
    "scan_lczc_ges2",
    "so2sat_samples",
    "so2sat_split",
    "write_samples_table",
]
