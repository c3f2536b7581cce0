"""Training, saving and prediction for the two DF4LCZ streams.

* ``train_s2``: a Sentinel-2 model (``resnet11_3d`` or a 2D baseline) on chips
  ``(N, 32, 32, 10)`` — Nadam (lr 0.002), step decay ×0.4 every 5 epochs, batch 64, up to 100
  epochs, early stopping on the validation loss (patience 40), the weights of the epoch with the
  best validation accuracy are kept. Chips are standardised per band with the mean/std of the
  training split (stored in the model file and re-applied by ``predict_s2``). Training batches
  are augmented: horizontal flip (p 0.5), vertical flip (p 0.5) and a rotation by an angle drawn
  uniformly in [−90°, 90°], all composed into one affine map per chip and applied with
  ``torch.nn.functional.affine_grid`` + ``grid_sample`` (bilinear, reflection padding — the
  released code used albumentations' ``Rotate(limit=90)`` whose default border is a reflection).
* ``train_gcn``: the ``LCZGCN`` on instance graphs — Nadam (lr 0.01, no decay), 32 graphs per
  batch, 100 epochs, early stopping on the validation loss (patience 20), best-validation-
  accuracy weights, cross-entropy *summed* over the batch (as the released Keras model).

Hyper-parameters come in a ``params`` dict; missing keys take the paper's values
(``S2_DEFAULTS``, ``GCN_DEFAULTS``), unknown keys are rejected. Labels are LCZ codes 1–17
everywhere in this module's interface (networks use indices 0–16 internally).

Reproducibility: ``seed`` seeds torch (model initialisation) and a dedicated ``torch.Generator``
that drives shuffling and augmentation; on CPU ``torch.use_deterministic_algorithms`` is switched
on for the duration of the call (and restored after), so one seed gives identical weights and
predictions on one machine. On CUDA cuDNN is made deterministic, but scatter/atomic kernels may
still differ in the last bits between runs.

History columns: ``epoch`` (1-based), ``loss`` and ``accuracy`` (mean over the training samples
of the epoch, measured on the augmented batches in training mode, as Keras reports them),
``val_loss``, ``val_accuracy`` and ``lr`` (the rate used during the epoch), plus ``seconds``.
"""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import math
import os
import platform
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.data import Batch, Data
from torch_geometric.loader import DataLoader

from .atomic import atomic_path
from .constants import LCZ_CODES, N_CLASSES
from .devices import resolve_device
from .logs import get_logger, progress
from .models import GCN_MODEL_NAME, LCZGCN, S2_MODEL_NAMES, build_s2_model

#: Paper hyper-parameters of the Sentinel-2 models (DF4LCZ, 3D ResNet11).
S2_DEFAULTS: dict[str, Any] = {
    "epochs": 100,  # maximum epochs
    "batch_size": 64,  # chips per batch
    "lr": 0.002,  # Nadam learning rate
    "lr_decay": 0.4,  # step-decay factor ...
    "lr_step": 5,  # ... applied every lr_step epochs
    "patience": 40,  # early stopping on val loss
    "augment": True,  # flips + rotation within ±90° on training batches
    "base_width": 64,  # width of the first stage (64 = the paper's network)
}

#: Paper hyper-parameters of the GCN (DF4LCZ; the released code used a constant learning rate).
GCN_DEFAULTS: dict[str, Any] = {
    "epochs": 100,
    "batch_size": 32,  # graphs per batch
    "lr": 0.01,
    "lr_decay": 1.0,  # 1.0 = constant learning rate
    "lr_step": 5,
    "patience": 20,
    "hidden": 32,  # width of each GCSConv layer
    "n_layers": 3,  # number of GCSConv layers
}

#: Format tag written into every model file.
MODEL_FORMAT: str = "df4lcz-model/1"

#: Smallest per-band standard deviation used for standardisation (constant bands).
MIN_BAND_STD: float = 1e-6

#: Batch size used for validation and prediction.
EVAL_BATCH_SIZE: int = 256

#: Nadam epsilon: Keras' default (the released models were trained with Keras ``Nadam()``);
#: torch's NAdam otherwise matches it (β 0.9/0.999, momentum decay 0.004).
NADAM_EPS: float = 1e-7

#: Maximum rotation (degrees) of the training augmentation.
MAX_ROTATION_DEG: float = 90.0

#: Probability of each flip in the training augmentation.
FLIP_PROBABILITY: float = 0.5

