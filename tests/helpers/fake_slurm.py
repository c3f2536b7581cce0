"""Fake SLURM commands for tests: ``sbatch``, ``squeue``, ``sacct``, ``scancel``, ``srun`` and the
``sinfo``/``sacctmgr``/``scontrol`` queries, run on this host.

They answer with the output formats snakemake-executor-plugin-slurm 2.x parses, so that the plugin's
real submission, status and cancel code runs against them:

* ``sbatch --parsable ... (--wrap=CMD | SCRIPT)`` checks partition and account, records the request
  and prints the job id; the job then runs in the background (own session, detached from the
  caller) in ``--chdir``, with the caller's environment (``--export=ALL``) plus ``SLURM_JOB_ID``,
  ``SLURM_CPUS_PER_TASK``, ``SLURM_GPUS`` …, and its output in ``--output`` (``%j`` = job id).
  At most ``$FAKE_SLURM_MAX_RUNNING`` (default 2) jobs run at once; the others stay ``PENDING``.
* ``sacct -X --parsable2 --noheader --format=JobIdRaw,State --name NAME`` (or ``-j ID[.STEP]``)
  prints ``id|STATE`` lines: ``PENDING``, ``RUNNING``, ``COMPLETED`` (exit 0), ``FAILED`` (any other
  exit status or a job that died without one), ``CANCELLED``.
* ``squeue --format='%i|%T' --states=all --noheader --name NAME`` prints the same pairs.
* ``scancel ID...`` terminates the jobs' process groups; they end ``CANCELLED``.
* ``srun [options] CMD...`` (inside a job only: the plugin's job step) records the step's CPUs and
  GPUs, refuses more GPUs than the job holds, and execs ``CMD`` in place with ``SLURM_STEP_ID``,
  ``SLURM_CPUS_PER_TASK`` and ``SLURM_GPUS`` set for the step.
* ``sinfo -o %P`` lists the partitions (``$FAKE_SLURM_PARTITIONS``, comma-separated, ``*`` marks the
  default; default ``cpu*,gpu``), ``sacctmgr -n -s list user NAME format=account`` the accounts
  (``$FAKE_SLURM_ACCOUNTS``, default ``df4lcz_test``), ``scontrol show config`` ``MinJobAge`` and
  ``MaxArraySize``.

An option the fakes do not know fails the call (exit 2, message on stderr), as an unknown option
fails the real command, so a plugin that starts passing new options is noticed. Job arrays and
``--export`` values other than ``ALL`` are refused.

State lives in ``$FAKE_SLURM_DIR``::

    next_id                  the last job id handed out (guarded by an flock)
    sbatch.jsonl             one JSON line per accepted submission: id, job_name, comment, rule and
                             wildcards (from the plugin's ``--comment rule_R_wildcards_W``), account,
                             partition, cpus_per_task, ntasks, mem_mb, time/minutes, gpus (count, from
                             --gpus or --gres), gpus_arg, gres, workdir, output, argv, submitted
    srun.jsonl               one JSON line per job step (job id, cpus, gpus, nodes, command)
    scancel.jsonl            one JSON line per scancel call (job ids)
    queries.jsonl            one JSON line per sacct/squeue call: command, argv, ids (the jobs listed)
    <id>.job                 the submitted command or script
    <id>.pid                 pid of the job's runner (its process group leader)
    <id>.started             written when the job leaves PENDING
    <id>.rc                  the job's exit status (written atomically when it ends)
    <id>.cancelled           written by scancel
    slot<N>.lock             flocks bounding the jobs that run at once

``install(bin_dir, state_dir)`` writes a ``sh`` wrapper per command into ``bin_dir`` (running this
file with the current Python) and returns the environment to run Snakemake in; from a shell,
``eval "$(python tests/helpers/fake_slurm.py install BIN_DIR STATE_DIR)"`` does the same. Only the
standard library is used.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

STATE_ENV = "FAKE_SLURM_DIR"
MAX_RUNNING_ENV = "FAKE_SLURM_MAX_RUNNING"
PARTITIONS_ENV = "FAKE_SLURM_PARTITIONS"
ACCOUNTS_ENV = "FAKE_SLURM_ACCOUNTS"

#: Jobs that run at once unless ``$FAKE_SLURM_MAX_RUNNING`` says otherwise (a 2-core test machine).
DEFAULT_MAX_RUNNING = 2
#: Partitions and accounts of the fake cluster unless the environment names others.
DEFAULT_PARTITIONS = "cpu*,gpu"
DEFAULT_ACCOUNTS = "df4lcz_test"
#: What ``scontrol show config`` reports (seconds; the largest array size + 1).
MIN_JOB_AGE_S = 300
MAX_ARRAY_SIZE = 1001
#: Poll interval of a pending job waiting for a free slot.
SLOT_POLL_S = 0.2
#: The cluster name the jobs see.
CLUSTER_NAME = "fake"
#: Commands ``install`` provides.
COMMANDS = ("sbatch", "squeue", "sacct", "scancel", "srun", "sinfo", "sacctmgr", "scontrol")

#: SLURM job states.
PENDING, RUNNING, COMPLETED, FAILED, CANCELLED = "PENDING", "RUNNING", "COMPLETED", "FAILED", "CANCELLED"
ACTIVE_STATES = (PENDING, RUNNING)


class SlurmError(Exception):
    """A refused call: the message goes to stderr prefixed with the command, exit status 1."""


class _Parser(argparse.ArgumentParser):
    """argparse without abbreviations whose errors read like SLURM's (``sbatch: error: ...``)."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog=prog, allow_abbrev=False, add_help=False)

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        sys.exit(2)


