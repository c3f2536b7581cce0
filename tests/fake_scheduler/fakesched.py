"""A fake batch scheduler for tests and examples: runs job scripts in the background on this host.

It mimics the three commands a cluster offers (``sbatch``/``squeue``/``scancel`` and the like)
with the interface Snakemake's ``cluster-generic`` executor expects:

* ``submit [options] JOBSCRIPT`` starts ``sh JOBSCRIPT`` detached from the caller (its own
  session, SIGHUP ignored, as with ``nohup``), records the job and prints its job id;
* ``status JOBID`` prints exactly one of ``running``, ``success`` or ``failed``;
* ``cancel JOBID...`` terminates the jobs' process groups.

All state lives in one folder, ``$FAKE_SCHEDULER_DIR`` (default ``.fake_scheduler`` in the
current directory)::

    next_id            the last job id handed out (guarded by an flock)
    jobs.jsonl         one JSON line per submission: id, name, options, pid, script, submit time
    <id>.sh            a copy of the submitted job script
    <id>.pid           pid of the job's process group leader
    <id>.out           the job's stdout and stderr
    <id>.rc            the job's exit status (written atomically when it ends; ``cancelled``
                       when cancelled)

Only the standard library is used, so the scripts run under any Python ≥ 3.8.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

#: The job's exit status goes to ``<id>.rc`` through a temporary file and a rename, so that the
#: status command never reads a half-written file.
_RUNNER = 'sh "$1"; rc=$?; echo "$rc" > "$2.tmp" && mv "$2.tmp" "$2"; exit "$rc"'


def state_dir() -> Path:
    path = Path(os.environ.get("FAKE_SCHEDULER_DIR", ".fake_scheduler")).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def _next_id(state: Path) -> int:
    with open(state / "next_id.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        counter = state / "next_id"
        job_id = int(counter.read_text()) + 1 if counter.exists() else 1
        counter.write_text(str(job_id))
    return job_id


def submit(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(
        prog="submit", description="Run a job script in the background; print its id."
    )
    ap.add_argument("--name", default="job", help="job name (e.g. the rule)")
    ap.add_argument(
        "--cpus", type=int, default=1, help="cores the job may use (exported as FAKE_SCHEDULER_CPUS)"
    )
    ap.add_argument("--mem-mb", type=int, default=0, help="memory request, recorded only")
    ap.add_argument("--gpus", type=int, default=0, help="GPU request, recorded only")
    ap.add_argument("--runtime", default="", help="wall-time request in minutes, recorded only")
    ap.add_argument("--partition", default="", help="queue name, recorded only")
    ap.add_argument("jobscript", type=Path)
    args = ap.parse_args(argv)
    state = state_dir()
    job_id = _next_id(state)
    script = state / f"{job_id}.sh"
    shutil.copyfile(args.jobscript, script)
    env = dict(os.environ, FAKE_SCHEDULER_JOB_ID=str(job_id), FAKE_SCHEDULER_CPUS=str(args.cpus))
    with open(state / f"{job_id}.out", "wb") as out:
        proc = subprocess.Popen(
            [
                "nohup",
                "/bin/sh",
                "-c",
                _RUNNER,
                f"fakejob-{job_id}",
                str(script),
                str(state / f"{job_id}.rc"),
            ],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
        )
    (state / f"{job_id}.pid").write_text(str(proc.pid))
    record = dict(
        id=job_id,
        name=args.name,
        cpus=args.cpus,
        mem_mb=args.mem_mb,
        gpus=args.gpus,
        runtime=args.runtime,
        partition=args.partition,
        pid=proc.pid,
        script=str(args.jobscript),
        cwd=os.getcwd(),
        submitted=time.time(),
    )
    with open(state / "jobs.jsonl", "a") as log:
        fcntl.flock(log, fcntl.LOCK_EX)
        log.write(json.dumps(record) + "\n")
    print(job_id)
    return 0


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie left unreaped by a container's init counts as ended)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def job_status(job_id: str) -> str:
    state = state_dir()
    rc_file, pid_file = state / f"{job_id}.rc", state / f"{job_id}.pid"
    if not pid_file.exists():
        return "failed"  # unknown job
    for _ in range(2):  # the rc file is written just before the job's shell exits
        if rc_file.exists():
            return "success" if rc_file.read_text().strip() == "0" else "failed"
        if _alive(int(pid_file.read_text())):
            return "running"
        time.sleep(0.2)
    return "success" if rc_file.exists() and rc_file.read_text().strip() == "0" else "failed"


def status(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: status JOBID", file=sys.stderr)
        return 2
    print(job_status(argv[0].strip("'\"")))
    return 0


def cancel(argv: list[str]) -> int:
    state = state_dir()
    for job_id in argv:
        pid_file = state / f"{job_id}.pid"
        if not pid_file.exists() or (state / f"{job_id}.rc").exists():
            continue
        pid = int(pid_file.read_text())
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        (state / f"{job_id}.rc").write_text("cancelled\n")
    return 0


COMMANDS = {"submit": submit, "status": status, "cancel": cancel}


def main(command: str, argv: list[str]) -> int:
    return COMMANDS[command](argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2:]))
