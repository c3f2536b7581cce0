"""The embedded demo dataset: synthetic cities rendered into Google-like and Sentinel-2-like rasters.

Each city is a grid of homogeneous LCZ patches painted into one material map (``render``). From it:

- ``google.tif`` — RGB uint8 in EPSG:3857 at Google zoom-17 pixels (≈1.19 m), nearest-resampled
  from the material map (so reprojection is real), coloured per material × object tone + noise;
- ``sentinel2.tif`` — 10 bands uint16 (reflectance × 10000, So2Sat order, band descriptions set),
  10 m in the city's UTM zone: tone-weighted material fractions per 10 m cell × material
  spectra, Gaussian point-spread blur and additive noise;
- ``labels.gpkg`` — training polygons (column ``lcz``, EPSG:4326) drawn a little inside most
  patches (not all: ``labelled_fraction``), each holding several 320 m cells;
- ``lcz_truth.tif`` — the true class of every 10 m cell (for map agreement), with the LCZ colours;
- ``city.json`` — the plan (CRS, bounds, patches and classes).

The two rasters have slightly different footprints. Everything is drawn from one seeded
generator per city, so the same seed gives byte-identical rasters.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import rasterio
from pyproj import Transformer
from rasterio.enums import Resampling
from rasterio.transform import from_origin
from rasterio.warp import reproject
from scipy import ndimage
from shapely.geometry import Polygon

from ..atomic import atomic_path, write_text_atomic
from ..constants import LCZ_COLORS, S2_BANDS, S2_REFLECTANCE_SCALE, SAMPLE_SIZE_M
from ..errors import ConfigError
from ..logs import get_logger
from .materials import MATERIAL_RGB, MATERIAL_SPECTRA, N_MATERIALS
from .render import render_patch
from .sites import CITY_SITES

log = get_logger("demo")

#: Web-Mercator pixel size at Google zoom level 17 (m, at the equator).
GOOGLE_ZOOM17_M: float = 2 * math.pi * 6378137.0 / 256 / 2**17
#: Margin (m) of a patch around its whole 320 m cells; polygons are drawn inside it.
PATCH_MARGIN_M: float = 40.0
#: Sentinel-2 pixel (m).
S2_PIXEL_M: float = 10.0


@dataclass
class DemoSettings:
    """The validated ``demo`` config section (the schema holds every default and describes each knob)."""

    seed: int
    n_cities: int
    patches_per_side: int
    patch_cells: tuple[int, int]
    labelled_fraction: float
    classes: tuple[int, ...]
    variation: float
    mixing: float
    s2_noise: float
    s2_blur_m: float
    rgb_noise: float
    ground_m: float

    @classmethod
    def from_config(cls, section: dict[str, Any]) -> DemoSettings:
        """Build from the validated ``demo`` config section."""
        s = cls(**{k: v for k, v in section.items()})
        s.patch_cells = tuple(s.patch_cells)  # type: ignore[assignment]
        s.classes = tuple(s.classes)
        if S2_PIXEL_M / s.ground_m != int(S2_PIXEL_M / s.ground_m):
            raise ConfigError(
                f"config key 'demo.ground_m': {s.ground_m} must divide 10 m exactly (e.g. 0.5, 1, 2)"
            )
        return s


@dataclass
class Patch:
    """One homogeneous patch: UTM bounds (m), class, whether it carries a training polygon."""

    row: int
    col: int
    xmin: float
    ymin: float
    xmax: float
    ymax: float
    lcz: int
    labelled: bool


@dataclass
class CityPlan:
    """Where a city lies and what it is made of."""

    name: str
    crs: str
    xmin: float
    ymin: float
    xmax: float
    ymax: float
    patches: list[Patch] = field(default_factory=list)


def utm_crs(lon: float, lat: float) -> str:
    """EPSG code string of the WGS 84 UTM zone containing (lon, lat)."""
    zone = int((lon + 180) // 6) + 1
    return f"EPSG:{(32600 if lat >= 0 else 32700) + zone}"


def plan_cities(settings: DemoSettings) -> list[CityPlan]:
    """Lay out every city's patch grid and assign classes, balanced over labelled patches."""
    if settings.n_cities > len(CITY_SITES):
        raise ConfigError(f"config key 'demo.n_cities': at most {len(CITY_SITES)} cities are defined")
    rng = np.random.default_rng([settings.seed, 0])
    lo, hi = settings.patch_cells
    plans: list[CityPlan] = []
    for name, lon, lat in CITY_SITES[: settings.n_cities]:
        crs = utm_crs(lon, lat)
        x, y = Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(lon, lat)
        n = settings.patches_per_side
        col_cells = rng.integers(lo, hi + 1, size=n)
        row_cells = rng.integers(lo, hi + 1, size=n)
        widths = col_cells * SAMPLE_SIZE_M + 2 * PATCH_MARGIN_M
        heights = row_cells * SAMPLE_SIZE_M + 2 * PATCH_MARGIN_M
        x0 = math.floor((x - widths.sum() / 2) / SAMPLE_SIZE_M) * SAMPLE_SIZE_M
        y1 = math.floor((y + heights.sum() / 2) / SAMPLE_SIZE_M) * SAMPLE_SIZE_M
        plan = CityPlan(name, crs, x0, y1 - float(heights.sum()), x0 + float(widths.sum()), y1)
        ys = y1 - np.concatenate([[0], np.cumsum(heights)])
        xs = x0 + np.concatenate([[0], np.cumsum(widths)])
        for r in range(n):
            for c in range(n):
                plan.patches.append(
                    Patch(r, c, float(xs[c]), float(ys[r + 1]), float(xs[c + 1]), float(ys[r]), 0, False)
                )
        plans.append(plan)
    all_patches = [p for plan in plans for p in plan.patches]
    n_lab = max(len(settings.classes), int(round(settings.labelled_fraction * len(all_patches))))
    n_lab = min(n_lab, len(all_patches))
    labelled = rng.permutation(len(all_patches))[:n_lab]
    classes = np.resize(np.asarray(settings.classes), n_lab)
    classes = classes[rng.permutation(n_lab)]
    for idx, cls in zip(labelled, classes):
        all_patches[idx].lcz = int(cls)
        all_patches[idx].labelled = True
    for p in all_patches:
        if not p.labelled:
            p.lcz = int(rng.choice(settings.classes))
    return plans


