"""Node features of whole masks (``graphs.mask_view: whole``, DF4LCZ's): one node per kept mask.

Every kept mask of a chip is a node, in the masks file's order (largest first), also a mask
wholly covered by smaller ones; overlapping masks share pixels. Statistics run over ALL pixels
of each mask, taken from its run-length runs (:func:`df4lcz.io.rle.foreground_runs`) and prefix
sums over the flat chip, never over pixels per mask. With ``x, y, w, h`` the mask's SAM-style
XYWH box (``w``/``h`` = last minus first column/row) and the chip ``W × H``:

* ``r``, ``g``, ``b`` — mean red/green/blue over all pixels of the mask, / 255;
* ``cx = (x + 0.5 w) / W``, ``cy = (y + 0.5 h) / H`` — the box centre as DF4LCZ's release
  computes it (pixel-index coordinates: a one-pixel mask at column 0 has ``cx = 0``);
* ``area`` — pixels of the mask / (H·W);
* ``bbox_w = (w + 1) / W``, ``bbox_h = (h + 1) / H`` — the box's extent in pixels over the chip side;
* ``elongation`` — ``1 - sqrt(λ_min / λ_max)`` of the covariance of the mask's pixels as unit
  squares (each variance + 1/12), as in the ``visible`` view but over the whole mask.

A chip without masks becomes one node for a mask covering the whole chip (box ``0, 0, W-1, H-1``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class ChipMasks:
    """The whole masks of one chip: ``K`` masks, their foreground runs and boxes.

    Attributes:
        n_masks: ``K``.
        mask: ``(F,)`` int64 0-based mask of each run (runs grouped by mask).
        start, stop: ``(F,)`` int64 flat pixel range ``[start, stop)`` of each run.
        bbox: ``(K, 4)`` SAM-style XYWH boxes.
    """

    n_masks: int
    mask: np.ndarray
    start: np.ndarray
    stop: np.ndarray
    bbox: np.ndarray


#: Colour sums are read over pieces of at most this many pixels, so a piece's blue sum
#: (≤ 256 × 255) fits the 16 bits it has in the packed prefix sums.
PIECE_PX: int = 256


class PrefixWork:
    """Prefix-sum buffers of one chip shape, reused from chip to chip.

    ``rgb``: prefix sums over the flat pixels of ``R + G·2^24 + B·2^48`` (uint64, wrapping): the
    difference over a range of at most :data:`PIECE_PX` pixels holds its three channel sums in
    bits 0–23, 24–47 and 48–63. ``moments``: prefix sums of ``x, y, x², y², x·y`` of the flat
    pixels (float64, exact integers), made on first use.
    """

    def __init__(self, h: int, w: int) -> None:
        n = h * w
        self.h, self.w = h, w
        self.packed = np.zeros((n, 8), dtype=np.uint8)  # bytes 0 (R), 3 (G), 6 (B) of little-endian uint64s
        self.rgb = np.zeros(n + 1, dtype=np.uint64)
        self._moments: np.ndarray | None = None

    def load_image(self, image: np.ndarray) -> None:
        """Fill ``rgb`` from an ``(H, W, 3)`` uint8 chip."""
        rgb = image.reshape(-1, 3)
        for byte, channel in ((0, 0), (3, 1), (6, 2)):
            self.packed[:, byte] = rgb[:, channel]
        np.cumsum(self.packed.view("<u8").ravel(), out=self.rgb[1:])

    def moments(self) -> np.ndarray:
        """``(5, H·W + 1)`` float64 prefix sums of ``x, y, x², y², x·y``."""
        if self._moments is None:
            y, x = np.divmod(np.arange(self.h * self.w, dtype=np.float64), self.w)
            out = np.zeros((5, self.h * self.w + 1))
            for j, v in enumerate((x, y, x * x, y * y, x * y)):
                np.cumsum(v, out=out[j, 1:])
            self._moments = out
        return self._moments


def whole_chip(h: int, w: int) -> ChipMasks:
    """One mask covering an ``h × w`` chip (the node of a chip without masks)."""
    one = np.zeros(1, dtype=np.int64)
    return ChipMasks(
        1,
        one,
        one.copy(),
        np.array([h * w], dtype=np.int64),
        np.array([[0, 0, w - 1, h - 1]], dtype=np.int64),
    )


def whole_node_features(
    chip: ChipMasks, names: tuple[str, ...], work: PrefixWork
) -> tuple[np.ndarray, np.ndarray]:
    """``x`` ``(K, F)`` float32 of the module's features and the box centres ``(K, 2)`` in pixels
    (``x + 0.5 w``, ``y + 0.5 h``), for the chip whose colours :meth:`PrefixWork.load_image` holds."""
    k, h, w = chip.n_masks, work.h, work.w
    lengths = (chip.stop - chip.start).astype(np.float64)
    count = np.bincount(chip.mask, weights=lengths, minlength=k)
    if (count == 0).any():
        raise ValueError(f"mask {int(np.flatnonzero(count == 0)[0])} of a chip has no pixel")
    box = np.asarray(chip.bbox, dtype=np.float64).reshape(k, 4)
    centres = np.stack([box[:, 0] + 0.5 * box[:, 2], box[:, 1] + 0.5 * box[:, 3]], axis=1)
    columns: dict[str, np.ndarray] = {"cx": centres[:, 0] / w, "cy": centres[:, 1] / h}
    if {"r", "g", "b"} & set(names):
        columns.update(_mean_rgb(chip, count, work))
    columns["area"] = count / (h * w)
    columns["bbox_w"] = (box[:, 2] + 1.0) / w
    columns["bbox_h"] = (box[:, 3] + 1.0) / h
    if "elongation" in names:
        columns["elongation"] = _elongation(chip, count, work)
    x = np.empty((k, len(names)), dtype=np.float32)
    for j, name in enumerate(names):
        x[:, j] = columns[name]
    return x, centres


def _mean_rgb(chip: ChipMasks, count: np.ndarray, work: PrefixWork) -> dict[str, np.ndarray]:
    """Mean R, G, B / 255 per mask: the runs cut into pieces of ≤ :data:`PIECE_PX` pixels, each
    piece's packed sum a difference of ``work.rgb`` (uint64 arithmetic wraps exactly)."""
    n_pieces = (chip.stop - chip.start + (PIECE_PX - 1)) // PIECE_PX
    run = np.repeat(np.arange(len(n_pieces)), n_pieces)
    first = np.cumsum(n_pieces) - n_pieces
    start = chip.start[run] + PIECE_PX * (np.arange(len(run)) - first[run])
    stop = np.minimum(start + PIECE_PX, chip.stop[run])
    packed = work.rgb[stop] - work.rgb[start]
    low24 = np.uint64(0xFFFFFF)
    sums = (packed & low24, (packed >> np.uint64(24)) & low24, packed >> np.uint64(48))
    mask = chip.mask[run]
    return {
        name: np.bincount(mask, weights=s.astype(np.float64), minlength=chip.n_masks) / (count * 255.0)
        for name, s in zip("rgb", sums)
    }


def _elongation(chip: ChipMasks, count: np.ndarray, work: PrefixWork) -> np.ndarray:
    """``1 - sqrt(λmin/λmax)`` of each mask's pixel covariance (pixels as unit squares)."""
    p = work.moments()
    sx, sy, sxx, syy, sxy = (
        np.bincount(chip.mask, weights=p[j, chip.stop] - p[j, chip.start], minlength=chip.n_masks)
        for j in range(5)
    )
    mx, my = sx / count, sy / count
    vx = sxx / count - mx * mx + 1.0 / 12.0
    vy = syy / count - my * my + 1.0 / 12.0
    cxy = sxy / count - mx * my
    half_sum, half_diff = (vx + vy) / 2.0, (vx - vy) / 2.0
    root = np.sqrt(half_diff * half_diff + cxy * cxy)
    lam_max, lam_min = half_sum + root, np.maximum(half_sum - root, 0.0)
    return 1.0 - np.sqrt(lam_min / lam_max)
