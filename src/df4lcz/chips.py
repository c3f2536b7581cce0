"""Consistent sample exclusion across the two streams.

Each chipper reports the samples it could not cut (nodata, partial coverage) in its shard file.
A sample missing from either stream is excluded from both: training, prediction and fusion use
only the ids listed as valid by :func:`valid_sample_table`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import h5py
import numpy as np
import pandas as pd

from .io.hdf5 import write_h5
from .logs import get_logger

log = get_logger("chips")


def check_sample_ids(path: str | os.PathLike, sample_ids: np.ndarray) -> np.ndarray:
    """``sample_ids`` as a 1-D int64 array; ``ValueError`` naming ``path`` otherwise."""
    ids = np.asarray(sample_ids)
    if ids.ndim != 1 or ids.dtype.kind not in "iu":
        raise ValueError(f"{path}: sample_ids must be a 1-D integer array, got {ids.dtype} {ids.shape}")
    return ids.astype(np.int64)


def write_chip_shard(
    path: str | os.PathLike,
    sample_ids: np.ndarray,
    images: np.ndarray,
    excluded: pd.DataFrame,
    attrs: Mapping[str, object] | None = None,
) -> None:
    """Write a chip shard atomically (the stream-specific writers check ``images`` first).

    Datasets: ``sample_id`` (N,) int64, ``image`` (N, …), ``excluded_sample_id`` (M,) int64 and
    ``excluded_reason`` (M,) UTF-8 byte strings; ``attrs`` become file attrs.

    Raises:
        ValueError: ``sample_ids`` not 1-D integers, or ``excluded`` without ``sample_id``/``reason``.
    """
    ids = check_sample_ids(path, sample_ids)
    if not {"sample_id", "reason"} <= set(excluded.columns):
        raise ValueError(
            f"{path}: excluded must have columns sample_id, reason; got {list(excluded.columns)}"
        )
    reasons = [str(r).encode("utf-8") for r in excluded["reason"]]
    write_h5(
        path,
        {
            "sample_id": ids,
            "image": np.asarray(images),
            "excluded_sample_id": excluded["sample_id"].to_numpy().astype(np.int64),
            "excluded_reason": np.array(reasons, dtype="S") if reasons else np.zeros(0, dtype="S1"),
        },
        dict(attrs or {}),
    )


def _ids_and_excluded(path: str | os.PathLike) -> tuple[np.ndarray, pd.DataFrame]:
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: chip file not found")
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise ValueError(f"{path}: not a readable HDF5 chip file ({exc})") from exc
    with f:
        if "sample_id" not in f:
            raise ValueError(f"{path}: no 'sample_id' dataset; not a chip file")
        ids = f["sample_id"][()].astype(np.int64)
        ex_ids = f["excluded_sample_id"][()].astype(np.int64) if "excluded_sample_id" in f else np.empty(0, np.int64)
        reasons = f["excluded_reason"][()] if "excluded_reason" in f else np.empty(0, dtype=object)
    reasons = [r.decode() if isinstance(r, bytes) else str(r) for r in reasons]
    return ids, pd.DataFrame({"sample_id": ex_ids, "reason": reasons})


def valid_sample_table(streams: Mapping[str, Sequence[str | os.PathLike]]) -> pd.DataFrame:
    """One row per sample: ``sample_id, valid, reason`` (reason empty when valid).

    Args:
        streams: ``{stream name: shard files}``, e.g. ``{"google": [...], "sentinel2": [...]}`` (chip
            files), or graph shards for imported data; every file has ``sample_id`` and, optionally,
            an exclusion table.

    A sample is valid when every stream has it.
    """
    if not streams:
        raise ValueError("valid_sample_table: no stream given; expected {stream name: shard files}")
    rows: dict[int, list[str]] = {}
    present: dict[str, set[int]] = {name: set() for name in streams}
    for stream, files in streams.items():
        for path in files:
            ids, excluded = _ids_and_excluded(path)
            present[stream].update(ids.tolist())
            for sid, reason in zip(excluded.sample_id, excluded.reason):
                rows.setdefault(int(sid), []).append(f"{stream}: {reason}")
    all_ids = sorted(set().union(*present.values(), rows))
    valid = set.intersection(*present.values())
    reasons = []
    for sid in all_ids:
        if sid in valid:
            reasons.append("")
        else:
            why = rows.get(sid) or [f"missing from the {s} files" for s in streams if sid not in present[s]]
            reasons.append("; ".join(why))
    table = pd.DataFrame({"sample_id": np.asarray(all_ids, dtype=np.int64),
                          "valid": [sid in valid for sid in all_ids], "reason": reasons})
    n_bad = int((~table.valid).sum())
    log.info("%d samples valid in both streams, %d excluded", int(table.valid.sum()), n_bad)
    for row in table[~table.valid].itertuples():
        log.warning("sample %d excluded from both streams: %s", row.sample_id, row.reason)
    return table


def read_valid_ids(path: str | os.PathLike) -> set[int]:
    """The set of valid sample ids from ``results/valid_samples.csv``."""
    table = pd.read_csv(path)
    if not {"sample_id", "valid"} <= set(table.columns):
        raise ValueError(f"{path}: expected columns sample_id, valid, reason")
    return set(table.loc[table["valid"].astype(bool), "sample_id"].astype(int))
