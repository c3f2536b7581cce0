"""Peak memory of one chip, segment and graph job, for a small city and a city of 4× its area.

The per-shard jobs (``chip_google``, ``chip_sentinel2``, ``segment``, ``graphs``) must stream:
their memory must depend on the shard size, never on the mosaic size or on the total number of
samples N. This benchmark checks that claim end to end, with the workflow's own scripts:

1. two demo cities are generated (``workflow_scripts/demo_city.py``) into a work folder, with
   ``patches_per_side`` ``--small`` and ``--large`` (default 4 and 8), fixed patch sizes
   (``--patch-cells 3 3``) and every patch labelled (``labelled_fraction`` 1), so that the large
   city has exactly 4× the area and ≈4× the samples;
2. the ``samples`` checkpoint (``workflow_scripts/samples.py``) lays and shards each city's
   samples with the same ``samples.shard_size`` (``--shard-size``, default 64);
3. for one shard of each city (``--shard``, default 0, a full shard in both), each of
   ``chip_google → segment → graphs`` and ``chip_sentinel2`` runs exactly as Snakemake runs it
   (the workflow script with a saved ``<log>.job.json``, params = the validated config defaults,
   segment backend ``classical``), ``--repeat`` times (default 2; the lowest peak is kept);
4. two controls: ``(sample_table)``, a child that only reads the whole sample table and selects
   the shard (the first step every shard job shares, the one part that depends on N); and the
   small city's shard cut from the large city's mosaics (both cities share their centre), which
   changes the mosaic size alone: same squares, same N.

Every job runs in its own child process (``python bench/bench_memory.py --child KIND JOB.json``:
the child imports the job's modules, then runs the workflow script with ``runpy``), and its peak
RSS is ``ru_maxrss`` of that child as ``os.wait4`` reports it. For each job kind a child that
only imports the same modules (the script's imports plus the ones its functions import lazily:
matplotlib and scikit-image for ``segment``) gives the baseline, so the job's own increment
(peak − baseline) is visible. The ratio large/small of the peak and of the increment follows;
values near 1.0 show that memory does not grow with the mosaic size or with N.

Notes on the measurement:

* This process stays small on purpose (standard library only): on Linux a child's
  ``ru_maxrss`` includes the resident size of the parent at the moment of ``fork``/``vfork``
  (the pre-``exec`` image), so a parent holding a large array would inflate every figure. The
  parent's own peak is printed as the floor below which no figure can fall.
* Children run with one thread per library (``OMP``/``OPENBLAS``/``MKL``/``GDAL_NUM_THREADS=1``;
  the rules declare ``threads: 1``). ``GDAL_CACHEMAX`` is left as the caller set it (GDAL's
  default: 5% of RAM), as in the workflow: decoded tiles the shard's windows touch stay cached.
* Cities are generated at ``--ground-m 2`` (the material map; the Google raster keeps its
  ≈1.19 m pixels) to keep the run short; the files land in a temporary folder that is removed
  at the end unless ``--keep`` (or ``--work DIR``, which also reuses cities already there).

Usage::

    .venv/bin/python bench/bench_memory.py                      # ≈1.5 min on 2 cores
    .venv/bin/python bench/bench_memory.py --repeat 1           # ≈1 min
    .venv/bin/python bench/bench_memory.py --small 3 --large 6 --shard-size 32
    .venv/bin/python bench/bench_memory.py --keep               # keep the cities and shard files

The machine-readable lines ``RATIO <job> peak=… job=…``, ``RATIO <chipper> same_squares_mosaic=…``
and ``RATIO samples n=… area=…`` are what ``bench/run_all.py`` picks up.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import runpy
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
SCRIPTS = REPO / "workflow_scripts"
CITY = "demo_city_1"  # plan_cities(n_cities=1) lays out the first demo site only

THREAD_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "GDAL_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)

#: Shard job kinds measured, in pipeline order.
JOBS = ("chip_google", "chip_sentinel2", "segment", "graphs")
#: Diagnostic row: only the step every shard job shares, ``read_samples`` of the whole table plus
#: the selection of the shard's rows (the first line of ``df4lcz.stages.chip_google.run``).
TABLE = "sample_table"

#: Modules each child imports before its job runs: the workflow script's own imports plus what the
#: package functions it calls import lazily (so that the job's increment is data, not code).
IMPORTS: dict[str, tuple[str, ...]] = {
    "chip_google": ("df4lcz.stages.chip_google", "df4lcz.logs", "df4lcz.io.samples", "df4lcz.scripting"),
    "chip_sentinel2": (
        "df4lcz.stages.chip_sentinel2",
        "df4lcz.logs",
        "df4lcz.io.samples",
        "df4lcz.scripting",
    ),
    "segment": (
        "df4lcz.stages.segment",
        "df4lcz.segmentation.classical",
        "df4lcz.logs",
        "df4lcz.scripting",
        "df4lcz.io.chips",
        "df4lcz.io.samples",
        "scipy.ndimage",
        "skimage.segmentation",
        "matplotlib",
        "matplotlib.figure",
        "matplotlib.backends.backend_agg",
    ),
    "graphs": (
        "df4lcz.stages.graphs",
        "df4lcz.logs",
        "df4lcz.scripting",
        "df4lcz.io.chips",
        "df4lcz.io.samples",
        "df4lcz.io.masks",
    ),
    TABLE: ("df4lcz.io.samples",),
    # set-up steps (not in the table)
    "demo_city": ("df4lcz.demo", "df4lcz.demo.generate", "df4lcz.logs", "df4lcz.scripting"),
    "samples": ("df4lcz.stages.samples", "df4lcz.logs", "df4lcz.scripting"),
}


def _maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


# --------------------------------------------------------------------------------------------
# Child side (heavy imports happen only here)
# --------------------------------------------------------------------------------------------


def child_main(kind: str, job_json: str | None = None, shard: str | None = None) -> None:
    """Import ``kind``'s modules; then, unless ``job_json`` is None, run its workflow script.

    For ``sample_table``, ``job_json`` is the sample table: read it whole, keep ``shard``'s rows.
    """
    import importlib

    sys.path.insert(0, str(SCRIPTS))  # `import _bootstrap` in the scripts
    for name in IMPORTS[kind]:
        importlib.import_module(name)
    if kind == "segment":
        import matplotlib

        matplotlib.use("Agg")
    print(f"CHILD after_imports_mib={_maxrss_mib():.1f}", flush=True)
    if job_json is None:
        return
    if kind == TABLE:
        from df4lcz.io.samples import read_samples

        table = read_samples(job_json)
        rows = table[table["shard"] == int(shard or 0)]
        print(f"CHILD end_mib={_maxrss_mib():.1f} n={len(table)} shard_n={len(rows)}", flush=True)
        return
    script = SCRIPTS / f"{kind}.py"
    sys.argv = [str(script), job_json]
    runpy.run_path(str(script), run_name="__main__")
    print(f"CHILD end_mib={_maxrss_mib():.1f}", flush=True)


def child_prepare(out: str, settings: str) -> None:
    """Write the validated config (all defaults filled in) of each city size to ``out``."""
    from df4lcz.config import validate_config

    result = {}
    for size, overrides in json.loads(settings).items():
        result[size] = validate_config(overrides)
    Path(out).write_text(json.dumps(result, indent=1), encoding="utf-8")


def child_inspect(size_dir: str, shard: int) -> None:
    """Print (JSON) N, shards, the measured shard's size and both rasters' sizes of one city."""
    import numpy as np
    import rasterio

    from df4lcz.io.samples import read_samples

    root = Path(size_dir)
    table = read_samples(root / "results" / "samples.parquet")
    info = {
        "n": int(len(table)),
        "shards": int(table["shard"].nunique()),
        "shard_n": int((table["shard"] == shard).sum()),
    }
    city = json.loads((root / "resources" / "demo" / CITY / "city.json").read_text())
    xmin, ymin, xmax, ymax = city["bounds"]
    info["area_km2"] = (xmax - xmin) * (ymax - ymin) / 1e6
    info["side_km"] = f"{(xmax - xmin) / 1e3:.2f} × {(ymax - ymin) / 1e3:.2f}"
    for kind in ("google", "sentinel2"):
        path = root / "resources" / "demo" / CITY / f"{kind}.tif"
        with rasterio.open(path) as src:
            itemsize = np.dtype(src.dtypes[0]).itemsize
            info[kind] = {
                "px": f"{src.width}×{src.height}",
                "bands": src.count,
                "mib": src.width * src.height * src.count * itemsize / 2**20,
            }
    print(json.dumps(info))


# --------------------------------------------------------------------------------------------
# Parent side (standard library only)
# --------------------------------------------------------------------------------------------


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    for var in THREAD_VARS:
        env[var] = "1"
    env.setdefault("MPLBACKEND", "Agg")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "src"), env.get("PYTHONPATH")]))
    return env


def run_child(args: list[str], cwd: Path) -> tuple[int, str, float, float]:
    """Run ``bench_memory.py ARGS`` as a child; return (exit status, output, peak RSS MiB, wall s)."""
    with tempfile.TemporaryFile(mode="w+") as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=_child_env(),
        )
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read()
    return proc.returncode, text, usage.ru_maxrss / 1024.0, wall


def measure(args: list[str], cwd: Path, repeat: int, what: str) -> tuple[float, str, str, float]:
    """Run a child ``repeat`` times; return (lowest peak MiB, all peaks as text, last output, mean wall s)."""
    peaks, walls, text = [], [], ""
    for _ in range(max(1, repeat)):
        rc, text, peak, wall = run_child(args, cwd)
        _check(rc, text, what)
        peaks.append(peak)
        walls.append(wall)
    runs = f" (runs: {', '.join(f'{p:.1f}' for p in peaks)})" if len(peaks) > 1 else ""
    return min(peaks), runs, text, sum(walls) / len(walls)


def _check(rc: int, text: str, what: str) -> None:
    if rc != 0:
        tail = "\n".join("    " + line for line in text.rstrip().splitlines()[-30:])
        sys.exit(f"{what} failed (exit {rc}):\n{tail}")


def _files(items: dict[str, str | list[str]]) -> dict[str, object]:
    """A ``NamedFiles`` JSON (df4lcz.scripting): flat list of paths plus the names."""
    flat: list[str] = []
    for value in items.values():
        flat.extend(value if isinstance(value, list) else [value])
    return {"items": flat, "names": items}


def write_job(
    root: Path, rule: str, inputs: dict, outputs: dict, params: dict, wildcards: dict, log_name: str
) -> Path:
    """Write ``logs/<rule>/<log_name>.log.job.json`` the way ``load_job`` saves a Snakemake job."""
    log = root / "logs" / rule / f"{log_name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    job = {
        "rule": rule,
        "input": _files(inputs),
        "output": _files(outputs),
        "params": params,
        "wildcards": wildcards,
        "log": {"items": [str(log)], "names": {}},
        "threads": 1,
        "resources": {},
    }
    path = Path(f"{log}.job.json")
    path.write_text(json.dumps(job, indent=1), encoding="utf-8")
    return path


def chip_counts(job_json: Path) -> str:
    """``"64 chips, 0 excluded"`` from a chip job's log (empty for other jobs)."""
    log = Path(str(job_json)[: -len(".job.json")])
    found = re.findall(r"shard \S+: (\d+) chips, (\d+) excluded", log.read_text()) if log.exists() else []
    return f"{found[-1][0]} chips, {found[-1][1]} excluded; " if found else ""


