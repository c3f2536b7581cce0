"""Training and prediction of the two DF4LCZ streams.

========================  ==============================================================
module                    job
========================  ==============================================================
:mod:`.params`            check the training settings (``train.s2`` / ``train.gcn``)
:mod:`.determinism`       seeding and deterministic kernels (``deterministic()``)
:mod:`.loop`              the one fit loop (Nadam, step decay, early stopping), ``TrainResult``
:mod:`.s2`                Sentinel-2 stream: band statistics, augmentation, batches, ``train_s2``
:mod:`.gcn`               graph stream: graph checks, batches, ``train_gcn``
:mod:`.data`              chips, graphs, splits and labels as training inputs
:mod:`.stream`            one model's usable samples from the stage files (train/predict stages)
:mod:`.predict`           ``load_model``, ``predict_s2``, ``predict_gcn``
:mod:`.history`           the training-curve figure
========================  ==============================================================

Model files and history CSVs are written and read by :mod:`df4lcz.io.models` and
:mod:`df4lcz.io.history` (docs/contracts.md §10). Settings come validated from the config schema
(the one home of defaults); labels are LCZ codes 1–17 everywhere in this package's interface.

Reproducibility: ``seed`` seeds torch (model initialisation) and a dedicated ``torch.Generator``
that drives shuffling and augmentation; on CPU ``torch.use_deterministic_algorithms`` is switched
on for the duration of the call (and restored after), so one seed gives identical weights and
predictions on one machine. On CUDA cuDNN is made deterministic, but scatter/atomic kernels may
still differ in the last bits between runs.
"""

from __future__ import annotations

from .gcn import train_gcn
from .loop import TrainResult
from .predict import LoadedModel, load_model, predict_gcn, predict_s2
from .s2 import train_s2

__all__ = [
    "LoadedModel",
    "TrainResult",
    "load_model",
    "predict_gcn",
    "predict_s2",
    "train_gcn",
    "train_s2",
]
