"""Consistent sample exclusion across the streams (docs/contracts.md §7).

Each chipper reports the samples it could not cut (nodata, partial coverage) in its shard file.
A sample missing from any stream is excluded from all: training, prediction and fusion use only
the ids listed as valid by :func:`valid_sample_table`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ..io.chips import CHIP_SPECS, read_chip_info, read_excluded, read_ids_and_excluded
from ..io.graphs import read_graph_ids
from ..logs import get_logger

log = get_logger("chips")  # logger name as before the split: same log lines


def _stream_ids(stream: str, path: str | os.PathLike) -> tuple[np.ndarray, pd.DataFrame]:
    """Sample ids and exclusions of one shard file of ``stream`` (graph files have no exclusions)."""
    if stream == "graphs":
        return read_graph_ids(path), pd.DataFrame({"sample_id": np.empty(0, np.int64), "reason": []})
    if stream not in CHIP_SPECS:
        raise ValueError(
            f"valid_sample_table: unknown stream {stream!r}; expected graphs or {sorted(CHIP_SPECS)}"
        )
    return read_ids_and_excluded(path)


def no_valid_sample_message(streams: Mapping[str, Sequence[str | os.PathLike]], table: pd.DataFrame) -> str:
    """Why no sample is valid: each stream's exclusion reasons, counted (kind of reason, e.g. ``nodata``)."""
    counts: dict[str, dict[str, int]] = {}
    for reason in table["reason"]:
        for part in str(reason).split("; "):
            stream, _, why = part.partition(": ")
            if not why:  # "missing from the {stream} files"
                stream, why = part.removeprefix("missing from the ").removesuffix(" files"), "missing"
            kind = why.split(":")[0].strip()
            counts.setdefault(stream, {}).setdefault(kind, 0)
            counts[stream][kind] += 1
    per_stream = "; ".join(
        f"{stream}: " + ", ".join(f"{k} ×{n}" for k, n in sorted(kinds.items(), key=lambda kv: -kv[1]))
        for stream, kinds in counts.items()
    )
    first = table["reason"].iloc[0] if len(table) else ""
    files = {s: len(f) for s, f in streams.items()}
    return (
        f"no sample is valid in every stream ({', '.join(streams)}; shard files {files}): all {len(table)} "
        f"samples were excluded — {per_stream or 'no stream holds any sample'}. First: sample "
        f"{int(table['sample_id'].iloc[0]) if len(table) else '-'}: {first}. Check the inputs' coverage and "
        "nodata over the labelled polygons (logs/chip_*)"
    )


def valid_sample_table(streams: Mapping[str, Sequence[str | os.PathLike]]) -> pd.DataFrame:
    """One row per sample: ``sample_id, valid, reason`` (reason empty when valid).

    Args:
        streams: ``{stream name: shard files}``: chip files of ``"google"``/``"sentinel2"``, graph
            files of ``"graphs"`` (imported data); chip files also list the samples they excluded.

    A sample is valid when every stream has it.

    Raises:
        ValueError: no sample is valid (or none was seen); the message counts each stream's
            exclusion reasons.
    """
    if not streams:
        raise ValueError("valid_sample_table: no stream given; expected {stream name: shard files}")
    rows: dict[int, list[str]] = {}
    present: dict[str, set[int]] = {name: set() for name in streams}
    for stream, files in streams.items():
        for path in files:
            ids, excluded = _stream_ids(stream, path)
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
    table = pd.DataFrame(
        {
            "sample_id": np.asarray(all_ids, dtype=np.int64),
            "valid": [sid in valid for sid in all_ids],
            "reason": reasons,
        }
    )
    n_bad = int((~table.valid).sum())
    if n_bad == len(table):
        raise ValueError(no_valid_sample_message(streams, table))
    log.info("%d samples valid in both streams, %d excluded", int(table.valid.sum()), n_bad)
    for row in table[~table.valid].itertuples():
        log.warning("sample %d excluded from both streams: %s", row.sample_id, row.reason)
    return table


def exclusion_subjects(streams: Mapping[str, Sequence[str | os.PathLike]]) -> dict[int, dict[str, str]]:
    """``{sample_id: {stream: input}}`` of every excluded sample: the chip file's ``source`` attr (the
    input as configured, docs/contracts.md §2, §3), naming the file responsible for the exclusion."""
    out: dict[int, dict[str, str]] = {}
    for stream, files in streams.items():
        if stream not in CHIP_SPECS:
            continue
        for path in files:
            excluded = read_excluded(path)
            if excluded.empty:
                continue
            source = read_chip_info(path)[1].get("source", "")
            if not isinstance(source, str):
                source = ", ".join(map(str, source))
            for sid in excluded["sample_id"].astype(int):
                out.setdefault(int(sid), {})[stream] = source
    return out
