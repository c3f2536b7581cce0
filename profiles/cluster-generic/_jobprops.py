"""Shared helpers of the cluster-generic scripts (standard library only)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

SCHEDULER = os.environ.get("DF4LCZ_SCHEDULER", "slurm")
FAKE = Path(__file__).resolve().parents[2] / "tests" / "fake_scheduler"


def job_properties(jobscript: str) -> dict:
    """The ``# properties = {...}`` JSON line Snakemake writes into every job script."""
    with open(jobscript) as f:
        for line in f:
            if line.startswith("# properties = "):
                return json.loads(line[len("# properties = ") :])
    raise SystemExit(f"{jobscript}: no '# properties = ' line; is this a Snakemake job script?")


def run(cmd: list[str]) -> str:
    """Run a scheduler command, return its stdout; on failure echo its stderr and exit non-zero."""
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.stderr.write(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
        raise SystemExit(proc.returncode)
    return proc.stdout


def fake(command: str, args: list[str]) -> list[str]:
    return [sys.executable, str(FAKE / command), *args]
