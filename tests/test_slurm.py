"""The SLURM profile for real: snakemake-executor-plugin-slurm against fake SLURM commands.

``tests/helpers/fake_slurm.py`` provides ``sbatch``/``squeue``/``sacct``/``scancel``/``srun`` (and
the ``sinfo``/``sacctmgr``/``scontrol`` queries) that run the jobs on this host and answer in
SLURM's formats, so the plugin's own submission, status, failure and cancel code runs:

* the fakes alone (fast);
* the plugin on a two-rule Snakefile: a failing job is reported as ``FAILED``, a GPU request
  reaches ``sbatch`` and the job step, and Ctrl-C cancels a running job with ``scancel``;
* jobs of the tiny workflow through ``profiles/slurm`` (placeholders filled in as a user would):
  in a copy of the session's shared tiny run, a map tile and a prediction (GPU rules) and a fusion
  (CPU rule) are rerun, each submitted with the resources its rule and the profile declare, and
  they rewrite their outputs with the local run's contents (``slow``). The profile's resources of
  every other rule are checked on its dry run (``tests/test_cluster.py``).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
import rasterio
import yaml
from helpers import fake_slurm
from helpers.workflow import assert_same_file, copy_run, output_state

from df4lcz.mapping.tiles import stream_tile_path

REPO = Path(__file__).resolve().parents[1]
TINY = REPO / "tests" / "data" / "tiny.yaml"
PROFILE = REPO / "profiles" / "slurm"
SNAKEMAKE = [sys.executable, "-m", "snakemake"]

#: The fake cluster: its partitions (``*`` = default) and the user's account.
ACCOUNT = "lcz_proj"
CPU_PARTITION, GPU_PARTITION = "cpu", "gpu_a100"
PARTITIONS = (f"{CPU_PARTITION}*", GPU_PARTITION)
#: What a user writes over the profile's placeholders (docs/cluster.md, SLURM step 1).
PLACEHOLDERS = {
    "<your_account>": ACCOUNT,
    "<your_cpu_partition>": CPU_PARTITION,
    "<your_gpu_partition>": GPU_PARTITION,
}
#: Rules the profile sends to the GPU partition with one GPU.
GPU_RULES = ("segment", "train", "predict", "lcz_map_tile")
#: Status polling of the plugin: a first check after 1 s instead of 40 s (no effect on results).
FAST_POLLING = ("--slurm-init-seconds-before-status-checks", "1", "--seconds-between-status-checks", "1")
#: Hang guards only (the machine may be loaded); nothing waits for a fixed time.
HANG_GUARD_S = 300
WORKFLOW_HANG_GUARD_S = 2400
#: A first status check later than any test runs (the interrupt test).
NO_STATUS_CHECK_S = 3600


def _wait(condition, what: str, proc: subprocess.Popen | None = None, timeout: float = HANG_GUARD_S) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if proc is not None and proc.poll() is not None:
            out = proc.stdout.read() if proc.stdout else ""
            raise AssertionError(f"snakemake ended ({proc.returncode}) before {what}:\n{out[-3000:]}")
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def _sh(env: dict, *argv: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(list(argv), capture_output=True, text=True, env=env, input=stdin, timeout=60)


def _sacct_states(env: dict, name: str) -> dict[str, str]:
    out = _sh(env, "sacct", "-X", "--parsable2", "--noheader", "--format=JobIdRaw,State", "--name", name)
    assert out.returncode == 0, out.stderr
    return dict(line.split("|") for line in out.stdout.splitlines())


# --------------------------------------------------------------------------------------------
# the fake commands alone


def test_fake_slurm_commands(tmp_path):
    state = tmp_path / "state"
    env = fake_slurm.install(
        tmp_path / "bin", state, partition_names=PARTITIONS, account_names=[ACCOUNT], max_running=1
    )
    gate = tmp_path / "go"
    sbatch = [
        "sbatch",
        "--parsable",
        "--job-name",
        "run1",
        "-A",
        ACCOUNT,
        "--export=ALL",
        "-D",
        str(tmp_path),
    ]
    first = _sh(
        env,
        *sbatch,
        "--output",
        str(tmp_path / "%j.log"),
        "--comment",
        "rule_a_wildcards_x=1",
        "-t",
        "90",
        "--mem",
        "2G",
        "--cpus-per-task=2",
        "--gpus=1",
        "-p",
        GPU_PARTITION,
        f"--wrap=while [ ! -e {gate} ]; do sleep 0.1; done; "
        "srun -n1 --cpu-bind=q --cpus-per-task=2 --gpus=1 --nodes=1 "
        "sh -c 'echo step $SLURM_STEP_ID of $SLURM_JOB_ID cpus $SLURM_CPUS_PER_TASK gpus $SLURM_GPUS'",
    )
    assert (first.returncode, first.stdout) == (0, "1\n"), first.stderr
    second = _sh(
        env,
        *sbatch,
        "--output",
        str(tmp_path / "%j.log"),
        "--comment",
        "rule_b",
        "--ntasks=1",
        "/dev/stdin",
        stdin="#!/bin/sh\necho two\nexit 3\n",
    )  # default partition
    assert second.stdout == "2\n", second.stderr
    # one slot: job 2 waits for job 1, which waits for the gate
    _wait(lambda: (state / "1.started").exists(), "job 1 to start")
    assert _sacct_states(env, "run1") == {"1": "RUNNING", "2": "PENDING"}
    squeue = _sh(env, "squeue", "--format=%i|%T", "--states=all", "--noheader", "--name", "run1")
    assert squeue.stdout == "1|RUNNING\n2|PENDING\n"
    gate.touch()
    _wait(lambda: set(_sacct_states(env, "run1").values()) == {"COMPLETED", "FAILED"}, "both jobs to end")
    assert _sacct_states(env, "run1") == {"1": "COMPLETED", "2": "FAILED"}
    assert (tmp_path / "1.log").read_text() == "step 0 of 1 cpus 2 gpus 1\n"
    assert (tmp_path / "2.log").read_text() == "two\n"
    assert _sh(env, "squeue", "--format=%i|%T", "--noheader").stdout == ""  # finished jobs: --states=all only
    full = _sh(env, "sacct", "-j", "1,2", "--parsable2", "--format=JobID,State,ExitCode,Partition,Account")
    assert full.stdout.splitlines() == [
        "JobID|State|ExitCode|Partition|Account",
        f"1|COMPLETED|0:0|{GPU_PARTITION}|{ACCOUNT}",
        f"2|FAILED|3:0|{CPU_PARTITION}|{ACCOUNT}",
    ]
    step = _sh(env, "sacct", "-j", "1.0", "--format=Reason", "--noheader")
    assert step.stdout.strip() == "None"
    records = fake_slurm.read_jsonl(state / "sbatch.jsonl")
    assert [
        (r["rule"], r["wildcards"], r["partition"], r["gpus"], r["cpus_per_task"], r["mem_mb"], r["minutes"])
        for r in records
    ] == [("a", "x=1", GPU_PARTITION, 1, 2, 2048, 90), ("b", "", CPU_PARTITION, 0, None, None, None)]
    assert fake_slurm.read_jsonl(state / "srun.jsonl")[0] == dict(
        job_id=1,
        ntasks=1,
        cpus_per_task=2,
        cpus_per_gpu=None,
        gpus=1,
        nodes="1",
        argv=["-n1", "--cpu-bind=q", "--cpus-per-task=2", "--gpus=1", "--nodes=1"],
        command=[
            "sh",
            "-c",
            "echo step $SLURM_STEP_ID of $SLURM_JOB_ID cpus $SLURM_CPUS_PER_TASK gpus $SLURM_GPUS",
        ],
    )

    # scancel ends a running job's whole process group
    _sh(env, *sbatch, "--output", str(tmp_path / "%j.log"), "--wrap=sleep 600 & echo $! > child; wait")
    _wait(
        lambda: (tmp_path / "child").exists() and (tmp_path / "child").read_text().strip(), "job 3 to start"
    )
    child = int((tmp_path / "child").read_text())
    assert _sh(env, "scancel", "3").returncode == 0
    assert _sacct_states(env, "run1")["3"] == "CANCELLED"
    _wait(lambda: not fake_slurm._alive(child), "the job's sleep to end")
    assert fake_slurm.read_jsonl(state / "scancel.jsonl")[0]["job_ids"] == ["3"]

    # the queries the plugin makes before submitting
    assert _sh(env, "sinfo", "-o", "%P").stdout == f"PARTITION\n{CPU_PARTITION}*\n{GPU_PARTITION}\n"
    assert (
        _sh(env, "sacctmgr", "-n", "-s", "list", "user", "me", "format=account%256").stdout == f"{ACCOUNT}\n"
    )
    assert re.search(r"^MinJobAge\s+= 300 sec$", _sh(env, "scontrol", "show", "config").stdout, flags=re.M)

    # refusals, as a real cluster refuses them
    bad_partition = _sh(env, "sbatch", "--parsable", "-p", "<your_gpu_partition>", "--wrap=true")
    assert bad_partition.returncode == 1 and "Invalid partition name specified" in bad_partition.stderr
    bad_account = _sh(env, "sbatch", "--parsable", "-A", "<your_account>", "--wrap=true")
    assert bad_account.returncode == 1 and "Invalid account" in bad_account.stderr
    unknown_option = _sh(env, "sbatch", "--parsable", "--frobnicate=1", "--wrap=true")
    assert (
        unknown_option.returncode == 2 and "unrecognized arguments: --frobnicate=1" in unknown_option.stderr
    )
    outside = _sh(env, "srun", "true")
    assert outside.returncode == 1 and "only inside a job" in outside.stderr
    greedy = _sh(env, *sbatch, "--output", str(tmp_path / "%j.log"), "--wrap=srun --gpus=1 true")
    _wait(
        lambda: _sacct_states(env, "run1").get(greedy.stdout.strip()) == "FAILED", "the GPU-less step to fail"
    )
    assert "1 GPUs requested, the job holds 0" in (tmp_path / f"{greedy.stdout.strip()}.log").read_text()
    assert len(fake_slurm.read_jsonl(state / "sbatch.jsonl")) == 4  # refused submissions are not recorded


def test_fake_slurm_is_standard_library_only():
    """The fakes run under any Python (the jobs' environment need not have the test dependencies)."""
    code = Path(fake_slurm.__file__).read_text()
    imports = set(re.findall(r"^\s*(?:from|import) (\w+)", code, flags=re.M))
    assert imports <= set(sys.stdlib_module_names) | {"__future__"}, imports


# --------------------------------------------------------------------------------------------
# the plugin on a two-rule workflow: failure, GPU request, cancel


MINI_SNAKEFILE = f"""
rule ok:
    output: "ok.txt"
    threads: 2
    resources: gpu=1, slurm_partition="{GPU_PARTITION}", runtime=7, mem_mb=300
    shell: "echo $SLURM_JOB_ID $SLURM_GPUS > {{output}}"

rule bad:
    output: "bad.txt"
    shell: "exit 3"

rule hang:
    output: "hang.txt"
    shell: "touch started; sleep 600; touch {{output}}"
"""


@pytest.fixture()
def mini(tmp_path) -> Iterator[SimpleNamespace]:
    pytest.importorskip("snakemake_executor_plugin_slurm")
    work = tmp_path / "work"
    work.mkdir()
    (work / "Snakefile").write_text(MINI_SNAKEFILE)
    state = tmp_path / "state"
    env = fake_slurm.install(tmp_path / "bin", state, partition_names=PARTITIONS, account_names=[ACCOUNT])

    def cmd(*args: str, account: str = ACCOUNT, polling: tuple[str, ...] = FAST_POLLING) -> list[str]:
        """Snakemake with the plugin; ``args`` (targets first) before the trailing list options."""
        return [
            *SNAKEMAKE,
            *args,
            "--snakefile",
            str(work / "Snakefile"),
            "--directory",
            str(work),
            "--workflow-profile",
            "none",
            "--executor",
            "slurm",
            "--jobs",
            "2",
            *polling,
            "--default-resources",
            f"slurm_account={account}",
            f"slurm_partition={CPU_PARTITION}",
            "runtime=5",
            "mem_mb=100",
        ]

    yield SimpleNamespace(work=work, state=state, env=env, cmd=cmd)
    # what a cluster does at the end of a test: nothing of it keeps running (even when it failed)
    # (only jobs still active: an ended job's process-group id may belong to another process by now)
    for pid_file in state.glob("*.pid"):
        if fake_slurm.job_state(state, pid_file.stem) in fake_slurm.ACTIVE_STATES:
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.killpg(int(pid_file.read_text()), signal.SIGKILL)


def test_slurm_plugin_reports_a_failed_job_and_requests_the_gpu(mini):
    proc = subprocess.run(
        mini.cmd("ok.txt", "bad.txt", "--keep-going"),
        capture_output=True,
        text=True,
        env=mini.env,
        timeout=HANG_GUARD_S,
    )
    log = proc.stdout + proc.stderr
    assert proc.returncode != 0, log
    jobs = {r["rule"]: r for r in fake_slurm.read_jsonl(mini.state / "sbatch.jsonl")}
    assert sorted(jobs) == ["bad", "ok"], log
    ok, bad = jobs["ok"], jobs["bad"]
    assert f"SLURM-job '{bad['id']}' failed, SLURM status is: 'FAILED'" in log
    assert "Reason: Step 0: NonZeroExitCode" in log
    assert (mini.work / "ok.txt").read_text() == f"{ok['id']} 1\n"
    assert not (mini.work / "bad.txt").exists()
    assert (
        ok["partition"],
        ok["gpus"],
        ok["gpus_arg"],
        ok["cpus_per_task"],
        ok["minutes"],
        ok["mem_mb"],
        ok["account"],
    ) == (GPU_PARTITION, 1, "1", 2, 7, 300, ACCOUNT)
    assert (
        bad["partition"],
        bad["gpus"],
        bad["gres"],
        bad["cpus_per_task"],
        bad["ntasks"],
        bad["minutes"],
        bad["mem_mb"],
    ) == (CPU_PARTITION, 0, None, 1, 1, 5, 100)
    steps = {s["job_id"]: s for s in fake_slurm.read_jsonl(mini.state / "srun.jsonl")}
    assert (steps[ok["id"]]["gpus"], steps[ok["id"]]["cpus_per_task"]) == (1, 2)
    assert (steps[bad["id"]]["gpus"], steps[bad["id"]]["cpus_per_task"]) == (0, 1)
    assert ok["job_name"] == bad["job_name"]  # the plugin's run id, which its sacct --name query filters on
    assert not (mini.state / "scancel.jsonl").exists()


def test_slurm_plugin_refuses_the_profile_placeholders(mini):
    """Left in place, the profile's account placeholder stops the first submission (docs/cluster.md)."""
    proc = subprocess.run(
        mini.cmd("bad.txt", account="<your_account>"),
        capture_output=True,
        text=True,
        env=mini.env,
        timeout=HANG_GUARD_S,
    )
    log = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "The given account <your_account> appears to be invalid" in log, log
    assert not (mini.state / "sbatch.jsonl").exists()


def _interruptible() -> None:
    """In the child before it runs Snakemake: Ctrl-C (SIGINT) acts, as at a terminal.

    A test suite started in the background (``make test &``, ``nohup``, many CI runners) inherits
    SIGINT ignored, and Python then never turns it into ``KeyboardInterrupt``.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_slurm_plugin_cancels_running_jobs_on_interrupt(mini):
    """Ctrl-C cancels the run's jobs with ``scancel``.

    The status checks are switched off for the test (first check after an hour): while one runs,
    snakemake-interface-executor-plugins 9.x takes the jobs out of ``active_jobs`` and an interrupt
    then cancels nothing (the upstream race documented in docs/cluster.md). Without checks the job
    is in ``active_jobs`` from its submission on, so the interrupt's effect does not depend on when
    it lands. The executor's shutdown then waits for that first check's sleep; a second Ctrl-C, as
    a user gives, ends the wait.
    """
    no_checks = ("--slurm-init-seconds-before-status-checks", str(NO_STATUS_CHECK_S))
    proc = subprocess.Popen(
        mini.cmd("hang.txt", polling=no_checks),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=mini.env,
        preexec_fn=_interruptible,
    )
    try:
        _wait(lambda: (mini.work / "started").exists(), "the job to run", proc)
        (job,) = fake_slurm.read_jsonl(mini.state / "sbatch.jsonl")
        proc.send_signal(signal.SIGINT)
        _wait(lambda: (mini.state / "scancel.jsonl").exists(), "scancel after the interrupt", proc)
        _wait(
            lambda: not fake_slurm._alive(int((mini.state / f"{job['id']}.pid").read_text())),
            "the cancelled job to end",
        )
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=HANG_GUARD_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert fake_slurm.read_jsonl(mini.state / "queries.jsonl") == []  # no status check ran
    calls = fake_slurm.read_jsonl(mini.state / "scancel.jsonl")
    assert [c["job_ids"] for c in calls] == [[str(job["id"])]], out
    assert fake_slurm.job_state(mini.state, str(job["id"])) == "CANCELLED"
    assert not (mini.work / "hang.txt").exists()
    assert proc.returncode != 0


# --------------------------------------------------------------------------------------------
# jobs of the tiny workflow through profiles/slurm

#: Jobs rerun through the profile in a copy of the shared tiny run (``--force``: these jobs only, none
#: upstream of another): a map tile and a prediction (GPU rules, 4 threads in the profile) and a fusion
#: (CPU rule, the profile's default runtime and the rule's memory).
SLURM_TARGETS = {
    "lcz_map_tile": "results/maps/tiles/demo_city_1/r0c0.tif",
    "predict": "results/predictions/polygon/gcn.csv",
    "fuse": "results/predictions/random/df4lcz.csv",
}


def filled_profile(dest: Path) -> Path:
    """``profiles/slurm`` with its placeholders replaced by the fake cluster's names, as a user does."""
    dest.mkdir(parents=True)
    text = (PROFILE / "config.yaml").read_text()
    for placeholder, value in PLACEHOLDERS.items():
        assert placeholder in text, placeholder
        text = text.replace(placeholder, value)
    assert "<your_" not in text
    (dest / "config.yaml").write_text(text)
    return dest


def submitted_jobs(log: str) -> dict[int, dict]:
    """What the main Snakemake process printed about each job it submitted, by SLURM job id:
    rule, threads and resources (``name=value``)."""
    blocks = {}
    for m in re.finditer(r"^(?:rule|checkpoint) (\w+):\n(.*?)(?=^\S|\Z)", log, flags=re.M | re.S):
        jobid = int(re.search(r"^\s+jobid: (\d+)$", m.group(2), flags=re.M).group(1))
        threads = re.search(r"^\s+threads: (\d+)$", m.group(2), flags=re.M)
        resources = re.search(r"^\s+resources: (.*)$", m.group(2), flags=re.M).group(1)
        blocks[jobid] = dict(
            rule=m.group(1),
            threads=int(threads.group(1)) if threads else 1,
            resources=dict(kv.split("=", 1) for kv in resources.split(", ")),
        )
    submitted = {}
    for m in re.finditer(r"^Job (\d+) has been submitted with SLURM jobid (\d+) ", log, flags=re.M):
        submitted[int(m.group(2))] = blocks[int(m.group(1))]
    return submitted


@pytest.fixture(scope="module")
def slurm_run(tiny_run, tmp_path_factory) -> SimpleNamespace:
    pytest.importorskip("snakemake_executor_plugin_slurm")
    root = tmp_path_factory.mktemp("slurm_workflow")
    work, state = copy_run(tiny_run, root / "work"), root / "state"
    before = output_state(work)
    profile = filled_profile(root / "profile")
    env = fake_slurm.install(root / "bin", state, partition_names=PARTITIONS, account_names=[ACCOUNT])
    cmd = [
        *SNAKEMAKE,
        "--force",
        *SLURM_TARGETS.values(),
        "--snakefile",
        str(REPO / "Snakefile"),
        "--directory",
        str(work),
        "--configfile",
        str(TINY),
        "--workflow-profile",
        str(profile),
        "--jobs",
        "2",
        *FAST_POLLING,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=WORKFLOW_HANG_GUARD_S)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-5000:]
    after = output_state(work)
    return SimpleNamespace(
        work=work,
        state=state,
        log=log,
        profile=yaml.safe_load((profile / "config.yaml").read_text()),
        jobs=fake_slurm.read_jsonl(state / "sbatch.jsonl"),
        steps={s["job_id"]: s for s in fake_slurm.read_jsonl(state / "srun.jsonl")},
        rewritten=sorted(rel for rel in after if after[rel] != before.get(rel)),
    )


