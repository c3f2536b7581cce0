"""Training histories ``results/models/{strategy}/{model}_history.csv`` (docs/contracts.md §10).

CSV ``epoch,loss,accuracy,val_loss,val_accuracy,lr`` (:data:`HISTORY_COLUMNS`), then any other
columns the training recorded (``seconds``, the wall time of the epoch — the only column that
differs between identical runs); one row per epoch run, ``epoch`` 1-based.
"""

from __future__ import annotations

import os

import pandas as pd

from ..atomic import atomic_path
from ..errors import ContractError

#: Columns every history has, in the order they are written (others follow).
HISTORY_COLUMNS: tuple[str, ...] = ("epoch", "loss", "accuracy", "val_loss", "val_accuracy", "lr")


def validate_history(history: pd.DataFrame) -> None:
    """Check that ``history`` has every column of :data:`HISTORY_COLUMNS`.

    Raises:
        ContractError (a ValueError): a column is missing.
    """
    missing = [c for c in HISTORY_COLUMNS if c not in history.columns]
    if missing:
        raise ContractError(f"history: missing column(s) {missing}; expected {list(HISTORY_COLUMNS)}")


def write_history(history: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write the training history (``HISTORY_COLUMNS`` first, then any others) as CSV, atomically."""
    validate_history(history)
    cols = list(HISTORY_COLUMNS) + [c for c in history.columns if c not in HISTORY_COLUMNS]
    with atomic_path(path) as tmp:
        history[cols].to_csv(tmp, index=False)


def read_history(path: str | os.PathLike) -> pd.DataFrame:
    """Read and check a training history CSV.

    Raises:
        FileNotFoundError: the file is missing.
        ContractError (a ValueError): a column of :data:`HISTORY_COLUMNS` is missing.
    """
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: training history not found")
    history = pd.read_csv(path)
    try:
        validate_history(history)
    except ContractError as exc:
        raise ContractError(f"{path}: {exc}") from None
    return history


__all__ = ["HISTORY_COLUMNS", "read_history", "validate_history", "write_history"]
