"""Stage of rule ``predict``: class probabilities of the val and test samples with a trained model.

Reads the model file (docs/contracts.md §10) and the model's stage files restricted to the usable
samples, and writes the predictions CSV (§8) through :mod:`df4lcz.io.predictions`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..constants import GCN_MODEL_NAME
from ..io.predictions import MODEL_FLOAT_FORMAT, predictions_frame, write_predictions
from ..logs import get_logger
from ..scripting import Job
from ..training import load_model, predict_gcn, predict_s2
from ..training.runtime import configure_cpu_job
from ..training.stream import load_stream

#: The logger of the train and predict stages (their log lines keep the name ``df4lcz.experiment``).
log = get_logger("experiment")

PathLike = str | os.PathLike


def run(job: Job) -> None:
    """Predict with ``job.input.model`` and write ``job.output.predictions``."""
    configure_cpu_job(job.threads, log)
    predict_model_files(
        job.input.model,
        job.wildcards["model"],
        list(job.input.data),
        job.input.split,
        job.input.samples,
        job.input.valid,
        job.output.predictions,
        device=job.params["device"],
    )


def predict_model_files(
    model_path: PathLike,
    model: str,
    data_files: Sequence[PathLike],
    split_path: PathLike,
    samples_path: PathLike,
    valid_path: PathLike,
    out_csv: PathLike,
    device: str,
) -> pd.DataFrame:
    """Predict the val and test samples with a trained model and write the predictions CSV."""
    stream = load_stream(model, data_files, split_path, samples_path, valid_path, log)
    mask = np.isin(stream.split, ["val", "test"])
    loaded = load_model(model_path, device="cpu")
    subset = stream.data.subset(mask)
    if model == GCN_MODEL_NAME:
        proba = predict_gcn(loaded, subset, device=device)
    else:
        proba = predict_s2(loaded, subset.image, stream.sample_id[mask], device=device)
    frame = predictions_frame(stream.sample_id[mask], stream.split[mask], stream.lcz[mask], proba)
    write_predictions(frame, out_csv, float_format=MODEL_FLOAT_FORMAT)
    acc = float((frame["y_pred"] == frame["y_true"])[frame["split"] == "test"].mean())
    log.info("%s: %d predictions written, test accuracy %.4f", model, len(frame), acc)
    return frame
