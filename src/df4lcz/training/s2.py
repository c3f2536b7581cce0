"""Training of the Sentinel-2 models: band statistics, augmentation, batches and logits.

``train_s2`` fits a Sentinel-2 model (``resnet11_3d`` or a 2D baseline) on chips
``(N, 32, 32, 10)`` with the settings of ``train.s2`` (the paper's: Nadam lr 0.002, step decay
×0.4 every 5 epochs, batch 64, up to 100 epochs, early stopping on the validation loss with
patience 40; the weights of the epoch with the best validation accuracy are kept). Chips are
standardised per band with the mean/std of the training split (stored in the model file and
re-applied by ``predict_s2``). Training batches are augmented: horizontal flip (p 0.5), vertical
flip (p 0.5) and a rotation by an angle drawn uniformly in [−90°, 90°], all composed into one
affine map per chip and applied with ``torch.nn.functional.affine_grid`` + ``grid_sample``
(bilinear, reflection padding — the released code used albumentations' ``Rotate(limit=90)``
whose default border is a reflection). Labels are LCZ codes 1–17 (indices 0–16 inside).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..constants import N_CLASSES, S2_MODEL_NAMES, codes_to_index
from ..devices import resolve_device
from ..logs import get_logger
from ..models import build_s2_model
from .loop import EVAL_BATCH_SIZE, TrainResult, fit
from .params import S2_PARAM_KEYS, check_params
from .resume import ResumeFile

#: Smallest per-band standard deviation used for standardisation (constant bands).
MIN_BAND_STD: float = 1e-6

#: Maximum rotation (degrees) of the training augmentation.
MAX_ROTATION_DEG: float = 90.0

#: Probability of each flip in the training augmentation.
FLIP_PROBABILITY: float = 0.5


def band_statistics(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-band mean and standard deviation ``(B,)`` float32 of chips ``(N, H, W, B)``.

    Standard deviations below ``MIN_BAND_STD`` are raised to it (constant bands).
    """
    flat = np.asarray(X, dtype=np.float64).reshape(-1, X.shape[-1])
    mean = flat.mean(axis=0)
    std = np.maximum(flat.std(axis=0), MIN_BAND_STD)
    return mean.astype(np.float32), std.astype(np.float32)


def transform_batch(
    x: torch.Tensor, flip_x: torch.Tensor, flip_y: torch.Tensor, angle: torch.Tensor
) -> torch.Tensor:
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
    angle = (torch.rand(n, generator=generator, dtype=torch.float64) * 2.0 - 1.0) * math.radians(
        MAX_ROTATION_DEG
    )
    return transform_batch(x, flip_x, flip_y, angle)


def check_chips(X: np.ndarray, y: np.ndarray | Sequence[int], where: str) -> tuple[np.ndarray, np.ndarray]:
    """Chips ``(N, H, W, B)`` as float32 and labels 1–17 as class indices ``(N,)``; ``ValueError`` otherwise."""
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


@torch.no_grad()
def s2_logits(
    model: nn.Module, X: torch.Tensor, device: torch.device, batch_size: int = EVAL_BATCH_SIZE
) -> torch.Tensor:
    """Logits ``(N, C)`` (on CPU) of standardised chips ``X`` ``(N, H, W, B)``, eval mode."""
    model.eval()
    outs = [
        model(X[i : i + batch_size].to(device, non_blocking=True)).float().cpu()
        for i in range(0, len(X), batch_size)
    ]
    return torch.cat(outs)


class S2Adapter:
    """The Sentinel-2 stream for :func:`df4lcz.training.loop.fit`.

    Each epoch draws one permutation of the training chips, then (``augment``) three draws per
    batch; batches of a single chip are skipped (BatchNorm cannot train on one sample). The batch
    loss is the mean cross-entropy.
    """

    reduction = "mean"

    def __init__(
        self,
        model_name: str,
        model_kwargs: Mapping[str, Any],
        x_train: torch.Tensor,
        y_train: torch.Tensor,
        x_val: torch.Tensor,
        y_val: torch.Tensor,
        batch_size: int,
        augment: bool,
        device: torch.device,
    ) -> None:
        self.name = model_name
        self.model_kwargs = dict(model_kwargs)
        self.x_train, self.y_train = x_train, y_train
        self.x_val, self.y_val = x_val, y_val
        self.batch_size, self.augment, self.device = batch_size, augment, device

    def build_model(self) -> nn.Module:
        return build_s2_model(self.name, **self.model_kwargs).to(self.device)

    def train_batches(self, generator: torch.Generator) -> Iterator[torch.Tensor]:
        n = len(self.x_train)
        order = torch.randperm(n, generator=generator)
        for start in range(0, n, self.batch_size):
            idx = order[start : start + self.batch_size]
            if len(idx) < 2:  # BatchNorm cannot train on a single sample
                continue
            yield idx

    def forward(
        self, model: nn.Module, batch: torch.Tensor, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor, int]:
        idx_dev = batch.to(self.device)
        xb, yb = self.x_train[idx_dev].to(self.device), self.y_train[idx_dev].to(self.device)
        if self.augment:
            xb = augment_batch(xb, generator)
        return model(xb), yb, len(batch)

    def val_logits(self, model: nn.Module) -> torch.Tensor:
        return s2_logits(model, self.x_val, self.device)


