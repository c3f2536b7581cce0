"""End-to-end: the Snakemake workflow on the tiny config (slow; CI runs it)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]


def snakemake(workdir: Path, *args: str, configfile: Path = REPO / "tests" / "data" / "tiny.yaml",
              check: bool = True) -> subprocess.CompletedProcess:
    cmd = [*SNAKEMAKE, "--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir),
           "--configfile", str(configfile), *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=3000)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}")
    return proc


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("wf")
    snakemake(work, "--cores", "2", "all")
    return work


@pytest.mark.slow
def test_tiny_run_outputs(tiny_run):
    samples = pd.read_parquet(tiny_run / "results" / "samples.parquet")
    assert len(samples) >= 20 and samples.shard.nunique() >= 2
    for strategy in ("random", "polygon"):
        split = pd.read_csv(tiny_run / "results" / "splits" / f"{strategy}.csv")
        assert sorted(split.sample_id) == sorted(samples.sample_id)
    assert (tiny_run / "logs" / "samples.log").stat().st_size > 0
    assert (tiny_run / "benchmarks" / "samples.tsv").exists()
    # every job saved itself for standalone reruns
    assert (tiny_run / "logs" / "samples.log.job.json").exists()


@pytest.mark.slow
def test_rerun_is_noop(tiny_run):
    proc = snakemake(tiny_run, "--cores", "1", "all", "-n")
    assert "Nothing to be done" in proc.stdout + proc.stderr


@pytest.mark.slow
def test_script_runs_alone_from_saved_job(tiny_run):
    out = tiny_run / "results" / "splits" / "polygon.csv"
    before = out.read_bytes()
    out.unlink()
    job = tiny_run / "logs" / "splits" / "polygon.log.job.json"
    subprocess.run([sys.executable, str(REPO / "workflow_scripts" / "splits.py"), str(job)], cwd=tiny_run,
                   check=True, capture_output=True)
    assert out.read_bytes() == before


def test_invalid_config_stops_before_any_job(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("dataset: demo\nsegment:\n  backend: watershed\ndemo:\n  classes: [1, 2, 19]\n")
    proc = snakemake(tmp_path, "--cores", "1", "all", "-n", configfile=bad, check=False)
    text = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "config key 'segment.backend': 'watershed' is not one of ['sam', 'classical']" in text
    assert "config key 'demo.classes[2]': 19 is greater than the maximum of 17" in text
    assert not (tmp_path / "results").exists() and not (tmp_path / "resources").exists()


def test_lint_clean():
    proc = subprocess.run([*SNAKEMAKE, "--lint", "--snakefile", str(REPO / "Snakefile")], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Congratulations" in proc.stdout + proc.stderr