def _city_settings(demo: Path) -> dict | None:
    """The demo settings a generated city was made with (``city.json``), or None."""
    try:
        return json.loads((demo / "city.json").read_text())["settings"]
    except (OSError, ValueError, KeyError):
        return None


def segment_params(cfg: dict) -> dict:
    """The ``segment`` slice the workflow passes (rules/common.smk: segment_params)."""
    seg = cfg["segment"]
    keep = {k: seg[k] for k in ("backend", "min_area", "max_masks", "overlay_samples_per_class")}
    keep[seg["backend"]] = seg[seg["backend"]]
    return keep


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--small", type=int, default=4, help="patches_per_side of the small city")
    ap.add_argument(
        "--large", type=int, default=8, help="patches_per_side of the large city (2× small → 4× area)"
    )
    ap.add_argument(
        "--patch-cells",
        type=int,
        nargs=2,
        default=[3, 3],
        metavar=("MIN", "MAX"),
        help="demo.patch_cells (equal values: city area exactly ∝ patches_per_side²)",
    )
    ap.add_argument("--ground-m", type=float, default=2.0, help="demo.ground_m (material map resolution)")
    ap.add_argument("--seed", type=int, default=7, help="demo.seed")
    ap.add_argument("--shard-size", type=int, default=64, help="samples.shard_size, the same for both cities")
    ap.add_argument("--shard", type=int, default=0, help="the shard measured in each city")
    ap.add_argument(
        "--repeat",
        type=int,
        default=2,
        help="runs of every measured child; the lowest peak is kept (segment varies by ±10 MiB)",
    )
    ap.add_argument("--work", type=Path, help="work folder (kept; cities already there are reused)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary work folder")
    ap.add_argument("--child", nargs="+", metavar="ARG", help=argparse.SUPPRESS)  # KIND [JOB.json [SHARD]]
    ap.add_argument("--child-prepare", nargs=2, help=argparse.SUPPRESS)
    ap.add_argument("--child-inspect", nargs=2, help=argparse.SUPPRESS)
    opts = ap.parse_args()
    if opts.child:
        child_main(*opts.child[:3])
        return
    if opts.child_prepare:
        child_prepare(*opts.child_prepare)
        return
    if opts.child_inspect:
        child_inspect(opts.child_inspect[0], int(opts.child_inspect[1]))
        return

    t_all = time.perf_counter()
    work = opts.work or Path(tempfile.mkdtemp(prefix="bench_memory_"))
    work = work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    keep = opts.keep or opts.work is not None
    sizes = {"small": opts.small, "large": opts.large}
    try:
        _run(opts, work, sizes)
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
    where = f"kept in {work}" if keep else "removed"
    print(f"\ntotal {time.perf_counter() - t_all:.0f} s; work folder {where}")


