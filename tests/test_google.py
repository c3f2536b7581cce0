"""Google Earth chipper: georeferencing against independent transforms and rasterio reads,
exclusions, input errors and the chip shard file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rasterio
from pyproj import Transformer
from rasterio.transform import from_origin

from df4lcz.chipping.google.chips import chip_google
from df4lcz.config import schema_defaults
from df4lcz.io.chips import read_chips, read_excluded, write_chips

UTM = "EPSG:32650"
#: Origin of the test squares (UTM 50N, near 30.7° N) and the source pixel size (EPSG:3857 m).
X0, Y1 = 400_000.0, 3_400_000.0
SRC_PX = 2.0
CHIP = 64  # chip side in pixels (5 m per pixel over a 320 m square)
#: The ``google`` config defaults that chip_google takes (``chip_px``, ``resampling``).
GOOGLE = {k: schema_defaults("google")[k] for k in ("chip_px", "resampling")}


def write_rgb(path: Path, data: np.ndarray, transform, crs: str | None = "EPSG:3857", **profile) -> Path:
    kw = dict(
        driver="GTiff",
        width=data.shape[2],
        height=data.shape[1],
        count=data.shape[0],
        dtype=data.dtype,
        transform=transform,
        **profile,
    )
    if crs:
        kw["crs"] = crs
    with rasterio.open(path, "w", **kw) as dst:
        dst.write(data)
    return path


@pytest.fixture()
def mosaic(tmp_path: Path) -> dict:
    """A 250 × 250 px EPSG:3857 raster (2 m) around the first square, with linear bands.

    R = column index, G = row index, B = 249 - column: bilinear resampling of a linear function is
    exact, so every chip pixel has a value that can be worked out independently.
    """
    to_merc = Transformer.from_crs(UTM, "EPSG:3857", always_xy=True)
    cx, cy = to_merc.transform(X0 + 160, Y1 - 160)
    left, top = round(cx - 125 * SRC_PX), round(cy + 125 * SRC_PX)
    rows, cols = np.mgrid[0:250, 0:250]
    data = np.stack([cols, rows, 249 - cols]).astype(np.uint8)
    transform = from_origin(left, top, SRC_PX, SRC_PX)
    path = write_rgb(tmp_path / "google.tif", data, transform, tiled=True, blockxsize=64, blockysize=64)
    return {"path": path, "transform": transform, "data": data}


def squares(*offsets: tuple[float, float], crs: str = UTM) -> pd.DataFrame:
    """Sample table of 320 m squares whose NW corners are (X0 + dx, Y1 - dy)."""
    rows = [
        dict(
            sample_id=100 + i,
            crs=crs,
            xmin=X0 + dx,
            xmax=X0 + dx + 320,
            ymax=Y1 - dy,
            ymin=Y1 - dy - 320,
            lcz=2,
        )
        for i, (dx, dy) in enumerate(offsets)
    ]
    return pd.DataFrame(rows)


def chip_centre_in_source(transform, row: int, col: int, crs: str = UTM) -> tuple[float, float, float, float]:
    """(x, y) in EPSG:3857 and fractional (src col, src row) of chip pixel (row, col)'s centre."""
    size = 320.0 / CHIP
    x = X0 + (col + 0.5) * size
    y = Y1 - (row + 0.5) * size
    mx, my = Transformer.from_crs(crs, "EPSG:3857", always_xy=True).transform(x, y)
    c, r = ~transform @ (mx, my)
    return mx, my, c, r


def test_bilinear_chip_matches_independent_transform(mosaic):
    ids, images, excluded = chip_google(
        mosaic["path"], squares((0, 0)), chip_px=CHIP, resampling=GOOGLE["resampling"]
    )
    assert ids.tolist() == [100] and images.shape == (1, CHIP, CHIP, 3) and images.dtype == np.uint8
    assert excluded.empty
    for row, col in [(0, 0), (5, 40), (31, 31), (63, 63), (50, 7)]:
        _, _, c, r = chip_centre_in_source(mosaic["transform"], row, col)
        # a pixel's value sits at its centre (index + 0.5): linear bands interpolate exactly
        expected = np.array([c - 0.5, r - 0.5, 249 - (c - 0.5)])
        np.testing.assert_allclose(images[0, row, col].astype(float), expected, atol=0.6)


def test_nearest_chip_matches_rasterio_sample(mosaic):
    _, images, _ = chip_google(mosaic["path"], squares((0, 0)), chip_px=CHIP, resampling="nearest")
    checked = 0
    with rasterio.open(mosaic["path"]) as src:
        for row, col in [(0, 0), (12, 50), (40, 20), (63, 63), (33, 9)]:
            mx, my, c, r = chip_centre_in_source(mosaic["transform"], row, col)
            if min(abs(c - round(c)), abs(r - round(r))) < 0.02:
                continue  # on a pixel edge the nearest pixel is ambiguous
            sampled = next(src.sample([(mx, my)]))
            np.testing.assert_array_equal(images[0, row, col], sampled)
            checked += 1
    assert checked >= 3


