"""The files stages pass to each other: exactly one reader, writer and validator per file kind.

Every stage file of ``docs/contracts.md`` is owned by one module here; stages, importers and the
map never open these files themselves.

============================  =====================================  ==========================
file                          module                                 contract section
============================  =====================================  ==========================
(low-level HDF5 helpers)      :mod:`df4lcz.io.hdf5`                  —
============================  =====================================  ==========================
"""