@pytest.mark.slow
def test_slurm_profile_run_outputs(slurm_run, tiny_run):
    """The jobs run through SLURM rewrote their outputs with what the local run made, and nothing else."""
    made = [rel for rel in slurm_run.rewritten if rel.startswith("results/")]
    fuse_outputs = [
        f"results/predictions/random/{name}.csv"
        for name in ("df4lcz", "df4lcz_tuned", "df4lcz_cal", "df4lcz_cal_tuned", "alpha_curve", "fusion")
    ]
    # the map tile job also writes the tile's per-stream classes (map.uncertainty, on by default)
    streams = stream_tile_path(SLURM_TARGETS["lcz_map_tile"]).as_posix()
    assert streams == "results/maps/tiles/demo_city_1/r0c0_streams.tif"
    assert sorted(made) == sorted(
        [SLURM_TARGETS["lcz_map_tile"], streams, SLURM_TARGETS["predict"], *fuse_outputs]
    )
    for rel in made:
        assert_same_file(slurm_run.work / rel, tiny_run / rel)
    pred = pd.read_csv(slurm_run.work / SLURM_TARGETS["predict"])
    split = pd.read_csv(slurm_run.work / "results" / "splits" / "polygon.csv")
    valid = pd.read_csv(slurm_run.work / "results" / "valid_samples.csv")
    expected = split[split.split.isin(["val", "test"]) & split.sample_id.isin(valid.sample_id[valid.valid])]
    assert len(pred) > 0 and sorted(pred.sample_id) == sorted(expected.sample_id)
    samples = pd.read_parquet(slurm_run.work / "results" / "samples.parquet", columns=["sample_id", "lcz"])
    assert (
        pred.y_true.to_numpy() == samples.set_index("sample_id").loc[pred.sample_id, "lcz"].to_numpy()
    ).all()
    with rasterio.open(slurm_run.work / SLURM_TARGETS["lcz_map_tile"]) as tile:
        assert tile.count == 17 and tile.width == tile.height == 6


