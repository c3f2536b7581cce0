"""Bad inputs fail early with a message naming the file or key and what was expected (issue #15).

Leakage (overlapping or repeated label polygons, repeated squares), late failures (rasters checked
by the samples checkpoint, no valid sample), raw tracebacks (SAM checkpoint of another size,
truncated COGs, YAML syntax errors, a geographic Sentinel-2 CRS) and degenerate runs (polygons
repaired into nothing, Google mosaics much coarser than the chip grid); and reproducible model files.
"""

from __future__ import annotations

import math
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import rasterio.shutil
import shapely
import torch
import yaml
from conftest import TINY_CRS, TINY_X0, TINY_Y1, write_raster
from helpers.logs import warning_messages as _warnings
from helpers.sampling import region_inputs, sample_params
from pyproj import Transformer
from rasterio.crs import CRS
from rasterio.transform import from_origin
from shapely.geometry import Polygon, box
from test_workflow import REPO, SNAKEMAKE

from df4lcz.chipping.google.chips import chip_google
from df4lcz.chipping.inputs import CHECKED_SQUARES, _first_with_data, check_google, check_sentinel2
from df4lcz.chipping.sentinel2 import chip_sentinel2, open_sentinel2
from df4lcz.chipping.valid import valid_sample_table
from df4lcz.config import ConfigError, schema_defaults
from df4lcz.io.chips import IMPORTED_S2_ATTRS, write_chips
from df4lcz.io.models import read_model_record, save_model
from df4lcz.io.samples import write_samples
from df4lcz.preflight import load_config
from df4lcz.sampling.build import build_samples, check_sample_rasters
from df4lcz.sampling.grid import assign_ids_and_shards, to_geodataframe
from df4lcz.sampling.labels import read_labels
from df4lcz.scripting import Job, NamedFiles
from df4lcz.segmentation.sam import describe_sam_state, load_sam
from df4lcz.stages import samples as samples_stage

GOOGLE = schema_defaults("google")
S2_NAMES = ["B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B11", "B12"]


def _labels(path: Path, rows: list[tuple[int, object]], crs: str = TINY_CRS) -> Path:
    gpd.GeoDataFrame({"lcz": [r[0] for r in rows]}, geometry=[r[1] for r in rows], crs=crs).to_file(path)
    return path


def _region(tiny_region, **kw):
    files = {k: str(kw.pop(k, tiny_region[k])) for k in ("google", "sentinel2", "labels")}
    return region_inputs("tiny", files["google"], files["sentinel2"], files["labels"], **kw)


def _bounds(samples: pd.DataFrame) -> np.ndarray:
    return samples[["xmin", "ymin", "xmax", "ymax"]].to_numpy(float)


# A: 980 × 670 m; B: 510 × 600 m overlapping A over 510 × 300 m (x +500..+1010, y −700..−400)
BOX_A = box(TINY_X0 + 30, TINY_Y1 - 700, TINY_X0 + 1010, TINY_Y1 - 30)
BOX_B = box(TINY_X0 + 500, TINY_Y1 - 1000, TINY_X0 + 1010, TINY_Y1 - 400)
BOX_C = box(TINY_X0 + 20, TINY_Y1 - 1700, TINY_X0 + 700, TINY_Y1 - 1000)


# ---------------------------------------------------------------------------------------------
# 1. leakage
# ---------------------------------------------------------------------------------------------


def test_overlapping_polygons_of_one_class_are_merged(tiny_region, tmp_path, records):
    path = _labels(tmp_path / "same.gpkg", [(2, BOX_A), (2, BOX_B), (14, BOX_C), (14, BOX_C)])
    polys = read_labels(path, TINY_CRS, "lcz", {})
    assert polys.polygon_id.tolist() == [0, 2] and polys.lcz.tolist() == [2, 14]
    # union area by inclusion–exclusion: 980·670 + 510·600 − 510·300
    assert polys.geometry.iloc[0].area == pytest.approx(980 * 670 + 510 * 600 - 510 * 300)
    assert polys.geometry.iloc[1].area == pytest.approx(680 * 700)
    warnings = " | ".join(_warnings(records))
    assert "rows [0, 1] (all LCZ 2) overlap or repeat; merged into one, polygon_id 0" in warnings
    assert "rows [2, 3] (all LCZ 14)" in warnings

    region = region_inputs("tiny", tiny_region["google"], tiny_region["sentinel2"], str(path))
    samples, _ = build_samples([region], sample_params(), seed=0)
    b = _bounds(samples)
    assert len(np.unique(b, axis=0)) == len(b)  # no square twice
    union = shapely.union_all([BOX_A, BOX_B])
    for row in samples.itertuples():
        square = box(row.xmin, row.ymin, row.xmax, row.ymax)
        assert (union if row.polygon_id == 0 else BOX_C).contains(square)
    # the repeated polygon gives exactly the squares of one copy
    once = _labels(tmp_path / "once.gpkg", [(14, BOX_C)])
    alone, _ = build_samples(
        [region_inputs("tiny", tiny_region["google"], tiny_region["sentinel2"], str(once))],
        sample_params(),
        seed=0,
    )
    np.testing.assert_array_equal(_bounds(samples[samples.lcz == 14]), _bounds(alone))


