"""Wall-to-wall LCZ map on a tiny demo city: GeoTIFF georeferencing, dtype, nodata and colour
table; the grid against the raster extents; single windows re-classified by hand through the
stage functions; batching and tiling invariance (several tiles = one tile, pixel for pixel);
agreement values against an independent computation (shapely point-in-polygon, rasterio point
sampling)."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from helpers.demo import demo_settings
from helpers.importer_fixtures import write_lczc_ges2_fixture
from pyproj import Transformer

from df4lcz.chipping.google.chips import chip_google
from df4lcz.chipping.sentinel2 import chip_sentinel2
from df4lcz.config import schema_defaults
from df4lcz.constants import LCZ_COLORS, LCZ_NAMES
from df4lcz.demo import generate_demo
from df4lcz.evaluation.fusion import fuse, fuse_probabilities
from df4lcz.graphs.build import build_graphs, graph_settings
from df4lcz.graphs.pyg import graphs_to_pyg
from df4lcz.importers.lczc_ges2.graphs import import_graph_shard
from df4lcz.importers.lczc_ges2.scan import scan_lczc_ges2, write_samples_table
from df4lcz.importers.lczc_ges2.sentinel2 import import_s2_shard
from df4lcz.io.models import save_model
from df4lcz.io.predictions import predictions_frame
from df4lcz.mapping.agreement import agreement_table
from df4lcz.mapping.grid import candidate_batches, map_grid
from df4lcz.mapping.outputs import AGREEMENT_COLUMNS
from df4lcz.mapping.region import map_region
from df4lcz.segmentation.classical import ClassicalSegmenter
from df4lcz.segmentation.labels import segment_images
from df4lcz.training import predict_gcn, predict_s2, train_gcn, train_s2
from df4lcz.training.data import load_graphs, load_s2_chips

STRIDE = 160.0
SEGMENT = {
    "backend": "classical",
    "min_area": 10,
    "max_masks": 50,
    "classical": {
        **schema_defaults("segment")["classical"],
        "method": "slic",
        "n_segments": 20,
        "compactness": 10.0,
        "sigma": 0.8,
    },
}
GOOGLE = {"chip_px": 64, "resampling": "bilinear"}
GRAPHS = {
    **schema_defaults("graphs"),
    "features": ["r", "g", "b", "cx", "cy"],
    "edge_rule": "adjacency",
    "tolerance_px": 2,
}
ALPHA = 0.6
#: The schema's training settings (tests override a few).
TRAIN = schema_defaults("train")
#: The settings map_region takes besides the files (a demo region's and the schema defaults).
SETTINGS = {
    "working_crs": None,
    "stride_m": STRIDE,
    "alpha": ALPHA,
    "segment_params": SEGMENT,
    "graph_params": GRAPHS,
    "google_params": GOOGLE,
    "sentinel2_params": schema_defaults("sentinel2"),
    "band_names": None,
    "label_column": "lcz",
    "label_map": {},
    "device": "cpu",
    "batch_size": 16,
}


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """Tiny S2 model and GCN trained one epoch on LCZC-GES2-format fixture data."""
    root = tmp_path_factory.mktemp("models")
    write_lczc_ges2_fixture(root / "data", n_samples=34, seed=0)
    table = scan_lczc_ges2(root / "data")
    samples = write_samples_table(table, root / "samples.parquet", 64)
    import_s2_shard(samples, 0, root / "s2.h5")
    import_graph_shard(samples, 0, root / "g.h5")
    chips, graphs = load_s2_chips(root / "s2.h5"), load_graphs(root / "g.h5")
    y = table["lcz"].to_numpy()
    s2 = train_s2(
        "resnet11_3d",
        (chips.image, y),
        (chips.image, y),
        {**TRAIN["s2"], "epochs": 1, "base_width": 2, "batch_size": 16},
        seed=0,
        device="cpu",
    )
    save_model(root / "s2.pt", s2)
    gcn = train_gcn(
        graphs.graphs,
        graphs.graphs,
        {**TRAIN["gcn"], "epochs": 2, "hidden": 4, "batch_size": 8},
        seed=0,
        device="cpu",
        feature_names=graphs.feature_names,
    )
    save_model(root / "gcn.pt", gcn)
    return root / "s2.pt", root / "gcn.pt"


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    out = tmp_path_factory.mktemp("city")
    generate_demo(
        out,
        demo_settings(seed=3, n_cities=1, patches_per_side=2, patch_cells=(2, 2), classes=(2, 11, 15, 17)),
    )
    return out / "demo_city_1"


def run_map(city, models, out, batch_size=16, **kw):
    s2_model, gcn_model = models
    return map_region(
        city / "google.tif",
        city / "sentinel2.tif",
        s2_model,
        gcn_model,
        out / "map.tif",
        out / "map.png",
        out / "agreement.csv",
        **{**SETTINGS, "batch_size": batch_size},
        labels=city / "labels.gpkg",
        truth=city / "lcz_truth.tif",
        **kw,
    )


@pytest.fixture(scope="module")
def mapped(city, models, tmp_path_factory):
    out = tmp_path_factory.mktemp("map")
    result = run_map(city, models, out)
    with rasterio.open(out / "map.tif") as src:
        codes = src.read(1)
        meta = {
            "crs": src.crs,
            "transform": src.transform,
            "dtype": src.dtypes[0],
            "nodata": src.nodata,
            "colormap": src.colormap(1),
            "profile": src.profile,
            "tags": src.tags(),
        }
    return result, codes, meta, out


def centres(transform, shape):
    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]]
    x = transform.c + (cols + 0.5) * transform.a
    y = transform.f + (rows + 0.5) * transform.e
    return x, y


def test_geotiff_georeferencing_dtype_nodata_and_colours(mapped, city):
    result, codes, meta, _ = mapped
    with rasterio.open(city / "sentinel2.tif") as s2:
        s2_crs, s2_bounds = s2.crs, s2.bounds
    assert meta["crs"] == s2_crs  # the working CRS defaults to the Sentinel-2 CRS
    t = meta["transform"]
    assert (t.a, t.b, t.d, t.e) == (STRIDE, 0.0, 0.0, -STRIDE)
    assert meta["dtype"] == "uint8" and meta["nodata"] == 0
    assert meta["profile"]["tiled"] and meta["profile"]["compress"] == "deflate"
    for code, rgb in LCZ_COLORS.items():
        assert meta["colormap"][code] == (*rgb, 255)
    assert meta["colormap"][0][3] == 0
    # the demo's Google raster covers the Sentinel-2 raster, so the region is the S2 extent
    width = math.ceil((s2_bounds.right - s2_bounds.left) / STRIDE)
    height = math.ceil((s2_bounds.top - s2_bounds.bottom) / STRIDE)
    assert codes.shape == (height, width) == result.grid.shape
    # window centres on the 10 m S2 grid, the output within 5 m of the region's corner
    cx0, cy0 = t.c + STRIDE / 2, t.f - STRIDE / 2
    assert (cx0 - s2_bounds.left) % 10 == pytest.approx(0) and (s2_bounds.top - cy0) % 10 == pytest.approx(0)
    assert abs(t.c - s2_bounds.left) <= 5 and abs(t.f - s2_bounds.top) <= 5
    assert float(meta["tags"]["alpha"]) == ALPHA and float(meta["tags"]["stride_m"]) == STRIDE


def test_mapped_pixels_are_exactly_the_windows_inside_both_rasters(mapped, city):
    result, codes, meta, _ = mapped
    assert set(np.unique(codes)) <= set(range(18))
    x, y = centres(meta["transform"], codes.shape)
    h = 160.0
    with rasterio.open(city / "sentinel2.tif") as s2, rasterio.open(city / "google.tif") as g:
        sb, gb, g_crs = s2.bounds, g.bounds, g.crs
    in_s2 = (x - h >= sb.left) & (x + h <= sb.right) & (y - h >= sb.bottom) & (y + h <= sb.top)
    to_g = Transformer.from_crs(meta["crs"], g_crs, always_xy=True)
    in_g = np.ones(codes.shape, dtype=bool)
    for dx in (-h, 0.0, h):  # corners and edge midpoints of each window inside the Google raster
        for dy in (-h, 0.0, h):
            gx, gy = to_g.transform(x + dx, y + dy)
            in_g &= (gx >= gb.left) & (gx <= gb.right) & (gy >= gb.bottom) & (gy <= gb.top)
    inside = in_s2 & in_g
    assert inside.sum() >= 9
    # the demo rasters have no nodata: every window inside both is classified, none outside
    assert np.array_equal(codes > 0, inside)
    assert result.n_windows == result.n_mapped == int(inside.sum()) and result.excluded == {}


def test_single_windows_match_a_hand_run_of_the_stage_functions(mapped, city, models):
    result, codes, meta, _ = mapped
    x, y = centres(meta["transform"], codes.shape)
    rows, cols = np.nonzero(codes)
    pick = [0, len(rows) // 2, len(rows) - 1]
    table = pd.DataFrame(
        {
            "sample_id": np.arange(len(pick)),
            "crs": str(result.grid.crs),
            "xmin": x[rows[pick], cols[pick]] - 160,
            "ymin": y[rows[pick], cols[pick]] - 160,
            "xmax": x[rows[pick], cols[pick]] + 160,
            "ymax": y[rows[pick], cols[pick]] + 160,
        }
    )
    _, g_img, _ = chip_google(city / "google.tif", table, **GOOGLE)
    _, s_img, _ = chip_sentinel2(
        city / "sentinel2.tif", table, None, schema_defaults("sentinel2")["resampling"]
    )
    seg = ClassicalSegmenter(**SEGMENT["classical"])
    masks = segment_images(g_img, seg, SEGMENT["min_area"], SEGMENT["max_masks"])
    gs = build_graphs(masks, g_img, **graph_settings(GRAPHS))
    p_gcn = predict_gcn(models[1], graphs_to_pyg(gs, np.ones(len(pick))), device="cpu")
    p_s2 = predict_s2(models[0], s_img, device="cpu")
    ids = np.arange(len(pick))
    fused = fuse(
        predictions_frame(ids, "test", np.ones(len(pick)), p_s2),
        predictions_frame(ids, "test", np.ones(len(pick)), p_gcn),
        ALPHA,
    )
    assert fused["y_pred"].tolist() == codes[rows[pick], cols[pick]].tolist()


def test_batch_size_does_not_change_the_map(mapped, city, models, tmp_path):
    _, codes, _, _ = mapped
    run_map(city, models, tmp_path, batch_size=5)
    with rasterio.open(tmp_path / "map.tif") as src:
        assert np.array_equal(src.read(1), codes)


def test_tiled_map_equals_the_single_tile_map(mapped, city, models, tmp_path):
    result, codes, _, _ = mapped
    assert result.n_tiles == 1
    tiled = run_map(city, models, tmp_path, tile_windows=9)  # 3 × 3-pixel tiles
    assert tiled.n_tiles >= 4 and len(list((tmp_path / "map_tiles").glob("r*c*.tif"))) == tiled.n_tiles
    with rasterio.open(tmp_path / "map.tif") as src:
        assert np.array_equal(src.read(1), codes)
    assert tiled.n_mapped == result.n_mapped and tiled.n_windows == result.n_windows
    pd.testing.assert_frame_equal(tiled.agreement, result.agreement)


def independent_agreement(codes: np.ndarray, reference: np.ndarray) -> dict[str, tuple[int, int, int]]:
    """``lcz → (n_pixels, n_agree, n_unmapped)`` by plain loops."""
    out: dict[str, list[int]] = {}
    for pred, ref in zip(codes.ravel().tolist(), reference.ravel().tolist()):
        if ref == 0:
            continue
        for key in ("all", str(ref)):
            row = out.setdefault(key, [0, 0, 0])
            if pred == 0:
                row[2] += 1
            else:
                row[0] += 1
                row[1] += int(pred == ref)
    return {k: tuple(v) for k, v in out.items()}


def check_rows(table: pd.DataFrame, expected: dict[str, tuple[int, int, int]]) -> None:
    assert table["lcz"].tolist() == ["all", *sorted((k for k in expected if k != "all"), key=int)]
    for row in table.itertuples():
        n, k, unmapped = expected[row.lcz]
        assert (row.n_pixels, row.n_agree, row.n_unmapped) == (n, k, unmapped)
        if n:
            assert row.agreement == pytest.approx(k / n, abs=1e-6)
        else:
            assert math.isnan(row.agreement)
        if row.lcz != "all":
            assert row.name == LCZ_NAMES[int(row.lcz)]


def test_agreement_with_polygons_matches_point_in_polygon(mapped, city):
    result, codes, meta, out = mapped
    table = pd.read_csv(out / "agreement.csv", dtype={"lcz": str})
    assert list(table.columns) == list(AGREEMENT_COLUMNS)
    polys = gpd.read_file(city / "labels.gpkg").to_crs(meta["crs"])
    x, y = centres(meta["transform"], codes.shape)
    points = shapely.points(x.ravel(), y.ravel())
    reference = np.zeros(codes.size, dtype=np.int64)
    for geom, code in zip(polys.geometry, polys["lcz"]):
        reference[shapely.contains(geom, points)] = int(code)
    reference = reference.reshape(codes.shape)
    assert (reference > 0).sum() > 0
    check_rows(table[table["reference"] == "polygons"], independent_agreement(codes, reference))


def test_agreement_with_truth_raster_matches_point_sampling(mapped, city):
    _, codes, meta, out = mapped
    table = pd.read_csv(out / "agreement.csv", dtype={"lcz": str})
    x, y = centres(meta["transform"], codes.shape)
    with rasterio.open(city / "lcz_truth.tif") as src:
        sb = src.bounds
        inside = (x > sb.left) & (x < sb.right) & (y > sb.bottom) & (y < sb.top)
        values = np.zeros(codes.shape, dtype=np.int64)
        values[inside] = [v[0] for v in src.sample(zip(x[inside], y[inside]))]
    check_rows(table[table["reference"] == "truth"], independent_agreement(codes, values))


def test_preview_png_is_written(mapped):
    *_, out = mapped
    assert (out / "map.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_agreement_table_by_hand():
    pred = np.array([[1, 1, 0], [2, 17, 0]], dtype=np.uint8)
    ref = np.array([[1, 2, 2], [2, 0, 0]], dtype=np.uint8)
    table = agreement_table(pred, ref, "hand")
    rows = {r.lcz: (r.n_pixels, r.n_agree, r.n_unmapped) for r in table.itertuples()}
    assert rows == {"all": (3, 2, 1), "1": (1, 1, 0), "2": (2, 1, 1)}
    assert table.set_index("lcz").loc["all", "agreement"] == pytest.approx(2 / 3)
    empty = agreement_table(np.zeros((2, 2), np.uint8), np.zeros((2, 2), np.uint8), "none")
    assert empty["n_pixels"].tolist() == [0] and math.isnan(empty["agreement"].iloc[0])


def test_candidate_batches_cover_each_window_once(city):
    grid, coverage = map_grid(city / "google.tif", city / "sentinel2.tif", 80.0, None)
    batches = list(candidate_batches(grid, coverage, 7))
    flat = np.concatenate(batches)
    assert all(len(b) == 7 for b in batches[:-1]) and 1 <= len(batches[-1]) <= 7
    assert len(np.unique(flat)) == len(flat) and (np.diff(flat) > 0).all()


def test_fuse_probabilities():
    p1 = np.eye(17)[[0, 1]]
    p2 = np.eye(17)[[1, 1]]
    np.testing.assert_allclose(fuse_probabilities(p1, p2, 0.6)[0, :2], [0.6, 0.4])
    with pytest.raises(ValueError, match="alpha"):
        fuse_probabilities(p1, p2, 1.5)
    with pytest.raises(ValueError, match="shape"):
        fuse_probabilities(p1, p2[:1], 0.5)


def test_map_errors(city, models, tmp_path):
    s2_model, gcn_model = models
    args = (city / "google.tif", city / "sentinel2.tif")
    outs = (tmp_path / "m.tif", tmp_path / "m.png", tmp_path / "a.csv")
    with pytest.raises(ValueError, match=r"gcn\.pt: the GCN was trained on node features"):
        map_region(
            *args,
            s2_model,
            gcn_model,
            *outs,
            **{**SETTINGS, "graph_params": {**GRAPHS, "features": ["r", "g", "b", "area"]}},
        )
    with pytest.raises(ValueError, match=r"gcn\.pt: holds a 'gcn' model; expected a Sentinel-2 model"):
        map_region(*args, gcn_model, gcn_model, *outs, **SETTINGS)
    with pytest.raises(ValueError, match="stride_m"):
        map_region(*args, s2_model, gcn_model, *outs, **{**SETTINGS, "stride_m": 0})
    with pytest.raises(ValueError, match="alpha"):
        map_region(*args, s2_model, gcn_model, *outs, **{**SETTINGS, "alpha": -0.1})
    with pytest.raises(ValueError, match="batch_size"):
        map_region(*args, s2_model, gcn_model, *outs, **{**SETTINGS, "batch_size": 0})
    # a Google raster elsewhere: no overlap
    with rasterio.open(city / "google.tif") as src:
        profile, data = src.profile, src.read()
    profile["transform"] = rasterio.Affine(profile["transform"].a, 0, 0.0, 0, profile["transform"].e, 0.0)
    with rasterio.open(tmp_path / "far.tif", "w", **profile) as dst:
        dst.write(data)
    with pytest.raises(ValueError, match="do not overlap"):
        map_region(tmp_path / "far.tif", city / "sentinel2.tif", s2_model, gcn_model, *outs, **SETTINGS)
    assert not any(p.exists() for p in outs)


@pytest.mark.slow
def test_models_trained_on_demo_samples_map_the_city_above_chance(tmp_path):
    """End to end on a 3 × 3-patch demo city: samples → chips → graphs → training → map vs truth."""
    from helpers.sampling import region_inputs, sample_params

    from df4lcz.sampling.build import build_samples

    generate_demo(
        tmp_path,
        demo_settings(seed=5, n_cities=1, patches_per_side=3, patch_cells=(2, 2), classes=(2, 11, 15, 17)),
    )
    d = tmp_path / "demo_city_1"
    region = region_inputs("c", str(d / "google.tif"), str(d / "sentinel2.tif"), str(d / "labels.gpkg"))
    samples, _ = build_samples([region], sample_params(stride_m=160.0, shard_size=1000), seed=0)
    g_ids, g_img, _ = chip_google(d / "google.tif", samples, **GOOGLE)
    s_ids, s_img, _ = chip_sentinel2(
        d / "sentinel2.tif", samples, None, schema_defaults("sentinel2")["resampling"]
    )
    assert np.array_equal(g_ids, s_ids)
    y = samples.set_index("sample_id").loc[g_ids, "lcz"].to_numpy()
    segmenter = ClassicalSegmenter(**SEGMENT["classical"])
    masks = segment_images(g_img, segmenter, SEGMENT["min_area"], SEGMENT["max_masks"])
    gs = build_graphs(masks, g_img, **graph_settings(GRAPHS))
    graphs = graphs_to_pyg(gs, y, g_ids)
    val = np.random.default_rng(0).random(len(y)) < 0.25
    s2 = train_s2(
        "resnet11_3d",
        (s_img[~val], y[~val]),
        (s_img[val], y[val]),
        {**TRAIN["s2"], "epochs": 6, "base_width": 4, "batch_size": 16},
        seed=0,
        device="cpu",
    )
    save_model(tmp_path / "s2.pt", s2)
    gcn = train_gcn(
        [g for g, v in zip(graphs, val) if not v],
        [g for g, v in zip(graphs, val) if v],
        {**TRAIN["gcn"], "epochs": 30, "hidden": 16, "batch_size": 8},
        seed=0,
        device="cpu",
        feature_names=gs.feature_names,
    )
    save_model(tmp_path / "gcn.pt", gcn)
    result = run_map(d, (tmp_path / "s2.pt", tmp_path / "gcn.pt"), tmp_path, batch_size=32)
    table = result.agreement
    truth = table[(table["reference"] == "truth") & (table["lcz"] == "all")].iloc[0]
    assert truth["n_pixels"] >= 100
    assert truth["agreement"] > 0.5  # four classes: chance is about 0.25


def hand_streams(result, codes, transform, city, models, pick):
    """The windows ``pick`` of the map's classified pixels run by hand through the stage functions:
    ``(rows, cols, P_S2, P_GCN)``."""
    x, y = centres(transform, codes.shape)
    rows, cols = np.nonzero(codes)
    rows, cols = rows[pick], cols[pick]
    table = pd.DataFrame(
        {
            "sample_id": np.arange(len(pick)),
            "crs": str(result.grid.crs),
            "xmin": x[rows, cols] - 160,
            "ymin": y[rows, cols] - 160,
            "xmax": x[rows, cols] + 160,
            "ymax": y[rows, cols] + 160,
        }
    )
    _, g_img, _ = chip_google(city / "google.tif", table, **GOOGLE)
    _, s_img, _ = chip_sentinel2(
        city / "sentinel2.tif", table, None, schema_defaults("sentinel2")["resampling"]
    )
    seg = ClassicalSegmenter(**SEGMENT["classical"])
    masks = segment_images(g_img, seg, SEGMENT["min_area"], SEGMENT["max_masks"])
    gs = build_graphs(masks, g_img, **graph_settings(GRAPHS))
    p_gcn = predict_gcn(models[1], graphs_to_pyg(gs, np.ones(len(pick))), device="cpu")
    p_s2 = predict_s2(models[0], s_img, device="cpu")
    return rows, cols, np.asarray(p_s2, dtype=np.float64), np.asarray(p_gcn, dtype=np.float64)


def result_coverage(city, result):
    """The area both rasters cover, on the map's grid (as the tile plan cuts it)."""
    grid, coverage = map_grid(city / "google.tif", city / "sentinel2.tif", result.grid.stride_m, None)
    assert grid == result.grid
    return coverage


