"""DAG-building benchmark: how long ``snakemake -n all`` takes for a large sample table.

Sets up, in a work folder, the state of a run whose ``samples`` checkpoint has finished on
N samples (default 20,000) spread over the demo's three regions:

* stand-ins for the demo inputs (``resources/demo/<city>/…``, empty files, older), so that
  ``demo_city`` does not need to run;
* ``results/samples.parquet`` per the contract (``df4lcz.io.samples``: consecutive sample ids,
  shards of ``shard_size`` samples within each region, EPSG:4326 footprints) and the
  checkpoint's two other outputs, newer than the inputs;

then times ``snakemake -n --rerun-triggers mtime all`` (a dry run: parsing, config validation, the checkpoint-dependent
input functions of ``rules/common.smk`` and the DAG of every chip/segment/graph job) and
prints the wall time, the job count and the bound 4·⌈N/shard_size⌉ + 50 the DAG must respect
(four per-shard rules plus a fixed number of per-strategy/per-model jobs).

Usage::

    .venv/bin/python bench/bench_dag.py [--samples 20000] [--shard-size 256] [--repeat 3]
    .venv/bin/python bench/bench_dag.py --profile     # cProfile of one dry run: where the time goes

Target: ≤ 30 s on 2 cores for 20,000 samples.
"""

from __future__ import annotations

import argparse
import math
import os
import pstats
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from df4lcz.demo import CITY_SITES  # noqa: E402
from df4lcz.demo.generate import utm_crs  # noqa: E402
from df4lcz.io.checks import write_checks  # noqa: E402
from df4lcz.io.class_loss import KEPT, write_class_loss  # noqa: E402
from df4lcz.io.samples import write_samples  # noqa: E402
from df4lcz.sampling.grid import assign_ids_and_shards, to_geodataframe  # noqa: E402

SQUARE_M = 320.0
DEMO_FILES = ("google.tif", "sentinel2.tif", "labels.gpkg", "lcz_truth.tif", "city.json")
N_REGIONS = 3  # the demo's default number of cities


