"""Workflow load and per-job overhead: what every ``snakemake`` call and every job pays before any work.

Three figures, each beside the bare ``python -c "import snakemake.api"`` measured in the same run
(its median over ``--repeat`` runs is the unit of the ratios):

* ``dry``: ``snakemake -n all`` on the demo config (``config.yaml``) in an empty folder: parse,
  config validation, DAG. Wall time and peak RSS (``ru_maxrss`` of the process, from ``os.wait4``).
* ``parse imports``: the time to import, after ``snakemake.api``, every ``df4lcz`` module the
  rule files import while the Snakefile parses (read from ``rules/*.smk``, so the list stays true).
* ``job overhead``: on a finished run of the tiny config up to ``results/valid_samples.csv`` (made
  once by this script, about a minute), ``snakemake --cores 1 results/valid_samples.csv
  --forcerun valid_samples``: wall time minus the time of the stage function itself (logged by
  ``df4lcz.scripting.run_stage`` in ``logs/valid_samples.log``), i.e. the fixed cost of one job
  that needs no torch: Snakemake's start, parse and DAG, the script process, its imports, and
  Snakemake's bookkeeping;
* ``floor``: the same forced job of a one-rule workflow whose script does nothing (with ``log:``,
  ``benchmark:`` and this workflow's ``onsuccess:`` exit hook, ``df4lcz.exit_wait``): what Snakemake
  itself costs per job on this machine, whatever the workflow. It includes the CLI's loading of
  every installed executor plugin (the SLURM plugin imports pandas: about 0.35 s).

Targets (the "light" issue): dry ≤ 2× and ≤ 400 MB; job overhead ≤ 2×.

Usage::

    .venv/bin/python bench/bench_load.py [--repeat 3] [--workdir DIR]   # DIR: reuse a finished run
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile")]
TINY = REPO / "tests" / "data" / "tiny.yaml"
STAGE_DONE = re.compile(r"valid_samples: stage function done in ([0-9.]+) s")


def timed(cmd: list[str], cwd: Path | None = None) -> tuple[float, float]:
    """Run ``cmd``; return (wall seconds, peak RSS MiB). Raises on a non-zero exit."""
    with tempfile.TemporaryFile(mode="w+") as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        if os.waitstatus_to_exitcode(status) != 0:
            out.seek(0)
            raise SystemExit(f"failed: {' '.join(cmd)}\n{out.read()[-3000:]}")
    return wall, usage.ru_maxrss / 1024.0


def parse_modules() -> list[str]:
    """The ``df4lcz`` modules the rule files and the Snakefile import at parse time."""
    pattern = re.compile(r"^from (df4lcz[\w.]*) import", re.M)
    mods: set[str] = set()
    for path in [REPO / "Snakefile", *sorted((REPO / "rules").glob("*.smk"))]:
        mods.update(pattern.findall(path.read_text(encoding="utf-8")))
    return sorted(mods)


def import_seconds(modules: list[str]) -> float:
    """Seconds to import ``modules`` in a fresh interpreter that has already imported snakemake.api."""
    code = (
        "import sys, time; sys.path.insert(0, sys.argv[1]); import snakemake.api; t = time.perf_counter()\n"
        f"import {', '.join(modules)}\nprint(time.perf_counter() - t)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(REPO / "src")], check=True, capture_output=True, text=True
    ).stdout
    return float(out.strip().splitlines()[-1])


def finished_tiny_run(work: Path) -> None:
    """The tiny config's run up to results/valid_samples.csv in ``work`` (kept if already there)."""
    if (work / "results" / "valid_samples.csv").exists():
        return
    print(f"making a finished tiny run up to results/valid_samples.csv in {work} …", flush=True)
    wall, _ = timed(
        [*SNAKEMAKE, "--configfile", str(TINY), "--cores", "2", "results/valid_samples.csv"], cwd=work
    )
    print(f"  done in {wall:.0f} s", flush=True)


def job_overhead(work: Path) -> tuple[float, float]:
    """(wall seconds, stage-function seconds) of one forced valid_samples job."""
    wall, _ = timed(
        [
            *SNAKEMAKE,
            "--configfile",
            str(TINY),
            "--cores",
            "1",
            "results/valid_samples.csv",
            "--forcerun",
            "valid_samples",
        ],
        cwd=work,
    )
    found = STAGE_DONE.findall((work / "logs" / "valid_samples.log").read_text(encoding="utf-8"))
    if not found:
        raise SystemExit("logs/valid_samples.log has no 'stage function done' line")
    return wall, float(found[-1])


