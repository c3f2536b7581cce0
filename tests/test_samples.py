"""Sample squares: inside their polygon and both raster footprints, ids, shards, input errors."""

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from conftest import TINY_CRS, TINY_X0, TINY_Y1, write_raster
from helpers.sampling import region_inputs, sample_params
from pyproj import Transformer
from shapely.geometry import box

from df4lcz.io.samples import read_samples, write_samples
from df4lcz.sampling.build import build_samples
from df4lcz.sampling.grid import assign_ids_and_shards
from df4lcz.sampling.labels import read_labels
from df4lcz.sampling.overview import plot_overview

#: The region defaults of the schema (``regions[].label_column``, ``regions[].label_map``).
REGION = region_inputs("r", "g", "s", "l")
LABEL_COLUMN, LABEL_MAP = REGION.label_column, REGION.label_map

#: Seed of the tests' sample tables (matters only with ``max_per_polygon``).
SEED = 0


def _region(d, **kw):
    return region_inputs(d["name"], d["google"], d["sentinel2"], d["labels"], **kw)


def test_squares_inside_polygon_and_footprints(tiny_region):
    samples, _ = build_samples([_region(tiny_region)], sample_params(shard_size=4), seed=SEED)
    assert samples.crs.to_string() == "EPSG:4326"
    assert set(samples["crs"]) == {TINY_CRS}
    polys = tiny_region["polygons"]  # the original geometries in the working CRS
    with rasterio.open(tiny_region["sentinel2"]) as s2:
        s2_box = box(*s2.bounds)
    with rasterio.open(tiny_region["google"]) as g:
        tr = Transformer.from_crs("EPSG:3857", TINY_CRS, always_xy=True)
        xs, ys = tr.transform(
            [g.bounds.left, g.bounds.right, g.bounds.left, g.bounds.right],
            [g.bounds.bottom, g.bounds.bottom, g.bounds.top, g.bounds.top],
        )
        g_inner = box(max(xs[0], xs[2]), max(ys[0], ys[1]), min(xs[1], xs[3]), min(ys[2], ys[3]))
    for row in samples.itertuples():
        sq = box(row.xmin, row.ymin, row.xmax, row.ymax)
        assert row.xmax - row.xmin == 320 and row.ymax - row.ymin == 320
        assert polys.geometry.iloc[row.polygon_id].contains(sq)
        assert polys.lcz.iloc[row.polygon_id] == row.lcz
        assert s2_box.contains(sq) and g_inner.contains(sq)
        assert row.xmin % 10 == 0 and row.ymin % 10 == 0  # on the Sentinel-2 10 m grid
    counts = samples.groupby("polygon_id").size().to_dict()
    # 980 × 670 m holds 3 × 2; 680 × 700 m holds 2 × 2; polygon 2 is cut at x = TINY_X0 + 1800
    assert counts[0] == 6 and counts[1] == 4
    assert counts[2] == 2 * 2  # 700 m east of x0+1100 inside S2 → 2 columns, 2 rows
    # footprint in EPSG:4326 is the square reprojected
    tr = Transformer.from_crs(TINY_CRS, "EPSG:4326", always_xy=True)
    first = samples.iloc[0]
    lon, lat = tr.transform(first.xmin, first.ymin)
    assert shapely.distance(samples.geometry.iloc[0], shapely.Point(lon, lat)) < 1e-9