def test_partial_and_outside_squares_are_excluded(mosaic):
    table = squares((0, 0), (200, 0), (5000, 5000))
    ids, images, excluded = chip_google(mosaic["path"], table, chip_px=CHIP, resampling=GOOGLE["resampling"])
    assert ids.tolist() == [100] and len(images) == 1
    assert excluded["sample_id"].tolist() == [101, 102]
    assert excluded["reason"].iloc[0].startswith("partial coverage: ")
    assert "% of the chip has no data" in excluded["reason"].iloc[0]
    assert excluded["reason"].iloc[1] == "outside the Google raster"


def test_no_overlap_at_all_is_an_error(mosaic):
    message = r"google\.tif: the Google raster does not overlap any of the 2 sample squares"
    with pytest.raises(ValueError, match=message):
        chip_google(
            mosaic["path"], squares((5000, 0), (0, 9000)), chip_px=CHIP, resampling=GOOGLE["resampling"]
        )


def test_alpha_and_nodata_areas_are_excluded(tmp_path, mosaic):
    data = mosaic["data"]
    alpha = np.full((1, 250, 250), 255, np.uint8)
    alpha[0, 120:125, 120:125] = 0  # a hole in the middle of the first square
    rgba = write_rgb(
        tmp_path / "rgba.tif",
        np.concatenate([data, alpha]),
        mosaic["transform"],
        photometric="RGB",
        alpha="YES",
    )
    ids, _, excluded = chip_google(rgba, squares((0, 0)), chip_px=CHIP, resampling=GOOGLE["resampling"])
    assert ids.size == 0 and excluded["reason"].iloc[0].startswith("partial coverage")
    # without the hole the 4-band file chips exactly like the RGB one
    alpha[:] = 255
    rgba_full = write_rgb(
        tmp_path / "rgba_full.tif",
        np.concatenate([data, alpha]),
        mosaic["transform"],
        photometric="RGB",
        alpha="YES",
    )
    _, img4, _ = chip_google(rgba_full, squares((0, 0)), chip_px=CHIP, resampling=GOOGLE["resampling"])
    _, img3, _ = chip_google(mosaic["path"], squares((0, 0)), chip_px=CHIP, resampling=GOOGLE["resampling"])
    assert np.abs(img4.astype(int) - img3.astype(int)).max() <= 1
    holed = data.copy()
    holed[:, 100:104, 100:104] = 0
    nodata = write_rgb(tmp_path / "nodata.tif", holed, mosaic["transform"], nodata=0)
    ids, _, excluded = chip_google(nodata, squares((0, 0)), chip_px=CHIP, resampling=GOOGLE["resampling"])
    assert ids.size == 0 and excluded["reason"].iloc[0].startswith("partial coverage")


def test_input_errors_name_the_file(tmp_path, mosaic):
    table = squares((0, 0))
    with pytest.raises(FileNotFoundError, match=r"missing\.tif: Google Earth mosaic not found"):
        chip_google(tmp_path / "missing.tif", table, **GOOGLE)
    (tmp_path / "text.tif").write_text("not a raster")
    with pytest.raises(ValueError, match=r"text\.tif: not a raster GDAL can read"):
        chip_google(tmp_path / "text.tif", table, **GOOGLE)
    t = mosaic["transform"]
    no_crs = write_rgb(tmp_path / "nocrs.tif", mosaic["data"], t, crs=None)
    with pytest.raises(ValueError, match=r"nocrs\.tif: the Google raster has no CRS"):
        chip_google(no_crs, table, **GOOGLE)
    one = write_rgb(tmp_path / "gray.tif", mosaic["data"][:1], t)
    with pytest.raises(ValueError, match=r"gray\.tif: the Google raster has 1 band\(s\); expected 3 \(RGB\)"):
        chip_google(one, table, **GOOGLE)
    wide = write_rgb(tmp_path / "u16.tif", mosaic["data"].astype(np.uint16), t)
    with pytest.raises(ValueError, match=r"u16\.tif: the Google raster has data type uint16; expected uint8"):
        chip_google(wide, table, **GOOGLE)
    with pytest.raises(ValueError, match="resampling 'lanczos' is not supported"):
        chip_google(mosaic["path"], table, chip_px=GOOGLE["chip_px"], resampling="lanczos")
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['crs'\]"):
        chip_google(mosaic["path"], table.drop(columns="crs"), **GOOGLE)


def test_chip_shard_roundtrip(tmp_path, mosaic):
    ids, images, excluded = chip_google(
        mosaic["path"], squares((0, 0), (200, 0)), chip_px=CHIP, resampling=GOOGLE["resampling"]
    )
    path = tmp_path / "chips" / "google" / "3.h5"
    write_chips(path, "google", ids, images, excluded, {"resampling": "bilinear"})
    back = read_chips(path, "google")
    back_ids, back_images = back.sample_id, back.image
    np.testing.assert_array_equal(back_ids, ids)
    np.testing.assert_array_equal(back_images, images)
    back_excl = read_excluded(path)
    assert back_excl["sample_id"].tolist() == [101] and back_excl["reason"].iloc[0].startswith("partial")
    with pytest.raises(ValueError, match="images must be uint8 RGB"):
        write_chips(path, "google", ids, images.astype(np.float32), excluded)
    with pytest.raises(FileNotFoundError, match="nothing.h5: file not found"):
        read_chips(tmp_path / "nothing.h5", "google")
