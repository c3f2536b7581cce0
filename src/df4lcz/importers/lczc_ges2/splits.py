"""Released LCZC-GES2 split pickles → split tables (docs/contracts.md §6).

Only load pickles from a source you trust: unpickling can run arbitrary code.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ...constants import SPLIT_NAMES
from ...errors import InputError
from ...io.samples import read_samples
from ...io.splits import write_split
from ...logs import get_logger

log = get_logger("importers.lczc_ges2")

#: Split keys of the released pickles → split names of ``results/splits/{strategy}.csv``.
SPLIT_KEYS: dict[str, str] = {"train": "train", "validation": "val", "test": "test"}

#: What :func:`import_split` may do with split ids missing from the sample table.
UNKNOWN_ID_MODES: tuple[str, ...] = ("error", "drop")

PathLike = str | os.PathLike


def _load_pickle(path: Path) -> Any:
    try:
        with open(path, "rb") as f:
            return pickle.load(f)
    except UnicodeDecodeError:  # written by Python 2 with numpy arrays inside
        with open(path, "rb") as f:
            return pickle.load(f, encoding="latin1")
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, IndexError) as exc:
        raise InputError(f"{path}: not a readable pickle ({exc})") from None


def _known_ids(sample_ids: Collection[int] | pd.DataFrame | PathLike) -> set[int]:
    if isinstance(sample_ids, (str, os.PathLike)):
        return set(read_samples(sample_ids)["sample_id"].astype(np.int64).tolist())
    if isinstance(sample_ids, pd.DataFrame):
        return set(sample_ids["sample_id"].astype(np.int64).tolist())
    return {int(i) for i in sample_ids}


def import_split(
    pickle_path: PathLike,
    out_csv: PathLike,
    sample_ids: Collection[int] | pd.DataFrame | PathLike,
    unknown_ids: str = "error",
) -> pd.DataFrame:
    """Turn a released split pickle into ``results/splits/{strategy}.csv`` (``sample_id,split``).

    Args:
        pickle_path: dict with keys ``train``, ``validation``, ``test`` → lists/arrays of sample ids.
        out_csv: output CSV (atomic), rows sorted by ``sample_id``.
        sample_ids: the ids of the sample table (a collection of ints, the table, or its path).
        unknown_ids: what to do with ids of the pickle that are not in ``sample_ids``: ``"error"``
            (default) or ``"drop"`` (logged; e.g. samples :func:`.scan.scan_lczc_ges2` left out because
            one of their two files is missing).

    Returns:
        The ``sample_id,split`` table written (split ∈ train/val/test).

    Raises:
        FileNotFoundError: the pickle does not exist.
        InputError (a ValueError): not a dict, a key missing, non-integer ids, ids not in the sample table, or an
            id in two splits (all naming the file).
    """
    if unknown_ids not in UNKNOWN_ID_MODES:
        raise ValueError(f"unknown_ids: {unknown_ids!r}; expected one of {list(UNKNOWN_ID_MODES)}")
    path = Path(pickle_path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: split pickle not found")
    obj = _load_pickle(path)
    if not isinstance(obj, Mapping):
        raise InputError(
            f"{path}: holds a {type(obj).__name__}; expected a dict with keys {list(SPLIT_KEYS)}"
        )
    missing = [k for k in SPLIT_KEYS if k not in obj]
    if missing:
        raise InputError(
            f"{path}: missing key(s) {missing}; found {sorted(map(str, obj))}, expected {list(SPLIT_KEYS)}"
        )
    known = _known_ids(sample_ids)
    split_of: dict[int, str] = {}
    for key, name in SPLIT_KEYS.items():
        arr = np.asarray(obj[key]).reshape(-1)
        if arr.size and (arr.dtype.kind not in "iuf" or not np.all(np.mod(arr, 1) == 0)):
            raise InputError(
                f"{path}: key '{key}' must list integer sample ids; found {arr[:5].tolist()} ({arr.dtype})"
            )
        ids = arr.astype(np.int64)
        unique, counts = np.unique(ids, return_counts=True)
        if (counts > 1).any():
            log.warning(
                "%s: key '%s' lists %d id(s) more than once (e.g. %s); counted once",
                path,
                key,
                int((counts > 1).sum()),
                unique[counts > 1][:5].tolist(),
            )
        unknown = [int(i) for i in unique if int(i) not in known]
        if unknown and unknown_ids == "error":
            raise InputError(
                f"{path}: key '{key}' lists {len(unknown)} id(s) not in the sample table, e.g. {unknown[:5]}"
            )
        if unknown and len(unknown) == len(unique):
            raise InputError(
                f"{path}: none of the {len(unique)} id(s) of key '{key}' is in the sample table "
                f"(e.g. {unknown[:5]}); is this split file from another copy of the dataset?"
            )
        if unknown:
            log.warning(
                "%s: key '%s' lists %d id(s) not in the sample table (e.g. %s); dropped",
                path,
                key,
                len(unknown),
                unknown[:5],
            )
            unique = np.array([i for i in unique if int(i) in known], dtype=np.int64)
        both = [int(i) for i in unique if int(i) in split_of]
        if both:
            raise InputError(
                f"{path}: sample id(s) {both[:5]} appear in '{key}' and in another split "
                f"({sorted({split_of[i] for i in both})}); a sample must be in one split only"
            )
        split_of.update({int(i): name for i in unique})
    table = pd.DataFrame(
        {
            "sample_id": np.fromiter(split_of.keys(), dtype=np.int64, count=len(split_of)),
            "split": list(split_of.values()),
        }
    )
    table = table.sort_values("sample_id").reset_index(drop=True)
    unassigned = len(known) - len(table)
    if unassigned:
        log.warning("%s: %d sample(s) of the table are in no split", path, unassigned)
    counts_by_split = table["split"].value_counts().reindex(list(SPLIT_NAMES), fill_value=0).to_dict()
    log.info("%s → %s: %s", path, out_csv, counts_by_split)
    write_split(out_csv, table)
    return table
