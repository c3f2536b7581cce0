"""A killed train job resumes (df4lcz.training.resume, docs/contracts.md §10).

The tiny run's GCN train job (3 epochs) is killed by SIGTERM or SIGKILL right after its second epoch's
state is saved (fault injection through ``DF4LCZ_STOP_AFTER_EPOCH``, no timing), then run again: it
resumes at epoch 3 and writes a model file byte-identical to the uninterrupted tiny run's. The
in-process checks (same weights and history, other settings start afresh) are in test_training.py.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
import torch
from helpers.workflow import REPO

from df4lcz.training.resume import RESUME_SUFFIX, STOP_AFTER_EPOCH_ENV


@pytest.mark.slow
@pytest.mark.parametrize("sig", ["SIGTERM", "SIGKILL"])
def test_killed_train_job_resumes_at_epoch_3_with_the_same_model(tiny_run_copy, sig):
    run = tiny_run_copy
    model = run / "results" / "models" / "random" / "gcn.pt"
    reference = model.read_bytes()  # the uninterrupted tiny run's model (3 epochs)
    state = model.parent / f"gcn.pt{RESUME_SUFFIX}"
    assert not state.exists()  # a finished job leaves no state behind
    model.unlink()
    job = run / "logs" / "train" / "random_gcn.log.job.json"
    cmd = [sys.executable, str(REPO / "workflow_scripts" / "train.py"), str(job)]

    killed = subprocess.run(
        cmd, cwd=run, capture_output=True, text=True, env={**os.environ, STOP_AFTER_EPOCH_ENV: f"2:{sig}"}
    )
    assert killed.returncode == -getattr(signal, sig), killed.stderr[-2000:]
    assert state.exists() and not model.exists()
    assert torch.load(state, weights_only=False)["epochs_done"] == 2

    env = {k: v for k, v in os.environ.items() if k != STOP_AFTER_EPOCH_ENV}
    subprocess.run(cmd, cwd=run, capture_output=True, text=True, env=env, check=True)
    log = (run / "logs" / "train" / "random_gcn.log").read_text(encoding="utf-8")
    assert "gcn: resuming after epoch 2 of 3 from results/models/random/gcn.pt.resume" in log
    assert "gcn epoch 3/3" in log.split("resuming after epoch 2")[-1]
    assert "gcn epoch 1/3" not in log.split("resuming after epoch 2")[-1]
    assert model.read_bytes() == reference
    assert not state.exists()
