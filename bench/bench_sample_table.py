"""Memory of reading the sample table: one shard's rows vs the whole table, as N grows.

Every shard job (chip_google, chip_sentinel2, segment, graphs, the importers) starts by reading
its rows of ``results/samples.parquet``. The table is written in row groups of
``SAMPLES_ROW_GROUP`` rows and read with a filter on ``shard``, so a job decodes only its own
groups. For synthetic tables of N samples (the real columns and square footprints), each read
runs in its own child process; the figure is that child's peak RSS above its RSS after imports.

Usage:
    .venv/bin/python bench/bench_sample_table.py                    # N = 2,000, 20,000, 100,000
    .venv/bin/python bench/bench_sample_table.py --sizes 1000 500000
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

SHARD_SIZE = 256


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def child_write(path: str, n: int) -> None:
    import geopandas as gpd
    import numpy as np
    import shapely

    from df4lcz.io.samples import write_samples

    rng = np.random.default_rng(0)
    x, y = rng.uniform(500_000, 600_000, n), rng.uniform(2_500_000, 2_600_000, n)
    lon, lat = rng.uniform(113, 114, n), rng.uniform(22, 23, n)
    table = gpd.GeoDataFrame(
        {
            "sample_id": np.arange(n),
            "region": "r",
            "polygon_id": np.arange(n) // 10,
            "lcz": rng.integers(1, 18, n),
            "shard": np.arange(n) // SHARD_SIZE,
            "crs": "EPSG:32649",
            "xmin": x,
            "ymin": y,
            "xmax": x + 320,
            "ymax": y + 320,
        },
        geometry=shapely.box(lon, lat, lon + 0.003, lat + 0.003),
        crs=4326,
    )
    write_samples(path, table)


def child_read(path: str, how: str) -> None:
    from df4lcz.io.samples import read_samples

    before = _rss_mib()
    rows = read_samples(path, shard=3) if how == "shard" else read_samples(path)
    print(f"RESULT rows={len(rows)} mib={_rss_mib() - before:.1f}")


def run(*args: str) -> str:
    proc = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, check=True)
    return proc.stdout


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] in ("_write", "_read"):
        if sys.argv[1] == "_write":
            child_write(sys.argv[2], int(sys.argv[3]))
        else:
            child_read(sys.argv[2], sys.argv[3])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2_000, 20_000, 100_000])
    opts = parser.parse_args()
    print(f"{'N':>9} {'one shard (MiB)':>16} {'whole table (MiB)':>18}")
    with tempfile.TemporaryDirectory() as tmp:
        for n in opts.sizes:
            path = str(Path(tmp) / f"samples_{n}.parquet")
            run("_write", path, str(n))
            shard = float(run("_read", path, "shard").split("mib=")[1])
            whole = float(run("_read", path, "all").split("mib=")[1])
            print(f"{n:>9,} {shard:>16.1f} {whole:>18.1f}")
            print(f"RESULT n={n} shard_mib={shard:.1f} whole_mib={whole:.1f}")


if __name__ == "__main__":
    main()
