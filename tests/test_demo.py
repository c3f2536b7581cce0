"""Demo generator: determinism, georeferencing, bands, class balance, real per-class signal."""

import hashlib
import json
from collections import Counter
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from helpers.demo import demo_settings
from shapely.geometry import box

from df4lcz.constants import S2_BANDS
from df4lcz.demo import generate_demo, plan_cities
from df4lcz.demo.generate import GOOGLE_ZOOM17_M

SMALL = dict(n_cities=1, patches_per_side=2, patch_cells=(2, 2), classes=(2, 11, 15, 17))


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def small_demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    generate_demo(out / "a", demo_settings(seed=3, **SMALL))
    generate_demo(out / "b", demo_settings(seed=3, **SMALL))
    generate_demo(out / "c", demo_settings(seed=4, **SMALL))
    return out


@pytest.mark.parametrize("name", ["google.tif", "sentinel2.tif", "lcz_truth.tif"])
def test_same_seed_byte_identical_rasters(small_demo, name):
    a = small_demo / "a" / "demo_city_1" / name
    assert _digest(a) == _digest(small_demo / "b" / "demo_city_1" / name)


def test_different_seed_different_city(small_demo):
    a = small_demo / "a" / "demo_city_1"
    c = small_demo / "c" / "demo_city_1"
    assert _digest(a / "google.tif") != _digest(c / "google.tif")
    assert _digest(a / "sentinel2.tif") != _digest(c / "sentinel2.tif")
    classes_a = [p["lcz"] for p in json.loads((a / "city.json").read_text())["patches"]]
    classes_c = [p["lcz"] for p in json.loads((c / "city.json").read_text())["patches"]]
    with rasterio.open(a / "google.tif") as ra, rasterio.open(c / "google.tif") as rc:
        assert classes_a != classes_c or not np.array_equal(ra.read(1), rc.read(1))


def test_google_raster_georeferencing(small_demo):
    with rasterio.open(small_demo / "a" / "demo_city_1" / "google.tif") as src:
        assert src.crs.to_epsg() == 3857
        assert src.count == 3 and src.dtypes == ("uint8",) * 3
        assert src.res == pytest.approx((GOOGLE_ZOOM17_M, GOOGLE_ZOOM17_M))
        assert GOOGLE_ZOOM17_M == pytest.approx(1.1943, abs=1e-4)
        assert src.profile["tiled"] and src.compression.name.lower() == "deflate"


def test_sentinel2_raster(small_demo):
    with rasterio.open(small_demo / "a" / "demo_city_1" / "sentinel2.tif") as src:
        assert src.crs.to_epsg() == 32649  # demo_city_1 lies in UTM zone 49N
        assert src.res == (10.0, 10.0) and src.count == 10 and src.dtypes[0] == "uint16"
        assert src.descriptions == S2_BANDS
        data = src.read()
        assert data.min() >= 1 and data.max() <= 10000
        assert src.bounds.left % 10 == 0 and src.bounds.top % 10 == 0


def test_footprints_differ_a_little(small_demo):
    d = small_demo / "a" / "demo_city_1"
    meta = json.loads((d / "city.json").read_text())
    with rasterio.open(d / "sentinel2.tif") as s2, rasterio.open(d / "google.tif") as g:
        s2_box = box(*s2.bounds)
        from pyproj import Transformer

        tr = Transformer.from_crs("EPSG:3857", meta["crs"], always_xy=True)
        x0, y0 = tr.transform(g.bounds.left, g.bounds.bottom)
        x1, y1 = tr.transform(g.bounds.right, g.bounds.top)
    g_box = box(x0, y0, x1, y1)
    overlap = s2_box.intersection(g_box).area
    assert 0.9 < overlap / s2_box.area < 1.0 and 0.9 < overlap / g_box.area < 1.0


def test_labels_inside_their_patches(small_demo):
    d = small_demo / "a" / "demo_city_1"
    meta = json.loads((d / "city.json").read_text())
    labels = gpd.read_file(d / "labels.gpkg").to_crs(meta["crs"])
    assert labels["lcz"].dtype.kind == "i"
    patches = [p for p in meta["patches"] if p["labelled"]]
    assert len(labels) == len(patches)
    for p, (lcz, geom) in zip(patches, zip(labels.lcz, labels.geometry)):
        assert lcz == p["lcz"]
        assert box(p["xmin"], p["ymin"], p["xmax"], p["ymax"]).contains(geom)
        assert geom.area > 0.8 * 640 * 640  # spans several 320 m cells


def test_class_signal_in_sentinel2(small_demo):
    """Water is dark in NIR, trees have the highest NDVI, the rock class is bright in SWIR."""
    d = small_demo / "a" / "demo_city_1"
    meta = json.loads((d / "city.json").read_text())
    stats = {}
    with rasterio.open(d / "sentinel2.tif") as src:
        for p in meta["patches"]:
            win = rasterio.windows.from_bounds(
                p["xmin"] + 100, p["ymin"] + 100, p["xmax"] - 100, p["ymax"] - 100, src.transform
            )
            px = src.read(window=win).astype(float) / 10000
            red, nir, swir = px[2].mean(), px[6].mean(), px[8].mean()
            stats[p["lcz"]] = ((nir - red) / (nir + red), nir, swir)
    assert set(stats) == {2, 11, 15, 17}
    assert stats[17][1] < 0.06
    assert max(stats, key=lambda k: stats[k][0]) == 11
    assert stats[15][2] > stats[2][2] > stats[17][2]


def test_default_plan_balances_all_17_classes():
    plans = plan_cities(demo_settings())
    labelled = Counter(p.lcz for plan in plans for p in plan.patches if p.labelled)
    assert sorted(labelled) == list(range(1, 18))
    assert max(labelled.values()) - min(labelled.values()) <= 1
    unlabelled = [p for plan in plans for p in plan.patches if not p.labelled]
    assert len(unlabelled) > 0  # polygons do not cover the whole city
    assert len({plan.crs for plan in plans}) == 3  # three UTM zones


def test_bad_settings():
    with pytest.raises(ValueError, match="demo.n_cities"):
        plan_cities(demo_settings(n_cities=9))
    with pytest.raises(ValueError, match="demo.ground_m"):
        demo_settings(ground_m=3.0)