def test_ids_and_shards(tiny_region):
    samples, _ = build_samples([_region(tiny_region)], sample_params(shard_size=4), seed=SEED)
    assert samples.sample_id.tolist() == list(range(len(samples)))
    assert samples.shard.tolist() == [i // 4 for i in range(len(samples))]
    again, _ = build_samples([_region(tiny_region)], sample_params(shard_size=4), seed=SEED)
    assert again.drop(columns="geometry").equals(samples.drop(columns="geometry"))


def test_shards_never_span_regions():
    import pandas as pd

    t1 = pd.DataFrame(
        {
            "region": "a",
            "polygon_id": 0,
            "lcz": 1,
            "crs": "EPSG:32650",
            "xmin": np.arange(5.0),
            "ymin": 0.0,
            "xmax": 1.0,
            "ymax": 1.0,
        }
    )
    t2 = t1.assign(region="b").iloc[:3]
    table = assign_ids_and_shards([t1, t2], shard_size=2)
    assert table.shard.tolist() == [0, 0, 1, 1, 2, 3, 3, 4]
    assert table.groupby("shard").region.nunique().max() == 1
    with pytest.raises(ValueError, match="shard_size"):
        assign_ids_and_shards([t1], 0)


def test_global_anchor_uses_multiples_of_stride(tiny_region):
    samples, _ = build_samples([_region(tiny_region)], sample_params(anchor="global"), seed=SEED)
    assert np.all(samples.xmin % 320 == 0) and np.all(samples.ymin % 320 == 0)


def test_max_per_polygon(tiny_region):
    samples, _ = build_samples([_region(tiny_region)], sample_params(max_per_polygon=3), seed=SEED)
    assert samples.groupby("polygon_id").size().max() == 3


def test_round_trip_and_overview(tiny_region, tmp_path):
    samples, ctx = build_samples([_region(tiny_region)], sample_params(), seed=SEED)
    write_samples(tmp_path / "s.parquet", samples)
    back = read_samples(tmp_path / "s.parquet")
    assert back.crs.to_epsg() == 4326 and len(back) == len(samples)
    plot_overview(samples, ctx, "tiny", tmp_path / "o.png")
    assert (tmp_path / "o.png").read_bytes()[:4] == b"\x89PNG"


def test_read_one_shard_or_some_columns(tiny_region, tmp_path):
    samples, _ = build_samples([_region(tiny_region)], sample_params(shard_size=4), seed=SEED)
    write_samples(tmp_path / "s.parquet", samples)
    one = read_samples(tmp_path / "s.parquet", shard=1)
    expected = samples[samples.shard == 1]
    assert one.sample_id.tolist() == expected.sample_id.tolist() and len(one) == 4
    assert one.crs.to_epsg() == 4326 and one.geometry.equals(expected.geometry.reset_index(drop=True))
    few = read_samples(tmp_path / "s.parquet", columns=["sample_id", "lcz"])
    assert list(few.columns) == ["sample_id", "lcz"] and few.lcz.tolist() == samples.lcz.tolist()
    with pytest.raises(ValueError, match=r"s.parquet: missing column\(s\) \['height'\]"):
        read_samples(tmp_path / "s.parquet", columns=["sample_id", "height"])


def test_unknown_class_code_named(tiny_region, tmp_path):
    gdf = tiny_region["polygons"].copy()
    gdf.loc[1, "lcz"] = 21
    gdf.to_file(tmp_path / "bad.gpkg")
    with pytest.raises(ValueError, match=r"bad.gpkg: column 'lcz' has class code\(s\) \[21\] outside 1–17"):
        read_labels(tmp_path / "bad.gpkg", TINY_CRS, LABEL_COLUMN, LABEL_MAP)
    # the same file is fine once recoded
    out = read_labels(tmp_path / "bad.gpkg", TINY_CRS, LABEL_COLUMN, label_map={"21": 16})
    assert out.lcz.tolist() == [2, 16, 17]


def test_fractional_class_code_printed_as_a_plain_number(tiny_region, tmp_path):
    gdf = tiny_region["polygons"].copy()
    gdf["lcz"] = gdf["lcz"].astype(float)
    gdf.loc[1, "lcz"] = 11.5
    gdf.to_file(tmp_path / "frac.gpkg")
    with pytest.raises(ValueError) as err:
        read_labels(tmp_path / "frac.gpkg", TINY_CRS, LABEL_COLUMN, LABEL_MAP)
    assert (
        str(err.value)
        == f"{tmp_path / 'frac.gpkg'}: column 'lcz' must hold integer class codes; found [11.5]"
    )


def test_label_file_errors(tiny_region, tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.gpkg: label polygons not found"):
        read_labels(tmp_path / "nope.gpkg", TINY_CRS, LABEL_COLUMN, LABEL_MAP)
    with pytest.raises(ValueError, match=r"column 'class' not found; columns are \['lcz'\]"):
        read_labels(tiny_region["labels"], TINY_CRS, label_column="class", label_map=LABEL_MAP)
    corrupt = tmp_path / "corrupt.gpkg"
    corrupt.write_bytes(b"not a geopackage")
    with pytest.raises(ValueError, match="corrupt.gpkg: not a readable vector file"):
        read_labels(corrupt, TINY_CRS, LABEL_COLUMN, LABEL_MAP)
    nocrs = tiny_region["polygons"].set_crs(None, allow_override=True)
    nocrs.to_file(tmp_path / "nocrs.geojson", driver="GeoJSON")
    # GeoJSON without crs member is read as EPSG:4326 by GDAL: UTM metres are then out of range
    # as degrees and do not reproject, which is reported with the file name
    region = region_inputs(
        "t", tiny_region["google"], tiny_region["sentinel2"], str(tmp_path / "nocrs.geojson")
    )
    with pytest.raises(
        ValueError,
        match=r"nocrs.geojson: no polygon reprojects into the working CRS EPSG:32650.*"
        r"out of range for the file's CRS EPSG:4326; check the CRS",
    ):
        build_samples([region], sample_params(), seed=SEED)


def test_rasters_that_do_not_overlap(tiny_region, tmp_path):
    far = np.zeros((10, 50, 50), dtype=np.uint16) + 5
    from rasterio.transform import from_origin

    write_raster(tmp_path / "far.tif", far, TINY_CRS, from_origin(TINY_X0 + 50_000, TINY_Y1, 10, 10))
    region = region_inputs("t", tiny_region["google"], str(tmp_path / "far.tif"), tiny_region["labels"])
    with pytest.raises(
        ValueError, match=r"Google raster .*google.tif and the Sentinel-2 input .*far.tif do not overlap"
    ):
        build_samples([region], sample_params(), seed=SEED)


def test_raster_without_crs(tiny_region, tmp_path):
    from rasterio.transform import from_origin

    write_raster(tmp_path / "nocrs.tif", np.ones((3, 10, 10), np.uint8), None, from_origin(0, 10, 1, 1))
    region = region_inputs("t", str(tmp_path / "nocrs.tif"), tiny_region["sentinel2"], tiny_region["labels"])
    with pytest.raises(ValueError, match="nocrs.tif: raster has no CRS"):
        build_samples([region], sample_params(), seed=SEED)


def test_polygons_too_small_for_a_square(tiny_region, tmp_path):
    small = gpd.GeoDataFrame(
        {"lcz": [3]}, geometry=[box(TINY_X0 + 10, TINY_Y1 - 300, TINY_X0 + 300, TINY_Y1 - 10)], crs=TINY_CRS
    )
    small.to_file(tmp_path / "small.gpkg")
    region = region_inputs("t", tiny_region["google"], tiny_region["sentinel2"], str(tmp_path / "small.gpkg"))
    with pytest.raises(ValueError) as err:
        build_samples([region], sample_params(), seed=SEED)
    assert str(err.value) == (
        "no 320 m sample square fits inside any labelled polygon and both raster footprints (region 't': "
        f"label file {tmp_path / 'small.gpkg'} (1 polygons)); expected polygons larger than one 320 m square "
        "inside both rasters (or lower samples.size_m)"
    )