def _run(opts: argparse.Namespace, work: Path, sizes: dict[str, int]) -> None:
    print(
        f"bench_memory: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; "
        f"GDAL_CACHEMAX={os.environ.get('GDAL_CACHEMAX', 'unset (GDAL default)')}; work folder {work}",
        flush=True,
    )
    overrides = {
        size: {
            "dataset": "demo",
            "seed": 42,
            "demo": {
                "seed": opts.seed,
                "n_cities": 1,
                "patches_per_side": pps,
                "patch_cells": list(opts.patch_cells),
                "ground_m": opts.ground_m,
                "labelled_fraction": 1.0,
            },
            "samples": {"shard_size": opts.shard_size},
            "segment": {"backend": "classical"},
        }
        for size, pps in sizes.items()
    }
    cfg_path = work / "configs.json"
    rc, text, _, _ = run_child(["--child-prepare", str(cfg_path), json.dumps(overrides)], work)
    _check(rc, text, "config validation")
    configs = json.loads(cfg_path.read_text())

    # 1. baselines: children that only import each job's modules
    baseline: dict[str, float] = {}
    for kind in (*JOBS, TABLE):
        peak, runs, text, wall = measure(["--child", kind], work, opts.repeat, f"imports of {kind}")
        baseline[kind] = peak
        print(f"  imports only, {kind:<15} peak RSS {peak:7.1f} MiB{runs}, {wall:.1f} s", flush=True)

    peaks: dict[str, dict[str, float]] = {size: {} for size in sizes}
    info: dict[str, dict] = {}
    shard = str(opts.shard)
    for size in sizes:
        cfg = configs[size]
        root = work / size
        demo = root / "resources" / "demo" / CITY
        res = root / "results"
        city_files = {
            k: str(demo / f)
            for k, f in (
                ("google", "google.tif"),
                ("sentinel2", "sentinel2.tif"),
                ("labels", "labels.gpkg"),
                ("truth", "lcz_truth.tif"),
                ("meta", "city.json"),
            )
        }
        # 2. the city (reused from --work when its settings match) and its samples (set-up; not measured)
        if _city_settings(demo) != cfg["demo"]:
            job = write_job(root, "demo_city", {}, city_files, {"demo": cfg["demo"]}, {"city": CITY}, CITY)
            rc, text, peak, wall = run_child(["--child", "demo_city", str(job)], root)
            _check(rc, text, f"{size} city generation")
            print(
                f"  {size}: demo_city (patches_per_side {sizes[size]}) {wall:.1f} s, peak RSS {peak:.0f} MiB",
                flush=True,
            )
        samples = str(res / "samples.parquet")
        # the samples checkpoint: always rerun (cheap; the shard size may differ from a kept run's)
        from df4lcz.chipping.google.sources import GoogleSpec  # the parent imports df4lcz only here
        from df4lcz.config import region_defaults

        region = {
            **region_defaults(),
            "name": CITY,
            "google": city_files["google"],
            "sentinel2": city_files["sentinel2"],
            "labels": city_files["labels"],
            "label_column": "lcz",
            "label_map": {},
            "working_crs": None,
            "s2_band_names": None,
        }
        job = write_job(
            root,
            "samples",
            {
                "google": [city_files["google"]],
                "sentinel2": [city_files["sentinel2"]],
                "labels": [city_files["labels"]],
            },
            {
                "table": samples,
                "overview": str(res / "figures" / "samples_overview.png"),
                "summary": str(res / "tables" / "samples_per_class.csv"),
                "checks": str(res / "checks" / "samples.csv"),
                "class_loss": str(res / "checks" / "class_loss" / "samples.csv"),
            },
            {
                "samples": cfg["samples"],
                "regions": [region],
                "seed": cfg["seed"],
                # as rules/samples.smk passes them
                "google": {k: cfg["google"][k] for k in ("chip_px", "max_upsampling")},
            },
            {},
            "samples",
        )
        rc, text, peak, wall = run_child(["--child", "samples", str(job)], root)
        _check(rc, text, f"{size} samples")
        rc, text, _, _ = run_child(["--child-inspect", str(root), shard], root)
        _check(rc, text, f"{size} inspection")
        info[size] = json.loads(text.strip().splitlines()[-1])
        if info[size]["shard_n"] != opts.shard_size:
            sys.exit(
                f"{size} city: shard {shard} holds {info[size]['shard_n']} samples, not "
                f"{opts.shard_size}; use a larger --small or a smaller --shard-size"
            )

        # 3. the four shard jobs, each in its own child
        chips_g = str(res / "chips" / "google" / f"{shard}.h5")
        chips_s = str(res / "chips" / "sentinel2" / f"{shard}.h5")
        masks = str(res / "masks" / f"{shard}.h5")
        jobs = {
            "chip_google": (
                {"samples": samples, "raster": city_files["google"]},
                {"chips": chips_g},
                {"google": cfg["google"], "google_input": GoogleSpec.from_region(region, 0).as_params()},
            ),
            "chip_sentinel2": (
                {"samples": samples, "raster": city_files["sentinel2"]},
                {"chips": chips_s},
                {
                    "sentinel2": cfg["sentinel2"],  # as rules/sentinel2.smk passes them
                    "region": {
                        "sentinel2": city_files["sentinel2"],
                        "s2_band_names": None,
                        "s2_scale": None,
                        "s2_offset": None,
                    },
                },
            ),
            "segment": (
                {"chips": chips_g, "samples": samples, "checkpoint": []},
                {"masks": masks, "overlay": str(res / "figures" / "masks" / f"{shard}.png")},
                {"segment": segment_params(cfg)},
            ),
            "graphs": (
                {"masks": masks, "chips": chips_g, "samples": samples},
                {
                    "graphs": str(res / "graphs" / f"{shard}.h5"),
                    "checks": str(res / "checks" / "graphs" / f"{shard}.csv"),
                },
                {"graphs": cfg["graphs"]},
            ),
        }
        for kind in JOBS:
            inputs, outputs, params = jobs[kind]
            job = write_job(root, kind, inputs, outputs, params, {"shard": shard}, shard)
            peak, runs, text, wall = measure(["--child", kind, str(job)], root, opts.repeat, f"{size} {kind}")
            peaks[size][kind] = peak
            after = next(
                (
                    line.split("=")[1]
                    for line in text.splitlines()
                    if line.startswith("CHILD after_imports_mib=")
                ),
                "?",
            )
            print(
                f"  {size}: {kind:<15} peak RSS {peak:7.1f} MiB{runs}, after its imports {after} MiB; "
                f"{chip_counts(job)}{wall:.1f} s",
                flush=True,
            )
        peak, runs, text, wall = measure(
            ["--child", TABLE, samples, shard], root, opts.repeat, f"{size} {TABLE}"
        )
        peaks[size][TABLE] = peak
        print(
            f"  {size}: {TABLE:<15} peak RSS {peak:7.1f} MiB{runs}, read_samples of all "
            f"{info[size]['n']} rows + shard selection; {wall:.1f} s",
            flush=True,
        )

    # 4. the small city's shard (the same squares: the cities share their centre) cut from the
    #    large city's mosaics: mosaic size alone changes, squares and N stay
    same: dict[str, float] = {}
    root = work / "large"
    for kind, raster in (("chip_google", "google.tif"), ("chip_sentinel2", "sentinel2.tif")):
        job = write_job(
            root,
            kind,
            {
                "samples": str(work / "small" / "results" / "samples.parquet"),
                "raster": str(root / "resources" / "demo" / CITY / raster),
            },
            {"chips": str(root / "results" / "same_squares" / kind / f"{shard}.h5")},
            {
                "google": configs["large"]["google"],
                "google_input": GoogleSpec.from_region(
                    {**region_defaults(), "google": str(root / "resources" / "demo" / CITY / raster)}, 0
                ).as_params(),
            }
            if kind == "chip_google"
            else {
                "sentinel2": configs["large"]["sentinel2"],
                "region": {
                    "sentinel2": str(root / "resources" / "demo" / CITY / raster),
                    "s2_band_names": None,
                    "s2_scale": None,
                    "s2_offset": None,
                },
            },
            {"shard": shard},
            f"{shard}_small_city_squares",
        )
        peak, runs, text, wall = measure(
            ["--child", kind, str(job)],
            root,
            opts.repeat,
            f"{kind} of the small city's squares on the large mosaic",
        )
        same[kind] = peak
        print(
            f"  small city's squares, large mosaic: {kind:<15} peak RSS {peak:7.1f} MiB{runs}; "
            f"{chip_counts(job)}{wall:.1f} s",
            flush=True,
        )

    _report(opts, sizes, baseline, peaks, info, same)


