"""The labelled polygons of a region: read, recode, check and reproject to the working CRS."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..constants import N_CLASSES
from ..errors import InputError
from ..io.checks import CheckRow
from ..logs import get_logger
from .wudapt import CONTAINER_COLUMN, KML_SUFFIXES, is_wudapt_layout, read_kml, wudapt_polygons

log = get_logger(__name__)

#: Intersection area (m², in the working CRS) above which two label polygons overlap; smaller
#: intersections are digitising or reprojection slivers, far too thin to hold a sample square.
OVERLAP_TOLERANCE_M2: float = 1.0

#: Config key of the largest fraction of a label file's polygons that may be dropped.
MAX_DROPPED_KEY: str = "samples.max_dropped_polygon_fraction"


@dataclass(frozen=True)
class LabelStats:
    """What reading one label file changed (:func:`load_labels`), for the input-check record.

    Attributes:
        path: the label file.
        n_polygons: polygon features in the file (non-polygon features not counted).
        n_non_polygon: features of other geometry types, ignored.
        n_unprojectable: polygons dropped because they do not reproject into the working CRS.
        n_repaired: invalid polygons repaired with ``make_valid`` (area left).
        n_no_area: polygons dropped because they have no area (given so, or once repaired).
        n_merged: polygons merged into an overlapping polygon of the same class (rows gone).
        dropped_rows: row numbers (``polygon_id``) of the dropped polygons, ascending.
    """

    path: str
    n_polygons: int
    n_non_polygon: int = 0
    n_unprojectable: int = 0
    n_repaired: int = 0
    n_no_area: int = 0
    n_merged: int = 0
    dropped_rows: tuple[int, ...] = ()

    @property
    def n_dropped(self) -> int:
        """Polygons dropped: not reprojectable or without area."""
        return self.n_unprojectable + self.n_no_area

    @property
    def dropped_fraction(self) -> float:
        """:attr:`n_dropped` over :attr:`n_polygons` (0 for a file without polygons)."""
        return self.n_dropped / self.n_polygons if self.n_polygons else 0.0


def read_labels(
    path: str | os.PathLike, working_crs: str, label_column: str, label_map: dict[str, int] | None
) -> gpd.GeoDataFrame:
    """The polygons of :func:`load_labels`, without its record of what was changed."""
    return load_labels(path, working_crs, label_column, label_map)[0]


def load_labels(
    path: str | os.PathLike, working_crs: str, label_column: str, label_map: dict[str, int] | None
) -> tuple[gpd.GeoDataFrame, LabelStats]:
    """Read labelled polygons, recode and validate classes, reproject to ``working_crs``.

    A ``.kml``/``.kmz`` whose folders are named by LCZ classes (WUDAPT training areas) takes each
    polygon's class from its folder (:mod:`df4lcz.sampling.wudapt`), and ``label_column`` and
    ``label_map`` are not used; any other KML is read whole (every folder) with ``label_column``.

    Args:
        path: the polygon file (GeoPackage, Shapefile, GeoJSON; any CRS; or KML/KMZ).
        working_crs: CRS of the result.
        label_column: integer column holding the class code (``regions[].label_column``).
        label_map: recoding of codes to LCZ 1–17 (``regions[].label_map``); empty or ``None``: none.

    Returns:
        GeoDataFrame with ``polygon_id`` (row number in the file, 0-based; for KML the placemark
        number), ``lcz`` (1–17) and polygon geometry in the working CRS, sorted by ``polygon_id``.
        Multi-polygons are kept whole; invalid polygons are repaired (:func:`repair_polygons`),
        and overlapping polygons of one class merged under the smallest row number
        (:func:`dissolve_overlaps`). Then the counts of what was ignored, dropped, repaired and
        merged (:class:`LabelStats`).

    Raises:
        FileNotFoundError, InputError (a ValueError): with the file name and the problem (no CRS, missing or
        non-integer column, class codes outside 1–17, no polygons, no polygon with area left
        after repair, polygons of different classes that overlap; in a WUDAPT file, polygons in
        a folder named by no class).
    """
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{p}: label polygons not found")
    hint = ""
    if p.suffix.lower() in KML_SUFFIXES:
        kml = read_kml(p)
        if is_wudapt_layout(kml):
            if label_map:
                log.warning(
                    "%s: classes come from the folder names (WUDAPT layout); regions[].label_map is ignored",
                    p,
                )
            return polygons_to_working_crs(wudapt_polygons(kml, p), p, working_crs)
        log.info("%s: no folder is named by an LCZ class; classes from column %r", p, label_column)
        gdf = kml.placemarks.drop(columns=CONTAINER_COLUMN)
        hint = "; or name each folder by its class, e.g. 'LCZ 1' or 'A Dense trees' (WUDAPT layout)"
    else:
        try:
            gdf = gpd.read_file(p)
        except Exception as exc:  # pyogrio raises several types for unreadable files
            raise InputError(f"{p}: not a readable vector file ({exc})") from exc
    if gdf.empty:
        raise InputError(f"{p}: contains no polygons")
    if gdf.crs is None:
        raise InputError(f"{p}: polygons have no CRS; set one (e.g. ogr2ogr -a_srs EPSG:4326)")
    if label_column not in gdf.columns:
        raise InputError(
            f"{p}: column {label_column!r} not found; columns are {list(gdf.columns.drop('geometry'))} "
            f"(set regions[].label_column{hint})"
        )
    raw = gdf[label_column]
    if raw.isna().any():
        raise InputError(f"{p}: column {label_column!r} has {int(raw.isna().sum())} empty value(s)")
    values = pd.to_numeric(raw, errors="coerce")
    if values.isna().any() or not np.all(values == np.round(values)):
        bad = raw[values.isna() | (values != np.round(values))].unique()[:5]
        found = [v.item() if isinstance(v, np.generic) else v for v in bad]  # 11.5, not np.float64(11.5)
        raise InputError(f"{p}: column {label_column!r} must hold integer class codes; found {found}")
    codes = values.astype(int)
    if label_map:
        mapping = {int(k): int(v) for k, v in label_map.items()}
        codes = codes.map(lambda c: mapping.get(c, c))
    bad = sorted({int(c) for c in codes[(codes < 1) | (codes > N_CLASSES)]})
    if bad:
        raise InputError(
            f"{p}: column {label_column!r} has class code(s) {bad[:10]} outside 1–17 "
            "(recode them with regions[].label_map, e.g. WUDAPT 101–107 → 11–17)"
        )
    geoms = gdf.geometry
    keep = geoms.geom_type.isin(["Polygon", "MultiPolygon"])
    if not keep.any():
        raise InputError(f"{p}: no polygon geometries (found {sorted(set(geoms.geom_type.dropna()))})")
    if (~keep).any():
        log.warning("%s: %d non-polygon feature(s) ignored", p, int((~keep).sum()))
    polys = gpd.GeoDataFrame(
        {"polygon_id": np.arange(len(gdf))[keep.values], "lcz": codes[keep].values},
        geometry=shapely.force_2d(geoms[keep].to_numpy()),
        crs=gdf.crs,
    )
    return polygons_to_working_crs(polys, p, working_crs, n_non_polygon=int((~keep).sum()))


def polygons_to_working_crs(
    polys: gpd.GeoDataFrame, path: Path, working_crs: str, n_non_polygon: int = 0
) -> tuple[gpd.GeoDataFrame, LabelStats]:
    """Reproject labelled polygons to the working CRS, then repair and dissolve them, counting what changed.

    Args:
        polys: ``polygon_id``, ``lcz`` (1–17) and polygonal geometry in the file's CRS.
        path: the label file (for messages).
        working_crs: CRS of the result.
        n_non_polygon: features of the file already ignored as not polygons (for the counts).

    Returns:
        see :func:`load_labels`.
    """
    out = polys.to_crs(working_crs)
    n_polygons = len(out)
    ids = set(out.polygon_id.tolist())
    out = _drop_unprojectable(out, path, polys.crs, polys.geometry.total_bounds)
    n_projected = len(out)
    out, n_repaired = _repair(out, path)
    n_area = len(out)
    kept_ids = out.polygon_id.tolist()
    out = dissolve_overlaps(out, path)
    stats = LabelStats(
        path=str(path),
        n_polygons=n_polygons,
        n_non_polygon=n_non_polygon,
        n_unprojectable=n_polygons - n_projected,
        n_repaired=n_repaired,
        n_no_area=n_projected - n_area,
        n_merged=n_area - len(out),
        dropped_rows=tuple(sorted(ids - set(kept_ids))),
    )
    return out, stats


def _drop_unprojectable(
    polys: gpd.GeoDataFrame, path: Path, file_crs: object, bounds: np.ndarray
) -> gpd.GeoDataFrame:
    """Drop polygons whose coordinates do not survive reprojection (outside their CRS's domain).

    Raises:
        ValueError: none survives; the file's CRS is then most likely wrong.
    """
    coords = shapely.get_coordinates(polys.geometry.to_numpy())
    counts = shapely.get_num_coordinates(polys.geometry.to_numpy())
    finite = np.isfinite(coords).all(axis=1)
    owner = np.repeat(np.arange(len(polys)), counts)
    bad = np.bincount(owner, weights=~finite, minlength=len(polys)) > 0
    if not bad.any():
        return polys
    where = ", ".join(f"{v:.6g}" for v in bounds)
    if bad.all():
        raise InputError(
            f"{path}: no polygon reprojects into the working CRS {polys.crs.to_string()}: its "
            f"coordinates ({where}) are out of range for the file's CRS {file_crs}; check the CRS "
            "of the file (a GeoJSON is read as EPSG:4326 unless it says otherwise)"
        )
    log.warning(
        "%s: polygon(s) of row(s) %s do not reproject into the working CRS (coordinates out of range "
        "for %s); dropped",
        path,
        polys.polygon_id[bad].tolist()[:20],
        file_crs,
    )
    return polys[~bad].reset_index(drop=True)


def _polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    """The polygonal part of ``geom`` (make_valid may return lines and points next to polygons)."""
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def repair_polygons(polys: gpd.GeoDataFrame, path: Path) -> gpd.GeoDataFrame:
    """Repair invalid polygons (``make_valid``, polygonal part kept); drop those left without area.

    Every repaired polygon is logged; one repaired (or given) with no area left is dropped with a
    warning naming its row.

    Raises:
        ValueError: no polygon keeps any area.
    """
    return _repair(polys, path)[0]


def _repair(polys: gpd.GeoDataFrame, path: Path) -> tuple[gpd.GeoDataFrame, int]:
    """:func:`repair_polygons`, and how many polygons were repaired with area left."""
    geoms = polys.geometry.to_numpy()
    valid = shapely.is_valid(geoms)
    fixed = geoms.copy()
    n_repaired = 0
    for i in np.flatnonzero(~valid):
        fixed[i] = _polygonal(shapely.make_valid(geoms[i]))
        if fixed[i].area > 0:
            n_repaired += 1
            log.warning(
                "%s: polygon of row %d (LCZ %d) is invalid (%s); repaired with make_valid, area %.0f → %.0f",
                path,
                polys.polygon_id.iloc[i],
                polys.lcz.iloc[i],
                shapely.is_valid_reason(geoms[i]),
                shapely.area(geoms[i]),
                fixed[i].area,
            )
    area = shapely.area(fixed)
    empty = ~(area > 0)
    for i in np.flatnonzero(empty):
        how = (
            f"is invalid ({shapely.is_valid_reason(geoms[i])}) and repairing it left"
            if not valid[i]
            else "has"
        )
        log.warning(
            "%s: polygon of row %d (LCZ %d) %s no area; dropped",
            path,
            polys.polygon_id.iloc[i],
            polys.lcz.iloc[i],
            how,
        )
    if empty.all():
        raise InputError(
            f"{path}: none of its {len(polys)} polygon(s) has any area once repaired (invalid or "
            "degenerate geometries: self-intersections, collapsed rings); fix the label file"
        )
    out = polys.copy()
    out["geometry"] = fixed
    return out[~empty].reset_index(drop=True), n_repaired


def dissolve_overlaps(polys: gpd.GeoDataFrame, path: Path) -> gpd.GeoDataFrame:
    """Merge overlapping polygons of one class; overlapping polygons of different classes are an error.

    Two polygons overlap when their intersection exceeds :data:`OVERLAP_TOLERANCE_M2` (smaller
    intersections are slivers of digitising or reprojection, too thin to hold a sample square).
    Overlapping (or repeated) polygons of one class are merged into one, which keeps the smallest
    ``polygon_id`` of its group, so no sample square is laid twice and no square is split between
    training and test polygons. The result is sorted by ``polygon_id``.

    Raises:
        InputError (a ValueError): polygons of different classes overlap (each pair listed with rows, classes and
            overlap area), since squares there would carry two labels.
    """
    geoms = polys.geometry.to_numpy()
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    pairs = left < right
    left, right = left[pairs], right[pairs]
    overlap = shapely.area(shapely.intersection(geoms[left], geoms[right])) if len(left) else np.empty(0)
    big = overlap > OVERLAP_TOLERANCE_M2
    left, right, overlap = left[big], right[big], overlap[big]
    ids, lcz = polys.polygon_id.to_numpy(), polys.lcz.to_numpy()
    clash = lcz[left] != lcz[right]
    if clash.any():
        lines = [
            f"row {ids[a]} (LCZ {lcz[a]}) and row {ids[b]} (LCZ {lcz[b]}) overlap by {area:.0f} m²"
            for a, b, area in zip(left[clash], right[clash], overlap[clash])
        ]
        more = f"\n  … and {len(lines) - 20} more" if len(lines) > 20 else ""
        raise InputError(
            f"{path}: {len(lines)} pair(s) of polygons of different classes overlap; a sample square "
            "there would carry two labels. Fix the overlaps (areas in the working CRS):\n  "
            + "\n  ".join(lines[:20])
            + more
        )
    if not len(left):
        return polys
    parent = np.arange(len(polys))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b in zip(left, right):
        ra, rb = root(int(a)), root(int(b))
        parent[max(ra, rb)] = min(ra, rb)
    groups = np.array([root(i) for i in range(len(polys))])
    rows = []
    for g in np.unique(groups):
        members = np.flatnonzero(groups == g)
        first = members[np.argmin(ids[members])]
        geom = geoms[first] if len(members) == 1 else _polygonal(shapely.union_all(geoms[members]))
        if len(members) > 1:
            log.warning(
                "%s: polygons of rows %s (all LCZ %d) overlap or repeat; merged into one, polygon_id %d",
                path,
                sorted(int(i) for i in ids[members]),
                lcz[first],
                ids[first],
            )
        rows.append((ids[first], lcz[first], geom))
    out = gpd.GeoDataFrame(
        {"polygon_id": [r[0] for r in rows], "lcz": [r[1] for r in rows]},
        geometry=[r[2] for r in rows],
        crs=polys.crs,
    )
    return out.sort_values("polygon_id").reset_index(drop=True)


def check_dropped_polygons(stats: LabelStats, max_fraction: float) -> None:
    """Stop when more of a label file's polygons were dropped than ``max_fraction`` allows.

    Raises:
        ValueError: naming the file, the counts and :data:`MAX_DROPPED_KEY`.
    """
    if stats.dropped_fraction > max_fraction:
        raise InputError(
            f"{stats.path}: {stats.n_dropped} of its {stats.n_polygons} polygons "
            f"({100 * stats.dropped_fraction:.1f} %) were dropped ({stats.n_no_area} without area once repaired, "
            f"{stats.n_unprojectable} not reprojectable: rows {list(stats.dropped_rows[:10])}"
            f"{' …' if len(stats.dropped_rows) > 10 else ''}), more than {MAX_DROPPED_KEY} = {max_fraction:g}; "
            f"expected valid polygons with area: fix those rows of the label file, or raise {MAX_DROPPED_KEY}"
        )


def label_check_rows(stats: LabelStats, max_fraction: float, stage: str = "samples") -> list[CheckRow]:
    """The input-check rows (docs/contracts.md §13) of one label file: one warning per kind of change.

    Args:
        stats: what :func:`load_labels` changed.
        max_fraction: ``samples.max_dropped_polygon_fraction`` (the threshold of the dropped row).
        stage: the rule recording them.
    """
    path, n = stats.path, stats.n_polygons
    rows: list[CheckRow] = []
    if stats.n_non_polygon:
        rows.append(
            CheckRow(
                stage,
                "warning",
                path,
                "non_polygon_features",
                stats.n_non_polygon,
                None,
                f"{path}: {stats.n_non_polygon} non-polygon feature(s) ignored",
            )
        )
    if stats.n_repaired:
        rows.append(
            CheckRow(
                stage,
                "warning",
                path,
                "polygons_repaired",
                stats.n_repaired,
                None,
                f"{path}: {stats.n_repaired} of {n} polygons invalid and repaired with make_valid",
            )
        )
    if stats.n_dropped:
        rows.append(
            CheckRow(
                stage,
                "warning",
                path,
                "polygons_dropped",
                stats.dropped_fraction,
                max_fraction,
                f"{path}: {stats.n_dropped} of {n} polygons ({100 * stats.dropped_fraction:.1f} %) "
                f"dropped ({stats.n_no_area} without area once repaired, {stats.n_unprojectable} not "
                f"reprojectable); limit {MAX_DROPPED_KEY} = {max_fraction:g}",
            )
        )
    if stats.n_merged:
        rows.append(
            CheckRow(
                stage,
                "warning",
                path,
                "polygons_merged",
                stats.n_merged,
                None,
                f"{path}: {stats.n_merged} of {n} polygons merged into an overlapping polygon of "
                "the same class",
            )
        )
    return rows
