"""The sample table of all regions: lay the squares of each region, then number and shard them."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from ..chipping.inputs import check_region_rasters
from ..errors import ConfigError, InputError
from ..io.checks import CheckRow
from ..io.class_loss import CAPPED, KEPT
from ..io.samples import SAMPLE_COLUMNS
from ..logs import get_logger
from .class_loss import OUTSIDE_BOTH, OUTSIDE_GOOGLE, OUTSIDE_S2, footprint_losses
from .footprints import (
    google_footprint,
    raster_crs,
    raster_footprint,
    sentinel2_footprint,
    sentinel2_inputs,
    sentinel2_reference_file,
)
from .grid import assign_ids_and_shards, squares_in_polygon, to_geodataframe
from .labels import check_dropped_polygons, label_check_rows, load_labels
from .settings import RegionInputs, SampleParams

log = get_logger("samples")


def region_samples(
    region: RegionInputs, params: SampleParams, seed: int
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Lay the sample squares of one region.

    Args:
        region: the region's inputs.
        params: the ``samples`` settings.
        seed: seed of the choice of squares when ``max_per_polygon`` caps a polygon.

    Returns:
        (table without sample_id/shard, context: polygons and footprints for plotting, ``crs``,
        ``checks``, the input-check rows of the label file, docs/contracts.md §13, and ``account``,
        ``(lcz, reason, subject, count)`` rows of the squares kept, capped and lost outside a
        raster's footprint: :mod:`df4lcz.sampling.class_loss`).

    Raises:
        ValueError: when the working CRS is geographic, more of the label file's polygons were
            dropped than ``params.max_dropped_polygon_fraction`` allows, the labels overlap
            neither raster, or the rasters do not overlap each other.
    """
    crs = region.working_crs or str(raster_crs(sentinel2_reference_file(region.sentinel2)))
    check_projected(region, crs)
    crs = CRS.from_user_input(crs).to_string()
    polys, stats = load_labels(region.labels, crs, region.label_column, region.label_map)
    check_dropped_polygons(stats, params.max_dropped_polygon_fraction)
    google = region.google_spec()
    fp_g = google_footprint(google, crs)
    fp_s = sentinel2_footprint(region.sentinel2, crs)
    coverage = shapely.intersection(fp_g, fp_s)
    if coverage.is_empty:
        raise InputError(
            f"region {region.name!r}: the Google raster {google} and the Sentinel-2 input "
            f"{region.sentinel2} do not overlap"
        )
    if not polys.intersects(coverage).any():
        raise InputError(
            f"region {region.name!r}: no polygon of {region.labels} overlaps the area covered by both "
            f"{google} and {region.sentinel2} (check the CRS of each file)"
        )
    rng = np.random.default_rng(seed)
    rows: list[pd.DataFrame] = []
    s2_name = ", ".join(sentinel2_inputs(region.sentinel2))
    subjects = {OUTSIDE_GOOGLE: str(google), OUTSIDE_S2: s2_name, OUTSIDE_BOTH: f"{google} and {s2_name}"}
    account: list[tuple[int, str, str, int]] = []
    shapely.prepare(fp_g)
    shapely.prepare(fp_s)
    for pid, lcz, geom in zip(polys.polygon_id, polys.lcz, polys.geometry):
        corners = squares_in_polygon(geom, coverage, params)
        # the squares the polygon would hold if the rasters covered it all: those outside are lost
        full = squares_in_polygon(geom, geom, params)
        for reason, n in footprint_losses(full, params.size_m, fp_g, fp_s).items():
            account.append((int(lcz), reason, subjects[reason], n))
        n_laid = len(corners)
        if params.max_per_polygon and len(corners) > params.max_per_polygon:
            pick = np.sort(rng.choice(len(corners), params.max_per_polygon, replace=False))
            corners = corners[pick]
        account.append((int(lcz), KEPT, "", len(corners)))
        if n_laid > len(corners):
            account.append((int(lcz), CAPPED, "", n_laid - len(corners)))
        if len(corners):
            rows.append(
                pd.DataFrame(
                    {
                        "region": region.name,
                        "polygon_id": int(pid),
                        "lcz": int(lcz),
                        "crs": crs,
                        "xmin": corners[:, 0],
                        "ymin": corners[:, 1],
                        "xmax": corners[:, 0] + params.size_m,
                        "ymax": corners[:, 1] + params.size_m,
                    }
                )
            )
    table = (
        pd.concat(rows, ignore_index=True)
        if rows
        else pd.DataFrame(columns=[c for c in SAMPLE_COLUMNS if c not in ("sample_id", "shard")])
    )
    log.info("region %s: %d polygons, %d samples (working CRS %s)", region.name, len(polys), len(table), crs)
    return table, {
        "polygons": polys,
        "footprints": {"google": fp_g, "sentinel2": fp_s},
        "crs": crs,
        "checks": label_check_rows(stats, params.max_dropped_polygon_fraction),
        "account": account,
    }


