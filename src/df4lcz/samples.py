"""Sample squares: where the 320 m scenes are cut, which class they carry, which shard runs them.

A sample is a square of ``size_m`` in the region's working CRS (the Sentinel-2 UTM zone) that
lies entirely inside one labelled polygon and inside the footprints of both rasters. Squares sit
on a grid of ``stride_m`` (per polygon, centred in its bounding box, or one global grid), with
corners snapped to the 10 m Sentinel-2 grid so Sentinel-2 chips need no resampling.

Sample ids are consecutive integers in a fixed order (region name, polygon id, row from the
north, column from the west), so the same inputs and settings always give the same ids.
Shards are consecutive runs of ``shard_size`` samples within one region.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import shapely
from pyproj import CRS, Transformer
from shapely.geometry import Polygon, box

from .atomic import atomic_path
from .constants import LCZ_COLORS, LCZ_SHORT, N_CLASSES
from .logs import get_logger

log = get_logger("samples")

#: Columns of ``results/samples.parquet`` besides the geometry, in order.
SAMPLE_COLUMNS: tuple[str, ...] = ("sample_id", "region", "polygon_id", "lcz", "shard", "crs", "xmin", "ymin", "xmax", "ymax")


@dataclass
class RegionInputs:
    """One region's raw inputs (paths as given in the config)."""

    name: str
    google: str
    sentinel2: str
    labels: str
    label_column: str = "lcz"
    label_map: dict[str, int] = field(default_factory=dict)
    working_crs: str | None = None
    s2_band_names: list[str] | None = None


@dataclass
class SampleParams:
    """The ``samples`` config section."""

    size_m: float = 320.0
    stride_m: float = 320.0
    anchor: str = "polygon"
    snap_m: float = 10.0
    shard_size: int = 256
    max_per_polygon: int | None = None
    overview_region: str | None = None


def sentinel2_reference_file(path: str | os.PathLike) -> Path:
    """The file whose CRS and grid define a Sentinel-2 input (itself, or a folder's B02 file)."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{p}: Sentinel-2 input not found")
    if p.is_dir():
        for pattern in ("*_B02.jp2", "*_B02_10m.jp2", "*B02*.jp2", "*B02*.tif", "*B02*.TIF"):
            hits = sorted(p.rglob(pattern))
            if hits:
                return hits[0]
        raise FileNotFoundError(f"{p}: no B02 band file (*_B02.jp2 or *B02*.tif) found in the Sentinel-2 folder")
    return p


def raster_footprint(path: str | os.PathLike, working_crs: str) -> Polygon:
    """The raster's bounds as a polygon in ``working_crs`` (edges densified before reprojection).

    Raises:
        FileNotFoundError: missing file. ValueError: unreadable raster or raster without CRS.
    """
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{p}: raster not found")
    try:
        with rasterio.open(p) as src:
            bounds, crs = src.bounds, src.crs
    except rasterio.errors.RasterioIOError as exc:
        raise ValueError(f"{p}: not a readable raster ({exc})") from exc
    if crs is None:
        raise ValueError(f"{p}: raster has no CRS; georeference it (e.g. gdal_edit.py -a_srs EPSG:…)")
    poly = box(*bounds)
    if CRS.from_user_input(crs) == CRS.from_user_input(working_crs):
        return poly
    step = max(bounds.right - bounds.left, bounds.top - bounds.bottom) / 64
    dense = shapely.segmentize(poly, step)
    tr = Transformer.from_crs(crs, working_crs, always_xy=True)
    return shapely.transform(dense, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))


def read_labels(path: str | os.PathLike, working_crs: str, label_column: str = "lcz",
                label_map: dict[str, int] | None = None) -> gpd.GeoDataFrame:
    """Read labelled polygons, recode and validate classes, reproject to ``working_crs``.

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
    boxes = shapely.box(corners[:, 0], corners[:, 1], corners[:, 0] + params.size_m, corners[:, 1] + params.size_m)
    shapely.prepare(area)
    return corners[shapely.contains(area, boxes)]