# --------------------------------------------------------------------------------------------
# state


def state_dir() -> Path:
    """The state folder ``$FAKE_SLURM_DIR`` (created); the variable is required."""
    value = os.environ.get(STATE_ENV)
    if not value:
        raise SlurmError(f"{STATE_ENV} is not set (the fake cluster's state folder)")
    path = Path(value).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def _names(env: str, default: str) -> list[str]:
    return [n.strip() for n in os.environ.get(env, default).split(",") if n.strip()]


def partitions() -> tuple[list[str], str | None]:
    """The partition names and the default one (marked ``*``)."""
    raw = _names(PARTITIONS_ENV, DEFAULT_PARTITIONS)
    default = next((p.rstrip("*") for p in raw if p.endswith("*")), None)
    return [p.rstrip("*") for p in raw], default


def accounts() -> list[str]:
    return _names(ACCOUNTS_ENV, DEFAULT_ACCOUNTS)


def _append_jsonl(path: Path, record: dict[str, Any]) -> None:
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        fh.write(json.dumps(record) + "\n")


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The records of one of the ``*.jsonl`` logs (empty when there is none yet)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)


def _next_id(state: Path) -> int:
    with open(state / "next_id.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        counter = state / "next_id"
        job_id = int(counter.read_text()) + 1 if counter.exists() else 1
        counter.write_text(str(job_id))
    return job_id


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


def job_records(state: Path) -> dict[str, dict[str, Any]]:
    """Submitted jobs by id (as strings), in submission order."""
    return {str(r["id"]): r for r in read_jsonl(state / "sbatch.jsonl")}


def job_state(state: Path, job_id: str) -> str:
    """The SLURM state of one submitted job."""
    rc_file = state / f"{job_id}.rc"
    for attempt in range(2):  # the rc file is written just before the runner exits
        if rc_file.exists():
            return COMPLETED if rc_file.read_text().strip() == "0" else FAILED
        if (state / f"{job_id}.cancelled").exists():
            return CANCELLED
        pid_file = state / f"{job_id}.pid"
        if not pid_file.exists():
            return PENDING  # sbatch is starting it
        if _alive(int(pid_file.read_text())):
            return RUNNING if (state / f"{job_id}.started").exists() else PENDING
        if attempt == 0:
            time.sleep(SLOT_POLL_S)
    return FAILED  # the runner died without an exit status


def exit_code(state: Path, job_id: str) -> str:
    """sacct's ``ExitCode`` (``status:signal``)."""
    rc_file = state / f"{job_id}.rc"
    if rc_file.exists():
        return f"{int(rc_file.read_text().strip())}:0"
    if (state / f"{job_id}.cancelled").exists():
        return f"0:{int(signal.SIGTERM)}"
    return "0:0"


# --------------------------------------------------------------------------------------------
# sbatch and the job runner


def _count(value: str | None, what: str) -> int:
    """GPUs in ``--gpus=[type:]N`` or ``--gres=gpu[:type][:N]`` (0 when not given)."""
    if not value:
        return 0
    parts = value.split(":")
    if what == "gres":
        if parts[0] != "gpu":
            return 0
        parts = parts[1:] or ["1"]
    last = parts[-1]
    if not last.isdigit():
        if what == "gres":
            return 1  # gpu:TYPE
        raise SlurmError(f"invalid --gpus value {value!r}")
    return int(last)


def _minutes(value: str | None) -> int | None:
    """``--time`` in minutes (``M``, ``M:S``, ``H:M:S``, ``D-H``, ``D-H:M``, ``D-H:M:S``)."""
    if value is None:
        return None
    if "-" in value:
        days, rest = value.split("-", 1)
        hours, minutes = ([int(x) for x in rest.split(":")] + [0, 0])[:2]
        return int(days) * 1440 + hours * 60 + minutes
    fields = [int(x) for x in value.split(":")]
    return fields[0] * 60 + fields[1] if len(fields) == 3 else fields[0]


#: Units ``--mem`` accepts (the default unit is MB).
MEM_UNITS_MB = {"K": 1 / 1024, "M": 1, "G": 1024, "T": 1024 * 1024}


def _mem_mb(value: str | None) -> int | None:
    """``--mem`` in MB (``16000``, ``16000M``, ``16G``)."""
    if value is None:
        return None
    unit = value[-1].upper() if value[-1].isalpha() else "M"
    number = value[:-1] if value[-1].isalpha() else value
    if unit not in MEM_UNITS_MB or not number.isdigit():
        raise SlurmError(f"invalid --mem value {value!r}")
    return int(int(number) * MEM_UNITS_MB[unit])


def _sbatch_parser() -> _Parser:
    p = _Parser("sbatch")
    p.add_argument("--parsable", action="store_true")
    p.add_argument("-J", "--job-name")
    p.add_argument("-o", "--output")
    p.add_argument("-e", "--error")
    p.add_argument("--export", default="ALL")
    p.add_argument("--comment")
    p.add_argument("-A", "--account")
    p.add_argument("-p", "--partition")
    p.add_argument("-M", "--clusters")
    p.add_argument("-t", "--time")
    p.add_argument("-C", "--constraint")
    p.add_argument("-q", "--qos")
    p.add_argument("--reservation")
    p.add_argument("--mem")
    p.add_argument("--mem-per-cpu")
    p.add_argument("-N", "--nodes")
    p.add_argument("-n", "--ntasks", type=int)
    p.add_argument("--ntasks-per-node", type=int)
    p.add_argument("--ntasks-per-gpu", type=int)
    p.add_argument("-c", "--cpus-per-task", type=int)
    p.add_argument("--cpus-per-gpu", type=int)
    p.add_argument("-G", "--gpus")
    p.add_argument("--gres")
    p.add_argument("-x", "--exclude")
    p.add_argument("--requeue", action="store_true")
    p.add_argument("--no-requeue", action="store_true")
    p.add_argument("-D", "--chdir")
    p.add_argument("--wrap")
    p.add_argument("-a", "--array")
    p.add_argument("script", nargs="?")
    return p


def sbatch(argv: list[str]) -> int:
    args = _sbatch_parser().parse_args(argv)
    if args.array:
        raise SlurmError("job arrays are not supported by the fake sbatch")
    if args.export != "ALL":
        raise SlurmError(f"--export={args.export}: the fake sbatch passes the whole environment only (ALL)")
    if (args.wrap is None) == (args.script is None):
        raise SlurmError("give exactly one of --wrap=COMMAND or a batch script")
    names, default_partition = partitions()
    partition = args.partition or default_partition
    if partition not in names:
        raise SlurmError("Batch job submission failed: Invalid partition name specified")
    if args.account is not None and args.account not in accounts():
        raise SlurmError(
            "Batch job submission failed: Invalid account or account/partition combination specified"
        )
    if args.gpus and args.gres and _count(args.gres, "gres"):
        raise SlurmError("--gpus and --gres=gpu given together")
    if args.wrap is not None:
        body = f"#!/bin/sh\n{args.wrap}\n"
    else:
        body = sys.stdin.read() if args.script == "/dev/stdin" else Path(args.script).read_text()
    workdir = Path(args.chdir or os.getcwd())
    if not workdir.is_dir():
        raise SlurmError(f"--chdir {workdir}: no such folder")

    state = state_dir()
    job_id = _next_id(state)
    output = Path(
        workdir, (args.output or "slurm-%j.out").replace("%j", str(job_id)).replace("%A", str(job_id))
    )
    if not output.parent.is_dir():
        raise SlurmError(f"--output {output}: the folder does not exist")
    script = state / f"{job_id}.job"
    script.write_text(body)
    gpus = _count(args.gpus, "gpus") or _count(args.gres, "gres")
    cpus = args.cpus_per_task or 1
    mem_mb = _mem_mb(args.mem)
    env = dict(
        os.environ,
        SLURM_JOB_ID=str(job_id),
        SLURM_JOBID=str(job_id),
        SLURM_JOB_NAME=args.job_name or script.name,
        SLURM_JOB_PARTITION=partition,
        SLURM_CPUS_PER_TASK=str(cpus),
        SLURM_NTASKS=str(args.ntasks or 1),
        SLURM_NNODES="1",
        SLURM_SUBMIT_DIR=os.getcwd(),
        SLURM_CLUSTER_NAME=CLUSTER_NAME,
    )
    if args.account:
        env["SLURM_JOB_ACCOUNT"] = args.account
    if mem_mb is not None:
        env["SLURM_MEM_PER_NODE"] = str(mem_mb)
    if gpus:
        env["SLURM_GPUS"] = str(gpus)
    comment = args.comment or ""
    rule, _, wildcards = comment.removeprefix("rule_").partition("_wildcards_")
    record = dict(
        id=job_id,
        job_name=args.job_name,
        comment=comment,
        rule=rule if comment.startswith("rule_") else None,
        wildcards=wildcards,
        account=args.account,
        partition=partition,
        cpus_per_task=args.cpus_per_task,
        cpus_per_gpu=args.cpus_per_gpu,
        ntasks=args.ntasks,
        mem_mb=mem_mb,
        mem_per_cpu=args.mem_per_cpu,
        time=args.time,
        minutes=_minutes(args.time),
        gpus=gpus,
        gpus_arg=args.gpus,
        gres=args.gres,
        nodes=args.nodes,
        qos=args.qos,
        constraint=args.constraint,
        workdir=str(workdir),
        output=str(output),
        argv=argv,
        submitted=time.time(),
    )
    _append_jsonl(state / "sbatch.jsonl", record)  # before the job starts: its srun looks it up
    with open(output, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "_run", str(job_id)],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=workdir,
            env=env,
            start_new_session=True,
        )
    _write_atomic(state / f"{job_id}.pid", str(proc.pid))
    if not args.parsable:
        print(f"Submitted batch job {job_id}")
    else:
        print(f"{job_id};{CLUSTER_NAME}" if args.clusters else job_id)
    return 0


