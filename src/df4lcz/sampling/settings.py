"""The validated settings of sampling: the ``samples`` config section and one ``regions[]`` entry.

Both are filled from the validated config (the schema, ``df4lcz/schemas/config.schema.yaml``, is
the only home of their defaults), so every field is required here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class RegionInputs:
    """One region's raw inputs (paths as given in the config; one ``regions[]`` entry)."""

    name: str
    google: str
    sentinel2: str
    labels: str
    label_column: str
    label_map: dict[str, int]
    working_crs: str | None
    s2_band_names: list[str] | None


@dataclass
class SampleParams:
    """The ``samples`` config section."""

    size_m: float
    stride_m: float
    anchor: str
    snap_m: float
    shard_size: int
    max_per_polygon: int | None
    overview_region: str | None
    max_dropped_polygon_fraction: float
