"""Gathering map tiles: the optional Gaussian filter on the class probabilities, block by block.

The tiles' probabilities are read through their VRT (:func:`df4lcz.mapping.tiles.write_tiles_vrt`)
in square blocks of :data:`BLOCK_PX` output pixels, each with a halo of the filter's radius, so the
gather job holds one block of probabilities at a time whatever the region's size.

Smoothing (``map.smooth_sigma_m`` > 0) follows the LCZ Generator (Demuzere et al. 2021, Front.
Environ. Sci. 9:637455), which filters the class probabilities with a Gaussian kernel before taking
the most likely class. Here each class's probability is filtered by a normalised convolution over the
classified pixels only::

    P̃_k = G_σ * (m · P_k) / G_σ * m        (m = 1 where a window was classified, else 0)

so that unclassified pixels (nodata) and the map's edge neither pull probabilities towards zero nor
get a class; ``σ`` in pixels is ``smooth_sigma_m / stride_m`` and the kernel is cut at
:data:`SMOOTH_TRUNCATE` σ (scipy's :func:`scipy.ndimage.gaussian_filter`, zeros outside the map).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator

import numpy as np
import rasterio
from rasterio.windows import Window
from scipy.ndimage import gaussian_filter

from ..constants import N_CLASSES
from ..errors import ConfigError, ContractError

#: Side (output pixels) of the blocks the gather job processes.
BLOCK_PX: int = 512
#: The Gaussian kernel is cut at this many standard deviations (scipy's default).
SMOOTH_TRUNCATE: float = 4.0

PathLike = str | os.PathLike


def sigma_pixels(smooth_sigma_m: float, stride_m: float) -> float:
    """σ of the Gaussian filter in output pixels (``map.smooth_sigma_m / map.stride_m``)."""
    if not (math.isfinite(smooth_sigma_m) and smooth_sigma_m >= 0):
        raise ConfigError(f"map.smooth_sigma_m: {smooth_sigma_m!r} must be a number of metres ≥ 0")
    return float(smooth_sigma_m) / float(stride_m)


def halo_pixels(sigma_px: float) -> int:
    """Radius (pixels) of the truncated Gaussian kernel of σ ``sigma_px`` (0 when not smoothing)."""
    return int(SMOOTH_TRUNCATE * sigma_px + 0.5) if sigma_px > 0 else 0


def valid_pixels(probabilities: np.ndarray) -> np.ndarray:
    """``(H, W)`` bool: pixels whose 17 probabilities are all finite (a classified window)."""
    return np.isfinite(probabilities).all(axis=0)


def smooth_probabilities(probabilities: np.ndarray, sigma_px: float) -> np.ndarray:
    """Gaussian-filtered class probabilities ``(17, H, W)`` float64 (module docstring); NaN stays NaN.

    ``sigma_px == 0`` returns the probabilities unchanged (as float64).
    """
    p = np.asarray(probabilities, dtype=np.float64)
    if p.ndim != 3 or p.shape[0] != N_CLASSES:
        raise ValueError(f"probabilities must have shape (17, H, W), got {p.shape}")
    valid = valid_pixels(p)
    out = np.full(p.shape, np.nan)
    if sigma_px <= 0:
        out[:, valid] = p[:, valid]
        return out
    weight = gaussian_filter(
        valid.astype(np.float64), sigma_px, mode="constant", cval=0.0, truncate=SMOOTH_TRUNCATE
    )
    for k in range(N_CLASSES):
        filtered = gaussian_filter(
            np.where(valid, p[k], 0.0), sigma_px, mode="constant", cval=0.0, truncate=SMOOTH_TRUNCATE
        )
        out[k, valid] = filtered[valid] / weight[valid]
    return out


def blocks(height: int, width: int, block_px: int = BLOCK_PX) -> Iterator[Window]:
    """Row-major square windows of ``block_px`` covering a ``height × width`` raster."""
    for r in range(0, height, block_px):
        for c in range(0, width, block_px):
            yield Window(c, r, min(block_px, width - c), min(block_px, height - r))


def read_with_halo(src: rasterio.io.DatasetReader, window: Window, halo: int) -> np.ndarray:
    """Bands of ``src`` over ``window`` grown by ``halo`` pixels; NaN beyond the raster (float64)."""
    r0, c0 = int(window.row_off) - halo, int(window.col_off) - halo
    h, w = int(window.height) + 2 * halo, int(window.width) + 2 * halo
    out = np.full((src.count, h, w), np.nan)
    rr0, cc0 = max(r0, 0), max(c0, 0)
    rr1, cc1 = min(r0 + h, src.height), min(c0 + w, src.width)
    data = src.read(window=Window(cc0, rr0, cc1 - cc0, rr1 - rr0), out_dtype="float64")
    out[:, rr0 - r0 : rr1 - r0, cc0 - c0 : cc1 - c0] = data
    return out


def smoothed_blocks(
    probabilities: PathLike, sigma_px: float, block_px: int = BLOCK_PX
) -> Iterator[tuple[Window, np.ndarray]]:
    """``(window, P)`` per block of the 17-band raster ``probabilities`` (e.g. the tiles' VRT).

    ``P`` is ``(17, h, w)`` float64, filtered (:func:`smooth_probabilities`) with the block's halo,
    hence equal to filtering the whole map at once; NaN where no window was classified.
    """
    halo = halo_pixels(sigma_px)
    with rasterio.open(probabilities) as src:
        if src.count != N_CLASSES:
            raise ContractError(f"{probabilities}: expected {N_CLASSES} probability bands, got {src.count}")
        for window in blocks(src.height, src.width, block_px):
            p = smooth_probabilities(read_with_halo(src, window, halo), sigma_px)
            yield window, p[:, halo : halo + int(window.height), halo : halo + int(window.width)]


def class_codes(probabilities: np.ndarray, nodata: int = 0) -> np.ndarray:
    """``(H, W)`` uint8 LCZ codes (argmax + 1) of ``(17, H, W)`` probabilities; ``nodata`` where NaN."""
    valid = valid_pixels(probabilities)
    codes = np.full(valid.shape, nodata, dtype=np.uint8)
    codes[valid] = (np.argmax(probabilities[:, valid], axis=0) + 1).astype(np.uint8)
    return codes


def percent(values: np.ndarray) -> np.ndarray:
    """Probabilities in ``[0, 1]`` as rounded uint8 percentages."""
    return np.clip(np.rint(np.asarray(values) * 100.0), 0, 100).astype(np.uint8)


def all17_bands(probabilities: np.ndarray, nodata: int) -> np.ndarray:
    """``(17, H, W)`` uint8: 100·P per class; ``nodata`` where no window was classified."""
    valid = valid_pixels(probabilities)
    out = np.full(probabilities.shape, nodata, dtype=np.uint8)
    out[:, valid] = percent(probabilities[:, valid])
    return out


def top2_bands(probabilities: np.ndarray, nodata: int) -> np.ndarray:
    """``(3, H, W)`` uint8: most likely LCZ, second most likely LCZ, 100·P(most likely); ``nodata`` elsewhere.

    Ties go to the lower code, as for the class map.
    """
    valid = valid_pixels(probabilities)
    out = np.full((3, *valid.shape), nodata, dtype=np.uint8)
    p = probabilities[:, valid]
    order = np.argsort(-p, axis=0, kind="stable")
    out[0, valid] = order[0] + 1
    out[1, valid] = order[1] + 1
    out[2, valid] = percent(np.take_along_axis(p, order[:1], axis=0)[0])
    return out


def uncertainty_bands(probabilities: np.ndarray, disagree: np.ndarray, nodata: int) -> np.ndarray:
    """``(3, H, W)`` uint8: 100·P(most likely), 100·(P(most likely) − P(second most likely)) and
    ``disagree`` ``(H, W)`` (1 where the streams' most probable classes differ, else 0), each rounded;
    ``nodata`` where no window was classified."""
    valid = valid_pixels(probabilities)
    out = np.full((3, *valid.shape), nodata, dtype=np.uint8)
    p = np.sort(probabilities[:, valid], axis=0)
    out[0, valid] = percent(p[-1])
    out[1, valid] = percent(p[-1] - p[-2])
    out[2, valid] = (np.asarray(disagree)[valid] != 0).astype(np.uint8)
    return out