def synthetic_samples(n: int, shard_size: int, seed: int = 0) -> pd.DataFrame:
    """``n`` samples over the demo's first three cities, laid on each city's 320 m UTM grid."""
    rng = np.random.default_rng(seed)
    per_region = np.full(N_REGIONS, n // N_REGIONS)
    per_region[: n % N_REGIONS] += 1
    tables = []
    from pyproj import Transformer

    for (name, lon, lat), count in zip(CITY_SITES[:N_REGIONS], per_region):
        crs = utm_crs(lon, lat)
        x0, y1 = Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(lon, lat)
        x0, y1 = math.floor(x0 / SQUARE_M) * SQUARE_M, math.floor(y1 / SQUARE_M) * SQUARE_M
        side = math.ceil(math.sqrt(count))
        cells = np.arange(count)
        xmin = x0 + (cells % side) * SQUARE_M
        ymax = y1 - (cells // side) * SQUARE_M
        polygon = (cells // side) // 4 * 1000 + (cells % side) // 4  # 4×4-cell polygons
        lcz_of_polygon = rng.integers(1, 18, size=int(polygon.max()) + 1)
        tables.append(
            pd.DataFrame(
                {
                    "region": name,
                    "polygon_id": polygon.astype(np.int64),
                    "lcz": lcz_of_polygon[polygon].astype(np.int64),
                    "crs": crs,
                    "xmin": xmin,
                    "ymin": ymax - SQUARE_M,
                    "xmax": xmin + SQUARE_M,
                    "ymax": ymax,
                }
            )
        )
    table = assign_ids_and_shards(tables, shard_size)
    table["shard"] = table["shard"].astype(np.int64)
    return table


def prepare(work: Path, n: int, shard_size: int) -> tuple[Path, int]:
    """Write the config, the demo stand-ins and the finished checkpoint; return (config, shards)."""
    config = yaml.safe_load((REPO / "config.yaml").read_text()) or {}
    config.setdefault("demo", {})["n_cities"] = N_REGIONS
    config.setdefault("samples", {})["shard_size"] = shard_size
    config_path = work / "bench_config.yaml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    old = time.time() - 3600
    for name, _, _ in CITY_SITES[:N_REGIONS]:
        folder = work / "resources" / "demo" / name
        folder.mkdir(parents=True, exist_ok=True)
        for f in DEMO_FILES:
            (folder / f).touch()
            os.utime(folder / f, (old, old))
    table = synthetic_samples(n, shard_size)
    results = work / "results"
    write_samples(results / "samples.parquet", to_geodataframe(table))
    (results / "figures").mkdir(parents=True, exist_ok=True)
    (results / "figures" / "samples_overview.png").touch()
    (results / "tables").mkdir(parents=True, exist_ok=True)
    table.groupby("lcz").size().rename("samples").to_csv(results / "tables" / "samples_per_class.csv")
    write_checks(results / "checks" / "samples.csv", [])  # the checkpoint's input-check record: no warning
    # its per-class account: every sample kept
    kept = table.groupby("lcz").size()
    write_class_loss(
        results / "checks" / "class_loss" / "samples.csv",
        pd.DataFrame({"lcz": kept.index, "reason": KEPT, "subject": "", "samples": kept.to_numpy()}),
    )
    return config_path, int(table["shard"].nunique())


def dry_run(work: Path, config: Path, profile_out: Path | None = None) -> tuple[float, str]:
    cmd = [sys.executable]
    if profile_out:
        cmd += ["-m", "cProfile", "-o", str(profile_out)]
    cmd += [
        "-m",
        "snakemake",
        "--snakefile",
        str(REPO / "Snakefile"),
        "--directory",
        str(work),
        "--configfile",
        str(config),
        "-n",
        "--quiet",
        "rules",
        # the stand-ins have no Snakemake metadata, and Snakemake 9 reruns such a job ("Code has
        # changed since last execution"), then the checkpoint after it: judge by mtime only
        "--rerun-triggers",
        "mtime",
        "--",
        "all",
    ]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    text = proc.stdout + proc.stderr
    if proc.returncode != 0:
        raise SystemExit(f"snakemake -n failed ({proc.returncode}):\n{text[-4000:]}")
    return elapsed, text


def job_stats(text: str) -> dict[str, int]:
    block = text.split("Job stats:", 1)[1]
    return {r: int(c) for r, c in re.findall(r"^(\w+)\s+(\d+)\s*$", block, flags=re.M)}


def print_profile(path: Path, top: int = 15) -> None:
    stats = pstats.Stats(str(path))
    total = stats.total_tt
    print(f"\ncProfile of one dry run ({total:.1f} s of CPU in the main process)")
    rows = []
    for (filename, line, func), (_cc, nc, tt, ct, _callers) in stats.stats.items():
        rows.append((ct, tt, nc, filename, line, func))
    print("  workflow code (rules/*.smk, Snakefile), by cumulative time:")
    workflow = [
        r for r in sorted(rows, reverse=True) if r[3].endswith((".smk", "Snakefile")) or "/rules/" in r[3]
    ]
    for ct, tt, nc, filename, line, func in workflow[:top]:
        if ct >= 0.005:
            print(f"    {ct:8.2f} s cum  {tt:7.2f} s own  {nc:>8} calls  {Path(filename).name}:{line} {func}")
    print("  overall, by own time:")
    for ct, tt, nc, filename, line, func in sorted(rows, key=lambda r: -r[1])[:top]:
        print(f"    {tt:8.2f} s own  {ct:8.2f} s cum  {nc:>8} calls  {Path(filename).name}:{line} {func}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samples", type=int, default=20_000, help="number of samples N")
    ap.add_argument("--shard-size", type=int, default=256, help="samples.shard_size (design default 256)")
    ap.add_argument("--repeat", type=int, default=3, help="timed dry runs (best and median printed)")
    ap.add_argument("--work", type=Path, help="work folder (default: a temporary one)")
    ap.add_argument("--profile", action="store_true", help="also profile one dry run with cProfile")
    ap.add_argument("--target-s", type=float, default=30.0, help="target DAG time (s)")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench_dag_") as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        config, n_shards = prepare(work, args.samples, args.shard_size)
        bound = 4 * math.ceil(args.samples / args.shard_size) + 50
        times, text = [], ""
        for _ in range(args.repeat):
            elapsed, text = dry_run(work, config)
            times.append(elapsed)
        stats = job_stats(text)
        total = stats.pop("total", sum(stats.values()))
        per_shard = {r: stats.get(r, 0) for r in ("chip_google", "segment", "graphs", "chip_sentinel2")}
        assert "samples" not in stats and "demo_city" not in stats, f"checkpoint not up to date: {stats}"
        assert all(c == n_shards for c in per_shard.values()), (
            f"expected {n_shards} jobs per shard rule: {stats}"
        )
        print(
            f"DAG benchmark: {args.samples} samples, shard_size {args.shard_size}, {n_shards} shards, "
            f"{N_REGIONS} regions, load average {os.getloadavg()[0]:.2f}"
        )
        print("  jobs per rule: " + ", ".join(f"{r} {c}" for r, c in stats.items()))
        print(
            f"  snakemake -n all: {min(times):.2f} s best, {float(np.median(times)):.2f} s median of {len(times)} "
            f"(target ≤ {args.target_s:g} s: {'met' if min(times) <= args.target_s else 'NOT met'})"
        )
        print(
            f"  jobs: {total} (bound 4·⌈N/shard_size⌉ + 50 = {bound}: "
            f"{'within' if total <= bound else 'EXCEEDED'})"
        )
        print(
            f"RESULT dag_seconds={min(times):.3f} jobs={total} bound={bound} samples={args.samples} "
            f"shards={n_shards}"
        )
        if args.profile or min(times) > args.target_s:
            prof = work / "dag.prof"
            dry_run(work, config, profile_out=prof)
            print_profile(prof)


if __name__ == "__main__":
    main()
