"""Benchmark of the LCZ map: windows/s of the map stage, and the job count of a city-scale map.

1. **Windows/s** (CPU, classical segmentation): renders one demo city, trains a Sentinel-2 model and
   a GCN for one epoch on windows of the city (random labels: the speed of inference does not depend
   on what the models learnt; the widths are the config defaults), then times
   :func:`df4lcz.mapping.region.map_region` (plan, every tile, gather) at ``--stride`` and prints
   windows/s (windows classified / wall seconds) and the seconds of the gather alone.
2. **Jobs of a 1,000 km² map** (a dry run): a work folder holding stand-ins for the demo inputs and
   the trained models (empty files) and the tile plan of a synthetic square region of ``--area-km2``
   at 100 m (``map.stride_m``) with the default ``map.tile_windows`` (:func:`df4lcz.mapping.tiles.plan_tiles`
   on the synthetic grid: a pure function), then ``snakemake -n --rerun-triggers mtime
   --allowed-rules lcz_map_plan lcz_map_tile lcz_map results/maps/<region>_lcz.tif``: the job count
   (tiles + one gather) must stay within a few hundred (``--max-jobs``, default 300).

Usage::

    .venv/bin/python bench/bench_map.py [--stride 160] [--patches 3] [--area-km2 1000] [--skip-speed]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "GDAL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import math  # noqa: E402
import re  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import shapely  # noqa: E402
import yaml  # noqa: E402
from rasterio.transform import Affine  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from df4lcz.config import schema_defaults  # noqa: E402
from df4lcz.demo import CITY_SITES  # noqa: E402
from df4lcz.mapping.grid import WINDOW_M, MapGrid  # noqa: E402
from df4lcz.mapping.tiles import plan_tiles, write_plan  # noqa: E402

#: Stand-ins of one demo city's files (bench_dag.py does the same).
DEMO_FILES = ("google.tif", "sentinel2.tif", "labels.gpkg", "lcz_truth.tif", "city.json")
#: Stride of the city-scale map (m): the LCZ community's 100 m maps.
CITY_STRIDE_M = 100.0
#: Windows used to train the stand-in models of the speed benchmark.
TRAIN_WINDOWS = 24


def train_models(city: Path, work: Path, segment: dict, graphs: dict, google: dict) -> tuple[Path, Path]:
    """One-epoch Sentinel-2 model and GCN (default widths) on windows of the city, random labels."""
    from df4lcz.chipping.google.chips import chip_google
    from df4lcz.chipping.sentinel2 import chip_sentinel2
    from df4lcz.graphs.build import build_graphs, graph_settings
    from df4lcz.graphs.pyg import graphs_to_pyg
    from df4lcz.io.models import save_model
    from df4lcz.mapping.grid import candidate_rows, map_grid, window_table
    from df4lcz.segmentation.labels import segment_images
    from df4lcz.segmentation.protocol import make_segmenter
    from df4lcz.training import train_gcn, train_s2

    grid, coverage = map_grid(city / "google.tif", city / "sentinel2.tif", WINDOW_M, None)
    flat = np.concatenate(list(candidate_rows(grid, coverage)))[:TRAIN_WINDOWS]
    table = window_table(grid, flat)
    _, g_img, _ = chip_google(
        city / "google.tif", table, chip_px=google["chip_px"], resampling=google["resampling"]
    )
    _, s_img, _ = chip_sentinel2(
        city / "sentinel2.tif", table, None, schema_defaults("sentinel2")["resampling"]
    )
    y = np.random.default_rng(0).integers(1, 18, size=len(flat))
    train = schema_defaults("train")
    s2 = train_s2("resnet11_3d", (s_img, y), (s_img, y), {**train["s2"], "epochs": 1}, seed=0, device="cpu")
    segmenter = make_segmenter("classical", classical=segment["classical"])
    masks = segment_images(g_img, segmenter, segment["min_area"], segment["max_masks"])
    gs = build_graphs(masks, g_img, **graph_settings(graphs))
    gcn = train_gcn(
        graphs_to_pyg(gs, y),
        graphs_to_pyg(gs, y),
        {**train["gcn"], "epochs": 1},
        seed=0,
        device="cpu",
        feature_names=gs.feature_names,
    )
    save_model(work / "s2.pt", s2)
    save_model(work / "gcn.pt", gcn)
    return work / "s2.pt", work / "gcn.pt"


def map_speed(work: Path, stride: float, patches: int) -> None:
    """Time the map stage on a demo city (section 1 of the module docstring)."""
    from df4lcz.demo import generate_demo
    from df4lcz.demo.generate import DemoSettings
    from df4lcz.mapping.region import map_region

    generate_demo(
        work,
        DemoSettings.from_config({**schema_defaults("demo"), "n_cities": 1, "patches_per_side": patches}),
    )
    city = work / CITY_SITES[0][0]
    segment = {**schema_defaults("segment"), "backend": "classical"}
    graphs, google, map_cfg = schema_defaults("graphs"), schema_defaults("google"), schema_defaults("map")
    s2_model, gcn_model = train_models(city, work, segment, graphs, google)
    t0 = time.perf_counter()
    result = map_region(
        city / "google.tif",
        city / "sentinel2.tif",
        s2_model,
        gcn_model,
        work / "map.tif",
        work / "map.png",
        work / "agreement.csv",
        working_crs=None,
        stride_m=stride,
        alpha=schema_defaults("fusion")["alpha"],
        segment_params=segment,
        graph_params=graphs,
        google_params=google,
        sentinel2_params=schema_defaults("sentinel2"),
        band_names=None,
        label_column="lcz",
        label_map={},
        device="cpu",
        batch_size=map_cfg["batch_size"],
        labels=city / "labels.gpkg",
        tile_windows=map_cfg["tile_windows"],
    )
    seconds = time.perf_counter() - t0
    t1 = time.perf_counter()
    from df4lcz.mapping.region import gather_map, plan_map  # the gather alone, on the tiles just written

    plan = plan_map(
        city / "google.tif",
        city / "sentinel2.tif",
        None,
        stride_m=stride,
        working_crs=None,
        tile_windows=map_cfg["tile_windows"],
    )
    grid = plan.grid
    tiles = [work / "map_tiles" / f"{t.id}.tif" for t in plan.tiles]
    gather_map(
        plan,
        tiles,
        work / "g_tiles.vrt",
        work / "g.tif",
        work / "g.png",
        work / "g.csv",
        work / "g.qml",
        smooth_sigma_m=2 * stride,
    )
    gather_s = time.perf_counter() - t1
    print(
        f"map stage on a demo city ({patches} × {patches} patches, classical segmentation, CPU, "
        f"{os.environ['OMP_NUM_THREADS']} thread(s)): {grid.width} × {grid.height} pixels of {stride:g} m, "
        f"{result.n_windows} windows in {result.n_tiles} tile(s)"
    )
    print(f"  map_region: {seconds:.1f} s, {result.n_mapped / seconds:.2f} windows/s")
    print(f"  gather alone (with the Gaussian filter, sigma {2 * stride:g} m): {gather_s:.2f} s")
    print(f"RESULT map_windows_per_s={result.n_mapped / seconds:.3f} windows={result.n_mapped}")


def synthetic_plan(area_km2: float, stride: float, tile_windows: int):
    """Tile plan of a square region of ``area_km2`` in UTM 50N whose every window is inside both rasters."""
    side_m = math.sqrt(area_km2) * 1000.0
    n = math.ceil(side_m / stride)
    grid = MapGrid("EPSG:32650", Affine(stride, 0.0, 400_000.0, 0.0, -stride, 3_500_000.0), n, n, stride)
    h = WINDOW_M / 2
    coverage = shapely.box(
        400_000.0 - h, 3_500_000.0 - n * stride - h, 400_000.0 + n * stride + h, 3_500_000.0 + h
    )
    return plan_tiles(grid, coverage, tile_windows)


def city_jobs(work: Path, area_km2: float, max_jobs: int) -> None:
    """Dry-run job count of a city-scale map (section 2 of the module docstring)."""
    tile_windows = schema_defaults("map")["tile_windows"]
    config = yaml.safe_load((REPO / "config.yaml").read_text()) or {}
    config.setdefault("demo", {})["n_cities"] = 1
    config.setdefault("map", {}).update({"stride_m": CITY_STRIDE_M, "tile_windows": tile_windows})
    config.setdefault("segment", {})["backend"] = "classical"
    config_path = work / "bench_config.yaml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    region = CITY_SITES[0][0]
    old = time.time() - 3600
    folder = work / "resources" / "demo" / region
    folder.mkdir(parents=True, exist_ok=True)
    for f in DEMO_FILES:
        (folder / f).touch()
        os.utime(folder / f, (old, old))
    strategy = (
        config.get("map", {}).get("strategy")
        or (config.get("splits", {}).get("strategies") or schema_defaults("splits")["strategies"])[0]
    )
    models = work / "results" / "models" / strategy
    models.mkdir(parents=True, exist_ok=True)
    for f in ("resnet11_3d.pt", "gcn.pt"):
        (models / f).touch()
    plan = synthetic_plan(area_km2, CITY_STRIDE_M, tile_windows)
    write_plan(work / "results" / "maps" / "tiles" / region / "plan.json", plan)
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "--snakefile",
        str(REPO / "Snakefile"),
        "--directory",
        str(work),
        "--configfile",
        str(config_path),
        "-n",
        "--quiet",
        "rules",
        "--rerun-triggers",
        "mtime",
        "--allowed-rules",
        "lcz_map_plan",
        "lcz_map_tile",
        "lcz_map",
        "--",
        f"results/maps/{region}_lcz.tif",
    ]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    text = proc.stdout + proc.stderr
    if proc.returncode != 0:
        raise SystemExit(f"snakemake -n failed ({proc.returncode}):\n{text[-4000:]}")
    block = text.split("Job stats:", 1)[1]
    stats = {r: int(c) for r, c in re.findall(r"^(\w+)\s+(\d+)\s*$", block, flags=re.M)}
    total = stats.pop("total", sum(stats.values()))
    assert stats.get("lcz_map_tile") == len(plan.tiles) and stats.get("lcz_map") == 1, stats
    print(
        f"city-scale map (dry run): {area_km2:g} km² at {CITY_STRIDE_M:g} m = {plan.grid.width} × "
        f"{plan.grid.height} pixels, {plan.n_windows:,} windows; map.tile_windows {tile_windows} "
        f"({plan.tile_px} × {plan.tile_px}-pixel tiles)"
    )
    print("  jobs per rule: " + ", ".join(f"{r} {c}" for r, c in stats.items()) + f"; DAG in {seconds:.1f} s")
    print(f"  jobs: {total} (bound {max_jobs}: {'within' if total <= max_jobs else 'EXCEEDED'})")
    print(f"RESULT map_jobs={total} tiles={len(plan.tiles)} windows={plan.n_windows} bound={max_jobs}")
    if total > max_jobs:
        raise SystemExit(1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stride", type=float, default=160.0, help="map.stride_m of the speed benchmark (m)")
    ap.add_argument("--patches", type=int, default=3, help="demo.patches_per_side of the demo city")
    ap.add_argument("--area-km2", type=float, default=1000.0, help="area of the city-scale region (km²)")
    ap.add_argument("--max-jobs", type=int, default=300, help="bound on the city-scale map's job count")
    ap.add_argument("--skip-speed", action="store_true", help="only the dry run")
    ap.add_argument("--work", type=Path, help="work folder (default: a temporary one)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_map_") as tmp:
        work = args.work or Path(tmp)
        (work / "dag").mkdir(parents=True, exist_ok=True)
        city_jobs(work / "dag", args.area_km2, args.max_jobs)
        if not args.skip_speed:
            (work / "speed").mkdir(parents=True, exist_ok=True)
            map_speed(work / "speed", args.stride, args.patches)


if __name__ == "__main__":
    main()
