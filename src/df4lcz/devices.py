"""The one place that turns the ``train.device`` / ``segment.sam.device`` setting into a torch device.

:func:`resolve_device` is what a job calls. :func:`device_problems` checks, before any job runs, that
this machine has the devices a run's settings name (:func:`used_device_settings`); the workflow calls
it from its ``onstart`` hook when the jobs run on this machine (not with a cluster executor, whose
submit host need not have the GPU its jobs get).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .errors import ConfigError

if TYPE_CHECKING:  # torch is imported where a device is resolved, not when the workflow loads
    import torch

#: Device kinds every machine has ("auto" falls back to the CPU).
LOCAL_ANYWHERE: frozenset[str] = frozenset({"auto", "cpu"})

#: What a device setting may say (besides ``cuda:N``), for error messages.
DEVICE_HELP: str = "'auto', 'cpu', 'cuda' or 'cuda:N'"


def resolve_device(device: str | torch.device = "auto", key: str | None = None) -> torch.device:
    """``"auto"`` → CUDA when available, else CPU; other values are passed to ``torch.device``.

    Args:
        device: the setting.
        key: the config key it comes from, named in errors (e.g. ``"train.device"``).

    Raises:
        ConfigError: the name is not a torch device, or CUDA is requested but unavailable.
    """
    import torch

    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    where = f"config key {key!r}: " if key else ""
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ConfigError(f"{where}device {device!r} is not a torch device; use {DEVICE_HELP}") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(
            f"{where}device {device!r} requested but CUDA is not available on this machine; set it "
            "to 'auto' (the GPU when there is one) or 'cpu', or run this job on a GPU node"
        )
    return dev


def used_device_settings(config: Mapping[str, Any]) -> dict[str, str]:
    """``{config key: device}`` of the device settings a validated config's jobs use.

    ``train.device`` always (training, prediction, maps); ``segment.sam.device`` when the SAM
    backend segments the Google chips (``segment.backend: sam`` and a dataset cut from rasters).
    """
    from .variants import DATASET_VARIANTS  # config-level knowledge; keeps this module light to import

    used = {"train.device": str(config["train"]["device"])}
    if config["segment"]["backend"] == "sam" and not DATASET_VARIANTS[config["dataset"]].imported:
        used["segment.sam.device"] = str(config["segment"]["sam"]["device"])
    return used


def check_devices_here(config: Mapping[str, Any]) -> None:
    """Raise :class:`ConfigError` listing the device settings this machine cannot honour.

    The workflow calls it from its ``onstart`` hook when jobs run on this machine.
    """
    problems = device_problems(used_device_settings(config))
    if problems:
        raise ConfigError("\n".join(problems))


def device_problems(
    settings: Mapping[str, str], cuda_devices: int | None = None, mps_available: bool | None = None
) -> list[str]:
    """Messages for the settings this machine cannot honour (empty when all can run here).

    Args:
        settings: ``{config key: device}`` (:func:`used_device_settings`).
        cuda_devices: CUDA devices here (default: ``torch.cuda.device_count()`` when available, else 0).
        mps_available: whether Apple's MPS is usable (default: asked of torch).
    """
    if all(device.partition(":")[0] in LOCAL_ANYWHERE for device in settings.values()):
        return []  # nothing to ask torch (and no torch import while the workflow starts)
    import torch

    if cuda_devices is None:
        cuda_devices = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if mps_available is None:
        mps_available = bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())
    fix = "set it to 'auto' (the GPU when there is one) or 'cpu'"
    problems = []
    for key, device in settings.items():
        kind, _, index = device.partition(":")
        if kind == "cuda" and cuda_devices == 0:
            problems.append(
                f"config key {key!r}: {device!r} needs a CUDA GPU but this machine has none; {fix}, "
                "or run on a GPU machine (or with a cluster profile: docs/cluster.md)"
            )
        elif kind == "cuda" and index and int(index) >= cuda_devices:
            problems.append(
                f"config key {key!r}: {device!r} but this machine has {cuda_devices} CUDA device(s) "
                f"(cuda:0 … cuda:{cuda_devices - 1}); pick one of them or 'cuda'"
            )
        elif kind == "mps" and not mps_available:
            problems.append(
                f"config key {key!r}: 'mps' needs Apple's Metal backend, which this machine lacks; {fix}"
            )
    return problems
