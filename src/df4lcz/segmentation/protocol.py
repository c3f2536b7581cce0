"""What a segmentation backend is: the :class:`Segmenter` protocol, its records, and the factory.

Record format (both backends)
-----------------------------
A segmenter returns, per image, a list of dicts shaped like segment-anything's records:

* ``segmentation`` — bool ``(H, W)`` mask;
* ``area`` — int, pixels in the mask;
* ``bbox`` — ``[x, y, w, h]`` ints in SAM's convention: ``x, y`` = first column/row of the mask,
  ``w = x_max - x``, ``h = y_max - y`` with inclusive maxima (a one-pixel mask has ``w = h = 0``);
* ``predicted_iou``, ``stability_score`` — floats from SAM; ``NaN`` for the classical backend,
  which has no notion of mask quality.

Backends
--------
* :class:`~df4lcz.segmentation.sam.SamSegmenter` wraps ``segment_anything.SamAutomaticMaskGenerator``
  (the paper's method).
* :class:`~df4lcz.segmentation.classical.ClassicalSegmenter` uses scikit-image (Felzenszwalb or
  SLIC) for CPU-only demo runs.
"""

from __future__ import annotations

import os
from typing import Any, Protocol

import numpy as np

from ..errors import ConfigError


class Segmenter(Protocol):
    """What :func:`df4lcz.segmentation.labels.segment_images` needs from a backend."""

    backend: str

    def segment(self, image: np.ndarray) -> list[dict[str, Any]]:
        """Mask records of one ``(H, W, 3)`` uint8 image."""
        ...

    def describe(self) -> dict[str, Any]:
        """Backend name and parameters (stored as attrs of the masks file)."""
        ...


def check_image(image: np.ndarray) -> np.ndarray:
    """``image`` as an array; ``ValueError`` unless it is ``(H, W, 3)`` uint8 RGB."""
    arr = np.asarray(image)
    if arr.ndim != 3 or arr.shape[2] != 3 or arr.dtype != np.uint8:
        raise ValueError(f"image must be (H, W, 3) uint8 RGB, got {arr.dtype} {arr.shape}")
    return arr


def make_segmenter(
    backend: str,
    sam: dict[str, Any] | None = None,
    classical: dict[str, Any] | None = None,
    checkpoint: str | os.PathLike | None = None,
) -> Segmenter:
    """Build a segmenter from the ``segment`` config slice (validated settings).

    Args:
        backend: ``"sam"`` or ``"classical"``.
        sam: the ``segment.sam`` settings (``model_type``, ``device``, generator settings;
            ``checkpoint`` in it is overridden by the ``checkpoint`` argument when given); needed
            when ``backend`` is ``"sam"``.
        classical: the ``segment.classical`` settings; needed when ``backend`` is ``"classical"``.
        checkpoint: SAM checkpoint path.
    """
    if backend == "classical":
        from .classical import ClassicalSegmenter

        if classical is None:
            raise ValueError("segment.classical: settings are needed for the classical backend")
        return ClassicalSegmenter(**classical)
    if backend == "sam":
        from .checkpoints import SAM_CHECKPOINTS
        from .sam import SamSegmenter

        if sam is None:
            raise ValueError("segment.sam: settings are needed for the sam backend")
        settings = dict(sam)
        model_type = settings.pop("model_type")
        ckpt = settings.pop("checkpoint", None) if checkpoint is None else checkpoint
        settings.pop("checkpoint", None)
        if ckpt is None:
            info = SAM_CHECKPOINTS.get(model_type)
            hint = f" (official file {info.filename})" if info else ""
            raise ConfigError(f"segment.sam: no checkpoint given for model_type {model_type!r}{hint}")
        return SamSegmenter(model_type, ckpt, **settings)
    raise ValueError(f"segment.backend {backend!r} is unknown; expected 'sam' or 'classical'")