@pytest.mark.slow
def test_slurm_profile_every_job_went_through_sbatch(slurm_run):
    log, jobs = slurm_run.log, slurm_run.jobs
    started = re.findall(r"^(localrule|rule|checkpoint) (\w+):$", log, flags=re.M)
    assert [name for kind, name in started if kind == "localrule"] == []  # nothing ran in the main process
    assert sorted(r["rule"] for r in jobs) == sorted(name for _, name in started) == sorted(SLURM_TARGETS)
    # one run id as job name; every job ran its step through srun and ended COMPLETED
    assert len({r["job_name"] for r in jobs}) == 1
    for job in jobs:
        assert fake_slurm.job_state(slurm_run.state, str(job["id"])) == "COMPLETED", job
        assert job["id"] in slurm_run.steps, job
    # status went through sacct in the plugin's format, for the run's jobs only; nothing was cancelled
    queries = fake_slurm.read_jsonl(slurm_run.state / "queries.jsonl")
    assert queries and all(
        q["command"] == "sacct"
        and "--format=JobIdRaw,State" in q["argv"]
        and q["argv"][q["argv"].index("--name") + 1] == jobs[0]["job_name"]
        for q in queries
    )
    assert {i for q in queries for i in q["ids"]} <= {str(j["id"]) for j in jobs}
    assert not (slurm_run.state / "scancel.jsonl").exists()


