"""The masks files ``results/masks/{shard}.h5`` (docs/contracts.md §4): one reader, writer, validator.

A masks file holds the instance label maps of one shard's Google chips and one row per kept mask:

* ``sample_id`` ``(N,)`` int64, in the order of the shard's Google chip file;
* ``labels`` ``(N, H, W)`` uint8 (uint16 when more than 255 masks per chip are allowed): 0 =
  background, ``k`` = the k-th kept mask of the chip (every label 1..K occurs);
* ``mask_ptr`` ``(N + 1,)`` int64, non-decreasing from 0: the masks of chip ``i`` are rows
  ``mask_ptr[i]:mask_ptr[i + 1]`` of the per-mask arrays;
* ``bbox`` ``(M, 4)`` int32 SAM-style ``x, y, w, h`` of each whole mask (:data:`BBOX_FORMAT`);
* ``area``, ``visible_area`` ``(M,)`` int64; ``predicted_iou``, ``stability_score`` ``(M,)``
  float32 (NaN for the classical backend).

File attrs: the segmenter's backend and parameters, ``min_area``, ``max_masks``, ``overlap_rule``,
``chips`` (the chip file's name), then ``bbox_format``. ``None`` is stored as ``"none"`` and an
empty list as ``"[]"``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .hdf5 import read_h5, write_h5

#: Per-file datasets after ``sample_id``, in the order they are written.
MASK_ARRAYS: tuple[str, ...] = (
    "labels", "mask_ptr", "bbox", "area", "visible_area", "predicted_iou", "stability_score"
)

#: Value of the ``bbox_format`` attr.
BBOX_FORMAT: str = "XYWH, x/y = first column/row, w/h = last minus first (SAM)"


@dataclass
class MaskSet:
    """Instance masks of N images, M masks in all (the masks-file contract).

    Attributes:
        labels: ``(N, H, W)`` uint8 (uint16 when more than 255 masks per image are allowed)
            instance label maps; 0 = background, ``k`` = the k-th kept mask of the image.
        mask_ptr: ``(N + 1,)`` int64; masks of image ``i`` are rows ``mask_ptr[i]:mask_ptr[i+1]``.
        bbox: ``(M, 4)`` int32 SAM-style ``x, y, w, h`` of each whole mask (before overlap painting).
        area: ``(M,)`` int64 pixels of each whole mask.
        visible_area: ``(M,)`` int64 pixels carrying the mask's label in ``labels``.
        predicted_iou: ``(M,)`` float32 (NaN for the classical backend).
        stability_score: ``(M,)`` float32 (NaN for the classical backend).
        params: backend and post-processing parameters (file attrs).
    """

    labels: np.ndarray
    mask_ptr: np.ndarray
    bbox: np.ndarray
    area: np.ndarray
    visible_area: np.ndarray
    predicted_iou: np.ndarray
    stability_score: np.ndarray
    params: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def n_masks(self) -> np.ndarray:
        """``(N,)`` masks per image."""
        return np.diff(self.mask_ptr)


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
    if ms.labels.ndim != 3 or ms.labels.shape[0] != n or ms.labels.dtype.kind != "u":
        raise ValueError(
            f"{where}: labels must be (N={n}, H, W) unsigned ints, got {ms.labels.dtype} {ms.labels.shape}"
        )
    if ms.mask_ptr.shape != (n + 1,) or ms.mask_ptr[0] != 0 or (np.diff(ms.mask_ptr) < 0).any():
        raise ValueError(
            f"{where}: mask_ptr must be ({n + 1},) non-decreasing from 0, got {ms.mask_ptr.shape}"
        )
    m = int(ms.mask_ptr[-1])
    if ms.bbox.shape != (m, 4):
        raise ValueError(f"{where}: bbox must be ({m}, 4), got {ms.bbox.shape}")
    for name in ("area", "visible_area", "predicted_iou", "stability_score"):
        if getattr(ms, name).shape != (m,):
            raise ValueError(f"{where}: {name} must be ({m},), got {getattr(ms, name).shape}")


def write_masks(
    path: str | os.PathLike, sample_ids: np.ndarray, maskset: MaskSet, attrs: dict[str, Any] | None = None
) -> None:
    """Write a masks shard (docs/contracts.md §4) atomically.

    Datasets: ``sample_id`` (N,) int64, ``labels`` (N, H, W), ``mask_ptr`` (N+1,), ``bbox`` (M, 4)
    XYWH, ``area``, ``visible_area``, ``predicted_iou``, ``stability_score`` (M,). Attrs: the
    backend and its parameters (``maskset.params``), plus ``attrs``, then ``bbox_format``.

    Raises:
        ValueError: arrays inconsistent with each other or with ``sample_ids``.
    """
    ids = np.asarray(sample_ids).astype(np.int64).reshape(-1)
    validate_masks(str(path), ids, maskset)
    all_attrs = {k: _attr_value(v) for k, v in {**maskset.params, **(attrs or {})}.items()}
    all_attrs["bbox_format"] = BBOX_FORMAT
    write_h5(path, {"sample_id": ids, **{name: getattr(maskset, name) for name in MASK_ARRAYS}}, all_attrs)


def read_masks(path: str | os.PathLike) -> tuple[np.ndarray, MaskSet]:
    """Read a masks shard: ``sample_id`` (N,) int64 and the :class:`MaskSet` (attrs in ``params``).

    Raises:
        FileNotFoundError: no such file.
        ValueError: not HDF5, datasets missing or inconsistent.
    """
    data, attrs = read_h5(path, ["sample_id", *MASK_ARRAYS])
    ids = data["sample_id"].astype(np.int64)
    ms = MaskSet(**{name: data[name] for name in MASK_ARRAYS}, params=dict(attrs))
    validate_masks(str(path), ids, ms)
    return ids, ms


def read_mask_attrs(path: str | os.PathLike) -> dict[str, Any]:
    """The file attrs of a masks shard (backend and its parameters) without reading any array.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not HDF5.
    """
    _, attrs = read_h5(path, [])
    return attrs
