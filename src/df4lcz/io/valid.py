"""The valid-sample table ``results/valid_samples.csv`` (docs/contracts.md §7): writer and reader.

One row per sample seen in any stream: ``sample_id,valid,reason`` (``valid`` True when every
stream has the sample; ``reason`` empty when valid, else why it is excluded from all streams).
"""

from __future__ import annotations

import os

import pandas as pd

from df4lcz.atomic import atomic_path

from ..errors import ContractError

#: Columns of the valid-sample table, in order.
VALID_COLUMNS: tuple[str, ...] = ("sample_id", "valid", "reason")


def write_valid_samples(path: str | os.PathLike, table: pd.DataFrame) -> None:
    """Write the valid-sample table atomically (columns :data:`VALID_COLUMNS`).

    Raises:
        ValueError: a column of :data:`VALID_COLUMNS` is missing.
    """
    missing = [c for c in VALID_COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(
            f"{path}: valid-sample table lacks column(s) {missing}; expected {list(VALID_COLUMNS)}"
        )
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False)


def read_valid_ids(path: str | os.PathLike) -> set[int]:
    """The set of valid sample ids from ``results/valid_samples.csv``."""
    table = pd.read_csv(path)
    if not {"sample_id", "valid"} <= set(table.columns):
        raise ContractError(f"{path}: expected columns sample_id, valid, reason")
    return set(table.loc[table["valid"].astype(bool), "sample_id"].astype(int))
