"""The sample grid: squares inside a polygon, then ids, shards and EPSG:4326 footprints."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import Polygon

from ..errors import ConfigError
from ..io.samples import SAMPLE_COLUMNS
from .settings import SampleParams


def _axis_starts(lo: float, hi: float, size: float, stride: float, snap: float, anchor: str) -> np.ndarray:
    if anchor == "global":
        first = math.ceil(lo / stride) * stride
        return np.arange(first, hi - size + 1e-6, stride)
    n = int(math.floor((hi - lo - size) / stride + 1e-9)) + 1
    if n <= 0:
        return np.empty(0)
    leftover = (hi - lo) - (size + (n - 1) * stride)
    start = round((lo + leftover / 2) / snap) * snap
    return start + stride * np.arange(n)


def squares_in_polygon(poly: Polygon, coverage: Polygon, params: SampleParams) -> np.ndarray:
    """Corners (xmin, ymin) of the grid squares inside ``poly`` ∩ ``coverage``.

    Rows are ordered from north to south, then west to east. Returns (K, 2) float64.
    """
    area = shapely.intersection(poly, coverage)
    if area.is_empty:
        return np.empty((0, 2))
    xmin, ymin, xmax, ymax = area.bounds
    xs = _axis_starts(xmin, xmax, params.size_m, params.stride_m, params.snap_m, params.anchor)
    ys = _axis_starts(ymin, ymax, params.size_m, params.stride_m, params.snap_m, params.anchor)
    if xs.size == 0 or ys.size == 0:
        return np.empty((0, 2))
    yy, xx = np.meshgrid(ys[::-1], xs, indexing="ij")
    corners = np.column_stack([xx.ravel(), yy.ravel()])
    boxes = shapely.box(
        corners[:, 0], corners[:, 1], corners[:, 0] + params.size_m, corners[:, 1] + params.size_m
    )
    shapely.prepare(area)
    return corners[shapely.contains(area, boxes)]


def assign_ids_and_shards(tables: list[pd.DataFrame], shard_size: int) -> pd.DataFrame:
    """Concatenate per-region tables (in the given order) with consecutive ids and shards.

    Each region's samples fill ``ceil(n / shard_size)`` shards of their own, numbered globally.
    """
    if shard_size < 1:
        raise ConfigError(f"config key 'samples.shard_size': {shard_size} must be ≥ 1")
    out, next_shard = [], 0
    for t in tables:
        t = t.reset_index(drop=True).copy()
        t["shard"] = next_shard + np.arange(len(t)) // shard_size
        next_shard += math.ceil(len(t) / shard_size)
        out.append(t)
    table = pd.concat(out, ignore_index=True)
    table.insert(0, "sample_id", np.arange(len(table), dtype=np.int64))
    return table[list(SAMPLE_COLUMNS)]


def to_geodataframe(table: pd.DataFrame) -> gpd.GeoDataFrame:
    """Attach EPSG:4326 footprints (each square reprojected from its own working CRS)."""
    geoms = np.empty(len(table), dtype=object)
    for crs, idx in table.groupby("crs").groups.items():
        sub = table.loc[idx]
        boxes = shapely.segmentize(shapely.box(sub.xmin, sub.ymin, sub.xmax, sub.ymax), 80.0)
        geoms[table.index.get_indexer(idx)] = gpd.GeoSeries(boxes, crs=crs).to_crs("EPSG:4326").values
    return gpd.GeoDataFrame(table, geometry=list(geoms), crs="EPSG:4326")