def _report(
    opts: argparse.Namespace,
    sizes: dict[str, int],
    baseline: dict[str, float],
    peaks: dict[str, dict[str, float]],
    info: dict[str, dict],
    same: dict[str, float],
) -> None:
    small, large = info["small"], info["large"]
    print(
        f"\nPeak RSS of ONE shard job (shard {opts.shard}, {opts.shard_size} samples, the same in both "
        "cities), MiB: ru_maxrss of the job's own process (os.wait4)"
    )
    rows = [
        (
            "city",
            "patches_per_side",
            "side km",
            "area km²",
            "Google raster (decoded)",
            "S2 raster (decoded)",
            "samples N",
            "shards",
        )
    ]
    for size in sizes:
        c = info[size]
        rows.append(
            (
                size,
                str(sizes[size]),
                c["side_km"],
                f"{c['area_km2']:.1f}",
                f"{c['google']['px']} ({c['google']['mib']:.0f} MiB)",
                f"{c['sentinel2']['px']} ({c['sentinel2']['mib']:.0f} MiB)",
                str(c["n"]),
                str(c["shards"]),
            )
        )
    rows.append(
        (
            "large/small",
            "",
            "",
            f"{large['area_km2'] / small['area_km2']:.2f}",
            "",
            "",
            f"{large['n'] / small['n']:.2f}",
            "",
        )
    )
    _table(rows)
    print()
    rows = [
        (
            "job",
            "imports only",
            "small peak",
            "large peak",
            "small job",
            "large job",
            "peak large/small",
            "job large/small",
        )
    ]
    ratios = {}
    for kind in (*JOBS, TABLE):
        ps, pl = peaks["small"][kind], peaks["large"][kind]
        js, jl = ps - baseline[kind], pl - baseline[kind]
        rp, rj = pl / ps, (jl / js if js > 0 else float("nan"))
        ratios[kind] = (rp, rj, ps, pl, js, jl)
        label = f"({kind})" if kind == TABLE else kind
        rows.append(
            (
                label,
                f"{baseline[kind]:.1f}",
                f"{ps:.1f}",
                f"{pl:.1f}",
                f"{js:.1f}",
                f"{jl:.1f}",
                f"{rp:.2f}",
                f"{rj:.2f}",
            )
        )
    _table(rows)
    print(
        "  job = peak − imports only (the job's own increment); "
        f"this process's own peak (a floor for every child): {_maxrss_mib():.1f} MiB"
    )
    print(
        f"  ({TABLE}): diagnostic, not a job: only read_samples() of the whole table (all N rows) and the "
        "shard's selection, the first step of every shard job above"
    )
    print()
    print(
        f"Mosaic size alone: the small city's shard {opts.shard} (the same {opts.shard_size} squares, "
        f"the same table of N = {small['n']}) cut from the small and from the large city's mosaic"
    )
    rows = [("job", "small mosaic", "large mosaic", "large/small")]
    for kind, peak in same.items():
        ref = peaks["small"][kind]
        rows.append((kind, f"{ref:.1f}", f"{peak:.1f}", f"{peak / ref:.2f}"))
    _table(rows)
    print()
    print(
        f"RATIO samples n={large['n'] / small['n']:.2f} area={large['area_km2'] / small['area_km2']:.2f} "
        f"n_small={small['n']} n_large={large['n']}"
    )
    for kind, (rp, rj, ps, pl, js, jl) in ratios.items():
        print(
            f"RATIO {kind} peak={rp:.2f} job={rj:.2f} small_mib={ps:.1f} large_mib={pl:.1f} "
            f"job_small_mib={js:.1f} job_large_mib={jl:.1f}"
        )
    for kind, peak in same.items():
        print(
            f"RATIO {kind} same_squares_mosaic={peak / peaks['small'][kind]:.2f} small_mib="
            f"{peaks['small'][kind]:.1f} large_mosaic_mib={peak:.1f}"
        )


def _table(rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for k, r in enumerate(rows):
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))))
        if k == 0:
            print("  ".join("-" * w for w in widths))


if __name__ == "__main__":
    main()