def render_city(
    plan: CityPlan, index: int, settings: DemoSettings
) -> tuple[np.ndarray, np.ndarray, rasterio.Affine]:
    """Paint the city's material and tone maps (north-up, ``ground_m`` pixels, UTM).

    Returns:
        material (H, W) uint8, tone (H, W) uint8, and the affine transform of both.
    """
    g = settings.ground_m
    h = int(round((plan.ymax - plan.ymin) / g))
    w = int(round((plan.xmax - plan.xmin) / g))
    material = np.zeros((h, w), dtype=np.uint8)
    tone = np.full((h, w), 100, dtype=np.uint8)
    transform = from_origin(plan.xmin, plan.ymax, g, g)
    for patch in plan.patches:
        rng = np.random.default_rng([settings.seed, index + 1, patch.row, patch.col])
        r0 = int(round((plan.ymax - patch.ymax) / g))
        r1 = int(round((plan.ymax - patch.ymin) / g))
        c0 = int(round((patch.xmin - plan.xmin) / g))
        c1 = int(round((patch.xmax - plan.xmin) / g))
        render_patch(
            material[r0:r1, c0:c1], tone[r0:r1, c0:c1], patch.lcz, g, rng, settings.variation, settings.mixing
        )
    return material, tone, transform


def _gtiff_profile(**kw: Any) -> dict[str, Any]:
    return {
        "driver": "GTiff",
        "tiled": True,
        "blockxsize": 256,
        "blockysize": 256,
        "compress": "deflate",
        "predictor": 2,
        "interleave": "pixel",
        **kw,
    }


