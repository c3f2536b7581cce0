"""Epoch checkpoints of a training job, and resuming from them (docs/contracts.md §10).

After every epoch the fit loop saves its whole state — network, optimiser, early-stopping state and
best weights, history rows, the shuffling/augmentation generator and torch's global random state —
atomically to ``<model file>.resume`` (:class:`ResumeFile`). A job killed by a walltime, ``scancel``
or a crash, when run again, loads that state and goes on with the next epoch: the model it writes is
the one an uninterrupted run writes (byte-identical on the CPU, where training is deterministic).

The state is not an output of the rule: Snakemake deletes a failed job's outputs, not this file, and
the train stage removes it once the model file is written. It carries a key — a digest of everything
the training depends on (model, hyper-parameters, seed, device, package version, and the path, size
and modification time of every input file) — and a state whose key differs (a changed setting, new
chips) is ignored: the job starts afresh and says so in its log.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import signal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..atomic import atomic_path

#: Suffix of the state file, appended to the model file's name.
RESUME_SUFFIX: str = ".resume"

#: Version of the state's layout (a state of another layout is ignored, never misread).
STATE_VERSION: int = 1

#: Fault injection for the tests: ``"<epoch>:<signal name>"`` (e.g. ``"2:SIGKILL"``) makes the job
#: send itself that signal right after the state of that epoch is saved, as a walltime or
#: ``scancel`` would at that moment. Unset in normal use.
STOP_AFTER_EPOCH_ENV: str = "DF4LCZ_STOP_AFTER_EPOCH"


def file_identity(paths: Sequence[str | os.PathLike]) -> list[list[Any]]:
    """``[path, size, mtime_ns]`` of each file: what the training read, as cheaply as it can be told."""
    out = []
    for p in paths:
        st = os.stat(p)
        out.append([os.fspath(p), st.st_size, st.st_mtime_ns])
    return out


def state_key(identity: Mapping[str, Any]) -> str:
    """SHA-256 of ``identity`` as canonical JSON (sorted keys)."""
    text = json.dumps(identity, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ResumeFile:
    """The epoch state of one training job.

    Attributes:
        path: the state file (``<model file>.resume``).
        key: :func:`state_key` of what the training depends on; a saved state with another key is
            not resumed from.
    """

    path: Path
    key: str

    @classmethod
    def beside(cls, model_path: str | os.PathLike, identity: Mapping[str, Any]) -> ResumeFile:
        """The state file of the job writing ``model_path``, keyed by ``identity``."""
        return cls(Path(f"{os.fspath(model_path)}{RESUME_SUFFIX}"), state_key(identity))

    def load(self, log: logging.Logger) -> dict[str, Any] | None:
        """The saved state to resume from, or ``None`` (no state, another key, unreadable: start afresh)."""
        if not self.path.exists():
            return None
        try:
            state = torch.load(self.path, map_location="cpu", weights_only=False)
        except Exception as err:  # a state that cannot be read is never trusted
            log.warning("%s: cannot be read (%s); training starts afresh", self.path, err)
            return None
        if not isinstance(state, dict) or state.get("version") != STATE_VERSION:
            log.warning("%s: not a training state of this version; training starts afresh", self.path)
            return None
        if state.get("key") != self.key:
            log.info(
                "%s: saved with other settings or inputs (epoch %s); training starts afresh",
                self.path,
                state.get("epochs_done"),
            )
            return None
        return state

    def save(self, state: Mapping[str, Any]) -> None:
        """Write ``state`` (with this file's key) atomically; then obey :data:`STOP_AFTER_EPOCH_ENV`."""
        buffer = io.BytesIO()
        torch.save({**state, "version": STATE_VERSION, "key": self.key}, buffer)
        with atomic_path(self.path, suffix=".tmp") as tmp:
            tmp.write_bytes(buffer.getvalue())
        stop_for_test(int(state["epochs_done"]))

    def discard(self) -> None:
        """Remove the state (the model file is written: nothing is left to resume)."""
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


def stop_for_test(epochs_done: int) -> None:
    """Send this process the signal named by :data:`STOP_AFTER_EPOCH_ENV` after its epoch."""
    setting = os.environ.get(STOP_AFTER_EPOCH_ENV)
    if not setting:
        return
    epoch, _, name = setting.partition(":")
    if int(epoch) == epochs_done:
        os.kill(os.getpid(), getattr(signal, name or "SIGKILL"))
