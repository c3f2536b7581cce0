"""The files stages pass to each other: exactly one reader, writer and validator per file kind.

Every stage file of ``docs/contracts.md`` is owned by one module here; stages, importers and the
map never open these files themselves.

============================  =====================================  ==========================
file                          module                                 contract section
============================  =====================================  ==========================
(low-level HDF5 helpers)      :mod:`df4lcz.io.hdf5`                  —
results/samples.parquet       :mod:`df4lcz.io.samples`               §1
splits/{strategy}.csv         :mod:`df4lcz.io.splits`                §6
results/valid_samples.csv     :mod:`df4lcz.io.valid`                 §7
predictions/{s}/{model}.csv   :mod:`df4lcz.io.predictions`           §8
predictions/{s}/alpha_curve   :mod:`df4lcz.io.alpha_curve`           §9 (and fusion.csv)
results/tables/*.csv, *.md    :mod:`df4lcz.io.tables`                §11
results/chips/{stream}/*.h5   :mod:`df4lcz.io.chips`                 §2 (google), §3 (sentinel2)
results/masks/{shard}.h5      :mod:`df4lcz.io.masks`                 §4
(masks' run lengths)          :mod:`df4lcz.io.rle`                   §4
results/graphs/{shard}.h5     :mod:`df4lcz.io.graphs`                §5
models/{s}/{model}.pt         :mod:`df4lcz.io.models`                §10
models/{s}/{model}_history    :mod:`df4lcz.io.history`               §10
results/checks/*.csv          :mod:`df4lcz.io.checks`                §13
============================  =====================================  ==========================
"""
