"""From mask records to the masks file's whole masks, and the painted label map derived from them.

:func:`postprocess_masks` sorts records by area (largest first, stable), drops those with
``area < min_area`` and keeps at most ``max_masks``. :func:`segment_images` stores every kept
mask **whole** (run-length encoded, :mod:`df4lcz.io.rle`): masks may overlap, a mask wholly
covered by others is kept, nothing is painted (as SAM's records are; docs/contracts.md §4).

The painted instance label map is a derived view (:func:`paint_runs`, :func:`paint_labels`): the
masks of a chip painted largest first, so **where masks overlap, the smaller mask wins** (it is
painted later; small objects such as roofs stay visible on top of large background masks).
Label ``k`` (1-based) is the chip's ``k``-th mask; a mask covered by later ones leaves no pixel,
so its label does not occur; 0 = background. The overlay figures, the ``visible`` mask view and
the ``adjacency`` edge rule of the graphs use it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from ..io.masks import MaskSet
from ..io.rle import encode_mask, foreground_runs
from ..logs import progress
from .protocol import Segmenter

#: Masks per uint64 word of the coverage bit sets of :func:`paint_runs` (52: a word converts to
#: float64 exactly, whose exponent is then the highest set bit).
_WORD_MASKS: int = 52


def postprocess_masks(
    records: Sequence[dict[str, Any]], min_area: int, max_masks: int
) -> list[dict[str, Any]]:
    """Sort records by ``area`` (largest first, ties keep their order), drop ``area < min_area``
    (and empty masks), keep at most ``max_masks``."""
    if min_area < 0 or max_masks < 0:
        raise ValueError(f"min_area and max_masks must be >= 0, got {min_area}, {max_masks}")
    ordered = sorted(records, key=lambda r: -int(r["area"]))
    return [r for r in ordered if int(r["area"]) >= max(min_area, 1)][:max_masks]


def label_dtype(n_masks: int) -> np.dtype:
    """uint8 when ``n_masks`` ≤ 255, else uint16."""
    if n_masks > np.iinfo(np.uint16).max:
        raise ValueError(f"{n_masks} masks exceed the {np.iinfo(np.uint16).max} labels of a uint16 label map")
    return np.dtype(np.uint8 if n_masks <= np.iinfo(np.uint8).max else np.uint16)


def paint_runs(mask: np.ndarray, start: np.ndarray, stop: np.ndarray, n_masks: int, n_px: int) -> np.ndarray:
    """Flat ``(n_px,)`` label map of one chip's foreground runs (module docstring).

    ``mask`` (0-based index of each run's mask within the chip), ``start``, ``stop`` (flat pixel
    ranges) as from :func:`df4lcz.io.rle.foreground_runs`. Each pixel gets ``1 +`` the highest
    index of the masks covering it (0 when none): masks are painted in index order, later wins.

    Vectorised over the runs' ends, not the pixels: each mask toggles its bit at its runs' starts
    and stops; sorted by position, a running XOR of the toggles is the bit set of the masks
    covering the stretch up to the next end (a mask's runs are disjoint). The highest set bit of
    each word is read off the exponent of its float64 value; one ``np.repeat`` writes the map.
    """
    dtype = label_dtype(n_masks)
    if n_masks == 0 or len(mask) == 0:
        return np.zeros(n_px, dtype=dtype)
    n_words = -(-n_masks // _WORD_MASKS)
    pos = np.concatenate([start, stop]).astype(np.int64)
    order = np.argsort(pos, kind="stable")
    pos = pos[order]
    word, bit = np.divmod(np.concatenate([mask, mask]).astype(np.int64)[order], _WORD_MASKS)
    toggles = np.zeros((len(pos), n_words), dtype=np.int64)  # < 2^52: int64 converts to float64 exactly
    toggles[np.arange(len(pos)), word] = np.left_shift(1, bit)
    cover = np.bitwise_xor.accumulate(toggles, axis=0)
    label = np.zeros(len(pos) + 1, dtype=np.int64)  # label of [0, pos[0]), then of [pos[e], pos[e+1])
    for w in range(n_words):
        top = np.right_shift(cover[:, w].astype(np.float64).view(np.int64), 52) - 1022  # bit length
        np.copyto(label[1:], top + _WORD_MASKS * w, where=top > 0)
    lengths = np.diff(pos, prepend=0, append=n_px)
    return np.repeat(label.astype(dtype), lengths)


def paint_labels(maskset: MaskSet, i: int) -> np.ndarray:
    """The painted ``(H, W)`` label map of image ``i`` of ``maskset`` (module docstring)."""
    m0, m1 = int(maskset.mask_ptr[i]), int(maskset.mask_ptr[i + 1])
    mask, start, stop = foreground_runs(maskset.rle_counts, maskset.rle_ptr[m0 : m1 + 1])
    n_px = int(maskset.height) * int(maskset.width)
    return paint_runs(mask, start, stop, m1 - m0, n_px).reshape(maskset.height, maskset.width)


def maskset_from_records(
    records: Iterable[Sequence[dict[str, Any]]], shape: tuple[int, int], params: dict[str, Any] | None = None
) -> MaskSet:
    """A :class:`MaskSet` of per-image record lists (already post-processed), masks stored whole.

    ``records`` may be a generator: each image's masks are encoded as it comes, so only one
    image's boolean masks are held at a time.
    """
    h, w = shape
    counts: list[np.ndarray] = []
    n_per_image: list[int] = []
    bbox, area, iou, stab = [], [], [], []
    for i, recs in enumerate(records):
        n_per_image.append(len(recs))
        for k, rec in enumerate(recs):
            seg = np.asarray(rec["segmentation"], dtype=bool)
            if seg.shape != (h, w):
                raise ValueError(
                    f"image {i}, mask {k}: segmentation has shape {seg.shape}; expected {(h, w)}"
                )
            counts.append(encode_mask(seg))
            bbox.append(rec["bbox"])
            area.append(rec["area"])
            iou.append(rec["predicted_iou"])
            stab.append(rec["stability_score"])
    rle_ptr = np.zeros(len(counts) + 1, dtype=np.int64)
    rle_ptr[1:] = np.cumsum([len(c) for c in counts])
    return MaskSet(
        height=int(h),
        width=int(w),
        mask_ptr=np.concatenate([[0], np.cumsum(n_per_image, dtype=np.int64)]).astype(np.int64),
        rle_ptr=rle_ptr,
        rle_counts=np.concatenate(counts).astype(np.uint32) if counts else np.zeros(0, dtype=np.uint32),
        bbox=np.asarray(bbox, dtype=np.int32).reshape(-1, 4),
        area=np.asarray(area, dtype=np.int64),
        predicted_iou=np.asarray(iou, dtype=np.float32),
        stability_score=np.asarray(stab, dtype=np.float32),
        params=dict(params or {}),
    )


def segment_images(images: np.ndarray, segmenter: Segmenter, min_area: int, max_masks: int) -> MaskSet:
    """Segment ``(N, H, W, 3)`` uint8 images and keep their masks whole (module docstring).

    Args:
        images: RGB chips.
        segmenter: a :class:`~df4lcz.segmentation.sam.SamSegmenter` or
            :class:`~df4lcz.segmentation.classical.ClassicalSegmenter`.
        min_area: masks with fewer pixels are dropped (``segment.min_area``).
        max_masks: at most this many masks per image, largest first (``segment.max_masks``).
    """
    imgs = np.asarray(images)
    if imgs.ndim != 4 or imgs.shape[3] != 3 or imgs.dtype != np.uint8:
        raise ValueError(f"images must be (N, H, W, 3) uint8, got {imgs.dtype} {imgs.shape}")
    label_dtype(max_masks)  # the painted view must hold every label
    kept = (
        postprocess_masks(segmenter.segment(imgs[i]), min_area, max_masks)
        for i in progress(range(len(imgs)), desc=f"segment ({segmenter.backend})")
    )
    params = {**segmenter.describe(), "min_area": int(min_area), "max_masks": int(max_masks)}
    return maskset_from_records(kept, imgs.shape[1:3], params)