_INT_PARAMS = {"epochs", "batch_size", "lr_step", "patience", "base_width", "hidden", "n_layers"}


# --------------------------------------------------------------------------------------------
# parameters, devices, determinism
# --------------------------------------------------------------------------------------------


def resolve_params(params: Mapping[str, Any] | None, defaults: Mapping[str, Any], what: str) -> dict[str, Any]:
    """Merge ``params`` over ``defaults`` and check every value.

    Args:
        params: caller's hyper-parameters (may be ``None`` or partial).
        defaults: ``S2_DEFAULTS`` or ``GCN_DEFAULTS``.
        what: name used in error messages (e.g. ``"train_s2"``).

    Raises:
        ValueError: unknown key, or a value of the wrong type / range.
    """
    params = dict(params or {})
    unknown = sorted(set(params) - set(defaults))
    if unknown:
        raise ValueError(
            f"{what}: unknown hyper-parameter(s) {unknown}; valid keys are: {', '.join(sorted(defaults))}"
        )
    out = {**defaults, **params}
    for key, value in out.items():
        if key in _INT_PARAMS:
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{what}: hyper-parameter '{key}' must be a positive integer, got {value!r}")
            out[key] = int(value)
        elif key == "lr":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0 or not math.isfinite(value):
                raise ValueError(f"{what}: hyper-parameter 'lr' must be a positive number, got {value!r}")
            out[key] = float(value)
        elif key == "lr_decay":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
                raise ValueError(f"{what}: hyper-parameter 'lr_decay' must be in (0, 1], got {value!r}")
            out[key] = float(value)
        elif key == "augment":
            if not isinstance(value, (bool, np.bool_)):
                raise ValueError(f"{what}: hyper-parameter 'augment' must be true or false, got {value!r}")
            out[key] = bool(value)
    return out




@contextlib.contextmanager
def deterministic(seed: int, device: torch.device) -> Iterator[torch.Generator]:
    """Seed torch and yield a CPU ``torch.Generator`` for shuffling/augmentation.

    On CPU, deterministic algorithms are enforced for the duration of the block; on CUDA, cuDNN is
    set to deterministic mode without benchmarking. Previous global settings are restored on exit.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    prev_det = torch.are_deterministic_algorithms_enabled()
    prev_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    prev_cudnn = (torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark)
    torch.manual_seed(int(seed))
    gen = torch.Generator().manual_seed(int(seed))
    try:
        if device.type == "cpu":
            torch.use_deterministic_algorithms(True)
        else:
            torch.backends.cudnn.deterministic = True
            torch.backends.cudnn.benchmark = False
        yield gen
    finally:
        torch.use_deterministic_algorithms(prev_det, warn_only=prev_warn)
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = prev_cudnn


def codes_to_index(y: Sequence[int] | np.ndarray, where: str) -> np.ndarray:
    """LCZ codes 1–17 ``(N,)`` → class indices 0–16 ``(N,)`` int64.

    Raises:
        ValueError: a value is not an integer code 1–17.
    """
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise ValueError(f"{where}: labels must be a 1-D array of LCZ codes, got shape {arr.shape}")
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"{where}: labels must be integer LCZ codes 1–{N_CLASSES}, got dtype {arr.dtype}")
    as_int = np.nan_to_num(arr, nan=0).astype(np.int64)
    bad = (as_int != arr) | (as_int < 1) | (as_int > N_CLASSES)
    if bad.any():
        raise ValueError(f"{where}: labels {np.unique(arr[bad])[:10].tolist()} are not LCZ codes; expected integers 1–{N_CLASSES}")
    return as_int - 1


# --------------------------------------------------------------------------------------------
# Sentinel-2 stream
# --------------------------------------------------------------------------------------------


def band_statistics(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-band mean and standard deviation ``(B,)`` float32 of chips ``(N, H, W, B)``.

    Standard deviations below ``MIN_BAND_STD`` are raised to it (constant bands).
    """
    flat = np.asarray(X, dtype=np.float64).reshape(-1, X.shape[-1])
    mean = flat.mean(axis=0)
    std = np.maximum(flat.std(axis=0), MIN_BAND_STD)
    return mean.astype(np.float32), std.astype(np.float32)


