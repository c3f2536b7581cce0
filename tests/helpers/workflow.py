"""Running the workflow from tests: the ``snakemake`` command, config variants, copies of a finished run,
and readers of what Snakemake prints.

The whole tiny workflow runs once per pytest session (the ``tiny_run`` fixture of ``tests/conftest.py``,
built by :func:`run_tiny_workflow`); tests that only read its outputs share it, tests that change a run
work on a :func:`copy_run` of it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
SNAKEFILE = REPO / "Snakefile"
TINY = REPO / "tests" / "data" / "tiny.yaml"
SNAKEMAKE = [sys.executable, "-m", "snakemake"]

#: Hang guard of one Snakemake run (the machine may be loaded; nothing waits for a fixed time).
RUN_HANG_GUARD_S = 3000

#: Files of the tiny run's first shard (shard 0): both chip streams, its masks and graphs.
SHARD0 = (
    "results/chips/google/0.h5",
    "results/chips/sentinel2/0.h5",
    "results/masks/0.h5",
    "results/graphs/0.h5",
)


def snakemake_cmd(workdir: Path, *args: str, configfile: Path | None = TINY) -> list[str]:
    """``python -m snakemake`` on this repository's Snakefile in ``workdir`` (``configfile`` unless None)."""
    config = ["--configfile", str(configfile)] if configfile is not None else []
    return [*SNAKEMAKE, "--snakefile", str(SNAKEFILE), "--directory", str(workdir), *config, *args]


def snakemake(
    workdir: Path,
    *args: str,
    configfile: Path | None = TINY,
    check: bool = True,
    env: dict | None = None,
    timeout: float = RUN_HANG_GUARD_S,
) -> subprocess.CompletedProcess:
    """Run Snakemake to its end; with ``check``, fail with the end of its output when it fails."""
    proc = subprocess.run(
        snakemake_cmd(workdir, *args, configfile=configfile),
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"snakemake failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}"
        )
    return proc


def tiny_config(path: Path, **sections: Any) -> Path:
    """``tests/data/tiny.yaml`` with whole top-level sections replaced by ``sections``, written to ``path``."""
    cfg = yaml.safe_load(TINY.read_text())
    cfg.update(sections)
    path.write_text(yaml.safe_dump(cfg))
    return path


def run_tiny_workflow(work: Path) -> Path:
    """The whole tiny workflow (``all``) on 2 cores in ``work``."""
    snakemake(work, "--cores", "2", "all")
    return work


def copy_run(src: Path, dest: Path) -> Path:
    """A copy of a finished run's folder that Snakemake sees as the same run: every file with its
    modification time (``shutil.copy2``), ``.snakemake`` metadata included."""
    shutil.copytree(src, dest, symlinks=True, copy_function=shutil.copy2)
    return dest


def output_state(work: Path) -> dict[str, tuple[int, int]]:
    """Every file of a run's ``resources/``, ``results/``, ``logs/`` and ``benchmarks/`` (relative path →
    (size, mtime in ns))."""
    state = {}
    for folder in ("resources", "results", "logs", "benchmarks"):
        for path in sorted((work / folder).rglob("*")):
            if path.is_file():
                st = path.stat()
                state[str(path.relative_to(work))] = (st.st_size, st.st_mtime_ns)
    return state


def assert_same_file(got: Path, want: Path) -> None:
    """``got`` holds what ``want`` holds: HDF5 files every dataset and attribute, GeoPackages their
    features (the format stores a write time), other files every byte."""
    if want.suffix == ".h5":
        import h5py
        import numpy as np

        with h5py.File(got, "r") as a, h5py.File(want, "r") as b:
            names_a, names_b = [], []
            a.visit(names_a.append)
            b.visit(names_b.append)
            assert sorted(names_a) == sorted(names_b), (got, names_a, names_b)
            for obj_a, obj_b in [(a, b), *((a[n], b[n]) for n in names_b)]:
                assert sorted(obj_a.attrs) == sorted(obj_b.attrs), (got, obj_b.name)
                for key in obj_b.attrs:
                    np.testing.assert_array_equal(obj_a.attrs[key], obj_b.attrs[key], err_msg=f"{got} {key}")
                if isinstance(obj_b, h5py.Dataset):
                    assert obj_a.dtype == obj_b.dtype, (got, obj_b.name)
                    np.testing.assert_array_equal(obj_a[()], obj_b[()], err_msg=f"{got} {obj_b.name}")
    elif want.suffix == ".gpkg":
        import geopandas as gpd
        from geopandas.testing import assert_geodataframe_equal

        assert_geodataframe_equal(gpd.read_file(got), gpd.read_file(want))
    else:
        assert got.read_bytes() == want.read_bytes(), got


def job_counts(log: str) -> dict[str, int]:
    """The first ``Job stats`` table Snakemake printed (rule → job count)."""
    block = log.split("Job stats:", 1)[1].split("total", 1)[0]
    return {rule: int(n) for rule, n in re.findall(r"^(\w+)\s+(\d+)\s*$", block, flags=re.M)}


def rules_started(log: str) -> list[str]:
    """Rules of the jobs a (non-dry) run started, in order."""
    return re.findall(r"^(?:local)?(?:rule|checkpoint) (\w+):$", log, flags=re.M)


def wait_for(
    condition: Callable[[], bool],
    what: str,
    proc: subprocess.Popen | None = None,
    timeout: float = 900,
    poll_s: float = 0.2,
) -> None:
    """Poll ``condition`` until it holds; fail when ``proc`` ends first or after ``timeout`` s (a hang guard)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if proc is not None and proc.poll() is not None:
            out = proc.stdout.read() if proc.stdout else ""
            raise AssertionError(f"snakemake ended ({proc.returncode}) before {what}:\n{(out or '')[-3000:]}")
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(poll_s)
