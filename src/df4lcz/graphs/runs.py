"""Row runs of an instance label map, and the scratch buffers reused from chip to chip.

A run is a horizontal stretch of one label in one row, cut at every row start and every
:data:`RUN_SPLIT_PX` columns. Node features and the adjacency rule work on the few thousand
foreground runs of a chip instead of its pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Runs are cut every this many columns, so a run's channel sum (≤ 256 × 255) fits in 16 bits and
#: R, G, B sums can be accumulated together in one uint64 (bits 0, 16, 32) by ``np.add.reduceat``.
RUN_SPLIT_PX: int = 256


class Work:
    """Scratch buffers reused from chip to chip (one set per chip shape; ``pad``: background rows
    below the chip in ``foreground``, at least the adjacency tolerance)."""

    def __init__(self, h: int, w: int, pad: int = 0) -> None:
        # run starts, padded to whole 8-byte words (the padding stays False)
        self.change_flat = np.zeros(-(-h * w // 8) * 8, dtype=bool)
        self.change = self.change_flat[: h * w].reshape(h, w)
        # bytes of little-endian uint64s: R at byte 0, G at byte 2, B at byte 4, the rest stay 0
        self.packed = np.zeros((h * w, 8), dtype=np.uint8)
        # 1 where the label is not 0, then pad rows of 0
        self.foreground = np.zeros((h + pad) * w, dtype=np.uint8)


@dataclass
class Runs:
    """Horizontal runs of one label in a label map (cut at every row start and every
    ``RUN_SPLIT_PX`` columns).

    Only foreground runs are kept, as (R,) arrays in row-major order: ``row``, first/last column
    ``x0``/``x1`` (inclusive), flat ``start`` pixel index and the run's ``label``.
    """

    row: np.ndarray
    x0: np.ndarray
    x1: np.ndarray
    start: np.ndarray
    label: np.ndarray


def row_runs(labels: np.ndarray, work: Work) -> Runs:
    """Foreground row runs of an ``(H, W)`` C-contiguous label map: two ``!=`` passes over the
    pixels (also filling ``work.foreground``) and a ``flatnonzero`` over 8-pixel words, the rest
    on the runs."""
    h, w = labels.shape
    np.not_equal(labels.ravel(), 0, out=work.foreground[: h * w].view(bool))
    change = work.change
    np.not_equal(labels[:, 1:], labels[:, :-1], out=change[:, 1:])
    change[:, ::RUN_SPLIT_PX] = True
    all_start = _flatnonzero_bool(work.change_flat)
    lab = labels.ravel().take(all_start)
    fg = lab != 0
    fg_index = np.flatnonzero(fg)
    start = all_start.take(fg_index)
    # a run ends where the next run (foreground or not) starts
    end = np.empty_like(all_start)
    end[:-1] = all_start[1:]
    end[-1] = h * w
    end = end.take(fg_index)
    row, x0 = np.divmod(start, w)
    end -= 1
    end -= row * w
    return Runs(row=row, x0=x0, x1=end, start=start, label=lab.take(fg_index).astype(np.intp))


def _flatnonzero_bool(flags: np.ndarray) -> np.ndarray:
    """``np.flatnonzero`` of a 1-D bool array whose length is a multiple of 8 and which is
    sparse: first the nonzero 8-byte words, then the set bytes within them."""
    words = flags.view(np.uint64)
    nonzero_words = np.flatnonzero(words != 0)  # (numpy's nonzero is fastest on bools)
    within = np.flatnonzero(words.take(nonzero_words).view(bool))
    out = nonzero_words.take(within >> 3)
    out <<= 3
    out += within & 7
    return out


def check_chip(labels: np.ndarray, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """C-contiguous ``labels`` ``(H, W)`` and ``image`` ``(H, W, 3)``; ``ValueError`` if they differ."""
    labels = np.asarray(labels)
    image = np.asarray(image)
    if labels.ndim != 2 or image.shape != (*labels.shape, 3):
        raise ValueError(
            f"image has shape {image.shape}; expected {(*labels.shape, 3)} to match the label map"
        )
    return np.ascontiguousarray(labels), np.ascontiguousarray(image)
