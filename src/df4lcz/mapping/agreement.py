"""Agreement of a map with references: the labelled polygons and, when given, a truth raster.

Per reference — the labelled polygons (a pixel counts when its centre lies inside a polygon; where
polygons overlap, the later one in the file wins) and a truth raster (sampled at each pixel centre;
its nodata and 0 are ignored) — one row ``lcz = "all"`` (overall agreement) and one row per
reference class (the share of that class's reference pixels mapped as that class: the producer's
accuracy). ``n_pixels`` counts reference pixels that were mapped; ``n_unmapped`` those left at 0.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import rasterio
import rasterio.errors
import rasterio.features
from pyproj import CRS, Transformer
from rasterio.windows import Window

from ..constants import LCZ_NAMES, N_CLASSES
from ..errors import InputError
from ..logs import get_logger
from ..sampling.labels import read_labels
from .grid import MapGrid
from .outputs import AGREEMENT_COLUMNS

log = get_logger("lczmap")

#: Output rows handled at once when sampling a truth raster.
TRUTH_BLOCK_ROWS: int = 256

PathLike = str | os.PathLike


def polygon_reference(
    labels: PathLike, grid: MapGrid, label_column: str, label_map: Mapping[str, int] | None
) -> np.ndarray:
    """``(H, W)`` uint8: the class of the labelled polygon containing each pixel centre (0 = none).

    Polygons are read with :func:`df4lcz.sampling.labels.read_labels` (validated, reprojected); where they
    overlap, the one later in the file wins.
    """
    polys = read_labels(labels, grid.crs, label_column, dict(label_map or {}))
    shapes = [(geom, int(code)) for geom, code in zip(polys.geometry, polys.lcz) if not geom.is_empty]
    if not shapes:
        return np.zeros(grid.shape, dtype=np.uint8)
    return rasterio.features.rasterize(
        shapes, out_shape=grid.shape, transform=grid.transform, fill=0, all_touched=False, dtype="uint8"
    )


def truth_reference(truth: PathLike, grid: MapGrid) -> np.ndarray:
    """``(H, W)`` uint8: a truth raster's value at each output pixel centre (0 = none/nodata).

    The raster (band 1, any CRS) is read window by window, :data:`TRUTH_BLOCK_ROWS` output rows at a
    time. Values equal to its nodata, 0, or outside 1–17 count as no reference.

    Raises:
        FileNotFoundError / ValueError: missing, unreadable or non-georeferenced raster.
    """
    if not os.path.exists(truth):
        raise FileNotFoundError(f"{truth}: truth raster not found")
    out = np.zeros(grid.shape, dtype=np.uint8)
    n_bad = 0
    try:
        src = rasterio.open(truth)
    except rasterio.errors.RasterioIOError as exc:
        raise InputError(f"{truth}: not a readable raster ({exc})") from exc
    with src:
        if src.crs is None:
            raise InputError(f"{truth}: truth raster has no CRS")
        same = CRS.from_user_input(src.crs) == CRS.from_user_input(grid.crs)
        to_src = None if same else Transformer.from_crs(grid.crs, src.crs, always_xy=True)
        inv = ~src.transform
        cols = np.arange(grid.width)
        for r0 in range(0, grid.height, TRUTH_BLOCK_ROWS):
            rows = np.arange(r0, min(grid.height, r0 + TRUTH_BLOCK_ROWS))
            rr, cc = np.meshgrid(rows, cols, indexing="ij")
            x, y = grid.centres(rr, cc)
            if to_src is not None:
                x, y = to_src.transform(x, y)
            fc, fr = inv @ (np.asarray(x), np.asarray(y))
            sc, sr = np.floor(np.asarray(fc)).astype(np.int64), np.floor(np.asarray(fr)).astype(np.int64)
            inside = (sc >= 0) & (sr >= 0) & (sc < src.width) & (sr < src.height)
            if not inside.any():
                continue
            c0, c1, r0s, r1s = sc[inside].min(), sc[inside].max(), sr[inside].min(), sr[inside].max()
            data = src.read(1, window=Window(int(c0), int(r0s), int(c1 - c0 + 1), int(r1s - r0s + 1)))
            values = np.zeros(rr.shape, dtype=np.int64)
            values[inside] = data[sr[inside] - r0s, sc[inside] - c0]
            is_nodata = values == 0 if src.nodata is None else (values == 0) | (values == src.nodata)
            in_range = (values >= 1) & (values <= N_CLASSES)
            valid = inside & in_range & ~is_nodata
            n_bad += int((inside & ~in_range & ~is_nodata).sum())
            block = out[rows[0] : rows[-1] + 1]
            block[valid] = values[valid].astype(np.uint8)
    if n_bad:
        log.warning("%s: %d sampled value(s) outside the LCZ codes 1–17 ignored", truth, n_bad)
    return out


def agreement_table(pred: np.ndarray, reference: np.ndarray, reference_name: str) -> pd.DataFrame:
    """Agreement of a map with a reference raster of the same grid (:mod:`df4lcz.mapping.agreement`).

    Args:
        pred: ``(H, W)`` map codes (0 = nodata).
        reference: ``(H, W)`` reference codes (0 = no reference).
        reference_name: value of the ``reference`` column (e.g. ``"polygons"``, ``"truth"``).

    Returns:
        :data:`AGREEMENT_COLUMNS`: a row ``lcz = "all"`` then one per reference class present;
        ``agreement`` = ``n_agree / n_pixels`` (NaN when no pixel was mapped).
    """
    p, r = np.asarray(pred), np.asarray(reference)
    if p.shape != r.shape:
        raise ValueError(f"agreement: map {p.shape} and reference {r.shape} differ in shape")
    has_ref = r > 0
    mapped = has_ref & (p > 0)
    agree = mapped & (p == r)

    def row(lcz: str, name: str, sel: np.ndarray) -> dict[str, Any]:
        n = int((mapped & sel).sum())
        k = int((agree & sel).sum())
        return {
            "reference": reference_name,
            "lcz": lcz,
            "name": name,
            "n_pixels": n,
            "n_agree": k,
            "agreement": k / n if n else float("nan"),
            "n_unmapped": int((has_ref & ~mapped & sel).sum()),
        }

    rows = [row("all", "all classes", has_ref)]
    for code in sorted(int(c) for c in np.unique(r[has_ref])):
        rows.append(row(str(code), LCZ_NAMES.get(code, str(code)), r == code))
    return pd.DataFrame(rows, columns=list(AGREEMENT_COLUMNS))
