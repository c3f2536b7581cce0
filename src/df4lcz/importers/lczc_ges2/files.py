"""The published LCZC-GES2 files: names, keys and readers of ``sen2_image_{i}.npz`` / ``graph_{i}.npz``.

Layout and label encodings: :mod:`df4lcz.importers.lczc_ges2`. Every error names the file.
"""

from __future__ import annotations

import os
import re
import zipfile
import zlib
from collections.abc import Iterable
from typing import Any

import numpy as np

from ...constants import N_CLASSES, S2_BANDS, S2_CHIP_PX, validate_lcz_code
from ...errors import InputError
from ...graphs.features import DF4LCZ_FEATURES

#: File name of a Sentinel-2 patch; group 1 is the sample index ``i``.
S2_FILE_RE: re.Pattern[str] = re.compile(r"^sen2_image_(\d+)\.npz$")

#: File name of a graph; group 1 is the sample index ``i``.
GRAPH_FILE_RE: re.Pattern[str] = re.compile(r"^graph_(\d+)\.npz$")

#: Keys of a Sentinel-2 patch file.
S2_IMAGE_KEY, S2_LABEL_KEY = "image", "label"

#: Keys of a graph file.
GRAPH_X_KEY, GRAPH_A_KEY, GRAPH_Y_KEY = "x", "a", "y"

#: Shape of a released Sentinel-2 patch (H, W, bands).
S2_PATCH_SHAPE: tuple[int, int, int] = (S2_CHIP_PX, S2_CHIP_PX, len(S2_BANDS))

#: Node features of the released graphs, in column order (the paper's five).
GRAPH_FEATURES: tuple[str, ...] = DF4LCZ_FEATURES

PathLike = str | os.PathLike


def decode_label(value: Any, where: str) -> int:
    """LCZ code 1–17 of a released label: a scalar (any 1-element array) or a one-hot ``(17,)``.

    Args:
        value: the stored label.
        where: file and key, for error messages.

    Raises:
        ValueError: not a code 1–17, or a 17-vector that is not one-hot (exactly one 1, rest 0).
    """
    arr = np.asarray(value)
    if arr.dtype.kind not in "biuf":
        raise InputError(
            f"{where}: label {value!r} is not numeric; expected an LCZ code 1–17 or a one-hot (17,)"
        )
    if arr.size == 1:
        return validate_lcz_code(arr.reshape(()).item(), where)
    if arr.size == N_CLASSES and arr.ndim <= 2:
        flat = arr.reshape(-1)
        if not (np.isin(flat, (0, 1)).all() and flat.sum() == 1):
            raise InputError(
                f"{where}: label of shape {arr.shape} is not one-hot (values {np.round(flat, 3).tolist()}); "
                "expected exactly one 1 and sixteen 0"
            )
        return int(np.argmax(flat)) + 1
    raise InputError(
        f"{where}: label has shape {arr.shape}; expected a scalar LCZ code 1–17 or a one-hot (17,)"
    )


def open_npz(path: PathLike, keys: Iterable[str]) -> dict[str, np.ndarray]:
    """Read ``keys`` of an ``.npz`` file; errors name the file and the keys found."""
    keys = list(keys)
    try:
        npz = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: file not found") from None
    except (
        OSError,
        ValueError,
        EOFError,
        zipfile.BadZipFile,
    ) as exc:  # numpy/zipfile raise these for bad files
        raise InputError(f"{path}: not a readable .npz file ({exc})") from None
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise InputError(f"{path}: holds a single array, not an .npz archive with keys {list(keys)}")
    with npz:
        missing = [k for k in keys if k not in npz.files]
        if missing:
            raise InputError(f"{path}: missing key(s) {missing}; found {sorted(npz.files)}")
        try:
            return {k: npz[k] for k in keys}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as exc:  # corrupt member
            raise InputError(f"{path}: cannot read keys {list(keys)} ({exc})") from None


def read_s2_patch(path: PathLike) -> tuple[np.ndarray, int]:
    """``image`` ``(32, 32, 10)`` (as stored) and the LCZ code of one ``sen2_image_{i}.npz``.

    Raises:
        InputError (a ValueError): missing key, wrong shape, non-numeric image or label outside 1–17 (naming the file).
    """
    data = open_npz(path, [S2_IMAGE_KEY, S2_LABEL_KEY])
    image = data[S2_IMAGE_KEY]
    if image.shape != S2_PATCH_SHAPE:
        raise InputError(
            f"{path}: key '{S2_IMAGE_KEY}' has shape {image.shape}; expected {S2_PATCH_SHAPE} "
            "(H, W, bands in So2Sat order)"
        )
    if image.dtype.kind not in "biuf":
        raise InputError(f"{path}: key '{S2_IMAGE_KEY}' has dtype {image.dtype}; expected numbers")
    return image, decode_label(data[S2_LABEL_KEY], f"{path}: key '{S2_LABEL_KEY}'")


def read_graph_file(path: PathLike) -> tuple[np.ndarray, np.ndarray, int]:
    """``x`` ``(n, 5)``, ``a`` ``(n, n)`` and the LCZ code of one ``graph_{i}.npz``.

    Raises:
        InputError (a ValueError): missing key, wrong shapes (``x`` not (n, 5), ``a`` not n × n) or a label outside
            1–17, naming the file.
    """
    data = open_npz(path, [GRAPH_X_KEY, GRAPH_A_KEY, GRAPH_Y_KEY])
    x, a = data[GRAPH_X_KEY], data[GRAPH_A_KEY]
    n_feat = len(GRAPH_FEATURES)
    if x.ndim != 2 or x.shape[1] != n_feat or x.dtype.kind not in "biuf":
        raise InputError(
            f"{path}: key '{GRAPH_X_KEY}' has shape {x.shape} ({x.dtype}); expected (n, {n_feat}) "
            f"numbers ({', '.join(GRAPH_FEATURES)})"
        )
    if a.shape != (x.shape[0], x.shape[0]) or a.dtype.kind not in "biuf":
        raise InputError(
            f"{path}: key '{GRAPH_A_KEY}' has shape {a.shape} ({a.dtype}); expected the "
            f"{x.shape[0]} × {x.shape[0]} adjacency of the {x.shape[0]} nodes in '{GRAPH_X_KEY}'"
        )
    return x, a, decode_label(data[GRAPH_Y_KEY], f"{path}: key '{GRAPH_Y_KEY}'")
