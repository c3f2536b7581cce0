"""Stage of rule ``train``: fit one stream model for one split strategy.

Inputs: the model's stage files (Sentinel-2 chip shards, or graph shards for ``gcn``), the split
table, the sample table and the valid-sample table. Trains on the ``train`` split with early
stopping and model choice on ``val`` and writes the model file and history
(docs/contracts.md §10) and the training-curve figure. The loop's state is saved after every
epoch to ``<model file>.resume`` and taken up by a rerun of a killed job (``training.resume``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from .. import __version__
from ..constants import GCN_MODEL_NAME
from ..io.history import write_history
from ..io.models import save_model
from ..logs import get_logger
from ..scripting import Job
from ..training import TrainResult, train_gcn, train_s2
from ..training.data_spec import training_data_spec
from ..training.history import plot_history
from ..training.resume import ResumeFile, file_identity
from ..training.runtime import configure_cpu_job
from ..training.stream import load_stream

#: The logger of the train and predict stages (their log lines keep the name ``df4lcz.experiment``).
log = get_logger("experiment")

PathLike = str | os.PathLike


def run(job: Job) -> None:
    """Train ``job.wildcards["model"]`` on ``job.input.data`` with the ``train.s2``/``train.gcn`` slice."""
    configure_cpu_job(job.threads, log)
    train_model_files(
        job.wildcards["model"],
        list(job.input.data),
        job.input.split,
        job.input.samples,
        job.input.valid,
        params=job.params["train"],
        seed=job.params["seed"],
        device=job.params["device"],
        amp=job.params["amp"],
        model_out=job.output.model,
        history_out=job.output.history,
        curve_out=job.output.curve,
        record={
            "train": job.params["train"],
            "strategy": job.wildcards["strategy"],
            "inputs": list(job.input.data),
            "data": training_data_spec(
                "gcn" if job.wildcards["model"] == GCN_MODEL_NAME else "s2",
                job.input.data[0],
                job.params["window"],
            ),
        },
    )


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
    amp: bool = False,
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
        amp: mixed precision in training (``train.amp``); recorded in the model file when on.
    """
    resume = ResumeFile.beside(
        model_out,
        {
            "model": model,
            "params": dict(params),
            "seed": int(seed),
            "device": str(device),
            "amp": bool(amp),
            "version": __version__,
            "inputs": file_identity([*data_files, split_path, samples_path, valid_path]),
        },
    )
    stream = load_stream(model, data_files, split_path, samples_path, valid_path, log)
    _, train_data, train_y = stream.part("train")
    _, val_data, val_y = stream.part("val")
    if model == GCN_MODEL_NAME:
        result = train_gcn(
            train_data.graphs,
            val_data.graphs,
            params=dict(params),
            seed=seed,
            device=device,
            log=log,
            feature_names=train_data.feature_names,
            resume=resume,
            amp=amp,
        )
    else:
        result = train_s2(
            model,
            (train_data.image, train_y),
            (val_data.image, val_y),
            params=dict(params),
            seed=seed,
            device=device,
            log=log,
            resume=resume,
            amp=amp,
        )
    # the record of a float32 run is unchanged (identical settings give byte-identical model files)
    save_model(model_out, result, config={**(record or {}), **({"amp": True} if amp else {})})
    write_history(result.history, history_out)
    strategy = (record or {}).get("strategy")
    plot_history(
        result.history, curve_out, title=f"{strategy + ' / ' if strategy else ''}{model}: training curve"
    )
    resume.discard()
    log.info(
        "%s: best epoch %d, val accuracy %.4f, %.1f s",
        model,
        result.best_epoch,
        result.best_val_accuracy,
        result.seconds,
    )
    return result
