"""Google imagery as tiles: XYZ/TMS folders, MBTiles and GeoTIFF tiles chip like one mosaic.

Every form is cut by tests/helpers/google_tiles.py from one Web-Mercator mosaic on the zoom-17
tile grid, with lossless PNG tiles. Every tiled form opens with an alpha band, as an RGBA GeoTIFF
does, so its chips are warped with their validity as floats; the reference here is an RGB GeoTIFF,
warped directly as uint8, so equality on these small chips is what they happen to give: on large
areas about 4 in a million values differ by 1 DN (78 of 18.4 M, reported in issue 24,
docs/inputs.md).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rasterio
import rasterio.warp
import rasterio.windows
from helpers.google_tiles import (
    HALF_M,
    Mosaic,
    mosaic_from_raster,
    tile_aligned_mosaic,
    write_geotiff_tiles,
    write_mbtiles,
    write_mosaic_geotiff,
    write_tile_folder,
)
from helpers.sampling import region_inputs, sample_params

from df4lcz.chipping.google.chips import chip_google
from df4lcz.chipping.google.sources import GoogleSpec, google_files, resolve_google
from df4lcz.chipping.google.vrt import open_google
from df4lcz.config import ConfigError, validate_config
from df4lcz.preflight import validate_run_config
from df4lcz.sampling.build import build_samples, check_sample_rasters

UTM = "EPSG:32650"
X0, Y1 = 400_000.0, 3_400_000.0
ZOOM = 17
CHIP = 64
#: NW corners (dx east, dy south of X0, Y1) of the test squares; several straddle tile edges.
OFFSETS = [(20.0, 20.0), (200.0, 150.0), (350.0, 330.0), (100.0, 300.0), (330.0, 10.0)]


def spec(source, zoom=None, scheme="xyz") -> GoogleSpec:
    return GoogleSpec(
        source if isinstance(source, str) else tuple(map(str, source)), zoom, scheme, "regions[0].google"
    )


def squares(offsets=OFFSETS) -> pd.DataFrame:
    return pd.DataFrame(
        [
            dict(
                sample_id=10 + i, crs=UTM, xmin=X0 + dx, xmax=X0 + dx + 320, ymax=Y1 - dy, ymin=Y1 - dy - 320
            )
            for i, (dx, dy) in enumerate(offsets)
        ]
    )


@pytest.fixture(scope="module")
def forms(tmp_path_factory) -> dict:
    """The same zoom-17 mosaic as one GeoTIFF and as every tiled form."""
    root = tmp_path_factory.mktemp("google_tiles")
    mosaic = tile_aligned_mosaic((X0, Y1 - 700, X0 + 700, Y1), UTM, ZOOM)
    coarse = tile_aligned_mosaic((X0, Y1 - 700, X0 + 700, Y1), UTM, ZOOM - 1, seed=1)
    parts = write_geotiff_tiles(root / "parts", mosaic, 300)
    return {
        "mosaic": mosaic,
        "reference": str(write_mosaic_geotiff(root / "mosaic.tif", mosaic)),
        "xyz": spec(str(write_tile_folder(root / "xyz", mosaic, rgba_every=3))),
        "tms": spec(str(write_tile_folder(root / "tms", mosaic, scheme="tms")), scheme="tms"),
        "mbtiles": spec(str(write_mbtiles(root / "tiles.mbtiles", [coarse, mosaic]))),
        "geotiff_glob": spec(str(root / "parts" / "*.tif")),
        "geotiff_list": spec([str(p) for p in reversed(parts)]),
        "root": root,
    }


# ---------------------------------------------------------------------------------------------
# equality with the single mosaic
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("form", ["xyz", "tms", "mbtiles", "geotiff_glob", "geotiff_list"])
@pytest.mark.parametrize("resampling", ["nearest", "bilinear", "cubic"])
def test_every_form_chips_like_the_single_mosaic(forms, form, resampling):
    table = squares()
    ref_ids, ref_images, ref_excluded = chip_google(forms["reference"], table, CHIP, resampling)
    assert ref_ids.tolist() == table.sample_id.tolist() and ref_excluded.empty
    ids, images, excluded = chip_google(forms[form], table, CHIP, resampling)
    assert ids.tolist() == ref_ids.tolist() and excluded.empty
    np.testing.assert_array_equal(images, ref_images)  # exact: lossless tiles, the same source pixels


@pytest.mark.parametrize("form", ["xyz", "tms", "mbtiles", "geotiff_glob"])
def test_opened_mosaic_has_the_tile_grid_and_pixels(forms, form):
    mosaic: Mosaic = forms["mosaic"]
    with open_google(forms[form]) as src:
        assert src.crs == rasterio.crs.CRS.from_epsg(3857)
        assert src.count == 4 and src.colorinterp[3] == rasterio.enums.ColorInterp.alpha
        # origin and pixel from the tile definition: x = -H + x0·C/2^z, pixel = C/2^z/256
        tile_m = 2 * HALF_M / 2**ZOOM
        assert src.transform.a == pytest.approx(tile_m / 256, rel=1e-12)
        assert src.transform.c == pytest.approx(-HALF_M + mosaic.x0 * tile_m, abs=1e-6)
        assert src.transform.f == pytest.approx(HALF_M - mosaic.y0 * tile_m, abs=1e-6)
        assert (src.height, src.width) == mosaic.data.shape[1:]
        window = rasterio.windows.Window(200, 500, 300, 100)  # crosses tile edges
        pixels = src.read(window=window)
    np.testing.assert_array_equal(pixels[:3], mosaic.data[:, 500:600, 200:500])
    assert (pixels[3] == 255).all()


def test_missing_tile_excludes_only_the_squares_over_it(forms, tmp_path):
    mosaic: Mosaic = forms["mosaic"]
    gone = (mosaic.x0 + 1, mosaic.y0 + 2)  # the tile at pixels x 256..512, y 512..768
    folder = write_tile_folder(tmp_path / "holey", mosaic, skip=[gone])
    table = squares()
    ref_ids, ref_images, _ = chip_google(forms["reference"], table, CHIP, "bilinear")
    ids, images, excluded = chip_google(str(folder), table, CHIP, "bilinear")
    # independent: the squares whose corners, in EPSG:3857, reach into the missing tile's bounds
    tile_m = 2 * HALF_M / 2**ZOOM
    left, top = -HALF_M + gone[0] * tile_m, HALF_M - gone[1] * tile_m
    hit = []
    for row in table.itertuples():
        xs, ys = rasterio.warp.transform(
            UTM,
            "EPSG:3857",
            [row.xmin, row.xmax, row.xmin, row.xmax],
            [row.ymin, row.ymin, row.ymax, row.ymax],
        )
        hit.append(max(xs) > left and min(xs) < left + tile_m and max(ys) > top - tile_m and min(ys) < top)
    expect_gone = table.sample_id[np.array(hit)].tolist()
    assert expect_gone and len(expect_gone) < len(table)
    assert excluded.sample_id.tolist() == expect_gone
    assert all(r.startswith("partial coverage") for r in excluded.reason)
    keep = np.isin(ref_ids, ids)
    np.testing.assert_array_equal(images, ref_images[keep])


# ---------------------------------------------------------------------------------------------
# zoom, scheme and the files Snakemake tracks
# ---------------------------------------------------------------------------------------------


def test_zoom_finest_by_default_or_as_given(forms, tmp_path):
    coarse = tile_aligned_mosaic((X0, Y1 - 700, X0 + 700, Y1), UTM, ZOOM - 1, seed=1)
    folder = tmp_path / "two_zooms"
    write_tile_folder(folder, forms["mosaic"])
    write_tile_folder(folder, coarse)
    assert resolve_google(spec(str(folder))).zoom == ZOOM
    resolved = resolve_google(spec(str(folder), zoom=ZOOM - 1))
    assert resolved.zoom == ZOOM - 1 and len(resolved.tiles) == coarse.nx * coarse.ny
    for source in (str(folder), forms["mbtiles"].source):
        with open_google(spec(source, zoom=ZOOM - 1)) as src:
            np.testing.assert_array_equal(src.read([1, 2, 3]), coarse.data)
            assert src.transform.a == pytest.approx(2 * HALF_M / 2 ** (ZOOM - 1) / 256, rel=1e-12)


def test_tms_folder_read_as_xyz_is_flipped(forms):
    """The scheme matters: a TMS folder read as XYZ puts the rows elsewhere (no tiles at the mosaic's rows)."""
    wrong = spec(forms["tms"].source, scheme="xyz")
    with open_google(wrong) as src:
        tile_m = 2 * HALF_M / 2**ZOOM
        assert src.transform.f == pytest.approx(
            HALF_M - (2**ZOOM - forms["mosaic"].y0 - forms["mosaic"].ny) * tile_m
        )


def test_files_snakemake_tracks(forms):
    root: Path = forms["root"]
    assert google_files(forms["xyz"]) == [forms["xyz"].source]
    assert google_files(forms["mbtiles"]) == [forms["mbtiles"].source]
    parts = sorted(str(p) for p in (root / "parts").glob("*.tif"))
    assert google_files(forms["geotiff_glob"]) == parts
    assert google_files(forms["geotiff_list"]) == sorted(parts, reverse=True)  # the list's order: later wins
    assert google_files(forms["reference"]) == [forms["reference"]]
    # a relative pattern against a base folder stays relative
    assert google_files(spec("parts/*.tif"), base_dir=root) == [str(Path(p).relative_to(root)) for p in parts]


# ---------------------------------------------------------------------------------------------
# errors and warnings
# ---------------------------------------------------------------------------------------------


def test_empty_glob_names_key_and_pattern(tmp_path):
    pattern = str(tmp_path / "none" / "*.tif")
    with pytest.raises(
        ValueError,
        match=r"config key 'regions\[0\].google': the pattern '.*none/\*\.tif' matches no "
        r"file",
    ):
        resolve_google(spec(pattern))


def test_zoom_absent_lists_the_zooms_present(forms):
    with pytest.raises(
        ValueError,
        match=r"'regions\[0\].google': the tile folder .*xyz has no tile at zoom 15 "
        r"\(google_zoom\); zooms present: \[17\]",
    ):
        resolve_google(spec(forms["xyz"].source, zoom=15))
    with pytest.raises(
        ValueError,
        match=r"'regions\[0\].google': the MBTiles file .*tiles.mbtiles has no tile at "
        r"zoom 18 \(google_zoom\); zooms present: \[16, 17\]",
    ):
        resolve_google(spec(forms["mbtiles"].source, zoom=18))


def test_empty_or_foreign_folders(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match=r"'regions\[0\].google': the folder .*empty holds no zoom folder"):
        resolve_google(spec(str(tmp_path / "empty")))
    (tmp_path / "hollow" / "17" / "5").mkdir(parents=True)
    with pytest.raises(ValueError, match=r"the tile folder .*hollow holds no tile at any zoom \(\[17\]\)"):
        resolve_google(spec(str(tmp_path / "hollow")))


def test_mixed_crs_names_the_odd_file(forms, tmp_path):
    parts = write_geotiff_tiles(tmp_path / "mixed", forms["mosaic"], 512)
    with rasterio.open(parts[-1], "r+") as dst:
        dst.crs = rasterio.crs.CRS.from_epsg(3395)
    with pytest.raises(
        ValueError,
        match=r"regions\[0\].google: .*part_1_1\.tif is in EPSG:3395 but .*part_0_0\.tif "
        r"is in EPSG:3857; expected every GeoTIFF of the mosaic in one CRS",
    ):
        chip_google(spec(str(tmp_path / "mixed" / "*.tif")), squares(), CHIP, "nearest")


def test_mixed_band_layout_names_the_odd_file(forms, tmp_path):
    write_geotiff_tiles(tmp_path / "bands", forms["mosaic"], 512)
    odd = write_geotiff_tiles(tmp_path / "bands4", forms["mosaic"], 512, count=4)[1]
    files = [*sorted((tmp_path / "bands").glob("*.tif")), odd]
    with pytest.raises(
        ValueError,
        match=r"bands4/part_0_1\.tif has 4 band\(s\) of uint8/uint8/uint8/uint8 but "
        r".*part_0_0\.tif has 3",
    ):
        with open_google(spec(files)):
            pass


def test_rgba_geotiff_tiles_chip_like_the_mosaic(forms, tmp_path):
    write_geotiff_tiles(tmp_path / "rgba", forms["mosaic"], 400, count=4)
    table = squares()
    _, ref, _ = chip_google(forms["reference"], table, CHIP, "bilinear")
    ids, images, excluded = chip_google(spec(str(tmp_path / "rgba" / "*.tif")), table, CHIP, "bilinear")
    assert excluded.empty
    np.testing.assert_array_equal(images, ref)


def test_zoom_for_a_geotiff_is_a_warning(forms, caplog):
    with caplog.at_level(logging.WARNING, logger="df4lcz"):
        assert resolve_google(spec(forms["reference"], zoom=18)).form == "raster"
    assert "applies only to tile folders and MBTiles files and is ignored" in caplog.text


def test_missing_path_is_not_found(tmp_path):
    with pytest.raises(
        FileNotFoundError, match=r"nope: Google Earth mosaic not found \(config key 'regions\[0\].google'"
    ):
        resolve_google(spec(str(tmp_path / "nope")))


# ---------------------------------------------------------------------------------------------
# config and the samples stage
# ---------------------------------------------------------------------------------------------


def _region(google, **kw) -> dict:
    return {"name": "r", "google": google, "sentinel2": "s2.tif", "labels": "l.gpkg", **kw}


def test_config_accepts_every_form_and_reports_problems(forms, tmp_path):
    root: Path = forms["root"]
    (tmp_path / "s2.tif").write_bytes(b"")
    (tmp_path / "l.gpkg").write_bytes(b"")
    for google in (
        forms["xyz"].source,
        forms["mbtiles"].source,
        str(root / "parts" / "*.tif"),
        [str(p) for p in (root / "parts").glob("*.tif")],
    ):
        cfg = validate_run_config({"dataset": "regions", "regions": [_region(google)]}, base_dir=tmp_path)
        assert cfg["regions"][0]["google_zoom"] is None and cfg["regions"][0]["google_tile_scheme"] == "xyz"
    bad = [
        _region("g/*.tif"),
        _region(forms["xyz"].source, name="z", google_zoom=12),
        _region([], name="e"),
        _region("t", name="s", google_tile_scheme="slippy"),
    ]
    with pytest.raises(ConfigError) as err:
        validate_run_config({"dataset": "regions", "regions": bad[:2]}, base_dir=tmp_path)
    text = str(err.value)
    assert "config key 'regions[0].google': the pattern 'g/*.tif' matches no file" in text
    assert "config key 'regions[1].google': the tile folder" in text and "zooms present: [17]" in text
    with pytest.raises(ConfigError) as err:
        validate_config({"dataset": "regions", "regions": bad[2:]})
    assert "'regions[0].google': [] should be non-empty" in str(err.value)
    assert "'regions[1].google_tile_scheme': 'slippy' is not one of ['xyz', 'tms']" in str(err.value)


def test_samples_from_a_tile_folder_match_the_mosaic(tiny_region, tmp_path):
    """Squares laid over an XYZ folder are those laid over the same mosaic as one GeoTIFF, and pass the checks."""
    with rasterio.open(tiny_region["sentinel2"]) as s2:
        bounds = tuple(s2.bounds)
    mosaic = tile_aligned_mosaic(bounds, UTM, 16)
    ref = write_mosaic_geotiff(tmp_path / "mosaic.tif", mosaic)
    folder = write_tile_folder(tmp_path / "xyz", mosaic)
    tables = []
    for google in (str(ref), str(folder)):
        region = region_inputs("tiny", google, tiny_region["sentinel2"], tiny_region["labels"], index=0)
        table, _ = build_samples([region], sample_params(), seed=0)
        check_sample_rasters([region], table, chip_px=320, max_upsampling=4.0)
        tables.append(table)
    assert len(tables[0]) > 0
    pd.testing.assert_frame_equal(pd.DataFrame(tables[0]), pd.DataFrame(tables[1]))


@pytest.mark.slow
def test_workflow_chips_a_tile_folder_region(tiny_region, tmp_path):
    """Snakemake end to end (samples → chip_google of one shard) on a region given as an XYZ folder."""
    import subprocess
    import sys

    import h5py
    import yaml

    from df4lcz.io.samples import read_samples

    repo = Path(__file__).resolve().parents[1]
    with rasterio.open(tiny_region["sentinel2"]) as s2:
        bounds = tuple(s2.bounds)
    mosaic = tile_aligned_mosaic(bounds, UTM, 16)
    reference = write_mosaic_geotiff(tmp_path / "mosaic.tif", mosaic)
    write_tile_folder(tmp_path / "xyz", mosaic)
    config = {
        "dataset": "regions",
        "segment": {"backend": "classical"},
        "samples": {"shard_size": 16},
        "regions": [
            {
                "name": "tiles",
                "google": "xyz",
                "sentinel2": tiny_region["sentinel2"],
                "labels": tiny_region["labels"],
            }
        ],
    }
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "--snakefile",
        str(repo / "Snakefile"),
        "--directory",
        str(tmp_path),
        "--configfile",
        str(tmp_path / "config.yaml"),
        "--cores",
        "1",
        "results/chips/google/0.h5",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    shard = read_samples(tmp_path / "results" / "samples.parquet", shard=0)
    _, expected, _ = chip_google(str(reference), shard, 320, "bilinear")
    with h5py.File(tmp_path / "results" / "chips" / "google" / "0.h5") as f:
        images = f["image"][()]
        assert f.attrs["source"] == "xyz"
    # Tolerance: the tile folder opens with an alpha band (missing tiles are nodata), so its chips are
    # warped in float32 and rounded, while the 3-band GeoTIFF is warped straight to uint8; with 320 px
    # chips (upsampled ≈ 2.4×) a few interpolated values fall on either side of a .5 (measured: 34 of
    # 4.3 M values). The unit tests above compare the same paths at 64 px and are exact.
    diff = np.abs(images.astype(int) - expected.astype(int))
    assert images.shape == expected.shape and diff.max() <= 1 and (diff > 0).mean() < 1e-4
    # the tile folder is an input of the samples and chip jobs: touching it reruns them
    (tmp_path / "xyz").touch()
    proc = subprocess.run(
        [*cmd, "-n", "--rerun-triggers", "mtime"], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0 and "chip_google" in proc.stdout + proc.stderr


def test_pyramids_cut_from_a_demo_google_raster_chip_like_its_mosaic(tmp_path):
    """XYZ, MBTiles and GeoTIFF tiles cut from a demo city's Google raster (warped onto the zoom-17 tile
    grid, as a user's pyramid of that imagery would be) give the chips of the same mosaic as one GeoTIFF."""
    from helpers.demo import demo_settings

    from df4lcz.demo import generate_demo

    generate_demo(
        tmp_path / "demo",
        demo_settings(
            seed=3, n_cities=1, patches_per_side=2, patch_cells=(1, 1), classes=(2, 11), labelled_fraction=1.0
        ),
    )
    google = tmp_path / "demo" / "demo_city_1" / "google.tif"
    with rasterio.open(google) as src:
        crs, left, top = src.crs.to_string(), src.bounds.left, src.bounds.top
    box = (left + 200, top - 900, left + 900, top - 200)  # a 700 m × 700 m part of the city
    mosaic = mosaic_from_raster(google, ZOOM, box)
    assert mosaic.data.std() > 5  # real demo imagery, not an empty warp
    reference = str(write_mosaic_geotiff(tmp_path / "mosaic.tif", mosaic))
    write_geotiff_tiles(tmp_path / "parts", mosaic, 300)
    forms = [
        str(write_tile_folder(tmp_path / "xyz", mosaic)),
        str(write_mbtiles(tmp_path / "t.mbtiles", [mosaic])),
        str(tmp_path / "parts" / "*.tif"),
    ]
    table = pd.DataFrame(
        {
            "sample_id": [1, 2, 3],
            "crs": crs,
            "xmin": [box[0] + 20, box[0] + 300, box[0] + 150],
            "ymax": [box[3] - 20, box[3] - 100, box[3] - 330],
        }
    )
    table["xmax"], table["ymin"] = table.xmin + 320, table.ymax - 320
    ref_ids, ref_images, _ = chip_google(reference, table, CHIP, "bilinear")
    assert ref_ids.tolist() == [1, 2, 3]
    for form in forms:
        ids, images, excluded = chip_google(form, table, CHIP, "bilinear")
        assert ids.tolist() == [1, 2, 3] and excluded.empty, form
        np.testing.assert_array_equal(images, ref_images)


def test_corrupt_tile_is_named_with_its_zoom_column_row_and_path(forms, tmp_path, monkeypatch):
    """A truncated PNG the VRT build did not probe fails the read naming the tile, not only the folder."""
    import df4lcz.chipping.google.vrt as vrt
    from df4lcz.errors import InputError

    monkeypatch.setattr(vrt, "TILE_PROBES", 1)  # only the first tile is opened when the VRT is built
    mosaic: Mosaic = forms["mosaic"]
    folder = write_tile_folder(tmp_path / "broken", mosaic)
    bad = (mosaic.x0 + 1, mosaic.y0 + 1)
    path = folder / str(ZOOM) / str(bad[0]) / f"{bad[1]}.png"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])  # header intact, pixel data cut
    with pytest.raises(InputError) as err:
        chip_google(spec(str(folder)), squares(), CHIP, "bilinear")
    msg = str(err.value)
    assert msg.startswith(
        f"regions[0].google: tile {ZOOM}/{bad[0]}/{bad[1]} ({path}) of the tile folder {folder}"
    )
    assert "is truncated or corrupt" in msg and "re-download that tile" in msg