def _take_slot(state: Path) -> Any:
    """Block until one of the ``$FAKE_SLURM_MAX_RUNNING`` slots is free; hold its flock."""
    n_slots = int(os.environ.get(MAX_RUNNING_ENV, DEFAULT_MAX_RUNNING))
    while True:
        for slot in range(n_slots):
            fh = open(state / f"slot{slot}.lock", "w")  # noqa: SIM115 (held open: the slot's flock)
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return fh
            except BlockingIOError:
                fh.close()
        time.sleep(SLOT_POLL_S)


def run_job(argv: list[str]) -> int:
    """The detached runner of one job: wait for a slot, run the script, record its exit status."""
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    job_id = argv[0]
    state = state_dir()
    slot = _take_slot(state)
    _write_atomic(state / f"{job_id}.started", f"{time.time()}\n")
    rc = subprocess.call(["/bin/sh", str(state / f"{job_id}.job")])
    _write_atomic(state / f"{job_id}.rc", f"{rc}\n")
    slot.close()
    return rc


# --------------------------------------------------------------------------------------------
# status: sacct and squeue

#: sacct fields the fake fills (``Field%width`` accepted; width ignored with --parsable2).
SACCT_FIELDS = (
    "JobIdRaw",
    "JobID",
    "JobName",
    "State",
    "ExitCode",
    "Partition",
    "Account",
    "Reason",
    "Comment",
    "NodeList",
)