def test_overlapping_polygons_of_different_classes_are_an_error(tmp_path):
    path = _labels(tmp_path / "clash.gpkg", [(2, BOX_A), (5, BOX_B), (14, BOX_C)])
    with pytest.raises(ValueError) as err:
        read_labels(path, TINY_CRS, "lcz", {})
    msg = str(err.value)
    assert msg.startswith(f"{path}: 1 pair(s) of polygons of different classes overlap")
    assert f"row 0 (LCZ 2) and row 1 (LCZ 5) overlap by {510 * 300} m²" in msg
    assert "row 2" not in msg


def test_sample_writer_rejects_repeated_squares(tmp_path):
    base = {"region": "a", "polygon_id": 0, "lcz": 2, "crs": TINY_CRS, "ymin": TINY_Y1 - 320, "ymax": TINY_Y1}
    table = pd.DataFrame(
        [
            {**base, "xmin": TINY_X0, "xmax": TINY_X0 + 320},
            {**base, "xmin": TINY_X0 + 320, "xmax": TINY_X0 + 640},
            {**base, "xmin": TINY_X0, "xmax": TINY_X0 + 320, "polygon_id": 1},
        ]
    )
    samples = to_geodataframe(assign_ids_and_shards([table], 256))
    out = tmp_path / "samples.parquet"
    with pytest.raises(
        ValueError,
        match=r"samples\.parquet: 1 square\(s\) laid more than once .*\n"
        r"  region 'a', square 400000, 3399680, 400320, 3400000: samples \[0, 2\]",
    ):
        write_samples(out, samples)
    assert not out.exists()
    repeated_id = samples.copy()
    repeated_id.loc[1, "sample_id"] = 0
    with pytest.raises(ValueError, match=r"sample_id\(s\) \[0\] occur more than once"):
        write_samples(out, repeated_id)
    # the same square in two regions, and imported rows without coordinates, are fine
    other = table.iloc[:2].assign(region="b")
    write_samples(out, to_geodataframe(assign_ids_and_shards([table.iloc[:2], other], 256)))
    imported = pd.DataFrame(
        {
            "sample_id": [0, 1],
            "region": "so2sat_lcz42",
            "polygon_id": [0, 1],
            "lcz": [1, 2],
            "shard": 0,
            "crs": "",
            "xmin": np.nan,
            "ymin": np.nan,
            "xmax": np.nan,
            "ymax": np.nan,
        }
    )
    write_samples(out, gpd.GeoDataFrame(imported, geometry=[None, None], crs="EPSG:4326"))
    assert len(pd.read_parquet(out)) == 2


# ---------------------------------------------------------------------------------------------
# 3. late failures: the samples checkpoint checks the rasters; no valid sample
# ---------------------------------------------------------------------------------------------


def _google_grid(tiny_region) -> tuple[rasterio.Affine, int, int]:
    with rasterio.open(tiny_region["google"]) as src:
        return src.transform, src.width, src.height


