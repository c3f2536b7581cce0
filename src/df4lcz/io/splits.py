"""Split tables ``results/splits/{strategy}.csv`` (docs/contracts.md §6): writer and reader.

A split table has the columns ``sample_id,split`` (in that order), one row per sample, with
``split`` one of :data:`df4lcz.constants.SPLIT_NAMES` (``train``/``val``/``test``) and no
``sample_id`` repeated. Written by the ``splits`` rule (sorted by ``sample_id``) and by the
importers' ``import_splits``.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from df4lcz.atomic import atomic_path
from df4lcz.constants import SPLIT_NAMES

from ..errors import ContractError

#: Columns of a split table, in order.
SPLIT_COLUMNS: tuple[str, str] = ("sample_id", "split")


def write_split(path: str | os.PathLike, split: pd.DataFrame) -> None:
    """Write ``sample_id,split`` atomically."""
    with atomic_path(path) as tmp:
        split.to_csv(tmp, index=False)


def read_split(path: str | os.PathLike) -> pd.DataFrame:
    """Read and check a split table.

    Returns:
        DataFrame with the columns ``sample_id`` (int64) and ``split`` (str), in file order.

    Raises:
        FileNotFoundError: the file is missing.
        ContractError (a ValueError): columns missing or not first, unknown split names, or repeated sample ids.
    """
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: split table not found")
    table = pd.read_csv(path)
    missing = [c for c in SPLIT_COLUMNS if c not in table.columns]
    if missing:
        raise ContractError(f"{path}: missing column(s) {missing}; expected columns {list(SPLIT_COLUMNS)}")
    if list(table.columns[:2]) != list(SPLIT_COLUMNS):
        raise ContractError(f"{path}: expected columns sample_id,split; found {list(table.columns)}")
    split = table["split"].astype(str)
    bad = sorted(set(split) - set(SPLIT_NAMES))
    if bad:
        raise ContractError(f"{path}: unknown split value(s) {bad}; expected one of {list(SPLIT_NAMES)}")
    ids = table["sample_id"].astype(np.int64)
    if ids.duplicated().any():
        raise ContractError(
            f"{path}: sample_id(s) {ids[ids.duplicated()].head(10).tolist()} appear more than once"
        )
    return pd.DataFrame({"sample_id": ids.to_numpy(), "split": split.to_numpy()})
