"""The one place that turns the ``train.device`` / ``segment.sam.device`` setting into a torch device."""

from __future__ import annotations

import torch

#: What a device setting may say (besides ``cuda:N``), for error messages.
DEVICE_HELP: str = "'auto', 'cpu', 'cuda' or 'cuda:N'"


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` → CUDA when available, else CPU; other values are passed to ``torch.device``.

    Raises:
        ValueError: the name is not a torch device, or CUDA is requested but unavailable.
    """
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"device {device!r} is not a torch device; use {DEVICE_HELP}") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} requested but CUDA is not available on this machine")
    return dev
