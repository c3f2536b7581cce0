"""Cluster execution and resumption.

* The first jobs of the tiny workflow (demo city, the samples checkpoint, two shards' chips, one
  shard's masks and graphs) through Snakemake's ``cluster-generic`` executor, with every job
  submitted to the fake scheduler of ``tests/fake_scheduler`` (background processes on this host):
  each job goes through the scheduler with its threads, memory and GPUs, at most ``--jobs`` at once,
  and makes the same files as the local run (the session's shared ``tiny_run``).
* The SLURM and cluster-generic profiles: they parse, build the DAG and give the GPU rules
  their resources; the rules declare their threads and resources; the cluster-generic scripts
  translate a job into the right ``sbatch`` / ``sacct`` / ``scancel`` calls (checked against
  stand-in commands on ``PATH``).
* Resumption: a local run stopped with SIGTERM (graceful) and later SIGKILLed (a crash)
  resumes without rerunning finished jobs, never leaves a half-written output behind, and ends
  with exactly the outputs of an uninterrupted run (the shared ``tiny_run``).

The end-to-end tests are ``slow`` (minutes on 2 cores).
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
import pandas as pd
import pytest
from helpers.workflow import (
    REPO,
    assert_same_file,
    job_counts,
    rules_started,
    snakemake,
    snakemake_cmd,
    wait_for,
)

FAKE = REPO / "tests" / "fake_scheduler"
PROFILES = REPO / "profiles"


def run(
    workdir: Path, *args: str, env: dict | None = None, check: bool = True
) -> subprocess.CompletedProcess:
    return snakemake(workdir, *args, env=env, check=check)


#: ``--cores`` of the dry runs: a dry run lists each job's threads capped at its cores (1 by default).
DRY_RUN_CORES = "64"


def dry_run_jobs(text: str) -> dict[str, dict]:
    """The first job of each rule a dry run lists: its threads and resources (``name`` → value)."""
    jobs = {}
    for m in re.finditer(r"^(?:rule|checkpoint) (\w+):\n(.*?)(?=^\S|\Z)", text, flags=re.M | re.S):
        threads = re.search(r"^\s+threads: (\d+)$", m.group(2), flags=re.M)
        resources = re.search(r"^\s+resources: (.*)$", m.group(2), flags=re.M).group(1)
        jobs.setdefault(
            m.group(1),
            dict(
                threads=int(threads.group(1)) if threads else 1,
                **dict(kv.split("=", 1) for kv in resources.split(", ")),
            ),
        )
    return jobs


# --------------------------------------------------------------------------------------------
# the first jobs of the tiny workflow through cluster-generic and the fake scheduler

#: What the cluster run makes: the chips of shards 0 and 1 (four jobs ready at once after the samples
#: checkpoint, for the --jobs 2 limit), the masks and graphs of shard 0.
CLUSTER_TARGETS = (
    "results/chips/google/0.h5",
    "results/chips/google/1.h5",
    "results/chips/sentinel2/0.h5",
    "results/chips/sentinel2/1.h5",
    "results/masks/0.h5",
    "results/graphs/0.h5",
)
#: The jobs that makes, by rule.
CLUSTER_JOBS = {
    "demo_city": 1,
    "samples": 1,
    "chip_google": 2,
    "chip_sentinel2": 2,
    "segment": 1,
    "graphs": 1,
}


@pytest.fixture(scope="module")
def cluster_run(tmp_path_factory) -> SimpleNamespace:
    work = tmp_path_factory.mktemp("cluster")
    state = work / ".fake_scheduler"
    env = dict(os.environ, FAKE_SCHEDULER_DIR=str(state))
    py = shlex.quote(sys.executable)
    submit = (
        f"{py} {shlex.quote(str(FAKE / 'submit'))} --name {{rule}} --cpus {{threads}} "
        "--mem-mb {resources.mem_mb} --gpus {resources.gpu}"
    )
    proc = run(
        work,
        "--executor",
        "cluster-generic",
        "--cluster-generic-submit-cmd",
        submit,
        "--cluster-generic-status-cmd",
        f"{py} {shlex.quote(str(FAKE / 'status'))}",
        "--cluster-generic-cancel-cmd",
        str(FAKE / "cancel"),
        "--jobs",
        "2",
        "--seconds-between-status-checks",
        "1",
        *CLUSTER_TARGETS,
        env=env,
    )
    return SimpleNamespace(work=work, state=state, log=proc.stdout + proc.stderr)


@pytest.mark.slow
def test_cluster_generic_run_outputs(cluster_run, tiny_run):
    """The cluster run's files equal the local run's (same config): the demo city, the sample table,
    the chips, masks and graphs."""
    made = sorted(
        str(p.relative_to(cluster_run.work))
        for folder in ("resources", "results")
        for p in (cluster_run.work / folder).rglob("*")
        if p.is_file()
    )
    assert set(CLUSTER_TARGETS) | {
        "results/samples.parquet",
        "resources/demo/demo_city_1/sentinel2.tif",
    } <= set(made)
    for rel in made:
        assert_same_file(cluster_run.work / rel, tiny_run / rel)
    samples = pd.read_parquet(
        cluster_run.work / "results" / "samples.parquet", columns=["sample_id", "shard"]
    )
    for shard in (0, 1):
        with h5py.File(cluster_run.work / "results" / "chips" / "google" / f"{shard}.h5") as f:
            assert sorted(f["sample_id"][()]) == sorted(samples.sample_id[samples.shard == shard])
            assert f["image"].shape[1:] == (320, 320, 3)


@pytest.mark.slow
def test_cluster_generic_every_job_went_through_the_scheduler(cluster_run):
    log = cluster_run.log
    started = rules_started(log)
    submitted = [json.loads(line) for line in (cluster_run.state / "jobs.jsonl").read_text().splitlines()]
    # every job was submitted, none ran in the main process (no `localrule`)
    assert Counter(started) == CLUSTER_JOBS, started
    assert "localrule" not in log
    assert sorted(j["name"] for j in submitted) == sorted(started)
    assert len(re.findall(r"Submitted job \d+ with external jobid '\d+'", log)) == len(submitted)
    # the submit command got each job's threads, memory and GPUs (as the main log printed them)
    declared = {}
    for m in re.finditer(
        r"^(?:rule|checkpoint) (\w+):\n(.*?)^Submitted job \d+ with external jobid '(\d+)'",
        log,
        flags=re.M | re.S,
    ):
        threads = re.search(r"^\s+threads: (\d+)$", m.group(2), flags=re.M)
        resources = re.search(r"^\s+resources: (.*)$", m.group(2), flags=re.M).group(1)
        declared[int(m.group(3))] = dict(
            name=m.group(1),
            cpus=int(threads.group(1)) if threads else 1,
            mem_mb=int(re.search(r"\bmem_mb=(\d+)", resources).group(1)),
            gpus=int(re.search(r"\bgpu=(\d+)", resources).group(1)),
        )
    assert sorted(declared) == sorted(j["id"] for j in submitted)
    for job in submitted:
        assert (cluster_run.state / f"{job['id']}.rc").read_text().strip() == "0", job
        assert {k: job[k] for k in ("name", "cpus", "mem_mb", "gpus")} == declared[job["id"]], job
        script = (cluster_run.state / f"{job['id']}.sh").read_text()
        assert f'"rule": "{job["name"]}"' in script and "--mode 'remote'" in script, job
    mem = {j["name"]: j["mem_mb"] for j in submitted}
    assert (mem["demo_city"], mem["samples"], mem["chip_sentinel2"], mem["graphs"]) == (
        6000,
        2000,
        1500,
        1500,
    )
    assert all(j["gpus"] == 0 for j in submitted)  # tiny config: classical segmentation
    # at most two jobs at once (--jobs 2): no submission while two earlier ones were unfinished
    ends = {j["id"]: (cluster_run.state / f"{j['id']}.rc").stat().st_mtime for j in submitted}
    for job in submitted:
        running = [
            o for o in submitted if o["submitted"] < job["submitted"] and ends[o["id"]] > job["submitted"]
        ]
        assert len(running) <= 1, job
    # ... and reached, not merely respected: once the checkpoint had made four chip jobs ready, two at once
    assert "Execute 2 jobs..." in log


@pytest.mark.slow
def test_rules_declare_threads_memory_and_gpus(tiny_run):
    """What the rules themselves declare (no cluster profile; the tiny config: classical segmentation,
    train.device cpu): train, predict and the map tiles 2 threads, the others 1; no GPU anywhere."""
    proc = run(tiny_run, "--forcerun", "chip_google", "chip_sentinel2", "-n", "--cores", DRY_RUN_CORES, "all")
    jobs = dry_run_jobs(proc.stdout + proc.stderr)
    assert {"chip_google", "segment", "graphs", "train", "predict", "lcz_map_tile", "lcz_map"} <= set(jobs), (
        jobs
    )
    threads = {rule: job["threads"] for rule, job in jobs.items()}
    assert {r: t for r, t in threads.items() if t != 1} == {"train": 2, "predict": 2, "lcz_map_tile": 2}, (
        threads
    )
    assert {rule: job["gpu"] for rule, job in jobs.items()} == dict.fromkeys(jobs, "0")
    assert (jobs["train"]["mem_mb"], jobs["predict"]["mem_mb"], jobs["segment"]["mem_mb"]) == (
        "6000",
        "4000",
        "2000",
    )


@pytest.mark.slow
@pytest.mark.parametrize("how", ["--workflow-profile", "--profile"])
def test_slurm_profile_builds_the_dag_with_gpu_resources(tiny_run, how):
    pytest.importorskip("snakemake_executor_plugin_slurm")  # the `cluster` extra (make install)
    # force every job after the checkpoint (with --forceall the checkpoint would rerun too and
    # the per-shard jobs could not be listed)
    proc = run(
        tiny_run,
        how,
        str(PROFILES / "slurm"),
        "--forcerun",
        "chip_google",
        "chip_sentinel2",
        "-n",
        "--cores",
        DRY_RUN_CORES,
        "all",
    )
    text = proc.stdout + proc.stderr
    counts = job_counts(text)
    n_shards = pd.read_parquet(tiny_run / "results" / "samples.parquet", columns=["shard"]).shard.nunique()
    assert counts["train"] == 4 and counts["segment"] == counts["graphs"] == n_shards and counts["all"] == 1
    assert "samples" not in counts and "demo_city" not in counts
    resources = dry_run_jobs(text)
    # the map's tiles are in the DAG: the checkpoint lcz_map_plan ran in tiny_run (only rasters above it)
    assert counts["lcz_map_tile"] >= 1 and "lcz_map_plan" not in counts
    for rule, runtime, mem in (
        ("segment", "240", "16000"),
        ("train", "720", "32000"),
        ("predict", "60", "16000"),
        ("lcz_map_tile", "120", "16000"),
    ):
        assert resources[rule]["gpu"] == "1", (rule, resources[rule])
        assert resources[rule]["slurm_partition"] == "<your_gpu_partition>"
        assert resources[rule]["runtime"] == runtime and resources[rule]["mem_mb"] == mem
    assert resources["chip_sentinel2"]["gpu"] == "0" and resources["lcz_map"]["gpu"] == "0"
    assert {rule for rule, r in resources.items() if r["gpu"] != "0"} == {
        "segment",
        "train",
        "predict",
        "lcz_map_tile",
    }
    # the profile's set-threads (the rules declare 2 for these)
    assert (
        resources["train"]["threads"],
        resources["predict"]["threads"],
        resources["lcz_map_tile"]["threads"],
    ) == (8, 4, 4)
    assert (resources["lcz_map"]["runtime"], resources["lcz_map"]["mem_mb"]) == ("60", "4000")
    if how == "--workflow-profile":  # replaces profiles/default: the profile's default-resources apply
        assert resources["chip_sentinel2"]["slurm_partition"] == "<your_cpu_partition>"
        assert all(r["slurm_account"] == "<your_account>" for r in resources.values())
        assert (resources["fuse"]["runtime"], resources["fuse"]["mem_mb"]) == ("60", "1000")  # rule's memory


@pytest.mark.slow
def test_cluster_generic_profile_builds_the_dag(tiny_run):
    proc = run(tiny_run, "--workflow-profile", str(PROFILES / "cluster-generic"), "-n", "--forceall", "all")
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
    ok = _script(tmp_path / "ok.sh", '#!/bin/sh\necho "job $FAKE_SCHEDULER_JOB_ID on $FAKE_SCHEDULER_CPUS"\n')
    bad = _script(tmp_path / "bad.sh", "#!/bin/sh\nexit 3\n")
    slow = _script(tmp_path / "slow.sh", "#!/bin/sh\nsleep 60\n")
    ids = [
        subprocess.run(
            [str(FAKE / "submit"), "--name", n, "--cpus", "3", str(s)],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            check=True,
        ).stdout.strip()
        for n, s in (("ok", ok), ("bad", bad), ("slow", slow))
    ]
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
    while (
        Path(f"/proc/{pid}").exists() and "Z" not in Path(f"/proc/{pid}/stat").read_text().split(")")[-1][:3]
    ):
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
    for name, reply in (
        ("sbatch", "4242;cluster_a"),
        ("scancel", ""),
        ("squeue", "PENDING"),
        ("sacct", "$(cat " + str(tmp_path / "sacct_state") + ")"),
    ):
        _script(bin_dir / name, f'#!/bin/sh\necho "{name} $*" >> {calls}\necho "{reply}"\n')
    env = dict(
        os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}", DF4LCZ_SCHEDULER="slurm", DF4LCZ_ACCOUNT="proj42"
    )
    env.pop("DF4LCZ_PARTITION", None)
    job = tmp_path / "job.sh"
    job.write_text(JOBSCRIPT)
    gen = PROFILES / "cluster-generic"
    out = subprocess.run(
        [str(gen / "submit"), str(job)], capture_output=True, text=True, env=env, cwd=tmp_path, check=True
    ).stdout
    assert out == "4242\n"
    sbatch = calls.read_text().splitlines()[0].split()
    assert sbatch[0] == "sbatch" and sbatch[-1] == str(job)
    assert set(sbatch[1:-1]) == {
        "--parsable",
        "--job-name=df4lcz-train",
        "--cpus-per-task=8",
        "--mem=32000M",
        "--time=720",
        "--output=logs/cluster/train/%j.log",
        "--partition=gpu",
        "--account=proj42",
        "--gpus=1",
    }
    assert (tmp_path / "logs" / "cluster" / "train").is_dir()
    for sacct_state, want in (
        ("COMPLETED", "success"),
        ("RUNNING", "running"),
        ("PENDING", "running"),
        ("FAILED", "failed"),
        ("CANCELLED by 0", "failed"),
        ("OUT_OF_MEMORY", "failed"),
        ("TIMEOUT", "failed"),
        ("", "running"),
    ):  # unknown to sacct: squeue says PENDING
        (tmp_path / "sacct_state").write_text(sacct_state)
        got = subprocess.run(
            [str(gen / "status"), "4242"], capture_output=True, text=True, env=env, check=True
        ).stdout
        assert got == f"{want}\n", sacct_state
    subprocess.run([str(gen / "cancel"), "4242", "4243"], env=env, check=True)
    assert calls.read_text().splitlines()[-1] == "scancel 4242 4243"


# --------------------------------------------------------------------------------------------
# resumption after SIGTERM and after a crash


#: Hang guard of an armed job selection waiting for SIGTERM (tests/helpers/slow_selection.py).
SELECTION_HANG_GUARD_S = 600
#: What a batch scheduler grants between SIGTERM and SIGKILL (SLURM's KillWait is 30 s by default;
#: generous here so that running jobs can finish on a loaded 2-core machine).
GRACE_S = 600
#: What the interrupted run makes: the random split's Sentinel-2 predictions (demo city, samples, every
#: shard's chips, valid samples, split, training, prediction; the GCN stream and the later stages add
#: nothing to what resumption shows).
RESUME_TARGETS = ("results/predictions/random/resnet11_3d.csv",)


def _start(workdir: Path, log: Path, arm: Path | None = None) -> subprocess.Popen:
    """Start ``snakemake --cores 2 RESUME_TARGETS`` in its own process group; with ``arm``, under the
    selector that waits for SIGTERM."""
    cmd = snakemake_cmd(workdir, "--cores", "2", *RESUME_TARGETS)
    if arm is not None:
        helper = REPO / "tests" / "helpers" / "slow_selection.py"
        cmd = [sys.executable, str(helper), str(arm), str(SELECTION_HANG_GUARD_S), *cmd[3:]]
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


def _result_files(work: Path) -> dict[str, int]:
    """Every file under results/ (relative path → mtime in ns)."""
    return {
        str(p.relative_to(work)): p.stat().st_mtime_ns
        for p in sorted((work / "results").rglob("*"))
        if p.is_file()
    }


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
    return (
        [p for p in folder.rglob("*") if p.is_file() and p.name != "migration_underway"]
        if folder.exists()
        else []
    )


@pytest.mark.slow
def test_resume_after_sigterm_and_crash(tiny_run, tmp_path):
    work = tmp_path / "wf"
    work.mkdir()
    final = work / RESUME_TARGETS[0]

    # 1. Once the first Sentinel-2 chips exist, SIGTERM lands while Snakemake selects jobs under its
    #    scheduler lock (the window where its own handler deadlocks; df4lcz.sigterm), then what a
    #    batch scheduler does: a grace period, then SIGKILL. Snakemake finishes the running jobs and stops.
    arm = tmp_path / "arm"
    proc = _start(work, tmp_path / "run1.log", arm=arm)
    wait_for(lambda: any((work / "results" / "chips" / "sentinel2").glob("*.h5")), "the first chips", proc)
    arm.touch()  # the next selection waits, holding the lock, until the SIGTERM handler has run
    wait_for(lambda: Path(f"{arm}.inside").exists(), "a job selection", proc)
    sent = time.time()
    rc = _terminate_like_a_scheduler(proc)
    log1 = (tmp_path / "run1.log").read_text()
    left = float(Path(f"{arm}.left").read_text())
    assert float(Path(f"{arm}.inside").read_text()) <= sent <= left, "SIGTERM missed the selection window"
    assert rc != 0, log1[-3000:]
    assert "Will exit after finishing currently running jobs" in log1
    assert "Error in rule" not in log1
    assert not final.exists(), "the run was not interrupted"
    after_term = _result_files(work)
    assert "results/samples.parquet" in after_term
    assert not _incomplete_markers(work), "SIGTERM must let running jobs finish"
    assert not [f for f in after_term if Path(f).name.startswith(".tmp-")], after_term
    for rel in after_term:
        _assert_complete(work, rel)

    # 2. Resume, then SIGKILL the whole process group (a crash) while the model trains
    proc = _start(work, tmp_path / "run2.log")
    wait_for(
        lambda: (
            any(p.stat().st_size > 0 for p in (work / "logs" / "train").glob("*.log"))
            if (work / "logs" / "train").exists()
            else False
        ),
        "training to start",
        proc,
    )
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    log2 = (tmp_path / "run2.log").read_text()
    started2 = rules_started(log2)
    assert "samples" not in started2 and "demo_city" not in started2, started2
    after_kill = _result_files(work)
    assert not final.exists()
    for rel, mtime in after_term.items():  # nothing finished before SIGTERM was redone
        assert after_kill[rel] == mtime, rel
    # declared outputs are written to a temporary sibling and renamed: never half-written
    partial = [f for f in after_kill if Path(f).name.startswith(".tmp-")]
    for rel in after_kill:
        if rel not in partial:
            _assert_complete(work, rel)
    assert _incomplete_markers(work), "the killed training job should be marked incomplete"

    # 3. After a crash the lock stays: the same command is refused until `--unlock` (README, docs/cluster.md)
    refused = run(work, "--cores", "2", *RESUME_TARGETS, check=False)
    assert refused.returncode != 0 and "--unlock" in refused.stdout + refused.stderr
    run(work, "--unlock")
    proc3 = run(work, "--cores", "2", *RESUME_TARGETS)
    log3 = proc3.stdout + proc3.stderr
    started3 = rules_started(log3)
    assert "train" in started3, started3
    for early in ("demo_city", "samples", "splits"):
        assert early not in started3, started3
    after_resume = _result_files(work)
    for rel, mtime in after_term.items():
        assert after_resume[rel] == mtime, f"{rel} was rewritten after the restart"
    assert not _incomplete_markers(work)
    dry = run(work, "--cores", "1", *RESUME_TARGETS, "-n")
    assert "Nothing to be done" in dry.stdout + dry.stderr

    # 4. The resumed run's results equal those of the uninterrupted run (the shared tiny run)
    compared = ["valid_samples.csv", "splits/random.csv", "predictions/random/resnet11_3d.csv"]
    for rel in compared:  # (a source file edited between the two runs also makes them differ)
        assert (work / "results" / rel).read_bytes() == (tiny_run / "results" / rel).read_bytes(), rel
    pred = pd.read_csv(final)
    split = pd.read_csv(work / "results" / "splits" / "random.csv")
    valid = pd.read_csv(work / "results" / "valid_samples.csv")
    expected = split[split.split.isin(["val", "test"]) & split.sample_id.isin(valid.sample_id[valid.valid])]
    assert len(pred) > 0 and sorted(pred.sample_id) == sorted(expected.sample_id)


def test_fake_scheduler_scripts_have_no_third_party_imports():
    """The scheduler scripts run under any python3 (login nodes have no project environment)."""
    for path in [*FAKE.iterdir(), *(PROFILES / "cluster-generic").iterdir()]:
        if path.is_file() and (path.suffix == ".py" or path.read_text().startswith("#!/usr/bin/env python3")):
            code = path.read_text()
            imports = set(re.findall(r"^\s*(?:from|import) (\w+)", code, flags=re.M))
            assert imports <= {
                "__future__",
                "argparse",
                "fcntl",
                "json",
                "os",
                "shutil",
                "signal",
                "subprocess",
                "sys",
                "time",
                "pathlib",
                "fakesched",
                "_jobprops",
            }, (path, imports)


def test_exit_wait_cancels_only_the_schedulers_timers():
    # Snakemake's scheduler leaves a non-daemon re-evaluation Timer behind that the interpreter waits
    # for at exit (df4lcz.exit_wait); the onsuccess/onerror hooks cancel those and no other timer.
    import threading

    from df4lcz.exit_wait import SCHEDULER_MODULE, cancel_reevaluation_timers

    calls: list[str] = []

    def scheduler_wakeup() -> None:
        calls.append("scheduler")

    def other_work() -> None:
        calls.append("other")

    scheduler_wakeup.__module__ = SCHEDULER_MODULE
    theirs = threading.Timer(3600, scheduler_wakeup)
    ours = threading.Timer(3600, other_work)
    theirs.start()
    ours.start()
    try:
        assert cancel_reevaluation_timers() == 1
        assert theirs.finished.is_set() and not ours.finished.is_set()
        theirs.join()  # a cancelled timer ends without calling its function
        assert not theirs.is_alive() and calls == []
    finally:
        ours.cancel()
        theirs.cancel()
    assert cancel_reevaluation_timers() == 0
