"""The one fit loop of both streams: Nadam, step decay, early stopping, best-val-accuracy weights.

A stream plugs in through a :class:`StreamAdapter` (``s2.S2Adapter``, ``gcn.GCNAdapter``): it
builds the network, yields the training batches of an epoch (drawing its shuffling and
augmentation from the loop's generator) and computes the validation logits. :func:`fit` owns
everything else, in this order per epoch: set the epoch's learning rate
(``lr · lr_decay ** floor(epoch0 / lr_step)``), train on every batch, evaluate on the validation
split, record the history row, log it, keep the weights of the best validation accuracy and stop
when the validation loss has not improved for ``patience`` epochs (Keras semantics).

History columns: ``epoch`` (1-based), ``loss`` and ``accuracy`` (mean over the training samples
of the epoch, measured on the (augmented) batches in training mode, as Keras reports them),
``val_loss``, ``val_accuracy`` and ``lr`` (the rate used during the epoch), plus ``seconds``.
"""

from __future__ import annotations

import copy
import logging
import math
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from ..logs import progress
from .determinism import deterministic
from .resume import ResumeFile

#: Nadam epsilon: Keras' default (the released models were trained with Keras ``Nadam()``);
#: torch's NAdam otherwise matches it (β 0.9/0.999, momentum decay 0.004).
NADAM_EPS: float = 1e-7

#: Batch size used for validation and prediction (a technical setting, not a config key).
EVAL_BATCH_SIZE: int = 256


@dataclass
class TrainResult:
    """Outcome of ``train_s2`` / ``train_gcn``.

    Attributes:
        model: the trained network (best-validation-accuracy weights, eval mode, on ``device``).
        kind: ``"s2"`` or ``"gcn"``.
        model_name: registry name (``resnet11_3d``, …, ``gcn``).
        model_kwargs: constructor arguments to rebuild ``model``.
        params: the hyper-parameters used.
        seed: the seed.
        history: one row per epoch (see module docstring).
        best_epoch: 1-based epoch whose weights were kept.
        best_val_accuracy: its validation accuracy.
        norm_mean, norm_std: per-band standardisation ``(B,)`` (S2 only).
        feature_names: node feature names (GCN only).
        device: device trained on.
        seconds: wall time of the training loop.
    """

    model: nn.Module
    kind: str
    model_name: str
    model_kwargs: dict[str, Any]
    params: dict[str, Any]
    seed: int
    history: pd.DataFrame
    best_epoch: int
    best_val_accuracy: float
    norm_mean: np.ndarray | None = None
    norm_std: np.ndarray | None = None
    feature_names: list[str] = field(default_factory=list)
    device: str = "cpu"
    seconds: float = 0.0


class StreamAdapter(Protocol):
    """What :func:`fit` needs of a stream.

    Attributes:
        name: model name used in the log lines and the progress bar (``train {name}``).
        reduction: ``"mean"`` (the batch loss is a mean; the epoch loss weights it by the batch
            size) or ``"sum"`` (the batch loss is a sum over the batch).
        y_val: ``(V,)`` int64 class indices 0–16 of the validation samples (CPU).
    """

    name: str
    reduction: str
    y_val: torch.Tensor

    def build_model(self) -> nn.Module:
        """The untrained network on the training device (called once, after seeding)."""
        ...

    def train_batches(self, generator: torch.Generator) -> Iterable[Any]:
        """The training batches of one epoch, shuffled with ``generator``."""
        ...

    def forward(
        self, model: nn.Module, batch: Any, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor, int]:
        """``(logits (n, C), class indices (n,), n)`` of one training batch (augmentation draws from ``generator``)."""
        ...

    def val_logits(self, model: nn.Module) -> torch.Tensor:
        """Logits ``(V, C)`` (CPU) of the validation samples, eval mode."""
        ...


@dataclass
class FitOutcome:
    """What :func:`fit` returns: the model (best weights, eval mode) and its history."""

    model: nn.Module
    history: pd.DataFrame
    best_epoch: int
    best_val_accuracy: float
    seconds: float


