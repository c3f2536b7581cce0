"""Map tiles and the gather job on synthetic grids (no rasters, no models): the tile plan, the tiles'
VRT, the Gaussian filter against scipy on the whole map, the class COG (tiling, overviews, colour
table, COG layout), the .qml legend and the probability GeoTIFFs against plain numpy."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import numpy as np
import pytest
import rasterio
import rasterio.windows
from helpers.maptiles import plan_for, random_probabilities, synthetic_grid, write_plan_tiles
from scipy.ndimage import gaussian_filter

from df4lcz.config import schema_defaults
from df4lcz.constants import LCZ_NAMES, N_CLASSES
from df4lcz.mapping.gather import smoothed_blocks
from df4lcz.mapping.grid import candidate_rows
from df4lcz.mapping.outputs import lcz_colormap, map_rasters
from df4lcz.mapping.region import gather_map
from df4lcz.mapping.tiles import read_plan, tile_side, write_plan, write_tile, write_tiles_vrt

H, W = 45, 61


def in_coverage(plan) -> np.ndarray:
    """``(H, W)`` bool: pixels whose window is inside the plan's coverage (independent of the tiles)."""
    mask = np.zeros(plan.grid.shape, dtype=bool)
    for row, flat in enumerate(candidate_rows(plan.grid, plan.coverage)):
        mask[row, flat - row * plan.grid.width] = True
    return mask


def masked(probabilities: np.ndarray, keep: np.ndarray) -> np.ndarray:
    out = probabilities.copy()
    out[:, ~keep] = np.nan
    return out


