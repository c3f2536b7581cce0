"""Row-major run-length encoding of whole boolean masks: how the masks file stores every mask.

A mask of an ``H × W`` chip is flattened in row-major (C) order and stored as the lengths of its
alternating runs, **background first**: ``c_0`` background pixels (0 when the first pixel is in the
mask), ``c_1`` mask pixels, ``c_2`` background pixels, … The counts of a mask sum to ``H·W``; every
count but ``c_0`` is positive; an empty mask is the single count ``[H·W]``. A run may continue from
the end of one row into the next (the flat order does not break at rows).

The masks of a file are concatenated: ``rle_counts`` ``(R,)`` uint32 holds them one after the
other and ``rle_ptr`` ``(M + 1,)`` int64 says where: mask ``m`` owns
``rle_counts[rle_ptr[m]:rle_ptr[m + 1]]`` (docs/contracts.md §4).

Foreground runs (:func:`foreground_runs`) are what the graphs use: flat pixel ranges
``[start, stop)`` per mask, from which whole-mask sums come out of prefix sums.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import ContractError

#: Value of the masks file's ``mask_encoding`` attr.
MASK_ENCODING: str = (
    "row-major run lengths, background first, per mask summing to height*width "
    "(rle_counts uint32, mask m = rle_counts[rle_ptr[m]:rle_ptr[m+1]])"
)


def encode_mask(mask: np.ndarray) -> np.ndarray:
    """``(L,)`` uint32 run lengths of a bool mask (module docstring)."""
    flat = np.asarray(mask, dtype=bool).ravel()
    n = flat.size
    if n >= 2**32:
        raise ValueError(f"a mask of {n} pixels does not fit uint32 run lengths")
    edges = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    bounds = np.concatenate([[0], edges, [n]])
    counts = np.diff(bounds)
    if n and flat[0]:
        counts = np.concatenate([[0], counts])
    return counts.astype(np.uint32)


def encode_masks(masks: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """``rle_counts`` ``(R,)`` uint32 and ``rle_ptr`` ``(len(masks) + 1,)`` int64 of bool masks."""
    parts = [encode_mask(m) for m in masks]
    ptr = np.zeros(len(parts) + 1, dtype=np.int64)
    ptr[1:] = np.cumsum([len(p) for p in parts])
    counts = np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint32)
    return counts.astype(np.uint32), ptr


def decode_mask(counts: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The bool ``shape`` mask of one mask's run lengths."""
    counts = np.asarray(counts, dtype=np.int64)
    values = np.arange(len(counts)) % 2 == 1
    return np.repeat(values, counts).reshape(shape)


def foreground_runs(counts: np.ndarray, ptr: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Foreground runs of masks ``0..M-1`` (``ptr`` ``(M+1,)`` into ``counts``), in mask order.

    Returns:
        ``mask`` (index of the run's mask), ``start``, ``stop`` (flat pixel range ``[start, stop)``),
        three ``(F,)`` int64 arrays; a mask's runs are consecutive and rising.
    """
    ptr = np.asarray(ptr, dtype=np.int64)
    c = np.asarray(counts[ptr[0] : ptr[-1]], dtype=np.int64)
    local = ptr - ptr[0]
    n_counts = np.diff(local)
    mask_of = np.repeat(np.arange(len(n_counts), dtype=np.int64), n_counts)
    position = np.arange(len(c), dtype=np.int64) - local[:-1][mask_of]
    stop = np.cumsum(c)
    stop -= np.concatenate([[0], stop])[local[:-1]][mask_of]  # restart at every mask
    fg = np.flatnonzero((position & 1) == 1)
    fg = fg[c[fg] > 0]
    stop = stop[fg]
    return mask_of[fg], stop - c[fg], stop


def check_rle(where: str, counts: np.ndarray, ptr: np.ndarray, n_px: int, area: np.ndarray) -> None:
    """``ValueError`` naming ``where`` unless the run lengths of every mask sum to ``n_px`` and
    their foreground runs to ``area`` (one per mask)."""
    m = len(ptr) - 1
    if ptr.shape != (m + 1,) or ptr[0] != 0 or ptr[-1] != len(counts) or (np.diff(ptr) < 1).any():
        raise ContractError(
            f"{where}: rle_ptr must rise strictly from 0 to {len(counts)} (len(rle_counts)), one step per mask"
        )
    if counts.dtype != np.uint32:
        raise ContractError(f"{where}: rle_counts must be uint32, got {counts.dtype}")
    if m == 0:
        return
    c = counts.astype(np.int64)
    totals = np.add.reduceat(c, ptr[:-1])
    if (totals != n_px).any():
        bad = int(np.flatnonzero(totals != n_px)[0])
        raise ContractError(
            f"{where}: the run lengths of mask {bad} sum to {int(totals[bad])}; expected height*width = {n_px}"
        )
    mask_of, start, stop = foreground_runs(counts, ptr)
    fg_area = np.bincount(mask_of, weights=stop - start, minlength=m)
    if (fg_area != area).any():
        bad = int(np.flatnonzero(fg_area != area)[0])
        raise ContractError(
            f"{where}: mask {bad} has {int(fg_area[bad])} pixels in rle_counts but area {int(area[bad])}"
        )