class EarlyStopping:
    """Early stopping on val loss + best-val-accuracy checkpoint (Keras semantics), history rows."""

    def __init__(self, patience: int, name: str, epochs: int, log: logging.Logger) -> None:
        self.patience = patience
        self.name, self.epochs, self.log = name, epochs, log
        self.best_loss = math.inf
        self.wait = 0
        self.best_acc = -math.inf
        self.best_epoch = 0
        self.best_state: dict[str, torch.Tensor] | None = None
        self.rows: list[dict[str, float]] = []

    def end_epoch(
        self,
        model: nn.Module,
        epoch0: int,
        lr: float,
        t0: float,
        train: tuple[float, int, int],
        val_logits: torch.Tensor,
        y_val: torch.Tensor,
    ) -> bool:
        """Record 0-based ``epoch0`` (``train`` = summed loss, correct, seen); ``True`` = stop."""
        loss_sum, correct, seen = train
        val_loss = float(F.cross_entropy(val_logits, y_val))
        val_acc = float((val_logits.argmax(1) == y_val).float().mean())
        row = {
            "epoch": epoch0 + 1,
            "loss": loss_sum / max(seen, 1),
            "accuracy": correct / max(seen, 1),
            "val_loss": val_loss,
            "val_accuracy": val_acc,
            "lr": lr,
            "seconds": time.perf_counter() - t0,
        }
        self.rows.append(row)
        log_epoch(self.log, self.name, row, self.epochs)
        stop = self.update(epoch0 + 1, val_loss, val_acc, model)
        if stop:
            self.log.info(
                "early stopping after epoch %d (val_loss did not improve for %d epochs)",
                epoch0 + 1,
                self.patience,
            )
        return stop

    def state(self) -> dict[str, Any]:
        """What :meth:`load_state` needs to go on after the last recorded epoch."""
        return {
            "best_loss": self.best_loss,
            "wait": self.wait,
            "best_acc": self.best_acc,
            "best_epoch": self.best_epoch,
            "best_state": self.best_state,
            "rows": self.rows,
        }

    def load_state(self, state: Mapping[str, Any]) -> None:
        """Take up a :meth:`state` saved after an earlier epoch."""
        self.best_loss, self.wait = float(state["best_loss"]), int(state["wait"])
        self.best_acc, self.best_epoch = float(state["best_acc"]), int(state["best_epoch"])
        self.best_state = state["best_state"]
        self.rows = [dict(r) for r in state["rows"]]

    def restore_best(self, model: nn.Module) -> None:
        """Load the best-val-accuracy weights into ``model`` and switch it to eval mode."""
        if self.best_state is not None:
            model.load_state_dict(self.best_state)
        model.eval()

    def update(self, epoch: int, val_loss: float, val_acc: float, model: nn.Module) -> bool:
        """Record the epoch; return ``True`` when training should stop."""
        if val_acc > self.best_acc:
            self.best_acc, self.best_epoch = val_acc, epoch
            self.best_state = copy.deepcopy(model.state_dict())
        if val_loss < self.best_loss:
            self.best_loss, self.wait = val_loss, 0
        else:
            self.wait += 1
        return self.wait >= self.patience


def amp_dtype(device: torch.device) -> torch.dtype:
    """The autocast type of mixed precision on ``device``: float16 on CUDA, bfloat16 elsewhere."""
    return torch.float16 if device.type == "cuda" else torch.bfloat16


