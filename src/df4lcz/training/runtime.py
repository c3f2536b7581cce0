"""Process settings of a train or predict job on the CPU: torch threads and reuse of freed memory.

A Snakemake ``script:`` job gets no ``OMP_NUM_THREADS``; torch would start one thread per core of
the machine, whatever the rule's ``threads``. :func:`configure_cpu_job` sets torch's intra-op
threads to the job's ``threads`` (on a 2-core machine with ``threads: 2`` that is torch's default,
so results are unchanged: the thread count can change the summation order of some kernels).

The Sentinel-2 networks allocate activations of tens to hundreds of MiB per layer and free them
at every step. glibc serves blocks above its mmap threshold (at most 32 MiB by default) with a
fresh ``mmap`` and returns them on ``free``, so every step faulted in gigabytes of new zeroed pages
(400,000–700,000 minor page faults per training step of the demo's width-8 ResNet11 at batch 64,
measured 2026-12). :func:`keep_freed_memory` raises the mmap and trim thresholds so freed blocks
stay in the heap and are reused by the next step (a few thousand faults per step). Memory contents
never enter the results (every kernel writes its output before reading it), so the outputs are
byte-identical. The cost is memory: the heap keeps its largest extent, and blocks of mixed sizes
fragment it, so the peak resident set of the demo's Sentinel-2 train job rose from 2.4 to 3.4 GB
(one epoch, 2026-12; the rule reserves 6 GB). Together with no NaN fill (:func:`.determinism.deterministic`) this doubles the
training rate of the demo network (``bench/bench_training.py``, the ``demo width 8`` line).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import sys

import torch

#: glibc ``mallopt`` parameters (``<malloc.h>``).
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3

#: Threshold (bytes) below which allocations stay in the heap and freed heap memory is kept:
#: the largest value ``mallopt`` takes (a C ``int``), above any activation of the models trained here.
HEAP_KEEP_BYTES: int = 2**31 - 1


def keep_freed_memory() -> bool:
    """Keep freed memory in the process heap for reuse (glibc); ``True`` when applied.

    A no-op returning ``False`` on other C libraries (macOS, musl) and Windows.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, HEAP_KEEP_BYTES)) and bool(
        mallopt(_M_TRIM_THRESHOLD, HEAP_KEEP_BYTES)
    )


def configure_cpu_job(threads: int, log: logging.Logger | None = None) -> None:
    """Set torch's intra-op threads to ``threads`` (the rule's) and keep freed memory for reuse."""
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"configure_cpu_job: threads must be a positive integer, got {threads!r}")
    torch.set_num_threads(threads)
    kept = keep_freed_memory()
    if log is not None:
        log.info(
            "torch CPU threads %d; freed memory kept for reuse: %s",
            torch.get_num_threads(),
            "yes" if kept else "no (not glibc)",
        )
