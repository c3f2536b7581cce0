"""Reading and writing the HDF5 shard files of the file contracts (docs/contracts.md), atomically."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import h5py
import numpy as np

from ..atomic import atomic_path
from ..errors import ContractError


def write_h5(
    path: str | os.PathLike,
    datasets: Mapping[str, np.ndarray],
    attrs: Mapping[str, Any] | None = None,
    compression: str | None = "gzip",
) -> None:
    """Write ``datasets`` (name → array) and file ``attrs`` to ``path`` atomically.

    Arrays with more than 1,000 elements are chunked and gzip-compressed; attribute values that
    are lists of strings are stored as variable-length UTF-8 string arrays.
    """
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as f:
            for name, value in datasets.items():
                arr = np.asarray(value)
                kwargs: dict[str, Any] = {}
                if compression and arr.size > 1000 and arr.dtype.kind in "biuf":
                    kwargs = {"compression": compression, "compression_opts": 4, "shuffle": True}
                    if arr.ndim >= 3:  # one sample per chunk along the first axis
                        kwargs["chunks"] = (1, *arr.shape[1:])
                f.create_dataset(name, data=arr, **kwargs)
            for key, value in (attrs or {}).items():
                if isinstance(value, (list, tuple)) and value and all(isinstance(v, str) for v in value):
                    f.attrs.create(key, list(value), dtype=h5py.string_dtype())
                else:
                    f.attrs[key] = value


def _open(path: str | os.PathLike, what: str) -> h5py.File:
    """``path`` opened read-only; ``FileNotFoundError`` / ``ValueError`` naming it and ``what`` it should be."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: file not found")
    try:
        return h5py.File(path, "r")
    except OSError as exc:
        raise ContractError(f"{path}: not a readable {what} ({exc})") from exc


def read_h5(
    path: str | os.PathLike,
    names: list[str] | None = None,
    optional: Sequence[str] = (),
    what: str = "HDF5 file",
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read datasets (all, or ``names`` plus those of ``optional`` present) and attrs from an HDF5 file.

    Args:
        path: the file.
        names: datasets that must exist (``None``: every dataset of the file).
        optional: datasets read when present and left out of the result otherwise.
        what: what the file is, for error messages (e.g. ``"chip file"``).

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ContractError (a ValueError): the file is not readable HDF5, or a required dataset is missing.
    """
    with _open(path, what) as f:
        wanted = list(f.keys()) if names is None else list(names)
        missing = [n for n in wanted if n not in f]
        if missing:
            raise ContractError(
                f"{path}: missing dataset(s) {missing}; found {sorted(f.keys())} (expected a {what})"
            )
        wanted += [n for n in optional if n in f and n not in wanted]
        data = {n: f[n][()] for n in wanted}
        attrs = {k: _decode_attr(v) for k, v in f.attrs.items()}
    return data, attrs


def read_h5_info(
    path: str | os.PathLike, what: str = "HDF5 file"
) -> tuple[dict[str, tuple[int, ...]], dict[str, Any]]:
    """The shape of every dataset and the attrs of an HDF5 file, without reading any array.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ContractError (a ValueError): the file is not readable HDF5.
    """
    with _open(path, what) as f:
        shapes = {n: tuple(f[n].shape) for n in f}
        attrs = {k: _decode_attr(v) for k, v in f.attrs.items()}
    return shapes, attrs


def _decode_attr(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.ndarray) and value.dtype.kind in "OS":
        return [v.decode() if isinstance(v, bytes) else str(v) for v in value.tolist()]
    return value