def write_google(
    path: Path,
    plan: CityPlan,
    material: np.ndarray,
    tone: np.ndarray,
    transform: rasterio.Affine,
    settings: DemoSettings,
    rng: np.random.Generator,
) -> None:
    """Render the RGB raster in EPSG:3857 at zoom-17 pixels over an inner part of the city."""
    to_merc = Transformer.from_crs(plan.crs, "EPSG:3857", always_xy=True)
    inset = 30.0
    xs = [plan.xmin + inset, plan.xmax - inset]
    ys = [plan.ymin + inset, plan.ymax - inset]
    corners = np.array([to_merc.transform(x, y) for x in xs for y in ys])
    # corners order: (xmin,ymin), (xmin,ymax), (xmax,ymin), (xmax,ymax); take the inscribed box
    left = max(corners[0, 0], corners[1, 0])
    right = min(corners[2, 0], corners[3, 0])
    bottom = max(corners[0, 1], corners[2, 1])
    top = min(corners[1, 1], corners[3, 1])
    px = GOOGLE_ZOOM17_M
    left, top = math.ceil(left / px) * px, math.floor(top / px) * px
    width, height = int((right - left) // px), int((top - bottom) // px)
    dst_transform = from_origin(left, top, px, px)
    mat_m = np.zeros((height, width), dtype=np.uint8)
    tone_m = np.zeros((height, width), dtype=np.uint8)
    for src, dst in ((material, mat_m), (tone, tone_m)):
        reproject(
            src,
            dst,
            src_transform=transform,
            src_crs=plan.crs,
            dst_transform=dst_transform,
            dst_crs="EPSG:3857",
            resampling=Resampling.nearest,
            num_threads=2,
        )
    profile = _gtiff_profile(
        width=width,
        height=height,
        count=3,
        dtype="uint8",
        crs="EPSG:3857",
        transform=dst_transform,
        photometric="RGB",
    )
    with atomic_path(path) as tmp:
        with rasterio.open(tmp, "w", **profile) as dst:
            strip = 512
            for r in range(0, height, strip):
                m = mat_m[r : r + strip]
                t = tone_m[r : r + strip].astype(np.float32) / 100.0
                rgb = MATERIAL_RGB[m] * t[..., None]
                rgb += rng.standard_normal(rgb.shape, dtype=np.float32) * settings.rgb_noise
                out = np.clip(rgb, 0, 255).astype(np.uint8).transpose(2, 0, 1)
                dst.write(out, window=rasterio.windows.Window(0, r, width, m.shape[0]))
            dst.descriptions = ("red", "green", "blue")


def write_sentinel2(
    path: Path,
    plan: CityPlan,
    material: np.ndarray,
    tone: np.ndarray,
    settings: DemoSettings,
    rng: np.random.Generator,
) -> tuple[float, float, float, float]:
    """Render the 10-band Sentinel-2 raster (10 m, UTM) and return its bounds.

    Per 10 m cell: tone-weighted material fractions (one ``np.bincount``) times the material
    spectra, then a Gaussian point-spread blur and additive noise, as DN = reflectance × 10000.
    """
    f = int(round(S2_PIXEL_M / settings.ground_m))
    # footprint differs a little from the Google one: trim 60 m west, 20 m east, 30 m south, 50 m north
    x0, x1 = plan.xmin + 60, plan.xmax - 20
    y0, y1 = plan.ymin + 30, plan.ymax - 50
    c0 = int(round((x0 - plan.xmin) / settings.ground_m))
    r0 = int(round((plan.ymax - y1) / settings.ground_m))
    ncols = int(round((x1 - x0) / S2_PIXEL_M))
    nrows = int(round((y1 - y0) / S2_PIXEL_M))
    refl = np.empty((nrows, ncols, len(S2_BANDS)), dtype=np.float32)
    col_cell = np.arange(ncols * f) // f
    strip = 64
    for rs in range(0, nrows, strip):
        re = min(nrows, rs + strip)
        m = material[r0 + rs * f : r0 + re * f, c0 : c0 + ncols * f]
        t = tone[r0 + rs * f : r0 + re * f, c0 : c0 + ncols * f].astype(np.float32) / 100.0
        cell = (np.arange(m.shape[0])[:, None] // f) * ncols + col_cell[None, :]
        frac = np.bincount(
            (cell * N_MATERIALS + m).ravel(), weights=t.ravel(), minlength=(re - rs) * ncols * N_MATERIALS
        ).reshape(-1, N_MATERIALS) / (f * f)
        refl[rs:re] = (frac @ MATERIAL_SPECTRA).reshape(re - rs, ncols, -1)
    sigma = settings.s2_blur_m / S2_PIXEL_M
    if sigma > 0:
        refl = ndimage.gaussian_filter(refl, sigma=(sigma, sigma, 0), mode="nearest")
    refl += rng.standard_normal(refl.shape, dtype=np.float32) * settings.s2_noise
    dn = np.clip(np.round(refl * S2_REFLECTANCE_SCALE), 1, 10000).astype(np.uint16)
    transform = from_origin(x0, y1, S2_PIXEL_M, S2_PIXEL_M)
    profile = _gtiff_profile(
        width=ncols,
        height=nrows,
        count=len(S2_BANDS),
        dtype="uint16",
        crs=plan.crs,
        transform=transform,
        nodata=0,
    )
    with atomic_path(path) as tmp:
        with rasterio.open(tmp, "w", **profile) as dst:
            dst.write(dn.transpose(2, 0, 1))
            dst.descriptions = S2_BANDS
            dst.update_tags(reflectance_scale=str(S2_REFLECTANCE_SCALE))
    return x0, y0, x1, y1


def write_truth(path: Path, plan: CityPlan) -> None:
    """Write the true LCZ of every 10 m cell of the city (uint8 with the LCZ colour table)."""
    ncols = int(round((plan.xmax - plan.xmin) / S2_PIXEL_M))
    nrows = int(round((plan.ymax - plan.ymin) / S2_PIXEL_M))
    truth = np.zeros((nrows, ncols), dtype=np.uint8)
    for p in plan.patches:
        r0, r1 = int(round((plan.ymax - p.ymax) / S2_PIXEL_M)), int(round((plan.ymax - p.ymin) / S2_PIXEL_M))
        c0, c1 = int(round((p.xmin - plan.xmin) / S2_PIXEL_M)), int(round((p.xmax - plan.xmin) / S2_PIXEL_M))
        truth[r0:r1, c0:c1] = p.lcz
    profile = _gtiff_profile(
        width=ncols,
        height=nrows,
        count=1,
        dtype="uint8",
        crs=plan.crs,
        nodata=0,
        transform=from_origin(plan.xmin, plan.ymax, S2_PIXEL_M, S2_PIXEL_M),
        predictor=1,
    )
    with atomic_path(path) as tmp:
        with rasterio.open(tmp, "w", **profile) as dst:
            dst.write(truth, 1)
            dst.write_colormap(1, {k: (*v, 255) for k, v in LCZ_COLORS.items()})


def label_polygon(p: Patch, rng: np.random.Generator) -> Polygon:
    """A training polygon a little inside the patch: straight-ish edges with inward kinks."""
    inset = rng.uniform(5.0, 20.0, size=4)  # west, south, east, north
    x0, y0, x1, y1 = p.xmin + inset[0], p.ymin + inset[1], p.xmax - inset[2], p.ymax - inset[3]
    pts: list[tuple[float, float]] = []
    corners = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
    inward = [(0.0, 1.0), (-1.0, 0.0), (0.0, -1.0), (1.0, 0.0)]  # south, east, north, west edges
    for k in range(4):
        a, b = np.array(corners[k]), np.array(corners[(k + 1) % 4])
        pts.append(tuple(a))
        for t in np.sort(rng.uniform(0.2, 0.8, size=rng.integers(0, 3))):
            q = a + t * (b - a) + np.array(inward[k]) * rng.uniform(0.0, 12.0)
            pts.append(tuple(q))
    return Polygon(pts)


def write_labels(path: Path, plan: CityPlan, rng: np.random.Generator) -> int:
    """Write the labelled polygons of a city to a GeoPackage in EPSG:4326; return their number."""
    rows = [(p.lcz, label_polygon(p, rng)) for p in plan.patches if p.labelled]
    gdf = gpd.GeoDataFrame(
        {"lcz": np.array([r[0] for r in rows], dtype=np.int32)}, geometry=[r[1] for r in rows], crs=plan.crs
    ).to_crs("EPSG:4326")
    with atomic_path(path) as tmp:
        tmp.unlink()  # the GPKG driver wants to create the file itself
        gdf.to_file(tmp, driver="GPKG", layer="lcz")
    return len(gdf)


def generate_city(plan: CityPlan, index: int, settings: DemoSettings, out_dir: Path) -> dict[str, Any]:
    """Render and write all files of one city; return a summary record."""
    t0 = time.perf_counter()
    out_dir.mkdir(parents=True, exist_ok=True)
    material, tone, transform = render_city(plan, index, settings)
    t1 = time.perf_counter()
    rng = np.random.default_rng([settings.seed, index + 1, 10_000])
    write_google(out_dir / "google.tif", plan, material, tone, transform, settings, rng)
    s2_bounds = write_sentinel2(out_dir / "sentinel2.tif", plan, material, tone, settings, rng)
    write_truth(out_dir / "lcz_truth.tif", plan)
    n_poly = write_labels(out_dir / "labels.gpkg", plan, rng)
    meta = {
        "name": plan.name,
        "crs": plan.crs,
        "bounds": [plan.xmin, plan.ymin, plan.xmax, plan.ymax],
        "sentinel2_bounds": list(s2_bounds),
        "settings": asdict(settings),
        "patches": [asdict(p) for p in plan.patches],
        "n_polygons": n_poly,
    }
    write_text_atomic(out_dir / "city.json", json.dumps(meta, indent=1))
    log.info(
        "%s: %d×%d px world rendered in %.1f s, files written in %.1f s (%d polygons)",
        plan.name,
        material.shape[1],
        material.shape[0],
        t1 - t0,
        time.perf_counter() - t1,
        n_poly,
    )
    return meta


def generate_demo(out_dir: str | Path, settings: DemoSettings) -> list[dict[str, Any]]:
    """Generate every demo city under ``out_dir/<city>/``; return their summaries."""
    out = Path(out_dir)
    plans = plan_cities(settings)
    return [generate_city(plan, i, settings, out / plan.name) for i, plan in enumerate(plans)]
