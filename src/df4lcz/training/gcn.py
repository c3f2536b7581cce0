"""Training of the graph model: graph checks, batches and logits of the ``LCZGCN``.

``train_gcn`` fits the ``LCZGCN`` on instance graphs with the settings of ``train.gcn`` (the
paper's: Nadam lr 0.01, no decay, 32 graphs per batch, 100 epochs, early stopping on the
validation loss with patience 20, best-validation-accuracy weights), the cross-entropy *summed*
over the batch (as the released Keras model). Labels are LCZ codes 1–17 (indices 0–16 inside).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from ..constants import GCN_MODEL_NAME, N_CLASSES, codes_to_index
from ..devices import resolve_device
from ..logs import get_logger
from ..models import LCZGCN
from ..pyg import Batch, Data, DataLoader
from .loop import EVAL_BATCH_SIZE, TrainResult, fit
from .params import GCN_PARAM_KEYS, check_params
from .resume import ResumeFile


def check_graphs(graphs: Sequence[Data], where: str, n_features: int | None) -> list[Data]:
    """The graphs as a list, each with node features ``x`` ``(n, F)`` and a label ``y`` 1–17.

    Raises:
        ValueError: no graphs, features missing or of another width than ``n_features``, labels
            missing or not LCZ codes.
    """
    graphs = list(getattr(graphs, "graphs", graphs))
    if not graphs:
        raise ValueError(f"{where}: no graphs")
    for g in graphs:
        if getattr(g, "x", None) is None or g.x.ndim != 2:
            raise ValueError(f"{where}: every graph needs node features x of shape (n, F)")
        if n_features is not None and g.x.shape[1] != n_features:
            raise ValueError(
                f"{where}: graph of sample {getattr(g, 'sample_id', '?')} has {g.x.shape[1]} node features; expected {n_features}"
            )
        if getattr(g, "y", None) is None:
            raise ValueError(f"{where}: graph of sample {getattr(g, 'sample_id', '?')} has no label y")
    codes_to_index(np.array([int(g.y.reshape(-1)[0]) for g in graphs]), where)
    return graphs


def gcn_forward(model: nn.Module, batch: Batch, device: torch.device) -> torch.Tensor:
    """Logits ``(G, C)`` of a collated batch of ``G`` graphs (moved to ``device``)."""
    batch = batch.to(device, non_blocking=True)
    return model(batch.x.float(), batch.edge_index, batch.batch, batch.num_graphs)


def eval_batches(graphs: Sequence[Data], batch_size: int = EVAL_BATCH_SIZE) -> list[Batch]:
    """``graphs`` collated in order into batches of ``batch_size`` (the last one may be smaller)."""
    graphs = list(graphs)
    return [Batch.from_data_list(graphs[i : i + batch_size]) for i in range(0, len(graphs), batch_size)]


@torch.no_grad()
def batches_logits(model: nn.Module, batches: Iterable[Batch], device: torch.device) -> torch.Tensor:
    """Logits ``(G, C)`` (on CPU) of collated ``batches`` in order, eval mode."""
    model.eval()
    return torch.cat([gcn_forward(model, b, device).float().cpu() for b in batches])


def gcn_logits(
    model: nn.Module, graphs: Sequence[Data], device: torch.device, batch_size: int = EVAL_BATCH_SIZE
) -> torch.Tensor:
    """Logits ``(G, C)`` (on CPU) of ``graphs`` in order, eval mode."""
    return batches_logits(model, eval_batches(graphs, batch_size), device)


def graph_labels(graphs: Sequence[Data]) -> torch.Tensor:
    """Class indices ``(G,)`` int64 (0–16) of the graphs' LCZ codes."""
    return torch.tensor([int(g.y.reshape(-1)[0]) - 1 for g in graphs], dtype=torch.long)