def test_calibrated_fusion_map_and_stream_disagreement_match_a_hand_run(mapped, city, models, tmp_path):
    """map.fusion df4lcz_cal: a window's map probabilities are the evaluation's calibrated fusion of its
    stream probabilities (α and temperatures read from a fusion table); the uncertainty COG's
    disagreement band is the streams' argmax compared by hand."""
    from df4lcz.evaluation.calibration import apply_temperature
    from df4lcz.evaluation.fusion import fusion_setting

    result, codes, meta, _ = mapped
    table = pd.DataFrame(
        {
            "model": ["df4lcz", "df4lcz_tuned", "df4lcz_cal", "df4lcz_cal_tuned"],
            "calibrated": [False, False, True, True],
            "alpha": [0.6, 0.5, 0.3, 0.7],
            "alpha_tuned": [False, True, False, True],
            "T_s2": [np.nan, np.nan, 0.4, 0.8],
            "T_gcn": [np.nan, np.nan, 2.5, 1.5],
            "val_accuracy": [0.5, 0.5, 0.6, 0.55],
            "n_val": [10, 10, 10, 10],
        }
    )
    setting = fusion_setting(table, "df4lcz_cal")
    assert (setting.alpha, setting.temperatures) == (0.3, (0.4, 2.5))
    cal = run_map(city, models, tmp_path, fusion=setting, uncertainty=True, tile_windows=9)
    with rasterio.open(tmp_path / "map.tif") as src:
        tags = src.tags()
        cal_codes = src.read(1)
    assert (tags["fusion"], tags["alpha"], tags["T_s2"], tags["T_gcn"]) == ("df4lcz_cal", "0.3", "0.4", "2.5")
    assert cal.n_mapped == result.n_mapped and np.array_equal(cal_codes > 0, codes > 0)
    n = int((codes > 0).sum())
    pick = sorted({0, n // 3, n // 2, n - 1})
    rows, cols, p_s2, p_gcn = hand_streams(result, codes, meta["transform"], city, models, pick)
    with rasterio.open(tmp_path / "map_tiles.vrt") as vrt:
        got = vrt.read()[:, rows, cols].T

    # independent: softmax(log p / T) per stream, then α·P_S2 + (1 − α)·P_GCN
    def scaled(p, t):
        z = np.exp(np.log(np.maximum(p, 1e-12)) / t)
        return z / z.sum(axis=1, keepdims=True)

    expected = 0.3 * scaled(p_s2, 0.4) + 0.7 * scaled(p_gcn, 2.5)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)
    # the evaluation's calibrated fusion of the same stream probabilities
    ids = np.arange(len(pick))
    fused = fuse(
        predictions_frame(ids, "test", np.ones(len(pick)), apply_temperature(p_s2, 0.4)),
        predictions_frame(ids, "test", np.ones(len(pick)), apply_temperature(p_gcn, 2.5)),
        0.3,
    )
    assert fused["y_pred"].tolist() == cal_codes[rows, cols].tolist()
    # the raw df4lcz map of the same windows is another fusion
    assert not np.allclose(expected, fuse_probabilities(p_s2, p_gcn, ALPHA), atol=1e-3)
    # stream disagreement = the streams' most probable classes compared by hand
    with rasterio.open(tmp_path / "map_uncertainty.tif") as unc:
        bands = unc.read()
    s2_code, gcn_code = p_s2.argmax(axis=1) + 1, p_gcn.argmax(axis=1) + 1
    np.testing.assert_array_equal(bands[2, rows, cols], (s2_code != gcn_code).astype(np.uint8))
    # … and the stream tiles hold each stream's most probable class
    from df4lcz.mapping.tiles import plan_tiles, read_stream_tile

    plan = plan_tiles(cal.grid, result_coverage(city, cal), 9)
    assert len(plan.tiles) == cal.n_tiles
    streams = np.zeros((2, *cal.grid.shape), dtype=np.uint8)
    for t in plan.tiles:
        streams[:, t.rows.start : t.rows.stop, t.cols.start : t.cols.stop] = read_stream_tile(
            tmp_path / "map_tiles" / f"{t.id}_streams.tif", cal.grid, t
        )
    np.testing.assert_array_equal(streams[:, rows, cols], np.stack([s2_code, gcn_code]))
    assert ((streams[0] > 0) == (cal_codes > 0)).all()
    assert ((bands[0] == 255) == (cal_codes == 0)).all() and (tmp_path / "map_uncertainty.png").is_file()
