"""Trained models read back from their files (docs/contracts.md §10), and their class probabilities."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from ..constants import N_CLASSES
from ..devices import resolve_device
from ..errors import ContractError
from ..io.models import read_model_record
from ..models import LCZGCN, build_s2_model
from ..pyg import Data
from .gcn import gcn_logits
from .loop import EVAL_BATCH_SIZE
from .s2 import s2_logits


@dataclass
class LoadedModel:
    """A model read back by ``load_model``: the network (eval mode) and the file's metadata."""

    model: nn.Module
    meta: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.meta["kind"])


def load_model(path: str | os.PathLike, device: str | torch.device = "cpu") -> LoadedModel:
    """Read a model file written by ``df4lcz.io.models.save_model`` and rebuild the network on ``device``.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: the file is not a DF4LCZ model file or does not match its architecture.
    """
    payload = read_model_record(path)
    kind, name, kwargs = payload["kind"], payload["model_name"], dict(payload["model_kwargs"])
    model = build_s2_model(name, **kwargs) if kind == "s2" else LCZGCN(**kwargs)
    try:
        model.load_state_dict(payload["state_dict"])
    except RuntimeError as exc:
        raise ContractError(f"{path}: weights do not match model {name!r} {kwargs} ({exc})") from exc
    model.to(resolve_device(device, key="train.device")).eval()
    meta = {k: v for k, v in payload.items() if k != "state_dict"}
    return LoadedModel(model, meta)


def _as_loaded(model_file: str | os.PathLike | LoadedModel, device: torch.device) -> LoadedModel:
    if isinstance(model_file, LoadedModel):
        model_file.model.to(device).eval()
        return model_file
    return load_model(model_file, device)


def predict_s2(
    model_file: str | os.PathLike | LoadedModel,
    X: np.ndarray,
    sample_ids: Sequence[int] | np.ndarray | None = None,
    *,
    device: str | torch.device,
    batch_size: int = EVAL_BATCH_SIZE,
) -> np.ndarray:
    """Class probabilities ``(N, 17)`` float32 of chips ``X`` ``(N, H, W, B)`` (raw reflectance).

    The training split's per-band standardisation stored in the model file is applied first.
    ``sample_ids`` ``(N,)``, when given, is only checked for length (rows stay in input order).
    Column j is LCZ code j + 1. ``device``: ``"auto"``, ``"cpu"``, ``"cuda"``… (the ``train.device`` setting).
    """
    dev = resolve_device(device, key="train.device")
    loaded = _as_loaded(model_file, dev)
    if loaded.kind != "s2":
        raise ContractError(f"predict_s2: {model_file} holds a {loaded.kind!r} model, not a Sentinel-2 model")
    X = np.asarray(X, dtype=np.float32)
    n_bands = len(loaded.meta["norm_mean"])
    if X.ndim != 4 or X.shape[-1] != n_bands:
        raise ValueError(f"predict_s2: chips must have shape (N, H, W, {n_bands}), got {X.shape}")
    if sample_ids is not None and len(sample_ids) != len(X):
        raise ValueError(f"predict_s2: {len(sample_ids)} sample ids for {len(X)} chips")
    if len(X) == 0:
        return np.zeros((0, N_CLASSES), dtype=np.float32)
    mean = np.asarray(loaded.meta["norm_mean"], dtype=np.float32)
    std = np.asarray(loaded.meta["norm_std"], dtype=np.float32)
    logits = s2_logits(loaded.model, torch.from_numpy((X - mean) / std), dev, batch_size)
    return torch.softmax(logits, dim=1).numpy()


def predict_gcn(
    model_file: str | os.PathLike | LoadedModel,
    graphs: Sequence[Data],
    *,
    device: str | torch.device,
    batch_size: int = EVAL_BATCH_SIZE,
) -> np.ndarray:
    """Class probabilities ``(G, 17)`` float32 of ``graphs`` (list of ``Data`` or a ``GraphSamples``), in order."""
    dev = resolve_device(device, key="train.device")
    loaded = _as_loaded(model_file, dev)
    if loaded.kind != "gcn":
        raise ContractError(f"predict_gcn: {model_file} holds a {loaded.kind!r} model, not the GCN")
    graphs = list(getattr(graphs, "graphs", graphs))
    if not graphs:
        return np.zeros((0, N_CLASSES), dtype=np.float32)
    n_features = int(loaded.meta["model_kwargs"]["in_features"])
    for g in graphs:
        if g.x.ndim != 2 or g.x.shape[1] != n_features:
            raise ValueError(
                f"predict_gcn: graph of sample {getattr(g, 'sample_id', '?')} has node features "
                f"{tuple(g.x.shape)}; the model expects {n_features} ({loaded.meta['feature_names']})"
            )
    logits = gcn_logits(loaded.model, graphs, dev, batch_size)
    return torch.softmax(logits, dim=1).numpy()