def region_samples(region: RegionInputs, params: SampleParams, seed: int = 0) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Lay the sample squares of one region.

    Returns:
        (table without sample_id/shard, context for plotting: polygons and footprints).

    Raises:
        ValueError: when the labels overlap neither raster, or the rasters do not overlap each other.
    """
    crs = region.working_crs or str(_raster_crs(sentinel2_reference_file(region.sentinel2)))
    crs = CRS.from_user_input(crs).to_string()
    polys = read_labels(region.labels, crs, region.label_column, region.label_map)
    fp_g = raster_footprint(region.google, crs)
    fp_s = raster_footprint(sentinel2_reference_file(region.sentinel2), crs)
    coverage = shapely.intersection(fp_g, fp_s)
    if coverage.is_empty:
        raise ValueError(f"region {region.name!r}: the Google raster {region.google} and the Sentinel-2 input "
                         f"{region.sentinel2} do not overlap")
    if not polys.intersects(coverage).any():
        raise ValueError(f"region {region.name!r}: no polygon of {region.labels} overlaps the area covered by both "
                         f"{region.google} and {region.sentinel2} (check the CRS of each file)")
    rng = np.random.default_rng(seed)
    rows: list[pd.DataFrame] = []
    for pid, lcz, geom in zip(polys.polygon_id, polys.lcz, polys.geometry):
        corners = squares_in_polygon(geom, coverage, params)
        if params.max_per_polygon and len(corners) > params.max_per_polygon:
            pick = np.sort(rng.choice(len(corners), params.max_per_polygon, replace=False))
            corners = corners[pick]
        if len(corners):
            rows.append(pd.DataFrame({"region": region.name, "polygon_id": int(pid), "lcz": int(lcz), "crs": crs,
                                      "xmin": corners[:, 0], "ymin": corners[:, 1],
                                      "xmax": corners[:, 0] + params.size_m, "ymax": corners[:, 1] + params.size_m}))
    table = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=[c for c in SAMPLE_COLUMNS if c not in ("sample_id", "shard")])
    log.info("region %s: %d polygons, %d samples (working CRS %s)", region.name, len(polys), len(table), crs)
    return table, {"polygons": polys, "footprints": {"google": fp_g, "sentinel2": fp_s}, "crs": crs}


def _raster_crs(path: Path) -> Any:
    try:
        with rasterio.open(path) as src:
            if src.crs is None:
                raise ValueError(f"{path}: raster has no CRS; georeference it")
            return src.crs
    except rasterio.errors.RasterioIOError as exc:
        raise ValueError(f"{path}: not a readable raster ({exc})") from exc


def assign_ids_and_shards(tables: list[pd.DataFrame], shard_size: int) -> pd.DataFrame:
    """Concatenate per-region tables (in the given order) with consecutive ids and shards.

    Each region's samples fill ``ceil(n / shard_size)`` shards of their own, numbered globally.
    """
    if shard_size < 1:
        raise ValueError(f"config key 'samples.shard_size': {shard_size} must be ≥ 1")
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


def build_samples(regions: list[RegionInputs], params: SampleParams, seed: int = 0) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
    """Lay, number and shard the samples of all regions (sorted by name).

    Returns:
        (sample GeoDataFrame per the contract, per-region plotting context).

    Raises:
        ValueError: when no sample at all fits (with the reason per region).
    """
    if not regions:
        raise ValueError("no region given: set dataset: demo or list regions in the config")
    tables, contexts = [], {}
    for region in sorted(regions, key=lambda r: r.name):
        t, ctx = region_samples(region, params, seed)
        tables.append(t)
        contexts[region.name] = ctx
    table = assign_ids_and_shards(tables, params.shard_size)
    if table.empty:
        raise ValueError(f"no {params.size_m:g} m sample square fits inside any labelled polygon and both raster "
                         "footprints; polygons must be larger than one square (or lower samples.size_m)")
    table["lcz"] = table["lcz"].astype(np.int64)
    table["polygon_id"] = table["polygon_id"].astype(np.int64)
    table["shard"] = table["shard"].astype(np.int64)
    return to_geodataframe(table), contexts


#: Rows per Parquet row group of the sample table: a shard job reading its rows (a filter on
#: ``shard``, whose values ascend with the rows) decodes only the few groups that hold them.
SAMPLES_ROW_GROUP: int = 256


def write_samples(path: str | os.PathLike, samples: gpd.GeoDataFrame) -> None:
    """Write the sample table as GeoParquet, atomically (row groups of ``SAMPLES_ROW_GROUP`` rows)."""
    with atomic_path(path) as tmp:
        samples.to_parquet(tmp, index=False, row_group_size=SAMPLES_ROW_GROUP)


def read_samples(
    path: str | os.PathLike, shard: int | None = None, columns: Sequence[str] | None = None
) -> gpd.GeoDataFrame | pd.DataFrame:
    """Read ``results/samples.parquet`` and check its columns.

    Args:
        path: the sample table.
        shard: read only this shard's rows (a Parquet filter: shard jobs then need memory for
            their own rows, not for the whole table).
        columns: read only these columns (a plain ``DataFrame`` without geometry), e.g.
            ``["sample_id", "lcz"]``.
    """
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{p}: sample table not found (run the samples rule first)")
    wanted = list(SAMPLE_COLUMNS) if columns is None else list(columns)
    import pyarrow.parquet as pq

    present = set(pq.read_schema(p).names)
    missing = [c for c in wanted if c not in present]
    if missing:
        raise ValueError(f"{p}: missing column(s) {missing}")
    filters = None if shard is None else [("shard", "==", int(shard))]
    if columns is not None:
        return pd.read_parquet(p, columns=wanted, filters=filters)
    return gpd.read_parquet(p, filters=filters)


def class_summary(samples: pd.DataFrame) -> pd.DataFrame:
    """Samples and polygons per class and region (a table for logs and reports)."""
    g = samples.groupby(["lcz", "region"]).agg(samples=("sample_id", "size"), polygons=("polygon_id", "nunique"))
    return g.reset_index()


def plot_overview(samples: gpd.GeoDataFrame, context: dict[str, Any], region: str, path: str | os.PathLike) -> None:
    """PNG map of one region: footprints, labelled polygons by class, sample squares."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    ctx = context[region]
    polys: gpd.GeoDataFrame = ctx["polygons"]
    sub = samples[samples.region == region]
    fig, ax = plt.subplots(figsize=(9, 9))
    for name, fp, style in (("Google footprint", ctx["footprints"]["google"], "--"),
                            ("Sentinel-2 footprint", ctx["footprints"]["sentinel2"], ":")):
        x, y = fp.exterior.xy
        ax.plot(x, y, style, color="k", lw=1.2, label=name)
    colors = [tuple(c / 255 for c in LCZ_COLORS[int(k)]) for k in polys.lcz]
    polys.plot(ax=ax, color=colors, alpha=0.45, edgecolor="k", linewidth=0.5)
    boxes = gpd.GeoSeries(shapely.box(sub.xmin, sub.ymin, sub.xmax, sub.ymax), crs=ctx["crs"])
    boxes.boundary.plot(ax=ax, color="k", linewidth=0.4)
    present = sorted(set(int(k) for k in polys.lcz))
    handles = [Patch(color=tuple(c / 255 for c in LCZ_COLORS[k]), label=f"LCZ {LCZ_SHORT[k]}") for k in present]
    handles += ax.get_legend_handles_labels()[0]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)
    ax.set_title(f"{region}: {len(polys)} polygons, {len(sub)} samples of {sub.xmax.iloc[0] - sub.xmin.iloc[0]:g} m"
                 if len(sub) else f"{region}: no samples")
    ax.set_xlabel(f"x (m, {ctx['crs']})")
    ax.set_ylabel("y (m)")
    ax.set_aspect("equal")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)
