"""One model's inputs from the stage files: the usable samples of its stream, labels and splits.

Both streams use the same samples: those valid in every stream (``results/valid_samples.csv``,
docs/contracts.md §7) and present in the split table (§6). Labels come from the sample table
(§1), never from the chip or graph files. Used by the ``train`` and ``predict`` stages.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..constants import GCN_MODEL_NAME
from ..io.samples import read_samples
from ..io.splits import read_split
from ..io.valid import read_valid_ids
from .data import load_graphs, load_s2_chips, split_of

PathLike = str | os.PathLike


@dataclass
class StreamData:
    """One stream's inputs restricted to the usable samples, with labels and split names.

    Attributes:
        sample_id: ``(N,)`` int64.
        data: ``S2Chips`` (image ``(N, 32, 32, 10)``) or ``GraphSamples`` (N graphs), in shard file order.
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


def load_stream(
    model: str,
    data_files: Sequence[PathLike],
    split_path: PathLike,
    samples_path: PathLike,
    valid_path: PathLike,
    log: logging.Logger,
) -> StreamData:
    """Read the chips (Sentinel-2 models) or graphs (``gcn``) of the usable samples.

    Raises:
        ValueError: no usable train or val sample for ``model``.
    """
    samples = read_samples(samples_path)
    lcz_by_id = dict(zip(samples["sample_id"].astype(int), samples["lcz"].astype(int)))
    splits = read_split(split_path)
    keep = read_valid_ids(valid_path) & set(splits["sample_id"].astype(int))
    data: Any  # GraphSamples or S2Chips
    if model == GCN_MODEL_NAME:
        data = load_graphs(list(data_files), keep_ids=keep, labels=lcz_by_id)
    else:
        data = load_s2_chips(list(data_files), keep_ids=keep)
    ids = np.asarray(data.sample_id, dtype=np.int64)
    lcz = np.array([lcz_by_id[int(i)] for i in ids], dtype=np.int64)
    split = split_of(ids, splits)
    missing = len(keep) - len(ids)
    if missing:
        log.warning(
            "%d usable sample(s) have no %s input and are skipped",
            missing,
            "graph" if model == GCN_MODEL_NAME else "Sentinel-2 chip",
        )
    counts = pd.Series(split).value_counts().to_dict()
    log.info("%s: %d samples (%s)", model, len(ids), ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    for name in ("train", "val"):
        if counts.get(name, 0) == 0:
            raise ValueError(
                f"{split_path}: no usable {name} samples for {model}; check the split fractions "
                "and results/valid_samples.csv"
            )
    return StreamData(ids, data, lcz, split)
