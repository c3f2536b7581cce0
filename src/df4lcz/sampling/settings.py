"""The validated settings of sampling: the ``samples`` config section and one ``regions[]`` entry.

Both are filled from the validated config (the schema, ``df4lcz/schemas/config.schema.yaml``, is
the only home of their defaults), so every field is required here.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..chipping.google.sources import GoogleSpec


@dataclass
class RegionInputs:
    """One region's raw inputs (paths as given in the config; one ``regions[]`` entry).

    ``index`` is not a config key: the entry's position in ``regions[]``, for messages that name
    the key (``regions[0].google``); ``None`` names the region instead.
    """

    name: str
    google: str | list[str]
    google_zoom: int | None
    google_tile_scheme: str
    sentinel2: str | list[str]
    labels: str
    label_column: str
    label_map: dict[str, int]
    working_crs: str | None
    s2_band_names: list[str] | None
    s2_scale: float | None
    s2_offset: float | list[float] | None
    index: int | None = None

    def google_spec(self) -> GoogleSpec:
        """The region's Google input (``google``, ``google_zoom``, ``google_tile_scheme``)."""
        return GoogleSpec.from_region(vars(self), self.index)


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
    warn_class_loss_fraction: float
    max_class_loss_fraction: float | None
