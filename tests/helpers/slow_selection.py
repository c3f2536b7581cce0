"""Run Snakemake with a job selection that waits for SIGTERM, to land the signal in the selection window on purpose.

Usage: ``python tests/helpers/slow_selection.py <arm-file> <hang-guard-seconds> <snakemake args…>``

Job selection runs on Snakemake's main thread while it holds the scheduler's lock. When the file
``<arm-file>`` exists at the start of a selection, the selection removes it, writes
``<arm-file>.inside`` holding ``time.time()`` and then waits, inside the lock, until the SIGTERM
handler has run: Python runs signal handlers on the main thread, here between two polls of the
wait, and the workflow's handler (``df4lcz.sigterm``) hands the work to a thread named
``df4lcz.sigterm.THREAD_NAME``, whose appearance ends the wait. It then writes ``<arm-file>.left``
and selects as usual. A SIGTERM sent while ``.inside`` exists and ``.left`` does not lands exactly
where Snakemake 9's own handler deadlocks (it would take the lock on the main thread: the wait never
ends, nor does Snakemake). The wait gives up after ``hang-guard-seconds`` (no signal came). Selections
while the file is absent are not slowed.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

from snakemake.cli import main
from snakemake.scheduling.job_scheduler import JobScheduler

from df4lcz.sigterm import THREAD_NAME

ARM = Path(sys.argv[1])
HANG_GUARD_S = float(sys.argv[2])
#: Interval of the wait's polls (the handler runs between two of them).
POLL_S = 0.05
_original_init = JobScheduler.__init__


def _handler_ran() -> bool:
    return any(t.name == THREAD_NAME for t in threading.enumerate())


def _init(self, *args, **kwargs):
    _original_init(self, *args, **kwargs)
    select = self._job_selector

    def slow_select(*a, **kw):
        if ARM.exists():
            ARM.unlink()
            Path(f"{ARM}.inside").write_text(repr(time.time()))
            deadline = time.monotonic() + HANG_GUARD_S
            while not _handler_ran() and time.monotonic() < deadline:
                time.sleep(POLL_S)
            Path(f"{ARM}.left").write_text(repr(time.time()))
        return select(*a, **kw)

    self._job_selector = slow_select


JobScheduler.__init__ = _init

if __name__ == "__main__":
    sys.argv = ["snakemake", *sys.argv[3:]]
    sys.exit(main())
