"""Run Snakemake with a job selector that takes a few seconds, to hit the selection window on purpose.

Usage: ``python tests/helpers/slow_selection.py <arm-file> <seconds> <snakemake args…>``

Job selection runs on Snakemake's main thread while it holds the scheduler's lock. When the file
``<arm-file>`` exists at the start of a selection, the selection removes it, writes
``<arm-file>.inside`` holding ``time.time()``, sleeps ``seconds`` inside the lock, writes
``<arm-file>.left`` and selects as usual. A SIGTERM sent while ``.inside`` exists and ``.left`` does
not lands exactly where Snakemake 9's own handler deadlocks (see ``df4lcz.sigterm``). Selections
while the file is absent are not slowed.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from snakemake.cli import main
from snakemake.scheduling.job_scheduler import JobScheduler

ARM = Path(sys.argv[1])
SECONDS = float(sys.argv[2])
_original_init = JobScheduler.__init__


def _init(self, *args, **kwargs):
    _original_init(self, *args, **kwargs)
    select = self._job_selector

    def slow_select(*a, **kw):
        if ARM.exists():
            ARM.unlink()
            Path(f"{ARM}.inside").write_text(repr(time.time()))
            time.sleep(SECONDS)  # resumed after a signal handler returns (PEP 475)
            Path(f"{ARM}.left").write_text(repr(time.time()))
        return select(*a, **kw)

    self._job_selector = slow_select


JobScheduler.__init__ = _init

if __name__ == "__main__":
    sys.argv = ["snakemake", *sys.argv[3:]]
    sys.exit(main())