def test_plan_cuts_square_tiles_holding_every_window_once(tmp_path):
    plan = plan_for(H, W, tile_windows=100, inset_m=120.0)  # 10 × 10 tiles, outer ring of pixels uncovered
    assert tile_side(100) == 10 and tile_side(4096) == 64 and tile_side(1) == 1
    covered = in_coverage(plan)
    assert covered.sum() == (H - 2) * (W - 2) and not covered[0].any() and covered[1, 1:-1].all()
    seen = np.zeros(plan.grid.shape, dtype=int)
    for t in plan.tiles:
        assert t.row_off % 10 == 0 and t.col_off % 10 == 0 and t.id == f"r{t.row_off}c{t.col_off}"
        assert t.height == min(10, H - t.row_off) and t.width == min(10, W - t.col_off)
        seen[t.rows.start : t.rows.stop, t.cols.start : t.cols.stop] += 1
        assert t.n_windows == covered[t.rows.start : t.rows.stop, t.cols.start : t.cols.stop].sum()
    # blocks of 10 × 10 holding a covered pixel (the last column of blocks, column 60 only, holds none)
    blocks = {(r // 10, c // 10) for r, c in zip(*np.nonzero(covered))}
    assert len(plan.tiles) == len(blocks) == math.ceil(H / 10) * (math.ceil(W / 10) - 1)
    assert seen.max() == 1 and (seen[covered] == 1).all() and plan.n_windows == covered.sum()
    write_plan(tmp_path / "plan.json", plan)
    again = read_plan(tmp_path / "plan.json")
    assert (
        again.grid == plan.grid
        and again.tiles == plan.tiles
        and again.coverage.equals_exact(plan.coverage, 0)
    )
    assert np.array_equal(in_coverage(again), covered)
    (tmp_path / "bad.json").write_text('{"format": "something else"}')
    with pytest.raises(ValueError, match=r"bad\.json: expected a map tile plan"):
        read_plan(tmp_path / "bad.json")
    with pytest.raises(ValueError, match="map.tile_windows"):
        tile_side(0)


def test_tiles_without_windows_are_left_out():
    # coverage: a 3 × 3 block of window centres near the top-left corner
    grid = synthetic_grid(30, 30)
    import shapely

    t = grid.transform
    coverage = shapely.box(t.c + 50 - 160, t.f - 350 - 160, t.c + 250 + 160, t.f - 150 + 160)
    from df4lcz.mapping.tiles import plan_tiles

    plan = plan_tiles(grid, coverage, 25)  # 5 × 5 tiles
    assert [t.id for t in plan.tiles] == ["r0c0"] and plan.n_windows == 9


def test_vrt_mosaics_the_tiles_and_the_filter_matches_scipy_on_the_whole_map(tmp_path):
    plan = plan_for(H, W, tile_windows=144, inset_m=120.0)  # 12 × 12 tiles
    p = masked(random_probabilities(H, W, seed=1), in_coverage(plan))
    paths = write_plan_tiles(plan, p, tmp_path / "tiles")
    vrt = tmp_path / "map_tiles.vrt"
    write_tiles_vrt(vrt, plan.grid, plan.tiles, paths)
    with rasterio.open(vrt) as src:
        assert (src.count, src.height, src.width) == (
            N_CLASSES,
            H,
            W,
        ) and src.transform == plan.grid.transform
        assert src.crs.to_epsg() == 32650
        np.testing.assert_array_equal(src.read(), p)  # NaN where no window, as in the tiles
    valid = np.isfinite(p).all(axis=0)
    for sigma_m in (0.0, 150.0, 260.0):
        sigma = sigma_m / plan.grid.stride_m
        got = np.full(p.shape, np.nan)
        for window, block in smoothed_blocks(vrt, sigma, block_px=16):  # blocks smaller than the kernel
            r, c = int(window.row_off), int(window.col_off)
            got[:, r : r + block.shape[1], c : c + block.shape[2]] = block
        if sigma == 0:
            expected = p.astype(np.float64)
        else:  # normalised convolution over the classified pixels, whole map at once
            weight = gaussian_filter(valid.astype(float), sigma, mode="constant")
            expected = (
                np.stack(
                    [
                        gaussian_filter(np.where(valid, p[k].astype(float), 0.0), sigma, mode="constant")
                        for k in range(N_CLASSES)
                    ]
                )
                / weight
            )
            expected[:, ~valid] = np.nan
            assert not np.allclose(expected[:, valid], p[:, valid], atol=1e-3)  # the filter does something
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(np.nansum(got, axis=0)[valid], 1.0, rtol=1e-5)


@pytest.fixture(scope="module")
def gathered(tmp_path_factory):
    """gather_map over a synthetic plan of several tiles, with the top-2 probability product."""
    out = tmp_path_factory.mktemp("gather")
    plan = plan_for(H, W, tile_windows=400, inset_m=120.0)
    p = masked(random_probabilities(H, W, seed=2), in_coverage(plan))
    paths = write_plan_tiles(plan, p, out / "tiles")
    result = gather_map(
        plan,
        paths,
        out / "m_tiles.vrt",
        out / "m.tif",
        out / "m.png",
        out / "a.csv",
        out / "m.qml",
        probabilities_path=out / "m_probabilities.tif",
        probabilities="top2",
        source_tags={"fusion": "df4lcz", "strategy": "polygon"},
    )
    return plan, p, result, out


def test_class_map_is_a_valid_cog_with_the_lcz_colour_table(gathered):
    plan, p, result, out = gathered
    with rasterio.open(out / "m.tif") as src:
        profile, codes, cmap = src.profile, src.read(1), src.colormap(1)
        overviews, structure = src.overviews(1), src.tags(ns="IMAGE_STRUCTURE")
        assert src.transform == plan.grid.transform and src.crs.to_epsg() == 32650
        assert src.tags()["tile_windows"] == "400"
        # the map names the fused model and the split strategy whose models made it
        assert src.tags()["fusion"] == "df4lcz" and src.tags()["strategy"] == "polygon"
    with rasterio.open(out / "m_probabilities.tif") as top2:
        assert top2.tags()["fusion"] == "df4lcz" and top2.tags()["strategy"] == "polygon"
    assert profile["tiled"] and profile["blockxsize"] == profile["blockysize"] == 256
    assert profile["dtype"] == "uint8" and profile["nodata"] == 0 and profile["compress"] == "deflate"
    assert overviews == [2] and structure["LAYOUT"] == "COG"
    for code, rgba in lcz_colormap().items():
        assert cmap[code] == rgba
    valid = np.isfinite(p).all(axis=0)
    expected = np.where(valid, np.nan_to_num(p).argmax(axis=0) + 1, 0)
    np.testing.assert_array_equal(codes, expected)
    assert result.n_mapped == valid.sum() and result.n_tiles == len(plan.tiles) > 1
    assert (out / "m_tiles.vrt").is_file() and (out / "m.png").is_file()


def test_qml_legend_has_the_geotiff_colours(gathered):
    *_, out = gathered
    root = ET.parse(out / "m.qml").getroot()
    renderer = root.find("pipe/rasterrenderer")
    assert root.tag == "qgis" and renderer.get("type") == "paletted" and renderer.get("band") == "1"
    entries = renderer.findall("colorPalette/paletteEntry")
    assert len(entries) == 17
    with rasterio.open(out / "m.tif") as src:
        cmap = src.colormap(1)
    for e in entries:
        code = int(e.get("value"))
        rgb = tuple(int(e.get("color")[i : i + 2], 16) for i in (1, 3, 5))
        assert (*rgb, int(e.get("alpha"))) == cmap[code]
        assert LCZ_NAMES[code] in e.get("label")
    assert sorted(int(e.get("value")) for e in entries) == list(range(1, 18))


def test_top2_probabilities(gathered):
    _, p, _, out = gathered
    with rasterio.open(out / "m_probabilities.tif") as src:
        bands, nodata, structure = src.read(), src.nodata, src.tags(ns="IMAGE_STRUCTURE")
    assert bands.shape == (3, H, W) and nodata == 0 and structure["LAYOUT"] == "COG"
    valid = np.isfinite(p).all(axis=0)
    for r, c in zip(*np.nonzero(valid)):
        px = p[:, r, c].astype(float)
        first, second = sorted(range(17), key=lambda k: (-px[k], k))[:2]
        assert (bands[0, r, c], bands[1, r, c]) == (first + 1, second + 1)
        assert bands[2, r, c] == round(100 * px[first])
    assert (bands[:, ~valid] == 0).all()


def test_all17_probabilities_and_smoothing_change_the_map(tmp_path):
    plan = plan_for(20, 24, tile_windows=64)
    p = random_probabilities(20, 24, seed=3, holes=0.0)
    paths = write_plan_tiles(plan, p, tmp_path / "tiles")
    gather_map(
        plan,
        paths,
        tmp_path / "v.vrt",
        tmp_path / "m.tif",
        tmp_path / "m.png",
        tmp_path / "a.csv",
        tmp_path / "m.qml",
        probabilities_path=tmp_path / "p.tif",
        probabilities="all17",
        smooth_sigma_m=150.0,
    )
    with rasterio.open(tmp_path / "p.tif") as src, rasterio.open(tmp_path / "m.tif") as m:
        pct, codes = src.read(), m.read(1)
        assert src.nodata == 255 and src.count == 17 and m.tags()["smooth_sigma_m"] == "150.0"
    sigma = 1.5
    smooth = np.stack([gaussian_filter(p[k].astype(float), sigma, mode="constant") for k in range(17)])
    smooth /= gaussian_filter(np.ones((20, 24)), sigma, mode="constant")
    np.testing.assert_array_equal(pct, np.rint(smooth * 100).astype(np.uint8))
    np.testing.assert_array_equal(codes, smooth.argmax(axis=0) + 1)
    assert not np.array_equal(codes, p.argmax(axis=0) + 1)  # the filter changed some pixels


def test_gather_rejects_tiles_that_do_not_fit(tmp_path):
    plan = plan_for(20, 24, tile_windows=100)
    p = random_probabilities(20, 24, seed=4)
    paths = write_plan_tiles(plan, p, tmp_path / "tiles")
    args = (
        tmp_path / "v.vrt",
        tmp_path / "m.tif",
        tmp_path / "m.png",
        tmp_path / "a.csv",
        tmp_path / "m.qml",
    )
    with pytest.raises(ValueError, match="the plan has 6 tiles but 5 tile files"):
        gather_map(plan, paths[:-1], *args)
    t = plan.tiles[1]
    write_tile(paths[1], p[:, : t.height, : t.width], plan.grid, t, {"stride_m": 999})
    with pytest.raises(ValueError, match=r"r0c10\.tif: tile made with settings"):
        gather_map(plan, paths, *args)
    wrong = plan.tiles[0]
    write_tile(paths[1], p[:, : wrong.height, : wrong.width], plan.grid, wrong, {"stride_m": 100.0})
    with pytest.raises(ValueError, match=r"r0c10\.tif: expected map tile r0c10"):
        gather_map(plan, paths, *args)
    with pytest.raises(ValueError, match="map.probabilities"):
        gather_map(plan, paths, *args, probabilities="top3")
    assert not (tmp_path / "m.tif").exists()


def test_map_rasters_write_nothing_when_the_gather_fails(tmp_path):
    grid = synthetic_grid(20, 24)
    codes = np.full((20, 24), 7, dtype=np.uint8)
    bands = np.stack([codes, np.full_like(codes, 3), np.full_like(codes, 90)])
    window = rasterio.windows.Window(0, 0, 24, 20)
    with pytest.raises(RuntimeError, match="killed mid-map"):
        with map_rasters(
            tmp_path / "m.tif", grid, {"stride_m": 100.0}, "top2", tmp_path / "p.tif"
        ) as rasters:
            rasters.write(window, codes, bands)
            raise RuntimeError("killed mid-map")
    assert sorted(tmp_path.iterdir()) == []  # no COG, no temporary folder left
    with pytest.raises(ValueError, match=r"p\.tif: the probability bands of window .* are missing"):
        with map_rasters(tmp_path / "m.tif", grid, {}, "top2", tmp_path / "p.tif") as rasters:
            rasters.write(window, codes)
    with pytest.raises(ValueError, match="'top2' needs an output path for the probability GeoTIFF"):
        with map_rasters(tmp_path / "m.tif", grid, {}, "top2"):
            pass
    assert sorted(tmp_path.iterdir()) == []
    with map_rasters(
        tmp_path / "m.tif", grid, {"stride_m": 100.0, "nodata": "0 = none"}, "top2", tmp_path / "p.tif"
    ) as rasters:
        rasters.write(window, codes, bands)
    with rasterio.open(tmp_path / "m.tif") as m, rasterio.open(tmp_path / "p.tif") as pr:
        assert (m.read(1) == 7).all() and np.array_equal(pr.read(), bands)
        assert (
            m.tags()["nodata"] == "0 = none"
            and "nodata" not in pr.tags()
            and pr.tags()["stride_m"] == "100.0"
        )
    assert sorted(f.name for f in tmp_path.iterdir()) == ["m.tif", "p.tif"]


def test_schema_defaults_of_the_new_map_keys():
    m = schema_defaults("map")
    assert (m["tile_windows"], m["smooth_sigma_m"], m["probabilities"]) == (4096, 0, "none")


def write_stream_tiles(plan, codes: np.ndarray, paths) -> None:
    """Stream tiles ``(2, H, W)`` uint8 beside each tile (as a tile job with map.uncertainty writes them)."""
    from df4lcz.mapping.tiles import stream_tile_path, write_stream_tile

    for tile, path in zip(plan.tiles, paths):
        block = codes[:, tile.rows.start : tile.rows.stop, tile.cols.start : tile.cols.stop]
        write_stream_tile(stream_tile_path(path), np.ascontiguousarray(block), plan.grid, tile)


def test_uncertainty_layers_equal_the_probabilities_they_come_from(tmp_path):
    several = check_uncertainty(tmp_path / "several", tile_windows=400)
    one = check_uncertainty(tmp_path / "one", tile_windows=10_000)
    np.testing.assert_array_equal(several, one)  # tiled = single tile


def check_uncertainty(tmp_path, tile_windows: int) -> np.ndarray:
    """Gather a synthetic map with the all17 probabilities and the uncertainty; check the uncertainty
    bands against both; return them."""
    plan = plan_for(H, W, tile_windows=tile_windows, inset_m=120.0)
    assert (len(plan.tiles) > 1) == (tile_windows == 400)
    p = masked(random_probabilities(H, W, seed=5), in_coverage(plan))
    valid = np.isfinite(p).all(axis=0)
    rng = np.random.default_rng(6)
    streams = np.where(valid, rng.integers(1, 18, size=(2, H, W)), 0).astype(np.uint8)
    streams[1, ::3] = streams[0, ::3]  # both agreeing and disagreeing pixels
    paths = write_plan_tiles(plan, p, tmp_path / "tiles")
    write_stream_tiles(plan, streams, paths)
    gather_map(
        plan,
        paths,
        tmp_path / "v.vrt",
        tmp_path / "m.tif",
        tmp_path / "m.png",
        tmp_path / "a.csv",
        tmp_path / "m.qml",
        probabilities_path=tmp_path / "p.tif",
        probabilities="all17",
        uncertainty_path=tmp_path / "u.tif",
        uncertainty_png=tmp_path / "u.png",
        source_tags={"fusion": "df4lcz", "strategy": "random"},
    )
    with (
        rasterio.open(tmp_path / "u.tif") as src,
        rasterio.open(tmp_path / "p.tif") as pr,
        rasterio.open(tmp_path / "m.tif") as m,
    ):
        unc, pct, codes = src.read(), pr.read(), m.read(1)
        assert src.nodata == 255 and src.dtypes == ("uint8",) * 3 and src.count == 3
        assert src.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG" and src.tags()["fusion"] == "df4lcz"
        assert src.descriptions[0].startswith("P(class of the map)")
        assert src.descriptions[1].startswith("margin") and src.descriptions[2].startswith(
            "stream disagreement"
        )
    # nodata exactly where the class map has none
    assert ((unc == 255) == (codes == 0)[None]).all() and (codes > 0).sum() == valid.sum() > 100
    # from the probabilities COG (percent): max exactly, max − second max to ±1 (both rounded)
    top = np.sort(pct[:, valid].astype(int), axis=0)
    np.testing.assert_array_equal(unc[0, valid], top[-1])
    assert np.abs(unc[1, valid].astype(int) - (top[-1] - top[-2])).max() <= 1
    # from the float probabilities the map is made of: round(100·max), round(100·(max − second))
    f = np.sort(p[:, valid].astype(np.float64), axis=0)
    np.testing.assert_array_equal(unc[0, valid], np.rint(100 * f[-1]))
    np.testing.assert_array_equal(unc[1, valid], np.rint(100 * (f[-1] - f[-2])))
    # disagreement: the two streams' codes differ
    np.testing.assert_array_equal(unc[2, valid], (streams[0] != streams[1])[valid])
    assert 0 < unc[2, valid].sum() < valid.sum()
    assert (tmp_path / "u.png").stat().st_size > 10_000
    return unc