def _sacct_row(state: Path, record: dict[str, Any], step: str | None) -> dict[str, str]:
    job_id = str(record["id"])
    status = job_state(state, job_id)
    reason = "NonZeroExitCode" if status == FAILED else "None"
    full_id = f"{job_id}.{step}" if step is not None else job_id
    return dict(
        JobIdRaw=full_id,
        JobID=full_id,
        JobName=record["job_name"] or "",
        State=status,
        ExitCode=exit_code(state, job_id),
        Partition=record["partition"] or "",
        Account=record["account"] or "",
        Reason=reason,
        Comment=record["comment"],
        NodeList="localhost",
    )


def _table(rows: list[list[str]], header: list[str], parsable: str | None, noheader: bool) -> str:
    lines = [] if noheader else [header]
    lines += rows
    if parsable:
        end = "|" if parsable == "parsable" else ""
        return "".join("|".join(r) + end + "\n" for r in lines)
    widths = [max([len(r[i]) for r in lines] + [10]) for i in range(len(header))]
    return "".join(" ".join(v.rjust(w) for v, w in zip(r, widths)) + "\n" for r in lines)


def sacct(argv: list[str]) -> int:
    p = _Parser("sacct")
    p.add_argument("-X", "--allocations", action="store_true")
    p.add_argument("-P", "--parsable2", action="store_true")
    p.add_argument("-p", "--parsable", action="store_true")
    p.add_argument("-n", "--noheader", action="store_true")
    p.add_argument("-o", "--format", default="JobID,JobName,Partition,Account,State,ExitCode")
    p.add_argument("-j", "--jobs")
    p.add_argument("--name")
    p.add_argument("-S", "--starttime")
    p.add_argument("-E", "--endtime")
    p.add_argument("-M", "--clusters")
    p.add_argument("-u", "--user")
    args = p.parse_args(argv)
    fields = [f.split("%", 1)[0] for f in args.format.split(",") if f]
    unknown = [f for f in fields if f not in SACCT_FIELDS]
    if unknown:
        raise SlurmError(
            f"Invalid field requested: {unknown[0]!r} (the fake knows {', '.join(SACCT_FIELDS)})"
        )
    state = state_dir()
    records = job_records(state)
    wanted: list[tuple[str, str | None]]
    if args.jobs:
        wanted = [
            (j.split(".", 1)[0], j.split(".", 1)[1] if "." in j else None) for j in args.jobs.split(",")
        ]
    else:
        wanted = [(i, None) for i in records]
    names = set(args.name.split(",")) if args.name else None
    steps = {str(r["job_id"]) for r in read_jsonl(state / "srun.jsonl")}
    rows = []
    for job_id, step in wanted:
        record = records.get(job_id)
        if record is None or (names is not None and record["job_name"] not in names):
            continue
        if step is not None and (args.allocations or step != "0" or job_id not in steps):
            continue  # one step per job (the plugin's srun), none with -X
        row = _sacct_row(state, record, step)
        rows.append([row[f] for f in fields])
    _append_jsonl(
        state / "queries.jsonl",
        dict(
            command="sacct",
            argv=argv,
            ids=[r["JobIdRaw"] for r in (dict(zip(fields, row)) for row in rows) if "JobIdRaw" in r],
            time=time.time(),
        ),
    )
    parsable = "parsable2" if args.parsable2 else ("parsable" if args.parsable else None)
    sys.stdout.write(_table(rows, fields, parsable, args.noheader))
    return 0


