"""Protection against a Snakemake 9 deadlock when SIGTERM arrives during job selection.

Snakemake's ``JobScheduler`` handles SIGTERM with ``exit_gracefully``, which takes the scheduler's
lock (``with self._lock``). Python runs signal handlers on the main thread, between bytecodes. When
the signal lands while the main thread itself holds that (non-reentrant) lock — inside job selection
(``job_selector`` → the ILP or greedy selector) or while it collects finished jobs — the handler
waits for a lock its own thread holds: Snakemake hangs forever, logging nothing (seen with 9.27.1;
``JobScheduler.exit_gracefully``, job_scheduler.py:575). A cluster's walltime limit and ``scancel``
send exactly this signal.

:func:`defer_sigterm_handler` (called from the workflow's ``onstart:`` hook, after Snakemake has
installed its handler and before the first job is selected) wraps Snakemake's handler so that it
runs on a short-lived thread: the main thread finishes what it holds the lock for, the thread then
takes the lock and asks for the graceful exit, and Snakemake stops after its running jobs as
documented. See docs/cluster.md.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

#: Name of the thread that runs the deferred handler (visible in stack dumps).
THREAD_NAME: str = "df4lcz-sigterm"


def deferring(handler: Callable[[int, FrameType | None], Any]) -> Callable[[int, FrameType | None], None]:
    """A signal handler that runs ``handler(signum, frame)`` on a new daemon thread and returns at once."""

    def deferred(signum: int, frame: FrameType | None) -> None:
        threading.Thread(target=handler, args=(signum, frame), name=THREAD_NAME, daemon=True).start()

    deferred.__wrapped__ = handler  # type: ignore[attr-defined]
    return deferred


def defer_sigterm_handler() -> bool:
    """Re-install the current SIGTERM handler so that it runs off the main thread.

    Returns:
        True when a Python handler was wrapped; False when there was none to wrap (default or
        ignored disposition), when it is already deferred, or when not called from the main thread.
    """
    if threading.current_thread() is not threading.main_thread():
        return False
    current = signal.getsignal(signal.SIGTERM)
    if not callable(current) or hasattr(current, "__wrapped__"):
        return False
    signal.signal(signal.SIGTERM, deferring(current))
    return True