FLOOR_SNAKEFILE = """
onsuccess:
    from df4lcz.exit_wait import cancel_reevaluation_timers

    cancel_reevaluation_timers()


rule noop:
    output:
        "out.txt",
    log:
        "logs/noop.log",
    benchmark:
        "benchmarks/noop.tsv"
    script:
        "noop.py"
"""
FLOOR_SCRIPT = "from pathlib import Path\nPath(snakemake.output[0]).write_text('done')\n"


def floor_job(work: Path) -> float:
    """Wall seconds of Snakemake's own floor: a one-rule workflow whose script does nothing, forced."""
    (work / "Snakefile").write_text(FLOOR_SNAKEFILE, encoding="utf-8")
    (work / "noop.py").write_text(FLOOR_SCRIPT, encoding="utf-8")
    wall, _ = timed(
        [
            sys.executable,
            "-m",
            "snakemake",
            "--snakefile",
            str(work / "Snakefile"),
            "--cores",
            "1",
            "out.txt",
            "--forcerun",
            "noop",
        ],
        cwd=work,
    )
    return wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3, help="runs of each measurement (medians are printed)")
    ap.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="folder of a finished tiny run to reuse for the job overhead (made if empty)",
    )
    opts = ap.parse_args()
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}", flush=True)

    modules = parse_modules()
    with tempfile.TemporaryDirectory() as tmp:
        work = opts.workdir or Path(tmp) / "tiny"
        work.mkdir(parents=True, exist_ok=True)
        finished_tiny_run(work)
        # interleaved, so that each figure and its unit see the same machine load
        bare, dry, imports, jobs, floors = [], [], [], [], []
        floor_dir = Path(tmp) / "floor"
        floor_dir.mkdir()
        for _ in range(opts.repeat):
            bare.append(timed([sys.executable, "-c", "import snakemake.api"]))
            with tempfile.TemporaryDirectory() as empty:
                dry.append(
                    timed(
                        [*SNAKEMAKE, "--configfile", str(REPO / "config.yaml"), "-n", "-q", "all"],
                        cwd=Path(empty),
                    )
                )
            imports.append(import_seconds(modules))
            jobs.append(job_overhead(work))
            floors.append(floor_job(floor_dir))
    bare_s = statistics.median(w for w, _ in bare)
    bare_mib = statistics.median(m for _, m in bare)
    print(f"bare import snakemake.api      {bare_s:6.2f} s   {bare_mib:6.0f} MiB", flush=True)
    dry_s = statistics.median(w for w, _ in dry)
    dry_mib = max(m for _, m in dry)
    print(
        f"snakemake -n all (demo config) {dry_s:6.2f} s   {dry_mib:6.0f} MiB   ratio {dry_s / bare_s:.2f}x",
        flush=True,
    )
    imports_s = statistics.median(imports)
    print(
        f"parse imports ({len(modules)} df4lcz modules) {imports_s:6.2f} s   ratio {imports_s / bare_s:.2f}x"
        f"   ({', '.join(modules)})",
        flush=True,
    )
    overhead = statistics.median(w - s for w, s in jobs)
    print(
        f"valid_samples job: wall {statistics.median(w for w, _ in jobs):.2f} s, stage function "
        f"{statistics.median(s for _, s in jobs):.3f} s, overhead {overhead:.2f} s   ratio {overhead / bare_s:.2f}x",
        flush=True,
    )
    floor = statistics.median(floors)
    print(
        f"Snakemake's floor (one-rule workflow, empty script) {floor:.2f} s   ratio {floor / bare_s:.2f}x; "
        f"this workflow's own share of a job: {overhead - floor:.2f} s",
        flush=True,
    )
    print(
        f"RESULT bare_s={bare_s:.3f} dry_s={dry_s:.3f} dry_ratio={dry_s / bare_s:.3f} dry_mib={dry_mib:.0f} "
        f"imports_s={imports_s:.3f} job_overhead_s={overhead:.3f} job_ratio={overhead / bare_s:.3f} "
        f"floor_s={floor:.3f} floor_ratio={floor / bare_s:.3f}"
    )


if __name__ == "__main__":
    main()