@pytest.mark.slow
def test_slurm_profile_resources_reach_sbatch(slurm_run):
    declared = submitted_jobs(slurm_run.log)
    assert sorted(declared) == sorted(r["id"] for r in slurm_run.jobs)
    profile = slurm_run.profile
    defaults = dict(kv.split("=", 1) for kv in profile["default-resources"])
    for job in slurm_run.jobs:
        want, step = declared[job["id"]], slurm_run.steps[job["id"]]
        rule, resources = want["rule"], want["resources"]
        assert job["rule"] == rule
        # what Snakemake resolved for the job is what sbatch got
        assert (job["cpus_per_task"], job["mem_mb"], job["minutes"], job["partition"], job["account"]) == (
            want["threads"],
            int(resources["mem_mb"]),
            int(resources["runtime"]),
            resources["slurm_partition"],
            resources["slurm_account"],
        ), job
        # ... and that is what the profile (or, where it is silent, the rule) declares
        per_rule = profile["set-resources"].get(rule, {})
        gpu_rule = rule in GPU_RULES
        assert (
            job["partition"] == (GPU_PARTITION if gpu_rule else CPU_PARTITION) and job["account"] == ACCOUNT
        )
        assert job["minutes"] == int(per_rule.get("runtime", defaults["runtime"])), job
        if "mem_mb" in per_rule:
            assert job["mem_mb"] == per_rule["mem_mb"], job
        assert job["cpus_per_task"] == profile["set-threads"].get(rule, want["threads"]), job
        # GPU rules: one GPU, for the allocation and for the job step; the others none
        assert bool(per_rule.get("gpu")) == gpu_rule
        if gpu_rule:
            assert (job["gpus"], job["gpus_arg"], job["gres"], step["gpus"]) == (1, "1", None, 1), job
            assert job["ntasks"] is None  # the plugin sets no task count for GPU jobs
        else:
            assert (job["gpus"], job["gres"], step["gpus"], job["ntasks"]) == (0, None, 0, 1), job
            assert not any(a.startswith(("--gpus", "--gres", "-G")) for a in job["argv"]), job
        # the step asks for the threads the job gets inside its allocation (`--cores all` there: this
        # host's CPUs, which a real allocation of cpus_per_task CPUs would not cap below the request)
        assert step["cpus_per_task"] == min(job["cpus_per_task"], len(os.sched_getaffinity(0))), (job, step)
        assert step["ntasks"] == 1
    # spot checks against the profile file's literal values
    by_rule = {j["rule"]: j for j in slurm_run.jobs}
    assert (
        by_rule["lcz_map_tile"]["minutes"],
        by_rule["lcz_map_tile"]["mem_mb"],
        by_rule["lcz_map_tile"]["cpus_per_task"],
    ) == (120, 16000, 4)
    assert (
        by_rule["predict"]["minutes"],
        by_rule["predict"]["mem_mb"],
        by_rule["predict"]["cpus_per_task"],
    ) == (60, 16000, 4)
    assert (by_rule["fuse"]["minutes"], by_rule["fuse"]["mem_mb"]) == (
        60,
        1000,
    )  # default runtime, rule's memory