#: squeue format letters the fake fills.
SQUEUE_CODES = {
    "i": ("JOBID", "id"),
    "A": ("JOBID", "id"),
    "T": ("STATE", "state"),
    "j": ("NAME", "job_name"),
    "P": ("PARTITION", "partition"),
    "a": ("ACCOUNT", "account"),
    "k": ("COMMENT", "comment"),
}


def squeue(argv: list[str]) -> int:
    p = _Parser("squeue")
    p.add_argument("-o", "--format", default="%i|%T")
    p.add_argument("-t", "--states", default="PENDING,RUNNING")
    p.add_argument("-h", "--noheader", action="store_true")
    p.add_argument("-n", "--name")
    p.add_argument("-j", "--jobs")
    p.add_argument("-u", "--user")
    p.add_argument("-M", "--clusters")
    args = p.parse_args(argv)
    state = state_dir()
    records = job_records(state)
    ids = args.jobs.split(",") if args.jobs else list(records)
    names = set(args.name.split(",")) if args.name else None
    states = None if args.states.lower() == "all" else {s.upper() for s in args.states.split(",")}
    parts = args.format.replace("%%", "\0").split("%")
    rows_out, header = [], parts[0]
    selected = []
    for job_id in ids:
        record = records.get(job_id)
        if record is None or (names is not None and record["job_name"] not in names):
            continue
        status = job_state(state, job_id)
        if states is None or status in states:
            selected.append(dict(record, id=job_id, state=status))
    _append_jsonl(
        state / "queries.jsonl",
        dict(command="squeue", argv=argv, ids=[j["id"] for j in selected], time=time.time()),
    )
    for part in parts[1:]:
        code = part[:1]
        if code not in SQUEUE_CODES:
            raise SlurmError(f"format code %{code} is not known to the fake squeue")
        header += SQUEUE_CODES[code][0] + part[1:]
    for job in selected:
        line = parts[0]
        for part in parts[1:]:
            line += str(job[SQUEUE_CODES[part[:1]][1]] or "") + part[1:]
        rows_out.append(line.replace("\0", "%"))
    if not args.noheader:
        sys.stdout.write(header.replace("\0", "%") + "\n")
    sys.stdout.write("".join(r + "\n" for r in rows_out))
    return 0