def train_s2(
    model_name: str,
    train: tuple[np.ndarray, np.ndarray],
    val: tuple[np.ndarray, np.ndarray],
    params: Mapping[str, Any],
    seed: int,
    device: str | torch.device,
    log: logging.Logger | None = None,
    resume: ResumeFile | None = None,
    amp: bool = False,
) -> TrainResult:
    """Train a Sentinel-2 model.

    Args:
        model_name: one of ``S2_MODEL_NAMES``.
        train: ``(X, y)`` with chips ``(N, 32, 32, B)`` float reflectance and LCZ codes ``(N,)`` 1–17.
        val: validation ``(X, y)`` of the same form (used for early stopping and model choice).
        params: the ``train.s2`` settings (every key of ``S2_PARAM_KEYS``).
        seed: seed of initialisation, shuffling and augmentation.
        device: ``"auto"`` (CUDA if available), ``"cpu"``, ``"cuda"``…
        log: logger (default ``df4lcz.training``).
        resume: epoch state to save and resume from (:mod:`.resume`); ``None``: none.
        amp: mixed precision in training (``train.amp``; :func:`.loop.fit`).

    Returns:
        ``TrainResult`` holding the best-validation-accuracy model and the history.

    Raises:
        ValueError: unknown model name, unknown/missing hyper-parameter, malformed data.
    """
    log = log or get_logger("training")
    if model_name not in S2_MODEL_NAMES:
        raise ValueError(
            f"unknown Sentinel-2 model {model_name!r}; expected one of {', '.join(S2_MODEL_NAMES)}"
        )
    p = check_params(params, S2_PARAM_KEYS, "train_s2")
    Xtr, ytr = check_chips(train[0], train[1], "train_s2: training split")
    Xva, yva = check_chips(val[0], val[1], "train_s2: validation split")
    if Xtr.shape[1:] != Xva.shape[1:]:
        raise ValueError(
            f"train_s2: training chips {Xtr.shape[1:]} and validation chips {Xva.shape[1:]} differ in shape"
        )
    dev = resolve_device(device, key="train.device")
    mean, std = band_statistics(Xtr)
    xtr = torch.from_numpy((Xtr - mean) / std)
    xva = torch.from_numpy((Xva - mean) / std)
    ytr_t, yva_t = torch.from_numpy(ytr), torch.from_numpy(yva)
    if dev.type == "cuda":
        xtr, ytr_t = xtr.to(dev), ytr_t.to(dev)
        xva = xva.pin_memory()  # validation batches are copied to the GPU without blocking
    kwargs = {"n_bands": int(Xtr.shape[-1]), "n_classes": N_CLASSES, "base_width": p["base_width"]}
    log.info(
        "train_s2 %s: %d train / %d val chips %s, device %s, params %s, seed %d",
        model_name,
        len(xtr),
        len(xva),
        tuple(Xtr.shape[1:]),
        dev,
        json.dumps(p),
        seed,
    )
    adapter = S2Adapter(model_name, kwargs, xtr, ytr_t, xva, yva_t, p["batch_size"], p["augment"], dev)
    out = fit(adapter, p, seed, dev, log, resume=resume, amp=amp)
    log.info(
        "train_s2 %s: kept epoch %d (val_acc %.4f); %.1f s",
        model_name,
        out.best_epoch,
        out.best_val_accuracy,
        out.seconds,
    )
    return TrainResult(
        model=out.model,
        kind="s2",
        model_name=model_name,
        model_kwargs=kwargs,
        params=p,
        seed=int(seed),
        history=out.history,
        best_epoch=out.best_epoch,
        best_val_accuracy=out.best_val_accuracy,
        norm_mean=mean,
        norm_std=std,
        device=str(dev),
        seconds=out.seconds,
    )