class GCNAdapter:
    """The graph stream for :func:`df4lcz.training.loop.fit`.

    One shuffling ``DataLoader`` on the loop's generator, made at the first epoch (after the
    network and optimiser) and reused; the batch loss is the cross-entropy summed over the graphs.
    The validation graphs are collated once, at the first validation, and reused every epoch.
    """

    reduction = "sum"

    def __init__(
        self,
        model_kwargs: Mapping[str, Any],
        train_graphs: list[Data],
        val_graphs: list[Data],
        batch_size: int,
        device: torch.device,
    ) -> None:
        self.name = GCN_MODEL_NAME
        self.model_kwargs = dict(model_kwargs)
        self.train_graphs, self.val_graphs = train_graphs, val_graphs
        self.y_val = graph_labels(val_graphs)
        self.batch_size, self.device = batch_size, device
        self._loader: DataLoader | None = None
        self._val_batches: list[Batch] | None = None

    def build_model(self) -> nn.Module:
        return LCZGCN(**self.model_kwargs).to(self.device)

    def train_batches(self, generator: torch.Generator) -> Iterable[Batch]:
        if self._loader is None:
            self._loader = DataLoader(
                self.train_graphs, batch_size=self.batch_size, shuffle=True, generator=generator
            )
        return self._loader

    def forward(
        self, model: nn.Module, batch: Batch, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor, int]:
        yb = (batch.y.reshape(-1) - 1).to(self.device)
        return gcn_forward(model, batch, self.device), yb, int(batch.num_graphs)

    def val_logits(self, model: nn.Module) -> torch.Tensor:
        if self._val_batches is None:
            self._val_batches = eval_batches(self.val_graphs)
        return batches_logits(model, self._val_batches, self.device)


def train_gcn(
    train_graphs: Sequence[Data],
    val_graphs: Sequence[Data],
    params: Mapping[str, Any],
    seed: int,
    device: str | torch.device,
    log: logging.Logger | None = None,
    feature_names: Sequence[str] | None = None,
    resume: ResumeFile | None = None,
    amp: bool = False,
) -> TrainResult:
    """Train the ``LCZGCN`` on instance graphs.

    Args:
        train_graphs: PyG ``Data`` graphs (``x`` (n, F), ``edge_index`` (2, e), ``y`` = LCZ code
            1–17), or a ``training.data.GraphSamples``.
        val_graphs: validation graphs of the same form.
        params: the ``train.gcn`` settings (every key of ``GCN_PARAM_KEYS``).
        seed: seed of initialisation and shuffling.
        device: ``"auto"``, ``"cpu"``, ``"cuda"``…
        log: logger (default ``df4lcz.training``).
        resume: epoch state to save and resume from (:mod:`.resume`); ``None``: none.
        amp: mixed precision in training (``train.amp``; :func:`.loop.fit`).
        feature_names: node feature names recorded in the model file (taken from a ``GraphSamples``
            when not given).

    Returns:
        ``TrainResult`` holding the best-validation-accuracy model and the history.
    """
    log = log or get_logger("training")
    p = check_params(params, GCN_PARAM_KEYS, "train_gcn")
    if feature_names is None:
        feature_names = getattr(train_graphs, "feature_names", None)
    tr = check_graphs(train_graphs, "train_gcn: training graphs", None)
    n_features = int(tr[0].x.shape[1])
    va = check_graphs(val_graphs, "train_gcn: validation graphs", n_features)
    check_graphs(tr, "train_gcn: training graphs", n_features)
    names = [str(f) for f in (feature_names or [f"f{i}" for i in range(n_features)])]
    if len(names) != n_features:
        raise ValueError(f"train_gcn: {len(names)} feature_names for {n_features} node features")
    dev = resolve_device(device, key="train.device")
    kwargs = {
        "in_features": n_features,
        "hidden": p["hidden"],
        "n_layers": p["n_layers"],
        "n_classes": N_CLASSES,
    }
    log.info(
        "train_gcn: %d train / %d val graphs, %d features, device %s, params %s, seed %d",
        len(tr),
        len(va),
        n_features,
        dev,
        json.dumps(p),
        seed,
    )
    adapter = GCNAdapter(kwargs, tr, va, p["batch_size"], dev)
    out = fit(adapter, p, seed, dev, log, resume=resume, amp=amp)
    log.info(
        "train_gcn: kept epoch %d (val_acc %.4f); %.1f s", out.best_epoch, out.best_val_accuracy, out.seconds
    )
    return TrainResult(
        model=out.model,
        kind="gcn",
        model_name=GCN_MODEL_NAME,
        model_kwargs=kwargs,
        params=p,
        seed=int(seed),
        history=out.history,
        best_epoch=out.best_epoch,
        best_val_accuracy=out.best_val_accuracy,
        feature_names=names,
        device=str(dev),
        seconds=out.seconds,
    )
