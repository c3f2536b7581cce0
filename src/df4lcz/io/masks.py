"""The masks files ``results/masks/{shard}.h5`` (docs/contracts.md §4): one reader, writer, validator.

A masks file holds every kept mask of one shard's Google chips **whole** (masks may overlap;
nothing is painted), one row per mask:

* ``sample_id`` ``(N,)`` int64, in the order of the shard's Google chip file;
* ``mask_ptr`` ``(N + 1,)`` int64, non-decreasing from 0: the masks of chip ``i`` are rows
  ``mask_ptr[i]:mask_ptr[i + 1]`` of the per-mask arrays, largest first;
* ``rle_ptr`` ``(M + 1,)`` int64 and ``rle_counts`` ``(R,)`` uint32: each mask's row-major run
  lengths (:mod:`df4lcz.io.rle`);
* ``bbox`` ``(M, 4)`` int32 SAM-style ``x, y, w, h`` of each mask (:data:`BBOX_FORMAT`);
* ``area`` ``(M,)`` int64; ``predicted_iou``, ``stability_score`` ``(M,)`` float32 (NaN for the
  classical backend).

File attrs: the segmenter's backend and parameters, ``min_area``, ``max_masks``, ``chips`` (the
chip file's name), then ``height``, ``width`` (chip side in pixels), ``bbox_format`` and
``mask_encoding``. ``None`` is stored as ``"none"`` and an empty list as ``"[]"``. The painted
instance label map of a chip is not stored; :func:`df4lcz.segmentation.labels.paint_labels` derives it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import ContractError
from .hdf5 import read_h5, write_h5
from .rle import MASK_ENCODING, check_rle, decode_mask

#: Per-file datasets after ``sample_id``, in the order they are written.
MASK_ARRAYS: tuple[str, ...] = (
    "mask_ptr",
    "rle_ptr",
    "rle_counts",
    "bbox",
    "area",
    "predicted_iou",
    "stability_score",
)

#: Value of the ``bbox_format`` attr.
BBOX_FORMAT: str = "XYWH, x/y = first column/row, w/h = last minus first (SAM)"


@dataclass
class MaskSet:
    """Whole instance masks of N images of ``height × width`` pixels, M masks in all (§4).

    Attributes:
        height, width: chip side in pixels.
        mask_ptr: ``(N + 1,)`` int64; masks of image ``i`` are rows ``mask_ptr[i]:mask_ptr[i+1]``.
        rle_ptr: ``(M + 1,)`` int64; mask ``m`` is ``rle_counts[rle_ptr[m]:rle_ptr[m+1]]``.
        rle_counts: ``(R,)`` uint32 row-major run lengths, background first (:mod:`df4lcz.io.rle`).
        bbox: ``(M, 4)`` int32 SAM-style ``x, y, w, h`` of each mask.
        area: ``(M,)`` int64 pixels of each mask.
        predicted_iou: ``(M,)`` float32 (NaN for the classical backend).
        stability_score: ``(M,)`` float32 (NaN for the classical backend).
        params: backend and post-processing parameters (file attrs).
    """

    height: int
    width: int
    mask_ptr: np.ndarray
    rle_ptr: np.ndarray
    rle_counts: np.ndarray
    bbox: np.ndarray
    area: np.ndarray
    predicted_iou: np.ndarray
    stability_score: np.ndarray
    params: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.mask_ptr) - 1

    def n_masks(self) -> np.ndarray:
        """``(N,)`` masks per image."""
        return np.diff(self.mask_ptr)

    def mask(self, m: int) -> np.ndarray:
        """Mask ``m`` (global row) decoded: bool ``(height, width)``."""
        return decode_mask(self.rle_counts[self.rle_ptr[m] : self.rle_ptr[m + 1]], (self.height, self.width))

    def masks(self, i: int) -> np.ndarray:
        """The masks of image ``i`` decoded: bool ``(K, height, width)``, largest first."""
        rows = range(int(self.mask_ptr[i]), int(self.mask_ptr[i + 1]))
        return np.array([self.mask(m) for m in rows], dtype=bool).reshape(-1, self.height, self.width)


def _attr_value(value: Any) -> Any:
    """Make a parameter storable as an HDF5 attribute (None → "none")."""
    if value is None:
        return "none"
    if isinstance(value, (list, tuple)) and not value:
        return "[]"
    return value


def validate_masks(where: str, ids: np.ndarray, ms: MaskSet) -> None:
    """Check ``ms`` against the contract for the sample ids ``ids``; ``ValueError`` naming ``where``."""
    n = len(ids)
    if int(ms.height) < 1 or int(ms.width) < 1:
        raise ContractError(f"{where}: height and width must be >= 1 pixel, got {ms.height} × {ms.width}")
    if ms.mask_ptr.shape != (n + 1,) or ms.mask_ptr[0] != 0 or (np.diff(ms.mask_ptr) < 0).any():
        raise ContractError(
            f"{where}: mask_ptr must be ({n + 1},) non-decreasing from 0, got {ms.mask_ptr.shape}"
        )
    m = int(ms.mask_ptr[-1])
    if ms.bbox.shape != (m, 4):
        raise ContractError(f"{where}: bbox must be ({m}, 4), got {ms.bbox.shape}")
    for name in ("area", "predicted_iou", "stability_score"):
        if getattr(ms, name).shape != (m,):
            raise ContractError(f"{where}: {name} must be ({m},), got {getattr(ms, name).shape}")
    if ms.rle_ptr.shape != (m + 1,):
        raise ContractError(
            f"{where}: rle_ptr must be ({m + 1},) (one run list per mask), got {ms.rle_ptr.shape}"
        )
    check_rle(where, ms.rle_counts, ms.rle_ptr, int(ms.height) * int(ms.width), ms.area)
    x, y, w, h = (ms.bbox[:, j] for j in range(4))
    if m and ((x < 0) | (y < 0) | (w < 0) | (h < 0) | (x + w >= ms.width) | (y + h >= ms.height)).any():
        raise ContractError(f"{where}: bbox (XYWH) outside the {ms.width} × {ms.height} chip")


def write_masks(
    path: str | os.PathLike, sample_ids: np.ndarray, maskset: MaskSet, attrs: dict[str, Any] | None = None
) -> None:
    """Write a masks shard (docs/contracts.md §4) atomically.

    Datasets: ``sample_id`` (N,) int64, ``mask_ptr`` (N+1,), ``rle_ptr`` (M+1,), ``rle_counts``
    (R,) uint32, ``bbox`` (M, 4) XYWH, ``area``, ``predicted_iou``, ``stability_score`` (M,).
    Attrs: the backend and its parameters (``maskset.params``), plus ``attrs``, then ``height``,
    ``width``, ``bbox_format``, ``mask_encoding``.

    Raises:
        ContractError (a ValueError): arrays inconsistent with each other or with ``sample_ids``.
    """
    ids = np.asarray(sample_ids).astype(np.int64).reshape(-1)
    validate_masks(str(path), ids, maskset)
    all_attrs = {k: _attr_value(v) for k, v in {**maskset.params, **(attrs or {})}.items()}
    all_attrs.update(
        height=int(maskset.height),
        width=int(maskset.width),
        bbox_format=BBOX_FORMAT,
        mask_encoding=MASK_ENCODING,
    )
    write_h5(path, {"sample_id": ids, **{name: getattr(maskset, name) for name in MASK_ARRAYS}}, all_attrs)


def read_masks(path: str | os.PathLike) -> tuple[np.ndarray, MaskSet]:
    """Read a masks shard: ``sample_id`` (N,) int64 and the :class:`MaskSet` (attrs in ``params``).

    Raises:
        FileNotFoundError: no such file.
        ContractError (a ValueError): not HDF5, datasets or attrs missing (e.g. a file of the former label-map
            format), or inconsistent.
    """
    data, attrs = read_h5(path, ["sample_id", *MASK_ARRAYS], what="masks file")
    missing = [k for k in ("height", "width") if k not in attrs]
    if missing:
        raise ContractError(
            f"{path}: attr(s) {missing} missing (chip side in pixels); rerun the segment rule"
        )
    params = dict(attrs)
    height, width = int(params.pop("height")), int(params.pop("width"))
    ids = data["sample_id"].astype(np.int64)
    ms = MaskSet(height=height, width=width, **{name: data[name] for name in MASK_ARRAYS}, params=params)
    validate_masks(str(path), ids, ms)
    return ids, ms


def read_mask_attrs(path: str | os.PathLike) -> dict[str, Any]:
    """The file attrs of a masks shard (backend and its parameters) without reading any array.

    Raises:
        FileNotFoundError: no such file.
        ContractError (a ValueError): not HDF5.
    """
    _, attrs = read_h5(path, [], what="masks file")
    return attrs