def transform_batch(x: torch.Tensor, flip_x: torch.Tensor, flip_y: torch.Tensor, angle: torch.Tensor) -> torch.Tensor:
    """Flip and rotate every chip of a batch with one affine sampling grid.

    The output pixel at normalised position ``p`` samples the input at ``R(angle) · S · p`` with
    ``S = diag(±1, ±1)`` (``affine_grid``/``grid_sample``, bilinear, reflection padding,
    ``align_corners=False``). Pure flips and multiples of 90° hit exact pixel centres on a square
    chip, so they reproduce ``torch.flip``/``torch.rot90`` without interpolation blur.

    Args:
        x: ``(N, H, W, B)`` chips (H = W).
        flip_x: ``(N,)`` bool, mirror left–right.
        flip_y: ``(N,)`` bool, mirror top–bottom.
        angle: ``(N,)`` rotation angles in radians.

    Returns:
        ``(N, H, W, B)`` transformed chips.
    """
    if x.ndim != 4 or x.shape[1] != x.shape[2]:
        raise ValueError(f"transform_batch: expected square chips (N, H, H, B), got {tuple(x.shape)}")
    sx = 1.0 - 2.0 * flip_x.float()
    sy = 1.0 - 2.0 * flip_y.float()
    cos, sin = torch.cos(angle.double()).float(), torch.sin(angle.double()).float()
    theta = torch.zeros(x.shape[0], 2, 3)
    theta[:, 0, 0] = cos * sx
    theta[:, 0, 1] = -sin * sy
    theta[:, 1, 0] = sin * sx
    theta[:, 1, 1] = cos * sy
    theta = theta.to(device=x.device, dtype=x.dtype)
    nchw = x.permute(0, 3, 1, 2)
    grid = F.affine_grid(theta, list(nchw.shape), align_corners=False)
    out = F.grid_sample(nchw, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    return out.permute(0, 2, 3, 1).contiguous()


def augment_batch(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random training augmentation of a batch of chips ``(N, H, W, B)`` → same shape.

    Each chip is flipped left–right and top–bottom with probability ``FLIP_PROBABILITY`` each and
    rotated by an angle uniform in ``[-MAX_ROTATION_DEG, MAX_ROTATION_DEG]`` (``transform_batch``).
    The random draws come from the CPU ``generator`` so results do not depend on the device.
    """
    n = x.shape[0]
    flip_x = torch.rand(n, generator=generator) < FLIP_PROBABILITY
    flip_y = torch.rand(n, generator=generator) < FLIP_PROBABILITY
    angle = (torch.rand(n, generator=generator, dtype=torch.float64) * 2.0 - 1.0) * math.radians(MAX_ROTATION_DEG)
    return transform_batch(x, flip_x, flip_y, angle)


def _check_chips(X: np.ndarray, y: np.ndarray | Sequence[int], where: str) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(X)
    if X.ndim != 4:
        raise ValueError(f"{where}: chips must have shape (N, H, W, bands), got {X.shape}")
    if len(X) != len(y):
        raise ValueError(f"{where}: {len(X)} chips but {len(y)} labels")
    if len(X) == 0:
        raise ValueError(f"{where}: no samples")
    if not np.isfinite(X).all():
        raise ValueError(f"{where}: chips contain NaN or infinite values")
    return X.astype(np.float32, copy=False), codes_to_index(y, where)


@dataclass
class TrainResult:
    """Outcome of ``train_s2`` / ``train_gcn``.

    Attributes:
        model: the trained network (best-validation-accuracy weights, eval mode, on ``device``).
        kind: ``"s2"`` or ``"gcn"``.
        model_name: registry name (``resnet11_3d``, …, ``gcn``).
        model_kwargs: constructor arguments to rebuild ``model``.
        params: the hyper-parameters used (defaults filled in).
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


class _EpochLoop:
    """Early stopping on val loss + best-val-accuracy checkpoint (Keras semantics), history rows."""

    def __init__(self, patience: int, name: str = "", epochs: int = 0, log: logging.Logger | None = None) -> None:
        self.patience = patience
        self.name, self.epochs, self.log = name, epochs, log
        self.best_loss = math.inf
        self.wait = 0
        self.best_acc = -math.inf
        self.best_epoch = 0
        self.best_state: dict[str, torch.Tensor] | None = None
        self.rows: list[dict[str, float]] = []

    def end_epoch(self, model: nn.Module, epoch0: int, lr: float, t0: float, train: tuple[float, int, int],
                  val_logits: torch.Tensor, y_val: torch.Tensor) -> bool:
        """Record 0-based ``epoch0`` (``train`` = summed loss, correct, seen); ``True`` = stop."""
        loss_sum, correct, seen = train
        val_loss = float(F.cross_entropy(val_logits, y_val))
        val_acc = float((val_logits.argmax(1) == y_val).float().mean())
        row = {
            "epoch": epoch0 + 1, "loss": loss_sum / max(seen, 1), "accuracy": correct / max(seen, 1),
            "val_loss": val_loss, "val_accuracy": val_acc, "lr": lr, "seconds": time.perf_counter() - t0,
        }
        self.rows.append(row)
        if self.log is not None:
            _log_epoch(self.log, self.name, row, self.epochs)
        stop = self.update(epoch0 + 1, val_loss, val_acc, model)
        if stop and self.log is not None:
            self.log.info("early stopping after epoch %d (val_loss did not improve for %d epochs)", epoch0 + 1,
                          self.patience)
        return stop

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


def _step_lr(params: Mapping[str, Any], epoch0: int) -> float:
    """Learning rate of 0-based ``epoch0``: ``lr · lr_decay ** floor(epoch0 / lr_step)``."""
    return params["lr"] * params["lr_decay"] ** (epoch0 // params["lr_step"])


def _log_epoch(log: logging.Logger, name: str, row: Mapping[str, float], epochs: int) -> None:
    log.info(
        "%s epoch %d/%d loss=%.4f acc=%.4f val_loss=%.4f val_acc=%.4f lr=%.3g %.1fs",
        name, row["epoch"], epochs, row["loss"], row["accuracy"], row["val_loss"], row["val_accuracy"],
        row["lr"], row["seconds"],
    )


@torch.no_grad()
def _s2_logits(model: nn.Module, X: torch.Tensor, device: torch.device, batch_size: int = EVAL_BATCH_SIZE) -> torch.Tensor:
    """Logits ``(N, C)`` (on CPU) of standardised chips ``X`` ``(N, H, W, B)``, eval mode."""
    model.eval()
    outs = [model(X[i : i + batch_size].to(device)).float().cpu() for i in range(0, len(X), batch_size)]
    return torch.cat(outs)


def train_s2(
    model_name: str,
    train: tuple[np.ndarray, np.ndarray],
    val: tuple[np.ndarray, np.ndarray],
    params: Mapping[str, Any] | None = None,
    seed: int = 0,
    device: str | torch.device = "auto",
    log: logging.Logger | None = None,
) -> TrainResult:
    """Train a Sentinel-2 model.

    Args:
        model_name: one of ``S2_MODEL_NAMES``.
        train: ``(X, y)`` with chips ``(N, 32, 32, B)`` float reflectance and LCZ codes ``(N,)`` 1–17.
        val: validation ``(X, y)`` of the same form (used for early stopping and model choice).
        params: hyper-parameters (keys of ``S2_DEFAULTS``; missing ones take the paper's values).
        seed: seed of initialisation, shuffling and augmentation.
        device: ``"auto"`` (CUDA if available), ``"cpu"``, ``"cuda"``…
        log: logger (default ``df4lcz.training``).

    Returns:
        ``TrainResult`` holding the best-validation-accuracy model and the history.

    Raises:
        ValueError: unknown model name or hyper-parameter, malformed data.
    """
    log = log or get_logger("training")
    if model_name not in S2_MODEL_NAMES:
        raise ValueError(f"unknown Sentinel-2 model {model_name!r}; expected one of {', '.join(S2_MODEL_NAMES)}")
    p = resolve_params(params, S2_DEFAULTS, "train_s2")
    Xtr, ytr = _check_chips(train[0], train[1], "train_s2: training split")
    Xva, yva = _check_chips(val[0], val[1], "train_s2: validation split")
    if Xtr.shape[1:] != Xva.shape[1:]:
        raise ValueError(f"train_s2: training chips {Xtr.shape[1:]} and validation chips {Xva.shape[1:]} differ in shape")
    dev = resolve_device(device)
    mean, std = band_statistics(Xtr)
    xtr = torch.from_numpy((Xtr - mean) / std)
    xva = torch.from_numpy((Xva - mean) / std)
    ytr_t, yva_t = torch.from_numpy(ytr), torch.from_numpy(yva)
    if dev.type == "cuda":
        xtr, ytr_t = xtr.to(dev), ytr_t.to(dev)
    kwargs = {"n_bands": int(Xtr.shape[-1]), "n_classes": N_CLASSES, "base_width": p["base_width"]}
    n = len(xtr)
    log.info(
        "train_s2 %s: %d train / %d val chips %s, device %s, params %s, seed %d",
        model_name, n, len(xva), tuple(Xtr.shape[1:]), dev, json.dumps(p), seed,
    )
    t_start = time.perf_counter()
    with deterministic(seed, dev) as gen:
        model = build_s2_model(model_name, **kwargs).to(dev)
        optimizer = torch.optim.NAdam(model.parameters(), lr=p["lr"], eps=NADAM_EPS)
        loop = _EpochLoop(p["patience"], model_name, p["epochs"], log)
        for epoch0 in progress(range(p["epochs"]), desc=f"train {model_name}", logger=log):
            t0 = time.perf_counter()
            lr = _step_lr(p, epoch0)
            for group in optimizer.param_groups:
                group["lr"] = lr
            model.train()
            order = torch.randperm(n, generator=gen)
            loss_sum, correct, seen = 0.0, 0, 0
            for start in range(0, n, p["batch_size"]):
                idx = order[start : start + p["batch_size"]]
                if len(idx) < 2:  # BatchNorm cannot train on a single sample
                    continue
                idx_dev = idx.to(dev)
                xb, yb = xtr[idx_dev].to(dev), ytr_t[idx_dev].to(dev)
                if p["augment"]:
                    xb = augment_batch(xb, gen)
                logits = model(xb)
                loss = F.cross_entropy(logits, yb)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                loss_sum += float(loss.detach()) * len(idx)
                correct += int((logits.detach().argmax(1) == yb).sum())
                seen += len(idx)
            if loop.end_epoch(model, epoch0, lr, t0, (loss_sum, correct, seen), _s2_logits(model, xva, dev), yva_t):
                break
        loop.restore_best(model)
    seconds = time.perf_counter() - t_start
    log.info("train_s2 %s: kept epoch %d (val_acc %.4f); %.1f s", model_name, loop.best_epoch, loop.best_acc, seconds)
    return TrainResult(
        model=model, kind="s2", model_name=model_name, model_kwargs=kwargs, params=p, seed=int(seed),
        history=pd.DataFrame(loop.rows), best_epoch=loop.best_epoch, best_val_accuracy=loop.best_acc,
        norm_mean=mean, norm_std=std, device=str(dev), seconds=seconds,
    )


# --------------------------------------------------------------------------------------------
# graph stream
# --------------------------------------------------------------------------------------------


def _check_graphs(graphs: Sequence[Data], where: str, n_features: int | None) -> list[Data]:
    graphs = list(getattr(graphs, "graphs", graphs))
    if not graphs:
        raise ValueError(f"{where}: no graphs")
    for g in graphs:
        if getattr(g, "x", None) is None or g.x.ndim != 2:
            raise ValueError(f"{where}: every graph needs node features x of shape (n, F)")
        if n_features is not None and g.x.shape[1] != n_features:
            raise ValueError(f"{where}: graph of sample {getattr(g, 'sample_id', '?')} has {g.x.shape[1]} node features; expected {n_features}")
        if getattr(g, "y", None) is None:
            raise ValueError(f"{where}: graph of sample {getattr(g, 'sample_id', '?')} has no label y")
    codes_to_index(np.array([int(g.y.reshape(-1)[0]) for g in graphs]), where)
    return graphs


def _gcn_forward(model: nn.Module, batch: Batch, device: torch.device) -> torch.Tensor:
    batch = batch.to(device)
    return model(batch.x.float(), batch.edge_index, batch.batch, batch.num_graphs)


@torch.no_grad()
def _gcn_logits(model: nn.Module, graphs: Sequence[Data], device: torch.device, batch_size: int = EVAL_BATCH_SIZE) -> torch.Tensor:
    """Logits ``(G, C)`` (on CPU) of ``graphs`` in order, eval mode."""
    model.eval()
    loader = DataLoader(list(graphs), batch_size=batch_size, shuffle=False)
    return torch.cat([_gcn_forward(model, b, device).float().cpu() for b in loader])


def _graph_labels(graphs: Sequence[Data]) -> torch.Tensor:
    return torch.tensor([int(g.y.reshape(-1)[0]) - 1 for g in graphs], dtype=torch.long)


def train_gcn(
    train_graphs: Sequence[Data],
    val_graphs: Sequence[Data],
    params: Mapping[str, Any] | None = None,
    seed: int = 0,
    device: str | torch.device = "auto",
    log: logging.Logger | None = None,
    feature_names: Sequence[str] | None = None,
) -> TrainResult:
    """Train the ``LCZGCN`` on instance graphs.

    Args:
        train_graphs: PyG ``Data`` graphs (``x`` (n, F), ``edge_index`` (2, e), ``y`` = LCZ code
            1–17), or a ``datasets.GraphSamples``.
        val_graphs: validation graphs of the same form.
        params: hyper-parameters (keys of ``GCN_DEFAULTS``).
        seed: seed of initialisation and shuffling.
        device: ``"auto"``, ``"cpu"``, ``"cuda"``…
        log: logger (default ``df4lcz.training``).
        feature_names: node feature names recorded in the model file (taken from a ``GraphSamples``
            when not given).

    Returns:
        ``TrainResult`` holding the best-validation-accuracy model and the history.
    """
    log = log or get_logger("training")
    p = resolve_params(params, GCN_DEFAULTS, "train_gcn")
    if feature_names is None:
        feature_names = getattr(train_graphs, "feature_names", None)
    tr = _check_graphs(train_graphs, "train_gcn: training graphs", None)
    n_features = int(tr[0].x.shape[1])
    va = _check_graphs(val_graphs, "train_gcn: validation graphs", n_features)
    _check_graphs(tr, "train_gcn: training graphs", n_features)
    names = [str(f) for f in (feature_names or [f"f{i}" for i in range(n_features)])]
    if len(names) != n_features:
        raise ValueError(f"train_gcn: {len(names)} feature_names for {n_features} node features")
    dev = resolve_device(device)
    yva = _graph_labels(va)
    kwargs = {"in_features": n_features, "hidden": p["hidden"], "n_layers": p["n_layers"], "n_classes": N_CLASSES}
    log.info("train_gcn: %d train / %d val graphs, %d features, device %s, params %s, seed %d",
             len(tr), len(va), n_features, dev, json.dumps(p), seed)
    t_start = time.perf_counter()
    with deterministic(seed, dev) as gen:
        model = LCZGCN(**kwargs).to(dev)
        optimizer = torch.optim.NAdam(model.parameters(), lr=p["lr"], eps=NADAM_EPS)
        loader = DataLoader(tr, batch_size=p["batch_size"], shuffle=True, generator=gen)
        loop = _EpochLoop(p["patience"], GCN_MODEL_NAME, p["epochs"], log)
        for epoch0 in progress(range(p["epochs"]), desc="train gcn", logger=log):
            t0 = time.perf_counter()
            lr = _step_lr(p, epoch0)
            for group in optimizer.param_groups:
                group["lr"] = lr
            model.train()
            loss_sum, correct, seen = 0.0, 0, 0
            for batch in loader:
                yb = (batch.y.reshape(-1) - 1).to(dev)
                logits = _gcn_forward(model, batch, dev)
                loss = F.cross_entropy(logits, yb, reduction="sum")
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                loss_sum += float(loss.detach())
                correct += int((logits.detach().argmax(1) == yb).sum())
                seen += int(batch.num_graphs)
            if loop.end_epoch(model, epoch0, lr, t0, (loss_sum, correct, seen), _gcn_logits(model, va, dev), yva):
                break
        loop.restore_best(model)
    seconds = time.perf_counter() - t_start
    log.info("train_gcn: kept epoch %d (val_acc %.4f); %.1f s", loop.best_epoch, loop.best_acc, seconds)
    return TrainResult(
        model=model, kind="gcn", model_name=GCN_MODEL_NAME, model_kwargs=kwargs, params=p, seed=int(seed),
        history=pd.DataFrame(loop.rows), best_epoch=loop.best_epoch, best_val_accuracy=loop.best_acc,
        feature_names=names, device=str(dev), seconds=seconds,
    )


# --------------------------------------------------------------------------------------------
# history output
# --------------------------------------------------------------------------------------------

HISTORY_COLUMNS: tuple[str, ...] = ("epoch", "loss", "accuracy", "val_loss", "val_accuracy", "lr")


def write_history(history: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write the training history (``HISTORY_COLUMNS`` first, then any others) as CSV, atomically."""
    missing = [c for c in HISTORY_COLUMNS if c not in history.columns]
    if missing:
        raise ValueError(f"history: missing column(s) {missing}; expected {list(HISTORY_COLUMNS)}")
    cols = list(HISTORY_COLUMNS) + [c for c in history.columns if c not in HISTORY_COLUMNS]
    with atomic_path(path) as tmp:
        history[cols].to_csv(tmp, index=False)


def plot_history(history: pd.DataFrame, path: str | os.PathLike, title: str | None = None) -> None:
    """Training curves (loss and accuracy, train vs val, per epoch) as an image, written atomically."""
    from matplotlib.figure import Figure  # no pyplot: no global figure state, Agg canvas

    missing = [c for c in HISTORY_COLUMNS if c not in history.columns]
    if missing:
        raise ValueError(f"history: missing column(s) {missing}; expected {list(HISTORY_COLUMNS)}")
    fig = Figure(figsize=(10, 4), layout="constrained")
    axes = fig.subplots(1, 2)
    for ax, key, label in ((axes[0], "loss", "loss"), (axes[1], "accuracy", "accuracy")):
        ax.plot(history["epoch"], history[key], marker=".", label="train")
        ax.plot(history["epoch"], history[f"val_{key}"], marker=".", label="validation")
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120)


# --------------------------------------------------------------------------------------------
# model files
# --------------------------------------------------------------------------------------------


def package_versions() -> dict[str, str]:
    """Versions of python, torch, torch_geometric and df4lcz."""
    import torch_geometric

    from . import __version__

    return {
        "python": platform.python_version(),
        "torch": str(torch.__version__),
        "torch_geometric": str(torch_geometric.__version__),
        "df4lcz": __version__,
    }


def _plain(value: Any) -> Any:
    """``value`` reduced to JSON types (so the model file loads with ``weights_only=True``)."""
    return json.loads(json.dumps(value, default=str))


def save_model(path: str | os.PathLike, result: TrainResult, config: Mapping[str, Any] | None = None) -> None:
    """Write a trained model to ``path`` (torch file), atomically.

    The file holds: ``format``, ``kind``, ``model_name``, ``model_kwargs``, ``state_dict`` (CPU
    tensors), ``norm_mean``/``norm_std`` (S2), ``feature_names`` (GCN), ``params``, ``config``
    (anything JSON-able the caller wants recorded), ``seed``, ``versions``, ``best_epoch``,
    ``best_val_accuracy``, ``epochs_run`` and ``class_codes`` (1–17, the order of the outputs).
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
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


@dataclass
class LoadedModel:
    """A model read back by ``load_model``: the network (eval mode) and the file's metadata."""

    model: nn.Module
    meta: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.meta["kind"])


def load_model(path: str | os.PathLike, device: str | torch.device = "cpu") -> LoadedModel:
    """Read a model file written by ``save_model`` and rebuild the network on ``device``.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: the file is not a DF4LCZ model file or does not match its architecture.
    """
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: model file not found")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for corrupt files
        raise ValueError(f"{path}: not a readable torch model file ({exc})") from exc
    if not isinstance(payload, dict) or payload.get("format") != MODEL_FORMAT:
        raise ValueError(f"{path}: not a DF4LCZ model file (expected format {MODEL_FORMAT!r})")
    kind, name, kwargs = payload["kind"], payload["model_name"], dict(payload["model_kwargs"])
    if kind == "s2":
        model = build_s2_model(name, **kwargs)
    elif kind == "gcn":
        model = LCZGCN(**kwargs)
    else:
        raise ValueError(f"{path}: unknown model kind {kind!r}; expected 's2' or 'gcn'")
    try:
        model.load_state_dict(payload["state_dict"])
    except RuntimeError as exc:
        raise ValueError(f"{path}: weights do not match model {name!r} {kwargs} ({exc})") from exc
    model.to(resolve_device(device)).eval()
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
    device: str | torch.device = "auto",
    batch_size: int = EVAL_BATCH_SIZE,
) -> np.ndarray:
    """Class probabilities ``(N, 17)`` float32 of chips ``X`` ``(N, H, W, B)`` (raw reflectance).

    The training split's per-band standardisation stored in the model file is applied first.
    ``sample_ids`` ``(N,)``, when given, is only checked for length (rows stay in input order).
    Column j is LCZ code j + 1.
    """
    dev = resolve_device(device)
    loaded = _as_loaded(model_file, dev)
    if loaded.kind != "s2":
        raise ValueError(f"predict_s2: {model_file} holds a {loaded.kind!r} model, not a Sentinel-2 model")
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
    logits = _s2_logits(loaded.model, torch.from_numpy((X - mean) / std), dev, batch_size)
    return torch.softmax(logits, dim=1).numpy()


def predict_gcn(
    model_file: str | os.PathLike | LoadedModel,
    graphs: Sequence[Data],
    device: str | torch.device = "auto",
    batch_size: int = EVAL_BATCH_SIZE,
) -> np.ndarray:
    """Class probabilities ``(G, 17)`` float32 of ``graphs`` (list of ``Data`` or a ``GraphSamples``), in order."""
    dev = resolve_device(device)
    loaded = _as_loaded(model_file, dev)
    if loaded.kind != "gcn":
        raise ValueError(f"predict_gcn: {model_file} holds a {loaded.kind!r} model, not the GCN")
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
    logits = _gcn_logits(loaded.model, graphs, dev, batch_size)
    return torch.softmax(logits, dim=1).numpy()


# --------------------------------------------------------------------------------------------
# prediction tables
# --------------------------------------------------------------------------------------------

#: Probability columns of a predictions table (p_1 … p_17).
PROBA_COLUMNS: tuple[str, ...] = tuple(f"p_{c}" for c in LCZ_CODES)
PREDICTION_COLUMNS: tuple[str, ...] = ("sample_id", "split", "y_true", "y_pred", *PROBA_COLUMNS)


def predictions_frame(
    sample_ids: Sequence[int] | np.ndarray,
    split: str | Sequence[str] | np.ndarray,
    y_true: Sequence[int] | np.ndarray,
    proba: np.ndarray,
) -> pd.DataFrame:
    """Predictions table ``sample_id,split,y_true,y_pred,p_1…p_17``.

    Args:
        sample_ids: ``(N,)`` sample ids.
        split: one split name for all rows, or ``(N,)`` names.
        y_true: ``(N,)`` true LCZ codes 1–17.
        proba: ``(N, 17)`` class probabilities (column j = code j + 1).

    Returns:
        DataFrame with ``y_pred`` = argmax code (1–17).
    """
    proba = np.asarray(proba, dtype=np.float64)
    n = len(sample_ids)
    if proba.ndim != 2 or proba.shape != (n, N_CLASSES):
        raise ValueError(f"predictions_frame: proba has shape {proba.shape}; expected ({n}, {N_CLASSES})")
    if len(y_true) != n:
        raise ValueError(f"predictions_frame: {len(y_true)} labels for {n} sample ids")
    y_idx = codes_to_index(np.asarray(y_true), "predictions_frame: y_true")
    if isinstance(split, str):
        splits = np.full(n, split, dtype=object)
    else:
        splits = np.asarray(split, dtype=object)
        if len(splits) != n:
            raise ValueError(f"predictions_frame: {len(splits)} split names for {n} sample ids")
    frame = pd.DataFrame(
        {
            "sample_id": np.asarray(sample_ids, dtype=np.int64),
            "split": splits,
            "y_true": y_idx + 1,
            "y_pred": proba.argmax(axis=1) + 1,
        }
    )
    return pd.concat([frame, pd.DataFrame(proba, columns=list(PROBA_COLUMNS))], axis=1)


def write_predictions(frame: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write a predictions table (``PREDICTION_COLUMNS``) as CSV, atomically (probabilities %.6g)."""
    missing = [c for c in PREDICTION_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"predictions: missing column(s) {missing}; expected {list(PREDICTION_COLUMNS)}")
    with atomic_path(path) as tmp:
        frame[list(PREDICTION_COLUMNS)].to_csv(tmp, index=False, float_format="%.6g")


__all__ = [
    "GCN_DEFAULTS",
    "HISTORY_COLUMNS",
    "PREDICTION_COLUMNS",
    "PROBA_COLUMNS",
    "S2_DEFAULTS",
    "LoadedModel",
    "TrainResult",
    "augment_batch",
    "transform_batch",
    "band_statistics",
    "load_model",
    "plot_history",
    "predict_gcn",
    "predict_s2",
    "predictions_frame",
    "resolve_params",
    "save_model",
    "train_gcn",
    "train_s2",
    "write_history",
    "write_predictions",
]