# --------------------------------------------------------------------------------------------
# scancel, srun and the cluster queries


def scancel(argv: list[str]) -> int:
    p = _Parser("scancel")
    p.add_argument("-M", "--clusters")
    p.add_argument("job_ids", nargs="+")
    args = p.parse_args(argv)
    state = state_dir()
    records = job_records(state)
    _append_jsonl(
        state / "scancel.jsonl", dict(job_ids=args.job_ids, clusters=args.clusters, time=time.time())
    )
    unknown = [j for j in args.job_ids if j not in records]
    for job_id in args.job_ids:
        if job_id in unknown or job_state(state, job_id) not in ACTIVE_STATES:
            continue
        _write_atomic(state / f"{job_id}.cancelled", f"{time.time()}\n")
        try:
            os.killpg(int((state / f"{job_id}.pid").read_text()), signal.SIGTERM)
        except ProcessLookupError:
            pass
    for job_id in unknown:
        sys.stderr.write(f"scancel: error: Kill job error on job id {job_id}: Invalid job id specified\n")
    return 1 if unknown else 0


def srun(argv: list[str]) -> int:
    p = _Parser("srun")
    p.add_argument("-n", "--ntasks", type=int, default=1)
    p.add_argument("--cpu-bind")
    p.add_argument("-c", "--cpus-per-task", type=int)
    p.add_argument("--cpus-per-gpu", type=int)
    p.add_argument("-G", "--gpus")
    p.add_argument("-N", "--nodes")
    p.add_argument("--mem")
    p.add_argument("--mem-per-cpu")
    p.add_argument("--exclusive", action="store_true")
    p.add_argument("-J", "--job-name")
    p.add_argument("--jobid")
    p.add_argument("command", nargs=argparse.REMAINDER)
    args = p.parse_args(argv)
    if not args.command:
        raise SlurmError("no command to run")
    job_id = args.jobid or os.environ.get("SLURM_JOB_ID")
    state = state_dir()
    record = job_records(state).get(str(job_id)) if job_id else None
    if record is None:
        raise SlurmError("the fake srun runs only inside a job of the fake sbatch (no SLURM_JOB_ID)")
    gpus = _count(args.gpus, "gpus")
    if gpus > record["gpus"]:
        raise SlurmError(
            f"Unable to create step for job {job_id}: {gpus} GPUs requested, the job holds {record['gpus']}"
        )
    _append_jsonl(
        state / "srun.jsonl",
        dict(
            job_id=int(job_id),
            ntasks=args.ntasks,
            cpus_per_task=args.cpus_per_task,
            cpus_per_gpu=args.cpus_per_gpu,
            gpus=gpus,
            nodes=args.nodes,
            argv=argv[: len(argv) - len(args.command)],
            command=args.command,
        ),
    )
    os.environ["SLURM_STEP_ID"] = "0"  # what a real step sees of its own allocation
    if args.cpus_per_task:
        os.environ["SLURM_CPUS_PER_TASK"] = str(args.cpus_per_task)
    if gpus:
        os.environ["SLURM_GPUS"] = str(gpus)
    sys.stdout.flush()
    os.execvp(args.command[0], args.command)
    return 127  # not reached


