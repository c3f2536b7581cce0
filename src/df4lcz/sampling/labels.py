"""The labelled polygons of a region: read, recode, check and reproject to the working CRS."""

from __future__ import annotations

import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from ..constants import N_CLASSES
from ..logs import get_logger

log = get_logger(__name__)


def read_labels(path: str | os.PathLike, working_crs: str, label_column: str,
                label_map: dict[str, int] | None) -> gpd.GeoDataFrame:
    """Read labelled polygons, recode and validate classes, reproject to ``working_crs``.

    Args:
        path: the polygon file (GeoPackage, Shapefile, GeoJSON; any CRS).
        working_crs: CRS of the result.
        label_column: integer column holding the class code (``regions[].label_column``).
        label_map: recoding of codes to LCZ 1–17 (``regions[].label_map``); empty or ``None``: none.

    Returns:
        GeoDataFrame with ``polygon_id`` (row number in the file, 0-based), ``lcz`` (1–17) and
        polygon geometry in the working CRS. Multi-polygons are kept whole.

    Raises:
        FileNotFoundError, ValueError: with the file name and the problem (no CRS, missing or
        non-integer column, class codes outside 1–17, no polygons).
    """
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{p}: label polygons not found")
    try:
        gdf = gpd.read_file(p)
    except Exception as exc:  # pyogrio raises several types for unreadable files
        raise ValueError(f"{p}: not a readable vector file ({exc})") from exc
    if gdf.empty:
        raise ValueError(f"{p}: contains no polygons")
    if gdf.crs is None:
        raise ValueError(f"{p}: polygons have no CRS; set one (e.g. ogr2ogr -a_srs EPSG:4326)")
    if label_column not in gdf.columns:
        raise ValueError(f"{p}: column {label_column!r} not found; columns are {list(gdf.columns.drop('geometry'))} "
                         "(set regions[].label_column)")
    raw = gdf[label_column]
    if raw.isna().any():
        raise ValueError(f"{p}: column {label_column!r} has {int(raw.isna().sum())} empty value(s)")
    values = pd.to_numeric(raw, errors="coerce")
    if values.isna().any() or not np.all(values == np.round(values)):
        bad = raw[values.isna() | (values != np.round(values))].unique()[:5]
        raise ValueError(f"{p}: column {label_column!r} must hold integer class codes; found {list(bad)}")
    codes = values.astype(int)
    if label_map:
        mapping = {int(k): int(v) for k, v in label_map.items()}
        codes = codes.map(lambda c: mapping.get(c, c))
    bad = sorted(set(codes[(codes < 1) | (codes > N_CLASSES)]))
    if bad:
        raise ValueError(f"{p}: column {label_column!r} has class code(s) {bad[:10]} outside 1–17 "
                         "(recode them with regions[].label_map, e.g. WUDAPT 101–107 → 11–17)")
    geoms = gdf.geometry
    keep = geoms.geom_type.isin(["Polygon", "MultiPolygon"])
    if not keep.any():
        raise ValueError(f"{p}: no polygon geometries (found {sorted(set(geoms.geom_type))})")
    if (~keep).any():
        log.warning("%s: %d non-polygon feature(s) ignored", p, int((~keep).sum()))
    out = gpd.GeoDataFrame({"polygon_id": np.arange(len(gdf))[keep.values], "lcz": codes[keep].values},
                           geometry=geoms[keep].values, crs=gdf.crs).to_crs(working_crs)
    out["geometry"] = out.geometry.make_valid()
    return out.reset_index(drop=True)