def test_google_alpha_zero_over_the_squares(tiny_region, tmp_path):
    samples, _ = build_samples([_region(tiny_region)], sample_params(), seed=0)
    transform, width, height = _google_grid(tiny_region)
    rgba = np.full((4, height, width), 120, np.uint8)
    rgba[3] = 0
    rgba[3, :, :20] = 255  # valid only in the western 80 m margin, which holds no square
    write_raster(tmp_path / "rgba.tif", rgba, "EPSG:3857", transform)
    region = _region(tiny_region, google=str(tmp_path / "rgba.tif"))
    with pytest.raises(
        ValueError,
        match=rf"rgba\.tif: the Google raster has no valid pixel over any of the "
        rf"{len(samples)} sample squares of region 'tiny': its alpha band \(band 4\) "
        "is 0 over every one; expected RGB imagery",
    ):
        check_sample_rasters([region], samples, GOOGLE["chip_px"], GOOGLE["max_upsampling"])
    rgba[3, : height // 4] = 255  # the northern quarter holds squares of polygon 0
    write_raster(tmp_path / "rgba.tif", rgba, "EPSG:3857", transform)
    check_sample_rasters([region], samples, GOOGLE["chip_px"], GOOGLE["max_upsampling"])
    zeros = np.zeros((3, height, width), np.uint8)
    write_raster(tmp_path / "blank.tif", zeros, "EPSG:3857", transform, nodata=0)
    with pytest.raises(
        ValueError, match=r"blank\.tif: .*no valid pixel .*every pixel there is nodata \(nodata value 0"
    ):
        check_sample_rasters(
            [_region(tiny_region, google=str(tmp_path / "blank.tif"))],
            samples,
            GOOGLE["chip_px"],
            GOOGLE["max_upsampling"],
        )


def test_sentinel2_checked_before_chipping(tiny_region, tmp_path):
    samples, _ = build_samples([_region(tiny_region)], sample_params(), seed=0)
    with rasterio.open(tiny_region["sentinel2"]) as src:
        data, transform = src.read(), src.transform

    def check(name: str, array: np.ndarray, nodata=None) -> None:
        write_raster(tmp_path / name, array, TINY_CRS, transform, nodata=nodata, descriptions=S2_NAMES)
        check_sample_rasters(
            [_region(tiny_region, sentinel2=str(tmp_path / name))],
            samples,
            GOOGLE["chip_px"],
            GOOGLE["max_upsampling"],
        )

    with pytest.raises(
        ValueError,
        match=rf"zero\.tif: the Sentinel-2 input has no valid pixel over any of the "
        rf"{len(samples)} sample squares of region 'tiny': every pixel there is "
        "DN 0 in all bands",
    ):
        check("zero.tif", np.zeros_like(data))
    with pytest.raises(ValueError, match=r"nd\.tif: .*no valid pixel .*nodata value 7"):
        check("nd.tif", np.full_like(data, 7), nodata=7)
    with pytest.raises(
        ValueError,
        match=r"u8\.tif: Sentinel-2 band\(s\) of data type uint8; expected digital "
        r"numbers \(reflectance × 10000\)",
    ):
        check("u8.tif", (data // 20).astype(np.uint8))
    # float reflectance in [0, 1] is recognised, not refused and not divided by 10000 again
    check("refl.tif", (data / 10000).astype(np.float32))
    with open_sentinel2(tmp_path / "refl.tif") as source:
        assert source.radiometry.scale == 1.0 and source.radiometry.offsets == (0.0,) * 10
    half = data.copy()
    half[:, :, : half.shape[2] // 2] = 0  # western half nodata: squares in the east still have data
    check("half.tif", half)
    check("float_dn.tif", data.astype(np.float32))
    with open_sentinel2(tmp_path / "float_dn.tif") as source:  # float digital numbers: divided by 10000
        assert source.radiometry.scale == 10000.0


def test_samples_stage_fails_before_any_output(tiny_region, tmp_path):
    transform, width, height = _google_grid(tiny_region)
    rgba = np.zeros((4, height, width), np.uint8)
    write_raster(tmp_path / "rgba.tif", rgba, "EPSG:3857", transform)
    region = {**vars(_region(tiny_region)), "google": str(tmp_path / "rgba.tif")}
    out = {
        k: str(tmp_path / "results" / v)
        for k, v in {
            "table": "samples.parquet",
            "overview": "overview.png",
            "summary": "per_class.csv",
        }.items()
    }
    job = Job(
        rule="samples",
        input=NamedFiles([]),
        output=NamedFiles(list(out.values()), out),
        params={"samples": schema_defaults("samples"), "google": GOOGLE, "regions": [region], "seed": 1},
        wildcards={},
        log=NamedFiles([]),
    )
    with pytest.raises(ValueError, match=r"rgba\.tif: the Google raster has no valid pixel"):
        samples_stage.run(job)
    assert not any(Path(p).exists() for p in out.values())


def test_nodata_check_reads_every_square_when_the_spread_ones_are_empty():
    n = 200
    spread = set(np.linspace(0, n - 1, CHECKED_SQUARES).round().astype(int).tolist())
    target = next(i for i in range(n) if i not in spread)
    seen: list[int] = []

    def has_data(i: int) -> bool:
        seen.append(i)
        return i == target

    assert _first_with_data(n, has_data) == (target, CHECKED_SQUARES)
    assert set(seen[:CHECKED_SQUARES]) == spread
    assert _first_with_data(n, lambda i: False) == (None, CHECKED_SQUARES)


def test_no_valid_sample_names_the_exclusions(tmp_path):
    google = tmp_path / "google.h5"
    write_chips(
        google,
        "google",
        np.zeros(0, np.int64),
        np.zeros((0, 320, 320, 3), np.uint8),
        pd.DataFrame(
            {
                "sample_id": [0, 1, 2],
                "reason": [
                    "partial coverage: 3.0% of the chip has no data",
                    "partial coverage: 9.0% of the chip has no data",
                    "outside the Google raster",
                ],
            }
        ),
    )
    s2 = tmp_path / "s2.h5"
    write_chips(
        s2,
        "sentinel2",
        np.array([0, 1], np.int64),
        np.full((2, 32, 32, 10), 0.1, np.float32),
        pd.DataFrame({"sample_id": [2], "reason": ["nodata: 4 source pixel(s) with DN 0 in s2.tif"]}),
        attrs=IMPORTED_S2_ATTRS,
    )
    with pytest.raises(ValueError) as err:
        valid_sample_table({"google": [google], "sentinel2": [s2]})
    msg = str(err.value)
    assert msg.startswith("no sample is valid in every stream (google, sentinel2")
    assert "all 3 samples were excluded" in msg
    assert "google: partial coverage ×2, outside the Google raster ×1; sentinel2: nodata ×1" in msg


# ---------------------------------------------------------------------------------------------
# 4. raw tracebacks
# ---------------------------------------------------------------------------------------------


def test_sam_checkpoint_of_another_size_is_named(tmp_path):
    # a state dict shaped like SAM vit_b's image encoder (width 768, 12 blocks), loaded as 'tiny'
    state = {"image_encoder.patch_embed.proj.weight": torch.zeros(768, 3, 16, 16)}
    state.update({f"image_encoder.blocks.{i}.norm1.weight": torch.zeros(768) for i in range(12)})
    path = tmp_path / "sam_vit_b.pth"
    torch.save(state, path)
    with pytest.raises(ValueError) as err:
        load_sam("tiny", path, "cpu")
    msg = str(err.value)
    assert "\n" not in msg
    assert msg.startswith(
        f"{path}: checkpoint does not match the SAM 'tiny' architecture of segment.sam.model_type"
    )
    assert "the file looks like vit_b (image encoder width 768, 12 blocks)" in msg
    state["image_encoder.patch_embed.proj.weight"] = torch.zeros(100, 3, 16, 16)
    assert describe_sam_state(state).startswith(
        "matches no SAM model type (image encoder width 100, 12 blocks"
    )
    assert "not a SAM checkpoint" in describe_sam_state({"weight": torch.zeros(2)})


def _truncated_cog(path: Path, data: np.ndarray, crs: str, transform, keep: float, **kw) -> Path:
    src = path.with_suffix(".src.tif")
    write_raster(src, data, crs, transform, **kw)
    rasterio.shutil.copy(src, path, driver="COG", blocksize=64, compress="deflate")
    raw = path.read_bytes()
    path.write_bytes(raw[: int(len(raw) * keep)])
    with rasterio.open(path) as check:  # the header is intact: the file opens
        assert check.width == data.shape[2]
    return path


def test_truncated_cog_names_raster_and_sample(tmp_path):
    rng = np.random.default_rng(3)
    x0, y1 = TINY_X0, TINY_Y1
    google = _truncated_cog(
        tmp_path / "google_cog.tif",
        rng.integers(0, 255, (3, 400, 400), dtype=np.uint8),
        TINY_CRS,
        from_origin(x0, y1, 2, 2),
        keep=0.4,
    )
    square = pd.DataFrame(
        {
            "sample_id": [7],
            "crs": TINY_CRS,
            "xmin": [x0 + 400],
            "ymin": [y1 - 760],
            "xmax": [x0 + 720],
            "ymax": [y1 - 440],
        }
    )
    with pytest.raises(
        ValueError,
        match=r"google_cog\.tif: failed to read pixels \(column \d+, row \d+, \d+ × \d+\) "
        r"of sample 7 .*truncated or corrupt",
    ):
        chip_google(google, square, chip_px=64, resampling="bilinear")
    s2 = _truncated_cog(
        tmp_path / "s2_cog.tif",
        rng.integers(100, 5000, (10, 128, 128), dtype=np.uint16),
        TINY_CRS,
        from_origin(x0, y1, 10, 10),
        keep=0.4,
        descriptions=S2_NAMES,
    )
    s2_square = square.assign(xmin=x0 + 900, xmax=x0 + 1220, ymin=y1 - 1220, ymax=y1 - 900, sample_id=5)
    with pytest.raises(
        ValueError, match=r"s2_cog\.tif: failed to read pixels .* of sample\(s\) \[5\] .*truncated"
    ):
        chip_sentinel2(s2, s2_square, TINY_CRS, "bilinear")
    # the samples checkpoint reads the squares too, and fails the same way, before any chip job
    with pytest.raises(
        ValueError,
        match=r"s2_cog\.tif: failed to read pixels .* under the sample square "
        r"x 400900\.\.401220, y 3398780\.\.3399100 .*truncated or corrupt",
    ):
        check_sentinel2("tiny", s2, None, _bounds(s2_square), CRS.from_user_input(TINY_CRS))


def test_yaml_syntax_error_names_file_and_line(tmp_path):
    path = tmp_path / "my_config.yaml"
    path.write_text(
        "dataset: demo\nsamples:\n  size_m: 320\n stride_m: 320\nseed: 1\n"
    )  # line 4 mis-indented
    with pytest.raises(ConfigError, match=r"my_config\.yaml, line 4, column 2: not valid YAML"):
        load_config(path, check_files=False)
    path.write_text("dataset: demo\ntrain: {device: cpu\nseed: 1\n")  # flow mapping never closed
    with pytest.raises(
        ConfigError,
        match=r"my_config\.yaml, line \d+, column \d+: not valid YAML: .*"
        r"flow mapping that starts at line 2, column 8",
    ):
        load_config(path, check_files=False)


def test_yaml_syntax_error_in_config_yaml_names_file_and_line_in_the_workflow(tmp_path):
    """Snakemake reads config.yaml itself (generic message); the workflow reads it first, naming the line."""
    work = tmp_path / "wf"
    work.mkdir()
    (work / "config.yaml").write_text("dataset: demo\nmap:\n  enabled: false\n broken_indent: 1\n")
    proc = subprocess.run(
        [
            *SNAKEMAKE,
            "--snakefile",
            str(REPO / "Snakefile"),
            "--directory",
            str(work),
            "--cores",
            "1",
            "all",
            "-n",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode != 0
    assert "config.yaml, line 4, column 2: not valid YAML" in proc.stdout + proc.stderr
    assert "not valid JSON or YAML" not in proc.stdout + proc.stderr
    # a file given with --configfile is read by Snakemake before the workflow: check-config names the line
    cli = subprocess.run(
        [sys.executable, "-m", "df4lcz.cli", "check-config", str(work / "config.yaml")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert cli.returncode == 1 and "config.yaml, line 4, column 2: not valid YAML" in cli.stderr


def test_sam_checkpoint_of_another_architecture_stops_at_config_load(tmp_path):
    from df4lcz.preflight import validate_run_config
    from df4lcz.segmentation.sam import build_tiny_sam_checkpoint, sam_checkpoint_state

    def check(checkpoint):
        validate_run_config(
            {"segment": {"backend": "sam", "sam": {"model_type": "tiny", "checkpoint": checkpoint}}},
            base_dir=tmp_path,
        )

    torch.save(torch.nn.Linear(3, 2).state_dict(), tmp_path / "linear.pth")
    with pytest.raises(
        ConfigError,
        match=r"config key 'segment\.sam\.checkpoint': .*linear\.pth: checkpoint does "
        r"not match the SAM 'tiny' architecture of segment\.sam\.model_type",
    ):
        check("linear.pth")
    (tmp_path / "garbage.pth").write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(
        ConfigError,
        match=r"'segment\.sam\.checkpoint': .*garbage\.pth: not a readable PyTorch "
        r"checkpoint",
    ):
        check("garbage.pth")
    build_tiny_sam_checkpoint(tmp_path / "tiny.pth")
    before = torch.get_rng_state()
    check("tiny.pth")  # the right architecture passes, and the check leaves the random generator alone
    assert torch.equal(before, torch.get_rng_state())
    assert len(sam_checkpoint_state("tiny", tmp_path / "tiny.pth", mmap=True)) > 10


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA: 'cuda' is a valid device here")
def test_cuda_device_without_cuda_stops_before_any_job(tmp_path):
    cfg = yaml.safe_load((REPO / "tests" / "data" / "tiny.yaml").read_text())
    cfg["train"]["device"] = "cuda"
    (tmp_path / "cuda.yaml").write_text(yaml.safe_dump(cfg))
    work = tmp_path / "wf"
    proc = subprocess.run(
        [
            *SNAKEMAKE,
            "--snakefile",
            str(REPO / "Snakefile"),
            "--directory",
            str(work),
            "--configfile",
            str(tmp_path / "cuda.yaml"),
            "--cores",
            "1",
            "all",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    text = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "config key 'train.device': 'cuda' needs a CUDA GPU but this machine has none" in text
    assert not (work / "resources").exists() and not (work / "results").exists()  # not even the demo ran
    assert "Finished jobid" not in text


def test_geographic_sentinel2_gets_crs_advice_not_size_advice(tiny_region, tmp_path):
    tr = Transformer.from_crs(TINY_CRS, "EPSG:4326", always_xy=True)
    lon0, lat1 = tr.transform(TINY_X0 - 200, TINY_Y1 + 200)
    lon1, lat0 = tr.transform(TINY_X0 + 2200, TINY_Y1 - 2200)
    step = 1e-4
    w, h = math.ceil((lon1 - lon0) / step), math.ceil((lat1 - lat0) / step)
    data = np.random.default_rng(0).integers(100, 3000, (10, h, w), dtype=np.uint16)
    write_raster(
        tmp_path / "s2_4326.tif",
        data,
        "EPSG:4326",
        from_origin(lon0, lat1, step, step),
        descriptions=S2_NAMES,
    )
    region = _region(tiny_region, sentinel2=str(tmp_path / "s2_4326.tif"))
    with pytest.raises(ValueError) as err:
        build_samples([region], sample_params(), seed=0)
    msg = str(err.value)
    assert "working CRS EPSG:4326" in msg and "is geographic (degrees)" in msg
    assert "gdalwarp -t_srs EPSG:32650" in msg and "regions[].working_crs" in msg  # UTM zone 50N: 114–120° E
    assert "size_m" not in msg
    samples, _ = build_samples(
        [_region(tiny_region, sentinel2=region.sentinel2, working_crs=TINY_CRS)], sample_params(), seed=0
    )
    assert len(samples) > 0 and set(samples["crs"]) == {TINY_CRS}


# ---------------------------------------------------------------------------------------------
# 5. degenerate runs
# ---------------------------------------------------------------------------------------------


def test_invalid_polygons_repaired_or_dropped(tmp_path, records):
    x, y = TINY_X0, TINY_Y1 - 2000
    collinear = Polygon([(x, y), (x + 100, y + 100), (x + 200, y + 200), (x, y)])
    bowtie = Polygon([(x, y), (x + 800, y + 600), (x + 800, y), (x, y + 600)])  # two triangles of 800·300/2
    path = _labels(tmp_path / "broken.gpkg", [(2, BOX_A), (6, collinear), (11, bowtie)])
    polys = read_labels(path, TINY_CRS, "lcz", {})
    assert polys.polygon_id.tolist() == [0, 2]
    assert polys.geometry.iloc[1].area == pytest.approx(2 * 800 * 300 / 2)
    warnings = _warnings(records)
    assert any(
        f"{path}: polygon of row 1 (LCZ 6) is invalid" in w and "left no area; dropped" in w for w in warnings
    )
    assert any(
        f"{path}: polygon of row 2 (LCZ 11) is invalid (Self-intersection" in w and "repaired" in w
        for w in warnings
    )
    _labels(tmp_path / "all_broken.gpkg", [(6, collinear), (6, collinear)])
    with pytest.raises(
        ValueError, match=r"all_broken\.gpkg: none of its 2 polygon\(s\) has any area once repaired"
    ):
        read_labels(tmp_path / "all_broken.gpkg", TINY_CRS, "lcz", {})


def test_google_much_coarser_than_the_chip_grid(tiny_region, tmp_path, records):
    squares = np.array([[TINY_X0 + 320, TINY_Y1 - 640, TINY_X0 + 640, TINY_Y1 - 320]])
    crs = CRS.from_user_input(TINY_CRS)
    coarse = np.full((3, 60, 60), 90, np.uint8)
    write_raster(tmp_path / "g19.tif", coarse, TINY_CRS, from_origin(TINY_X0, TINY_Y1, 19, 19))
    with pytest.raises(
        ValueError,
        match=r"g19\.tif: the Google raster's pixels are 19 m on the ground, 19\.0× the "
        r"chip pixel of 1 m .*more than google\.max_upsampling = 4",
    ):
        check_google("tiny", tmp_path / "g19.tif", squares, crs, chip_px=320, max_upsampling=4)
    check_google("tiny", tmp_path / "g19.tif", squares, crs, chip_px=320, max_upsampling=20)
    assert any(
        "g19.tif: Google pixels are 19 m on the ground, 19.0× the 1 m chip pixel" in w
        for w in _warnings(records)
    )
    records.clear()
    fine = np.full((3, 700, 700), 90, np.uint8)
    write_raster(tmp_path / "g1.tif", fine, TINY_CRS, from_origin(TINY_X0, TINY_Y1, 1, 1))
    check_google("tiny", tmp_path / "g1.tif", squares, crs, chip_px=320, max_upsampling=4)
    assert not _warnings(records)
    # the tiny region's mosaic: 4 m pixels of EPSG:3857, i.e. 4·cos(latitude) m on the ground
    samples, _ = build_samples([_region(tiny_region)], sample_params(), seed=0)
    b = _bounds(samples)
    cx, cy = (b[:, 0].min() + b[:, 2].max()) / 2, (b[:, 1].min() + b[:, 3].max()) / 2
    lat = Transformer.from_crs(TINY_CRS, "EPSG:4326", always_xy=True).transform(cx, cy)[1]
    expected = 4 * math.cos(math.radians(lat))
    check_sample_rasters([_region(tiny_region)], samples, chip_px=320, max_upsampling=4)
    factor = [
        float(m.group(1)) for w in _warnings(records) if (m := re.search(r"chips are upsampled ([\d.]+)×", w))
    ]
    assert factor and factor[0] == pytest.approx(expected, abs=0.06)
    with pytest.raises(ValueError, match=r"google\.tif: .*more than google\.max_upsampling = 3\b"):
        check_sample_rasters([_region(tiny_region)], samples, chip_px=320, max_upsampling=3)


# ---------------------------------------------------------------------------------------------
# 7. reproducible model files
# ---------------------------------------------------------------------------------------------


@dataclass
class _Result:
    model: torch.nn.Module
    kind: str = "gcn"
    model_name: str = "gcn"
    model_kwargs: dict = field(default_factory=lambda: {"hidden": 4})
    params: dict = field(default_factory=lambda: {"lr": 0.01})
    seed: int = 3
    history: pd.DataFrame = field(default_factory=lambda: pd.DataFrame({"epoch": [1, 2]}))
    best_epoch: int = 2
    best_val_accuracy: float = 0.5
    norm_mean: np.ndarray | None = None
    norm_std: np.ndarray | None = None
    feature_names: list = field(default_factory=lambda: ["r", "g", "b"])


def test_model_files_are_byte_identical(tmp_path):
    torch.manual_seed(0)
    result = _Result(torch.nn.Linear(3, 17))
    first, second = tmp_path / "a" / "gcn.pt", tmp_path / "b" / "other_name.pt"
    save_model(first, result, config={"strategy": "random"})
    save_model(second, result, config={"strategy": "random"})
    assert first.read_bytes() == second.read_bytes()
    record = read_model_record(second)
    torch.testing.assert_close(record["state_dict"]["weight"], result.model.weight.detach())
    # a different record gives different bytes (the comparison can fail)
    save_model(second, result, config={"strategy": "polygon"})
    assert first.read_bytes() != second.read_bytes()