def sinfo(argv: list[str]) -> int:
    p = _Parser("sinfo")
    p.add_argument("-o", "--format", default="%P")
    p.add_argument("-h", "--noheader", action="store_true")
    args = p.parse_args(argv)
    if args.format != "%P":
        raise SlurmError(f"format {args.format!r}: the fake sinfo prints partitions only (-o %P)")
    names, default = partitions()
    lines = [] if args.noheader else ["PARTITION"]
    lines += [n + ("*" if n == default else "") for n in names]
    sys.stdout.write("".join(line + "\n" for line in lines))
    return 0


def sacctmgr(argv: list[str]) -> int:
    p = _Parser("sacctmgr")
    p.add_argument("-n", "--noheader", action="store_true")
    p.add_argument("-s", "--withassoc", action="store_true")
    p.add_argument("-P", "--parsable2", action="store_true")
    p.add_argument("words", nargs="+")
    args = p.parse_args(argv)
    words = [w.lower() for w in args.words]
    if words[:2] not in (["list", "user"], ["show", "user"]) or not any(
        w.startswith("format=account") for w in words
    ):
        raise SlurmError(
            f"the fake sacctmgr answers only 'list user NAME format=account': {shlex.join(argv)}"
        )
    lines = [] if args.noheader else ["Account"]
    sys.stdout.write("".join(line + "\n" for line in lines + accounts()))
    return 0


def scontrol(argv: list[str]) -> int:
    if argv != ["show", "config"]:
        raise SlurmError(f"the fake scontrol answers only 'show config': {shlex.join(argv)}")
    sys.stdout.write(
        f"ClusterName             = {CLUSTER_NAME}\nMaxArraySize            = {MAX_ARRAY_SIZE}\n"
        f"MinJobAge               = {MIN_JOB_AGE_S} sec\n"
    )
    return 0


def install_cli(argv: list[str]) -> int:
    """``install BIN_DIR STATE_DIR``: write the commands; print the ``export`` lines for a shell's ``eval``."""
    p = _Parser("fake_slurm.py install")
    p.add_argument("bin_dir", type=Path)
    p.add_argument("state_dir", type=Path)
    args = p.parse_args(argv)
    env = install(args.bin_dir.resolve(), args.state_dir.resolve())
    for key in (STATE_ENV, PARTITIONS_ENV, ACCOUNTS_ENV, MAX_RUNNING_ENV, "PATH"):
        print(f"export {key}={shlex.quote(env[key])}")
    return 0


HANDLERS = {
    "sbatch": sbatch,
    "squeue": squeue,
    "sacct": sacct,
    "scancel": scancel,
    "srun": srun,
    "sinfo": sinfo,
    "sacctmgr": sacctmgr,
    "scontrol": scontrol,
    "_run": run_job,
    "install": install_cli,
}


def main(argv: list[str]) -> int:
    """``fake_slurm.py COMMAND ARGS...``"""
    if not argv or argv[0] not in HANDLERS:
        sys.stderr.write(f"usage: fake_slurm.py {{{','.join((*COMMANDS, 'install'))}}} ARGS...\n")
        return 2
    try:
        return HANDLERS[argv[0]](argv[1:])
    except SlurmError as exc:
        sys.stderr.write(f"{argv[0]}: error: {exc}\n")
        return 1


# --------------------------------------------------------------------------------------------
# for tests


def install(
    bin_dir: Path,
    state: Path,
    *,
    partition_names: Iterable[str] = (DEFAULT_PARTITIONS,),
    account_names: Iterable[str] = (DEFAULT_ACCOUNTS,),
    max_running: int = DEFAULT_MAX_RUNNING,
    python: str = sys.executable,
) -> dict[str, str]:
    """Write the fake commands into ``bin_dir``; return ``os.environ`` with them first on ``PATH``.

    ``partition_names``: ``*`` after the default one; ``account_names``: the user's accounts. Variables
    of a surrounding SLURM job (``SLURM_*``, ``SBATCH_*``, ``SRUN_*``) are dropped.
    """
    bin_dir.mkdir(parents=True, exist_ok=True)
    me = os.path.abspath(__file__)
    for command in COMMANDS:
        path = bin_dir / command
        path.write_text(f'#!/bin/sh\nexec {shlex.quote(python)} {shlex.quote(me)} {command} "$@"\n')
        path.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "SBATCH_", "SRUN_"))}
    env.update(
        {
            "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
            STATE_ENV: str(state),
            PARTITIONS_ENV: ",".join(partition_names),
            ACCOUNTS_ENV: ",".join(account_names),
            MAX_RUNNING_ENV: str(max_running),
        }
    )
    return env


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
