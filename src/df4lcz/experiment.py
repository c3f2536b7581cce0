"""Training and prediction of one model from the stage files (what rules train and predict call).

Both streams use the same samples: those valid in both chip sets (``results/valid_samples.csv``)
and present in the split table. Labels come from the sample table, never from the chip files.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .chips import read_valid_ids
from .datasets import load_graphs, load_s2_chips, load_splits, split_of
from .logs import get_logger
from .models import GCN_MODEL_NAME
from .samples import read_samples
from .training import (
    TrainResult,
    load_model,
    plot_history,
    predict_gcn,
    predict_s2,
    predictions_frame,
    save_model,
    train_gcn,
    train_s2,
    write_history,
    write_predictions,
)

log = get_logger("experiment")

PathLike = str | os.PathLike


@dataclass
class StreamData:
    """One stream's inputs restricted to the usable samples, with labels and split names.

    Attributes:
        sample_id: ``(N,)`` int64.
        data: ``S2Chips`` (image ``(N, 32, 32, 10)``) or ``GraphSet`` (N graphs), in shard file order.
        lcz: ``(N,)`` int64 codes 1–17.
        split: ``(N,)`` object array of ``train``/``val``/``test``.
    """

    sample_id: np.ndarray
    data: Any
    lcz: np.ndarray
    split: np.ndarray

    def part(self, name: str) -> tuple[np.ndarray, Any, np.ndarray]:
        """(ids, data, labels) of one split."""
        mask = self.split == name
        return self.sample_id[mask], self.data.subset(mask), self.lcz[mask]


def load_stream(model: str, data_files: Sequence[PathLike], split_path: PathLike, samples_path: PathLike,
                valid_path: PathLike) -> StreamData:
    """Read the chips (Sentinel-2 models) or graphs (``gcn``) of the usable samples."""
    samples = read_samples(samples_path)
    lcz_by_id = dict(zip(samples["sample_id"].astype(int), samples["lcz"].astype(int)))
    splits = load_splits(split_path)
    keep = read_valid_ids(valid_path) & set(splits.index.astype(int))
    if model == GCN_MODEL_NAME:
        data = load_graphs(list(data_files), keep_ids=keep, labels=lcz_by_id)
    else:
        data = load_s2_chips(list(data_files), keep_ids=keep)
    ids = np.asarray(data.sample_id, dtype=np.int64)
    lcz = np.array([lcz_by_id[int(i)] for i in ids], dtype=np.int64)
    split = split_of(ids, splits)
    missing = len(keep) - len(ids)
    if missing:
        log.warning("%d usable sample(s) have no %s input and are skipped", missing,
                    "graph" if model == GCN_MODEL_NAME else "Sentinel-2 chip")
    counts = pd.Series(split).value_counts().to_dict()
    log.info("%s: %d samples (%s)", model, len(ids), ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    for name in ("train", "val"):
        if counts.get(name, 0) == 0:
            raise ValueError(f"{split_path}: no usable {name} samples for {model}; check the split fractions "
                             "and results/valid_samples.csv")
    return StreamData(ids, data, lcz, split)


def train_model_files(
    model: str,
    data_files: Sequence[PathLike],
    split_path: PathLike,
    samples_path: PathLike,
    valid_path: PathLike,
    params: Mapping[str, Any],
    seed: int,
    device: str,
    model_out: PathLike,
    history_out: PathLike,
    curve_out: PathLike,
    record: Mapping[str, Any] | None = None,
) -> TrainResult:
    """Train ``model`` on the train split (early stopping on val) and write model, history, curve.

    Args:
        model: ``gcn`` or a Sentinel-2 model name.
        data_files: graph shards (gcn) or Sentinel-2 chip shards.
        split_path, samples_path, valid_path: the split table, sample table, valid-sample table.
        params: hyper-parameters (the ``train.gcn`` or ``train.s2`` config section).
        seed: seed of initialisation, shuffling and augmentation.
        device: ``auto``, ``cpu``, ``cuda``, …
        model_out, history_out, curve_out: files to write.
        record: extra provenance stored in the model file (config slice, inputs).
    """
    stream = load_stream(model, data_files, split_path, samples_path, valid_path)
    _, train_data, train_y = stream.part("train")
    _, val_data, val_y = stream.part("val")
    if model == GCN_MODEL_NAME:
        result = train_gcn(train_data.graphs, val_data.graphs, params=dict(params), seed=seed, device=device,
                           log=log, feature_names=train_data.feature_names)
    else:
        result = train_s2(model, (train_data.image, train_y), (val_data.image, val_y), params=dict(params),
                          seed=seed, device=device, log=log)
    save_model(model_out, result, config=dict(record or {}))
    write_history(result.history, history_out)
    plot_history(result.history, curve_out, title=f"{model}: training curve")
    log.info("%s: best epoch %d, val accuracy %.4f, %.1f s", model, result.best_epoch, result.best_val_accuracy,
             result.seconds)
    return result


def predict_model_files(
    model_path: PathLike,
    model: str,
    data_files: Sequence[PathLike],
    split_path: PathLike,
    samples_path: PathLike,
    valid_path: PathLike,
    out_csv: PathLike,
    device: str = "auto",
) -> pd.DataFrame:
    """Predict the val and test samples with a trained model and write the predictions CSV."""
    stream = load_stream(model, data_files, split_path, samples_path, valid_path)
    mask = np.isin(stream.split, ["val", "test"])
    loaded = load_model(model_path, device="cpu")
    subset = stream.data.subset(mask)
    if model == GCN_MODEL_NAME:
        proba = predict_gcn(loaded, subset, device=device)
    else:
        proba = predict_s2(loaded, subset.image, stream.sample_id[mask], device=device)
    frame = predictions_frame(stream.sample_id[mask], stream.split[mask], stream.lcz[mask], proba)
    write_predictions(frame, out_csv)
    acc = float((frame["y_pred"] == frame["y_true"])[frame["split"] == "test"].mean())
    log.info("%s: %d predictions written, test accuracy %.4f", model, len(frame), acc)
    return frame
