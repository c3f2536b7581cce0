"""Cluster execution and resumption.

* The tiny workflow through Snakemake's ``cluster-generic`` executor, with every job submitted
  to the fake scheduler of ``tests/fake_scheduler`` (background processes on this host).
* The SLURM and cluster-generic profiles: they parse, build the DAG and give the GPU rules
  their resources; the cluster-generic scripts translate a job into the right ``sbatch`` /
  ``sacct`` / ``scancel`` calls (checked against stand-in commands on ``PATH``).
* Resumption: a local run stopped with SIGTERM (graceful) and later SIGKILLed (a crash)
  resumes without rerunning finished jobs, never leaves a half-written output behind, and ends
  with exactly the outputs of an uninterrupted run.

The end-to-end tests are ``slow`` (a few minutes on 2 cores).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import stat
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import h5py
import numpy as np
import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
TINY = REPO / "tests" / "data" / "tiny.yaml"
FAKE = REPO / "tests" / "fake_scheduler"
PROFILES = REPO / "profiles"
SNAKEMAKE = [sys.executable, "-m", "snakemake"]
STRATEGIES = ("random", "polygon")
MODELS = ("resnet11_3d", "gcn", "df4lcz", "df4lcz_tuned", "df4lcz_cal", "df4lcz_cal_tuned")
def snakemake_cmd(workdir: Path, *args: str) -> list[str]:
    return [*SNAKEMAKE, "--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir),
            "--configfile", str(TINY), *args]


def run(workdir: Path, *args: str, env: dict | None = None, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(snakemake_cmd(workdir, *args), capture_output=True, text=True, env=env, timeout=1500)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")
    return proc


def job_counts(log: str) -> dict[str, int]:
    """The ``Job stats`` table Snakemake prints before running (rule → job count)."""
    block = log.split("Job stats:", 1)[1].split("total", 1)[0]
    return {rule: int(n) for rule, n in re.findall(r"^(\w+)\s+(\d+)\s*$", block, flags=re.M)}


def rules_started(log: str) -> list[str]:
    """Rules of the jobs a (non-dry) run started, in order."""
    return re.findall(r"^(?:local)?(?:rule|checkpoint) (\w+):$", log, flags=re.M)


# --------------------------------------------------------------------------------------------
# the cluster-generic run through the fake scheduler


@pytest.fixture(scope="module")
def cluster_run(tmp_path_factory) -> SimpleNamespace:
    work = tmp_path_factory.mktemp("cluster")
    state = work / ".fake_scheduler"
    env = dict(os.environ, FAKE_SCHEDULER_DIR=str(state))
    py = shlex.quote(sys.executable)
    submit = (f"{py} {shlex.quote(str(FAKE / 'submit'))} --name {{rule}} --cpus {{threads}} "
              "--mem-mb {resources.mem_mb} --gpus {resources.gpu}")
    t0 = time.monotonic()
    proc = run(work, "--executor", "cluster-generic",
               "--cluster-generic-submit-cmd", submit,
               "--cluster-generic-status-cmd", f"{py} {shlex.quote(str(FAKE / 'status'))}",
               "--cluster-generic-cancel-cmd", str(FAKE / "cancel"),
               "--jobs", "2", "--seconds-between-status-checks", "1", "all", env=env)
    return SimpleNamespace(work=work, state=state, log=proc.stdout + proc.stderr, seconds=time.monotonic() - t0)


@pytest.mark.slow
def test_cluster_generic_run_outputs(cluster_run):
    res = cluster_run.work / "results"
    valid = pd.read_csv(res / "valid_samples.csv")
    valid_ids = set(valid.sample_id[valid.valid])
    samples = pd.read_parquet(res / "samples.parquet", columns=["sample_id", "lcz"]).set_index("sample_id")
    metrics = pd.read_csv(res / "tables" / "metrics.csv")
    assert sorted(zip(metrics.strategy, metrics.model)) == sorted((s, m) for s in STRATEGIES for m in MODELS)
    for strategy in STRATEGIES:
        split = pd.read_csv(res / "splits" / f"{strategy}.csv")
        expected = split[split.split.isin(["val", "test"]) & split.sample_id.isin(valid_ids)]
        assert len(expected) > 0
        for model in MODELS:
            pred = pd.read_csv(res / "predictions" / strategy / f"{model}.csv")
            assert len(pred) == len(expected), (strategy, model)
            assert sorted(pred.sample_id) == sorted(expected.sample_id)
            assert (pred.set_index("sample_id").split == expected.set_index("sample_id").split).all()
            np.testing.assert_array_equal(pred.y_true, samples.loc[pred.sample_id, "lcz"])
            proba = pred[[f"p_{c}" for c in range(1, 18)]].to_numpy()
            np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-4)
            row = metrics[(metrics.strategy == strategy) & (metrics.model == model)].iloc[0]
            assert row.n_test == (expected.split == "test").sum()


@pytest.mark.slow
def test_cluster_generic_every_job_went_through_the_scheduler(cluster_run):
    log = cluster_run.log
    started = rules_started(log)
    counts = Counter(started)
    submitted = [json.loads(line) for line in (cluster_run.state / "jobs.jsonl").read_text().splitlines()]
    # every job but the target rule `all` (no script; handled by the main process) was submitted
    assert counts["all"] == 1 and counts["samples"] == counts["demo_city"] == 1
    assert sorted(j["name"] for j in submitted) == sorted(r for r in started if r != "all")
    assert len(re.findall(r"Submitted job \d+ with external jobid '\d+'", log)) == len(submitted)
    assert counts["train"] == counts["predict"] == 2 * len(STRATEGIES)  # resnet11_3d + gcn per strategy
    n_shards = pd.read_parquet(cluster_run.work / "results" / "samples.parquet", columns=["shard"]).shard.nunique()
    assert counts["chip_google"] == counts["segment"] == counts["graphs"] == counts["chip_sentinel2"] == n_shards
    # the submit command got each job's threads, memory and GPUs (as the main log printed them)
    declared = {}
    for m in re.finditer(r"^(?:rule|checkpoint) (\w+):\n(.*?)^Submitted job \d+ with external jobid '(\d+)'",
                         log, flags=re.M | re.S):
        threads = re.search(r"^\s+threads: (\d+)$", m.group(2), flags=re.M)
        resources = re.search(r"^\s+resources: (.*)$", m.group(2), flags=re.M).group(1)
        declared[int(m.group(3))] = dict(name=m.group(1), cpus=int(threads.group(1)) if threads else 1,
                                         mem_mb=int(re.search(r"\bmem_mb=(\d+)", resources).group(1)),
                                         gpus=int(re.search(r"\bgpu=(\d+)", resources).group(1)))
    assert sorted(declared) == sorted(j["id"] for j in submitted)
    for job in submitted:
        assert (cluster_run.state / f"{job['id']}.rc").read_text().strip() == "0", job
        assert {k: job[k] for k in ("name", "cpus", "mem_mb", "gpus")} == declared[job["id"]], job
        script = (cluster_run.state / f"{job['id']}.sh").read_text()
        assert f'"rule": "{job["name"]}"' in script and "--mode 'remote'" in script, job
    assert {j["cpus"] for j in submitted if j["name"] in ("train", "predict")} == {2}  # rules/train.smk
    assert {j["mem_mb"] for j in submitted if j["name"] == "demo_city"} == {6000}      # rules/demo.smk
    assert all(j["gpus"] == 0 for j in submitted)  # tiny config: classical segmentation, train.device cpu
    # at most two jobs at once (--jobs 2): no submission while two earlier ones were unfinished
    ends = {j["id"]: (cluster_run.state / f"{j['id']}.rc").stat().st_mtime for j in submitted}
    for job in submitted:
        running = [o for o in submitted if o["submitted"] < job["submitted"] and ends[o["id"]] > job["submitted"]]
        assert len(running) <= 1, job


@pytest.mark.slow
@pytest.mark.parametrize("how", ["--workflow-profile", "--profile"])
def test_slurm_profile_builds_the_dag_with_gpu_resources(cluster_run, how):
    pytest.importorskip("snakemake_executor_plugin_slurm")  # the `cluster` extra (make install)
    # force every job after the checkpoint (with --forceall the checkpoint would rerun too and
    # the per-shard jobs could not be listed)
    proc = run(cluster_run.work, how, str(PROFILES / "slurm"), "--forcerun", "chip_google", "chip_sentinel2",
               "-n", "all")
    text = proc.stdout + proc.stderr
    counts = job_counts(text)
    n_shards = pd.read_parquet(cluster_run.work / "results" / "samples.parquet", columns=["shard"]).shard.nunique()
    assert counts["train"] == 4 and counts["segment"] == counts["graphs"] == n_shards and counts["all"] == 1
    assert "samples" not in counts and "demo_city" not in counts
    jobs = text.split("\nrule ")[1:]
    resources = {}
    for block in jobs:
        rule = block.split(":", 1)[0]
        line = re.search(r"resources: (.*)", block).group(1)
        resources.setdefault(rule, dict(kv.split("=", 1) for kv in line.split(", ")))
    # the map's tiles are in the DAG: the checkpoint lcz_map_plan ran in cluster_run (only rasters above it)
    assert counts["lcz_map_tile"] >= 1 and "lcz_map_plan" not in counts
    for rule, runtime, mem in (("segment", "240", "16000"), ("train", "720", "32000"), ("predict", "60", "16000"),
                               ("lcz_map_tile", "120", "16000")):
        assert resources[rule]["gpu"] == "1", (rule, resources[rule])
        assert resources[rule]["slurm_partition"] == "<your_gpu_partition>"
        assert resources[rule]["runtime"] == runtime and resources[rule]["mem_mb"] == mem
    assert resources["chip_sentinel2"]["gpu"] == "0" and resources["lcz_map"]["gpu"] == "0"
    if how == "--workflow-profile":  # replaces profiles/default: the profile's default-resources apply
        assert resources["chip_sentinel2"]["slurm_partition"] == "<your_cpu_partition>"
        assert all(r["slurm_account"] == "<your_account>" for r in resources.values())
        assert resources["fuse"]["runtime"] == "60"


@pytest.mark.slow
def test_cluster_generic_profile_builds_the_dag(cluster_run):
    proc = run(cluster_run.work, "--workflow-profile", str(PROFILES / "cluster-generic"), "-n", "--forceall", "all")
    text = proc.stdout + proc.stderr
    assert job_counts(text)["train"] == 4
    train = text.split("\nrule train:", 1)[1].split("\n\n", 1)[0]
    assert re.search(r"resources: .*\bgpu=1\b", train) and "partition=gpu" in train and "runtime=720" in train


# --------------------------------------------------------------------------------------------
# fast checks of the fake scheduler and of the profile's scheduler scripts


def _script(path: Path, body: str) -> Path:
    path.write_text(body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def _wait_status(cmd: list[str], env: dict, want: str, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while True:
        out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True).stdout.strip()
        if out == want or time.monotonic() > deadline:
            return out
        time.sleep(0.1)


def test_fake_scheduler_submit_status_cancel(tmp_path):
    env = dict(os.environ, FAKE_SCHEDULER_DIR=str(tmp_path / "state"))
    ok = _script(tmp_path / "ok.sh", "#!/bin/sh\necho \"job $FAKE_SCHEDULER_JOB_ID on $FAKE_SCHEDULER_CPUS\"\n")
    bad = _script(tmp_path / "bad.sh", "#!/bin/sh\nexit 3\n")
    slow = _script(tmp_path / "slow.sh", "#!/bin/sh\nsleep 60\n")
    ids = [subprocess.run([str(FAKE / "submit"), "--name", n, "--cpus", "3", str(s)], capture_output=True,
                          text=True, env=env, cwd=tmp_path, check=True).stdout.strip()
           for n, s in (("ok", ok), ("bad", bad), ("slow", slow))]
    assert ids == ["1", "2", "3"]
    status = [str(FAKE / "status")]
    assert _wait_status([*status, "1"], env, "success") == "success"
    assert (tmp_path / "state" / "1.out").read_text() == "job 1 on 3\n"
    assert _wait_status([*status, "2"], env, "failed") == "failed"
    assert (tmp_path / "state" / "2.rc").read_text().strip() == "3"
    assert _wait_status([*status, "'3'"], env, "running") == "running"
    pid = int((tmp_path / "state" / "3.pid").read_text())
    subprocess.run([str(FAKE / "cancel"), "3"], env=env, check=True, timeout=2)
    assert _wait_status([*status, "3"], env, "failed") == "failed"
    deadline = time.monotonic() + 10
    while Path(f"/proc/{pid}").exists() and "Z" not in Path(f"/proc/{pid}/stat").read_text().split(")")[-1][:3]:
        assert time.monotonic() < deadline, "cancelled job still running"
        time.sleep(0.1)
    records = [json.loads(line) for line in (tmp_path / "state" / "jobs.jsonl").read_text().splitlines()]
    assert [(r["id"], r["name"], r["cpus"]) for r in records] == [(1, "ok", 3), (2, "bad", 3), (3, "slow", 3)]
    assert _wait_status([*status, "99"], env, "failed") == "failed"  # unknown job


JOBSCRIPT = """#!/bin/sh
# properties = {"type": "single", "rule": "train", "local": false, "threads": 8, "resources": {"mem_mb": 32000, "runtime": 720, "gpu": 1, "partition": "gpu"}, "jobid": 14}
echo run
"""


def test_cluster_generic_scripts_call_slurm_correctly(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls.txt"
    for name, reply in (("sbatch", "4242;cluster_a"), ("scancel", ""), ("squeue", "PENDING"),
                        ("sacct", "$(cat " + str(tmp_path / "sacct_state") + ")")):
        _script(bin_dir / name, f'#!/bin/sh\necho "{name} $*" >> {calls}\necho "{reply}"\n')
    env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}", DF4LCZ_SCHEDULER="slurm",
               DF4LCZ_ACCOUNT="proj42")
    env.pop("DF4LCZ_PARTITION", None)
    job = tmp_path / "job.sh"
    job.write_text(JOBSCRIPT)
    gen = PROFILES / "cluster-generic"
    out = subprocess.run([str(gen / "submit"), str(job)], capture_output=True, text=True, env=env, cwd=tmp_path,
                         check=True).stdout
    assert out == "4242\n"
    sbatch = calls.read_text().splitlines()[0].split()
    assert sbatch[0] == "sbatch" and sbatch[-1] == str(job)
    assert set(sbatch[1:-1]) == {"--parsable", "--job-name=df4lcz-train", "--cpus-per-task=8", "--mem=32000M",
                                 "--time=720", "--output=logs/cluster/train/%j.log", "--partition=gpu",
                                 "--account=proj42", "--gpus=1"}
    assert (tmp_path / "logs" / "cluster" / "train").is_dir()
    for sacct_state, want in (("COMPLETED", "success"), ("RUNNING", "running"), ("PENDING", "running"),
                              ("FAILED", "failed"), ("CANCELLED by 0", "failed"), ("OUT_OF_MEMORY", "failed"),
                              ("TIMEOUT", "failed"), ("", "running")):  # unknown to sacct: squeue says PENDING
        (tmp_path / "sacct_state").write_text(sacct_state)
        got = subprocess.run([str(gen / "status"), "4242"], capture_output=True, text=True, env=env,
                             check=True).stdout
        assert got == f"{want}\n", sacct_state
    subprocess.run([str(gen / "cancel"), "4242", "4243"], env=env, check=True)
    assert calls.read_text().splitlines()[-1] == "scancel 4242 4243"


# --------------------------------------------------------------------------------------------
# resumption after SIGTERM and after a crash


#: Seconds an armed job selection holds Snakemake's scheduler lock (tests/helpers/slow_selection.py).
SELECTION_HOLD_S = 20.0
#: What a batch scheduler grants between SIGTERM and SIGKILL (SLURM's KillWait is 30 s by default;
#: generous here so that running jobs can finish on a loaded 2-core machine).
GRACE_S = 600


def _start(workdir: Path, log: Path, arm: Path | None = None) -> subprocess.Popen:
    """Start ``snakemake --cores 2 all`` in its own process group; with ``arm``, under the slow selector."""
    cmd = snakemake_cmd(workdir, "--cores", "2", "all")
    if arm is not None:
        helper = REPO / "tests" / "helpers" / "slow_selection.py"
        cmd = [sys.executable, str(helper), str(arm), str(SELECTION_HOLD_S), *cmd[3:]]
    with open(log, "w") as out:
        return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def _terminate_like_a_scheduler(proc: subprocess.Popen) -> int:
    """SIGTERM, a grace period, then SIGKILL of the process group; fails when the grace ran out."""
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=GRACE_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
        pytest.fail(f"snakemake did not exit within {GRACE_S} s of SIGTERM (deadlocked?); SIGKILLed")


def _wait_for(proc: subprocess.Popen, condition, what: str, timeout: float = 900) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert proc.poll() is None, f"snakemake ended ({proc.returncode}) before {what}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def _result_files(work: Path) -> dict[str, int]:
    """Every file under results/ (relative path → mtime in ns)."""
    return {str(p.relative_to(work)): p.stat().st_mtime_ns for p in sorted((work / "results").rglob("*"))
            if p.is_file()}


def _assert_complete(work: Path, rel: str) -> None:
    """Open one output with the reader of its format: a half-written file fails here."""
    path = work / rel
    if path.suffix == ".h5":
        with h5py.File(path, "r") as f:
            assert "sample_id" in f, rel
            n = len(f["sample_id"])
            for ds in f.values():
                if isinstance(ds, h5py.Dataset):
                    ds[()]  # reads every byte
            assert n >= 0
    elif path.suffix == ".csv":
        assert len(pd.read_csv(path).columns) >= 2, rel
    elif path.suffix == ".parquet":
        assert len(pd.read_parquet(path)) > 0, rel
    elif path.suffix == ".png":
        from PIL import Image

        with Image.open(path) as im:
            im.load()
    elif path.suffix == ".pt":
        import torch

        torch.load(path, map_location="cpu", weights_only=False)
    elif path.suffix == ".tif":
        import rasterio

        with rasterio.open(path) as src:
            src.read()
    elif path.suffix in (".md", ".html"):
        assert path.read_text().strip(), rel


def _incomplete_markers(work: Path) -> list[Path]:
    folder = work / ".snakemake" / "incomplete"
    return [p for p in folder.rglob("*") if p.is_file() and p.name != "migration_underway"] if folder.exists() else []


@pytest.mark.slow
def test_resume_after_sigterm_and_crash(cluster_run, tmp_path):
    work = tmp_path / "wf"
    work.mkdir()

    # 1. Once the first Sentinel-2 chips exist, SIGTERM lands while Snakemake selects jobs under its
    #    scheduler lock (the window where its own handler deadlocks; df4lcz.sigterm), then what a
    #    batch scheduler does: a grace period, then SIGKILL. Snakemake finishes the running jobs and stops.
    arm = tmp_path / "arm"
    proc = _start(work, tmp_path / "run1.log", arm=arm)
    _wait_for(proc, lambda: any((work / "results" / "chips" / "sentinel2").glob("*.h5")), "the first chips")
    arm.touch()  # the next selection holds the lock for SELECTION_HOLD_S seconds
    _wait_for(proc, lambda: Path(f"{arm}.inside").exists(), "a job selection")
    sent = time.time()
    rc = _terminate_like_a_scheduler(proc)
    log1 = (tmp_path / "run1.log").read_text()
    left = float(Path(f"{arm}.left").read_text())
    assert float(Path(f"{arm}.inside").read_text()) <= sent <= left, "SIGTERM missed the selection window"
    assert rc != 0, log1[-3000:]
    assert "Will exit after finishing currently running jobs" in log1
    assert "Error in rule" not in log1
    assert not (work / "results" / "tables" / "metrics.csv").exists(), "the run was not interrupted"
    after_term = _result_files(work)
    assert "results/samples.parquet" in after_term
    assert not _incomplete_markers(work), "SIGTERM must let running jobs finish"
    assert not [f for f in after_term if Path(f).name.startswith(".tmp-")], after_term
    for rel in after_term:
        _assert_complete(work, rel)

    # 2. Resume, then SIGKILL the whole process group (a crash) while a model trains
    proc = _start(work, tmp_path / "run2.log")
    _wait_for(proc, lambda: any(p.stat().st_size > 0 for p in (work / "logs" / "train").glob("*.log"))
              if (work / "logs" / "train").exists() else False, "training to start")
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    log2 = (tmp_path / "run2.log").read_text()
    started2 = rules_started(log2)
    assert "samples" not in started2 and "demo_city" not in started2, started2
    after_kill = _result_files(work)
    assert not (work / "results" / "tables" / "metrics.csv").exists()
    for rel, mtime in after_term.items():  # nothing finished before SIGTERM was redone
        assert after_kill[rel] == mtime, rel
    # declared outputs are written to a temporary sibling and renamed: never half-written
    partial = [f for f in after_kill if Path(f).name.startswith(".tmp-")]
    for rel in after_kill:
        if rel not in partial:
            _assert_complete(work, rel)
    assert _incomplete_markers(work), "the killed training job should be marked incomplete"

    # 3. After a crash the lock stays: the same command is refused until `--unlock` (README, docs/cluster.md)
    refused = run(work, "--cores", "2", "all", check=False)
    assert refused.returncode != 0 and "--unlock" in refused.stdout + refused.stderr
    run(work, "--unlock")
    proc3 = run(work, "--cores", "2", "all")
    log3 = proc3.stdout + proc3.stderr
    started3 = rules_started(log3)
    assert "train" in started3, started3
    for early in ("demo_city", "samples", "splits"):
        assert early not in started3, started3
    final = _result_files(work)
    for rel, mtime in after_term.items():
        assert final[rel] == mtime, f"{rel} was rewritten after the restart"
    assert not _incomplete_markers(work)
    dry = run(work, "--cores", "1", "all", "-n")
    assert "Nothing to be done" in dry.stdout + dry.stderr

    # 4. The resumed run's results equal those of the uninterrupted (cluster) run
    ref = cluster_run.work / "results"
    compared = ["valid_samples.csv", *(f"splits/{s}.csv" for s in STRATEGIES),
                *(f"predictions/{s}/{m}.csv" for s in STRATEGIES for m in MODELS), "tables/metrics.csv"]
    for rel in compared:  # (a source file edited between the two runs also makes them differ)
        assert (work / "results" / rel).read_bytes() == (ref / rel).read_bytes(), rel
    metrics = pd.read_csv(work / "results" / "tables" / "metrics.csv")
    assert len(metrics) == len(STRATEGIES) * len(MODELS) and metrics.OA.between(0, 100).all()


def test_fake_scheduler_scripts_have_no_third_party_imports():
    """The scheduler scripts run under any python3 (login nodes have no project environment)."""
    for path in [*FAKE.iterdir(), *(PROFILES / "cluster-generic").iterdir()]:
        if path.is_file() and (path.suffix == ".py" or path.read_text().startswith("#!/usr/bin/env python3")):
            code = path.read_text()
            imports = set(re.findall(r"^\s*(?:from|import) (\w+)", code, flags=re.M))
            assert imports <= {"__future__", "argparse", "fcntl", "json", "os", "shutil", "signal", "subprocess",
                               "sys", "time", "pathlib", "fakesched", "_jobprops"}, (path, imports)

