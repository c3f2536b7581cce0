"""The model files ``results/models/{strategy}/{model}.pt`` (docs/contracts.md §10): writer, reader, validator.

A model file is a ``torch.save``d dict, keys in this order: ``format`` (:data:`MODEL_FORMAT`),
``kind`` (``"s2"`` or ``"gcn"``), ``model_name``, ``model_kwargs`` (what rebuilds the network),
``state_dict`` (CPU tensors), ``norm_mean``/``norm_std`` (per-band standardisation of the training
chips, Sentinel-2 models; ``None`` for the GCN), ``feature_names`` (GCN node features), ``params``
(training settings), ``config`` (anything JSON-able the caller records), ``seed``, ``versions``,
``best_epoch``, ``best_val_accuracy``, ``epochs_run`` and ``class_codes`` (1–17, the order of the
outputs). Everything but ``state_dict`` is plain JSON types, so the file loads with
``weights_only=True``.

This module reads and writes the record; rebuilding the network from it is
:func:`df4lcz.training.load_model` (the io layer imports no domain module).
"""

from __future__ import annotations

import io
import json
import os
import platform
from collections.abc import Mapping
from typing import Any, Protocol

import numpy as np
import pandas as pd
import torch
from torch import nn

from ..atomic import atomic_path
from ..constants import LCZ_CODES
from ..errors import ContractError

#: Format tag written into every model file.
MODEL_FORMAT: str = "df4lcz-model/1"

#: Model kinds a model file may hold.
MODEL_KINDS: tuple[str, ...] = ("s2", "gcn")


class TrainedModel(Protocol):
    """What :func:`save_model` needs of a training result (``df4lcz.training.TrainResult``)."""

    model: nn.Module
    kind: str
    model_name: str
    model_kwargs: dict[str, Any]
    params: dict[str, Any]
    seed: int
    history: pd.DataFrame
    best_epoch: int
    best_val_accuracy: float
    norm_mean: np.ndarray | None
    norm_std: np.ndarray | None
    feature_names: list[str]


def package_versions() -> dict[str, str]:
    """Versions of python, torch, torch_geometric and df4lcz."""
    from .. import __version__
    from ..pyg import torch_geometric  # without its import-time FutureWarning

    return {
        "python": platform.python_version(),
        "torch": str(torch.__version__),
        "torch_geometric": str(torch_geometric.__version__),
        "df4lcz": __version__,
    }


def _plain(value: Any) -> Any:
    """``value`` reduced to JSON types (so the model file loads with ``weights_only=True``)."""
    return json.loads(json.dumps(value, default=str))


def save_model(
    path: str | os.PathLike, result: TrainedModel, config: Mapping[str, Any] | None = None
) -> None:
    """Write a trained model to ``path`` (torch file, docs/contracts.md §10), atomically.

    Identical records give byte-identical files, whatever ``path`` is.

    Args:
        path: destination ``.pt``.
        result: the training result (``df4lcz.training.TrainResult``).
        config: anything JSON-able the caller wants recorded (settings, strategy, inputs).
    """
    payload = {
        "format": MODEL_FORMAT,
        "kind": result.kind,
        "model_name": result.model_name,
        "model_kwargs": _plain(result.model_kwargs),
        "state_dict": {k: v.detach().cpu() for k, v in result.model.state_dict().items()},
        "norm_mean": None if result.norm_mean is None else [float(v) for v in result.norm_mean],
        "norm_std": None if result.norm_std is None else [float(v) for v in result.norm_std],
        "feature_names": list(result.feature_names),
        "params": _plain(result.params),
        "config": _plain(dict(config or {})),
        "seed": int(result.seed),
        "versions": package_versions(),
        "best_epoch": int(result.best_epoch),
        "best_val_accuracy": float(result.best_val_accuracy),
        "epochs_run": len(result.history),
        "class_codes": list(LCZ_CODES),
    }
    # torch.save names the zip archive's root folder after the file it writes to (here the
    # atomic temporary name); saving into a buffer fixes that name ("archive"), so identical
    # records give identical bytes whatever the destination.
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    with atomic_path(path) as tmp:
        tmp.write_bytes(buffer.getvalue())


def validate_model_record(path: str | os.PathLike, payload: Any) -> dict[str, Any]:
    """Check that ``payload`` (read from ``path``) is a DF4LCZ model record; return it.

    Raises:
        ContractError: not a dict with the format tag :data:`MODEL_FORMAT`, or an unknown ``kind``.
    """
    if not isinstance(payload, dict) or payload.get("format") != MODEL_FORMAT:
        raise ContractError(f"{path}: not a DF4LCZ model file (expected format {MODEL_FORMAT!r})")
    if payload.get("kind") not in MODEL_KINDS:
        raise ContractError(f"{path}: unknown model kind {payload.get('kind')!r}; expected 's2' or 'gcn'")
    return payload


def read_model_record(path: str | os.PathLike) -> dict[str, Any]:
    """Read the raw record of a model file (CPU tensors in ``state_dict``), checked.

    Raises:
        FileNotFoundError: the file does not exist.
        ContractError: not a readable torch file, or not a DF4LCZ model file.
    """
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: model file not found")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for corrupt files
        raise ContractError(f"{path}: not a readable torch model file ({exc})") from exc
    return validate_model_record(path, payload)


__all__ = [
    "MODEL_FORMAT",
    "MODEL_KINDS",
    "TrainedModel",
    "package_versions",
    "read_model_record",
    "save_model",
    "validate_model_record",
]