def step_lr(params: Mapping[str, Any], epoch0: int) -> float:
    """Learning rate of 0-based ``epoch0``: ``lr · lr_decay ** floor(epoch0 / lr_step)``."""
    return params["lr"] * params["lr_decay"] ** (epoch0 // params["lr_step"])


def log_epoch(log: logging.Logger, name: str, row: Mapping[str, float], epochs: int) -> None:
    """One log line per epoch: losses, accuracies, learning rate and wall time."""
    log.info(
        "%s epoch %d/%d loss=%.4f acc=%.4f val_loss=%.4f val_acc=%.4f lr=%.3g %.1fs",
        name,
        row["epoch"],
        epochs,
        row["loss"],
        row["accuracy"],
        row["val_loss"],
        row["val_accuracy"],
        row["lr"],
        row["seconds"],
    )


def fit(
    adapter: StreamAdapter,
    params: Mapping[str, Any],
    seed: int,
    device: torch.device,
    log: logging.Logger,
    resume: ResumeFile | None = None,
    amp: bool = False,
) -> FitOutcome:
    """Train the network of ``adapter`` (settings ``params``: ``epochs``, ``lr``, ``lr_decay``,
    ``lr_step``, ``patience``) and return the best-validation-accuracy weights and the history.

    Seeds torch and the shuffling/augmentation generator with ``seed`` (:func:`deterministic`);
    the network is built after seeding, then the Nadam optimiser. With ``resume``, the loop's state
    is saved after every epoch, and a state saved by an earlier, interrupted run with the same key is
    taken up: training goes on with the next epoch and ends with the same weights as an
    uninterrupted run (:mod:`.resume`). With ``amp``, the training forward passes run under
    :func:`torch.autocast` (:func:`amp_dtype`) and, on CUDA, the loss is scaled
    (:class:`torch.amp.GradScaler`); validation stays in float32.
    """
    t_start = time.perf_counter()
    with deterministic(seed, device) as gen:
        model = adapter.build_model()
        optimizer = torch.optim.NAdam(model.parameters(), lr=params["lr"], eps=NADAM_EPS)
        stopper = EarlyStopping(params["patience"], adapter.name, params["epochs"], log)
        autocast_dtype = amp_dtype(device) if amp else None
        scaler = torch.amp.GradScaler("cuda") if amp and device.type == "cuda" else None
        start, stopped = 0, False
        saved = resume.load(log) if resume is not None else None
        if resume is not None and saved is not None:
            model.load_state_dict(saved["model"])
            optimizer.load_state_dict(saved["optimizer"])
            stopper.load_state(saved["stopper"])
            gen.set_state(saved["generator"])
            torch.set_rng_state(saved["torch_rng"])
            if device.type == "cuda" and saved.get("cuda_rng") is not None:
                torch.cuda.set_rng_state_all(saved["cuda_rng"])
            if scaler is not None and saved.get("scaler") is not None:
                scaler.load_state_dict(saved["scaler"])
            start, stopped = int(saved["epochs_done"]), bool(saved["stopped"])
            log.info(
                "%s: resuming after epoch %d of %d from %s",
                adapter.name,
                start,
                params["epochs"],
                resume.path,
            )
        epochs = range(start, params["epochs"]) if not stopped else range(0)
        for epoch0 in progress(epochs, desc=f"train {adapter.name}", logger=log):
            t0 = time.perf_counter()
            lr = step_lr(params, epoch0)
            for group in optimizer.param_groups:
                group["lr"] = lr
            model.train()
            loss_sum, correct, seen = 0.0, 0, 0
            for batch in adapter.train_batches(gen):
                with torch.autocast(device.type, dtype=autocast_dtype, enabled=amp):
                    logits, yb, n = adapter.forward(model, batch, gen)
                logits = logits.float()  # the loss in float32 (a no-op without amp)
                loss = F.cross_entropy(logits, yb, reduction=adapter.reduction)
                optimizer.zero_grad(set_to_none=True)
                if scaler is not None:
                    scaler.scale(loss).backward()
                    scaler.step(optimizer)
                    scaler.update()
                else:
                    loss.backward()
                    optimizer.step()
                loss_sum += float(loss.detach()) * n if adapter.reduction == "mean" else float(loss.detach())
                correct += int((logits.detach().argmax(1) == yb).sum())
                seen += n
            stop = stopper.end_epoch(
                model, epoch0, lr, t0, (loss_sum, correct, seen), adapter.val_logits(model), adapter.y_val
            )
            if resume is not None:
                resume.save(
                    {
                        "epochs_done": epoch0 + 1,
                        "stopped": stop,
                        "model": model.state_dict(),
                        "optimizer": optimizer.state_dict(),
                        "stopper": stopper.state(),
                        "generator": gen.get_state(),
                        "torch_rng": torch.get_rng_state(),
                        "cuda_rng": torch.cuda.get_rng_state_all() if device.type == "cuda" else None,
                        "scaler": scaler.state_dict() if scaler is not None else None,
                    }
                )
            if stop:
                break
        stopper.restore_best(model)
    seconds = time.perf_counter() - t_start
    return FitOutcome(model, pd.DataFrame(stopper.rows), stopper.best_epoch, stopper.best_acc, seconds)
