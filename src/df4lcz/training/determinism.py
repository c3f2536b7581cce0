"""Seeded, deterministic training: one context manager shared by both streams."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np
import torch


@contextlib.contextmanager
def deterministic(seed: int, device: torch.device) -> Iterator[torch.Generator]:
    """Seed torch and yield a CPU ``torch.Generator`` for shuffling/augmentation.

    On CPU, deterministic algorithms are enforced for the duration of the block; on CUDA, cuDNN is
    set to deterministic mode without benchmarking (scatter/atomic kernels may still differ in the
    last bits between runs). Previous global settings are restored on exit.

    Deterministic mode would also fill every new tensor with NaN
    (``torch.utils.deterministic.fill_uninitialized_memory``), a guard against kernels that read
    memory they never wrote. The kernels of the training loop write every output element first, so
    the fill only cost time (one more write of every new activation and gradient: a fifth of the CPU
    time of a training step of the demo's ResNet11 under ``torch.profiler``, 2026-12); it is switched
    off inside the block. Trained weights and predictions are byte-identical.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    prev_det = torch.are_deterministic_algorithms_enabled()
    prev_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    prev_cudnn = (torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark)
    prev_fill = torch.utils.deterministic.fill_uninitialized_memory  # type: ignore[attr-defined]
    torch.manual_seed(int(seed))
    gen = torch.Generator().manual_seed(int(seed))
    try:
        if device.type == "cpu":
            torch.use_deterministic_algorithms(True)
            torch.utils.deterministic.fill_uninitialized_memory = False  # type: ignore[attr-defined]
        else:
            torch.backends.cudnn.deterministic = True
            torch.backends.cudnn.benchmark = False
        yield gen
    finally:
        torch.use_deterministic_algorithms(prev_det, warn_only=prev_warn)
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = prev_cudnn
        torch.utils.deterministic.fill_uninitialized_memory = prev_fill  # type: ignore[attr-defined]