def check_projected(region: RegionInputs, crs: str) -> None:
    """Sample squares are laid in metres: a geographic working CRS (degrees) is an error.

    Raises:
        ValueError: naming where the CRS comes from (``regions[].working_crs`` or the Sentinel-2
            input) and the UTM zone to use instead.
    """
    parsed = CRS.from_user_input(crs)
    if not parsed.is_geographic:
        return
    where = (
        "regions[].working_crs"
        if region.working_crs
        else f"the CRS of the Sentinel-2 input {region.sentinel2}, the default working CRS"
    )
    fp = raster_footprint(sentinel2_reference_file(region.sentinel2), "EPSG:4326").centroid
    zone = int((fp.x + 180) // 6) % 60 + 1
    utm = f"EPSG:{(32600 if fp.y >= 0 else 32700) + zone}"
    raise InputError(
        f"region {region.name!r}: the working CRS {parsed.to_string()} ({where}) is geographic (degrees), but "
        f"sample squares are laid in metres; reproject the Sentinel-2 input to its UTM zone (e.g. gdalwarp -t_srs "
        f"{utm}), or set regions[].working_crs to a projected CRS such as {utm!r}"
    )


def check_sample_rasters(
    regions: list[RegionInputs], samples: pd.DataFrame, chip_px: int, max_upsampling: float
) -> list[CheckRow]:
    """Check every region's rasters against its sample squares before any chip job runs.

    Args:
        regions: the regions' inputs.
        samples: the sample table (``region``, ``crs`` and the square bounds).
        chip_px: ``google.chip_px``.
        max_upsampling: ``google.max_upsampling``.

    Returns:
        The input-check rows of the rasters (docs/contracts.md §13), regions in the given order.

    Raises:
        ValueError: see :func:`df4lcz.chipping.inputs.check_region_rasters`.
    """
    checks: list[CheckRow] = []
    for region in regions:
        rows = samples[samples["region"] == region.name]
        if rows.empty:
            continue
        checks += check_region_rasters(
            region.name,
            region.google_spec(),
            region.sentinel2,
            region.s2_band_names,
            rows[["xmin", "ymin", "xmax", "ymax"]].to_numpy(float),
            str(rows["crs"].iloc[0]),
            chip_px,
            max_upsampling,
            s2_scale=region.s2_scale,
            s2_offset=region.s2_offset,
        )
    return checks


def build_samples(
    regions: list[RegionInputs], params: SampleParams, seed: int
) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
    """Lay, number and shard the samples of all regions (sorted by name).

    Returns:
        (sample GeoDataFrame per docs/contracts.md §1, per-region plotting context).

    Raises:
        ValueError: when no sample at all fits (with the reason per region).
    """
    if not regions:
        raise ConfigError("no region given: set dataset: demo or list regions in the config")
    tables, contexts = [], {}
    for region in sorted(regions, key=lambda r: r.name):
        t, ctx = region_samples(region, params, seed)
        tables.append(t)
        contexts[region.name] = ctx
    table = assign_ids_and_shards(tables, params.shard_size)
    if table.empty:
        where = "; ".join(
            f"region {r.name!r}: label file {r.labels} ({len(contexts[r.name]['polygons'])} polygons)"
            for r in sorted(regions, key=lambda r: r.name)
        )
        raise InputError(
            f"no {params.size_m:g} m sample square fits inside any labelled polygon and both raster "
            f"footprints ({where}); expected polygons larger than one {params.size_m:g} m square "
            "inside both rasters (or lower samples.size_m)"
        )
    table["lcz"] = table["lcz"].astype(np.int64)
    table["polygon_id"] = table["polygon_id"].astype(np.int64)
    table["shard"] = table["shard"].astype(np.int64)
    return to_geodataframe(table), contexts


def class_summary(samples: pd.DataFrame) -> pd.DataFrame:
    """Samples and polygons per class and region (a table for logs and reports)."""
    g = samples.groupby(["lcz", "region"]).agg(
        samples=("sample_id", "size"), polygons=("polygon_id", "nunique")
    )
    return g.reset_index()
