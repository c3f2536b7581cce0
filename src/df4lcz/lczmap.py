"""Wall-to-wall LCZ map of one region from the trained Sentinel-2 model and GCN.

The map grid
------------
A 320 m window (one DF4LCZ scene: a 32 × 32 Sentinel-2 chip) slides over the region in the
working CRS (default: the CRS of the Sentinel-2 input) with a step of ``stride_m``. Output pixel
``(row, col)`` is ``stride_m`` wide and carries the class of the window **centred on it**. The
output pixels tile the bounding box of the overlap of the Google and Sentinel-2 footprints:
``width = ceil((xmax - xmin) / stride_m)``, ``height`` likewise, with the first window centre
moved by less than 5 m so that window centres (hence, for strides that are multiples of 10 m,
window corners) lie on the Sentinel-2 10 m pixel grid — the Sentinel-2 chips are then plain
pixel blocks, without resampling. Output origin = first centre − ``stride_m / 2``.

What each window goes through (the same functions as the sample pipeline)
-------------------------------------------------------------------------
Windows lying wholly inside both footprints are processed in batches of ``batch_size``: the
Google chip (:func:`df4lcz.google.chip_google`) and the Sentinel-2 chip
(:meth:`df4lcz.sentinel2.Sentinel2Source.chip`) are cut from a sample table of the windows;
the Google chips are segmented (:func:`df4lcz.segmentation.segment_images`, SAM or classical as
``segment_params`` say) and turned into graphs (:func:`df4lcz.graphs.build_graphs` with
``graph_params``); the two models predict (:func:`df4lcz.training.predict_s2`,
:func:`df4lcz.training.predict_gcn`) and the probabilities are fused,
``P = α·P_S2 + (1 − α)·P_GCN`` (:func:`fuse_probabilities`, the rule of
:func:`df4lcz.fusion.fuse`), argmax → LCZ code. Memory holds the output array plus one batch,
whatever the region's size.

Outputs
-------
* GeoTIFF (uint8, one band): LCZ codes 1–17; **0 = nodata** where the window is not wholly
  inside both rasters or a chipper excluded it (nodata, partial coverage). Tiled (256 × 256),
  deflate-compressed, nodata 0, with the standard LCZ colour table
  (:data:`df4lcz.constants.LCZ_COLORS`; entry 0 transparent) and tags recording the settings.
* PNG preview with a legend of the classes present.
* Agreement CSV (:data:`AGREEMENT_COLUMNS`): per reference — the labelled polygons (a pixel
  counts when its centre lies inside a polygon; where polygons overlap, the later one in the
  file wins) and, when given, a truth raster (sampled at each pixel centre; its nodata and 0 are
  ignored) — one row ``lcz = "all"`` (overall agreement) and one row per reference class
  (the share of that class's reference pixels mapped as that class: the producer's accuracy).
  ``n_pixels`` counts reference pixels that were mapped; ``n_unmapped`` those left at 0.

While batches run, INFO records of the stage functions (their per-call progress bars) are
muted; this module logs one progress bar over the batches and a summary, and warnings still show.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import rasterio
import rasterio.errors
import rasterio.features
import shapely
from pyproj import CRS, Transformer
from rasterio.transform import Affine
from rasterio.windows import Window
from shapely.geometry.base import BaseGeometry

from .atomic import atomic_path
from .constants import GOOGLE_CHIP_PX, LCZ_CODES, LCZ_COLORS, LCZ_NAMES, N_CLASSES, S2_CHIP_PX
from .fusion import PAPER_ALPHA, fuse_probabilities
from .google import chip_google
from .graphs import build_graphs, graph_settings, graphs_to_pyg
from .logs import LOGGER_NAME, get_logger, progress
from .samples import raster_footprint, read_labels, sentinel2_reference_file
from .segmentation import make_segmenter, segment_images
from .sentinel2 import TARGET_PIXEL_M, open_sentinel2
from .devices import resolve_device
from .training import LoadedModel, load_model, predict_gcn, predict_s2

log = get_logger("lczmap")

#: Side of the classified window (m): one Sentinel-2 chip of 32 × 10 m (a DF4LCZ scene).
WINDOW_M: float = S2_CHIP_PX * TARGET_PIXEL_M

#: Default step between window centres = output pixel size (m).
DEFAULT_STRIDE_M: float = 160.0

#: Default number of windows chipped, segmented and predicted together.
DEFAULT_BATCH_SIZE: int = 64

#: Output value of pixels without a class.
NODATA: int = 0

#: Tile size of the GeoTIFF.
GTIFF_BLOCK_PX: int = 256

#: The preview PNG is subsampled to at most this many pixels along its longer side.
PREVIEW_MAX_PX: int = 1600

#: Output rows handled at once when sampling a truth raster.
TRUTH_BLOCK_ROWS: int = 256

#: Columns of the agreement CSV.
AGREEMENT_COLUMNS: tuple[str, ...] = ("reference", "lcz", "name", "n_pixels", "n_agree", "agreement", "n_unmapped")

#: Snapping tolerance (m) of the window grid.
_EPS_M: float = 1e-6

PathLike = str | os.PathLike


# --------------------------------------------------------------------------------------------
# the grid
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MapGrid:
    """The output grid: ``height × width`` pixels of ``stride_m`` in ``crs``; pixel = window centre.

    Attributes:
        crs: working CRS (e.g. ``"EPSG:32650"``).
        transform: north-up affine transform of the output raster.
        width, height: output size in pixels.
        stride_m: output pixel size = step between window centres (m).
        window_m: side of the classified window (m).
    """

    crs: str
    transform: Affine
    width: int
    height: int
    stride_m: float
    window_m: float = WINDOW_M

    @property
    def shape(self) -> tuple[int, int]:
        """``(height, width)``."""
        return self.height, self.width

    def centres(self, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Window centres ``x``, ``y`` (float64, same shape as ``rows``/``cols``) in the working CRS."""
        x = self.transform.c + (np.asarray(cols, dtype=np.float64) + 0.5) * self.stride_m
        y = self.transform.f - (np.asarray(rows, dtype=np.float64) + 0.5) * self.stride_m
        return x, y

    def window_bounds(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """``(N, 4)`` float64 ``xmin, ymin, xmax, ymax`` of the windows centred on pixels ``(rows, cols)``."""
        x, y = self.centres(np.ravel(rows), np.ravel(cols))
        h = self.window_m / 2.0
        return np.stack([x - h, y - h, x + h, y + h], axis=1)


def _snap(value: float, phase: float, step: float = TARGET_PIXEL_M) -> float:
    """``value`` moved to the nearest point of the grid ``phase + k·step``."""
    return phase + round((value - phase) / step) * step


def _grid_phase(reference: Path, crs: CRS) -> tuple[float, float]:
    """Offset (m) of the Sentinel-2 10 m pixel grid in the working CRS (0, 0 when not in that CRS)."""
    try:
        with rasterio.open(reference) as src:
            t, src_crs = src.transform, src.crs
    except rasterio.errors.RasterioIOError as exc:
        raise ValueError(f"{reference}: not a readable raster ({exc})") from exc
    north_up = (t.b == 0 and t.d == 0 and math.isclose(abs(t.a), TARGET_PIXEL_M)
                and math.isclose(abs(t.e), TARGET_PIXEL_M))
    if src_crs is None or CRS.from_user_input(src_crs) != crs or not north_up:
        return 0.0, 0.0
    return float(t.c % TARGET_PIXEL_M), float(t.f % TARGET_PIXEL_M)


def map_grid(
    google: PathLike, sentinel2: PathLike, stride_m: float = DEFAULT_STRIDE_M, working_crs: str | None = None
) -> tuple[MapGrid, BaseGeometry]:
    """The output grid of a region and the area covered by both rasters (module docstring).

    Args:
        google: Google Earth mosaic.
        sentinel2: Sentinel-2 multi-band raster or band folder.
        stride_m: output pixel size (m), > 0.
        working_crs: CRS of the map; default the Sentinel-2 input's CRS.

    Returns:
        ``(grid, coverage)``: the :class:`MapGrid` and the footprint intersection (working CRS).

    Raises:
        FileNotFoundError: an input is missing.
        ValueError: bad stride, unreadable rasters, or rasters that do not overlap.
    """
    if not (isinstance(stride_m, (int, float)) and math.isfinite(stride_m) and stride_m > 0):
        raise ValueError(f"stride_m: {stride_m!r} must be a positive number of metres")
    reference = sentinel2_reference_file(sentinel2)
    if working_crs is None:
        try:
            with rasterio.open(reference) as src:
                if src.crs is None:
                    raise ValueError(f"{reference}: raster has no CRS; georeference it or pass working_crs")
                working_crs = src.crs.to_string()
        except rasterio.errors.RasterioIOError as exc:
            raise ValueError(f"{reference}: not a readable raster ({exc})") from exc
    try:
        crs = CRS.from_user_input(working_crs)
    except Exception as exc:  # pyproj raises CRSError
        raise ValueError(f"working_crs: {working_crs!r} is not a CRS ({exc})") from None
    crs_name = crs.to_string()
    coverage = shapely.intersection(raster_footprint(google, crs_name), raster_footprint(reference, crs_name))
    if coverage.is_empty or coverage.area <= 0:
        raise ValueError(f"the Google raster {google} and the Sentinel-2 input {sentinel2} do not overlap "
                         f"(in {crs_name}); nothing to map")
    left, bottom, right, top = coverage.bounds
    width = max(1, math.ceil((right - left) / stride_m - _EPS_M))
    height = max(1, math.ceil((top - bottom) / stride_m - _EPS_M))
    phase_x, phase_y = _grid_phase(reference, crs)
    cx0 = _snap(left + stride_m / 2.0, phase_x)
    cy0 = _snap(top - stride_m / 2.0, phase_y)
    transform = Affine(float(stride_m), 0.0, cx0 - stride_m / 2.0, 0.0, -float(stride_m), cy0 + stride_m / 2.0)
    return MapGrid(crs_name, transform, int(width), int(height), float(stride_m)), coverage


def _candidate_rows(grid: MapGrid, coverage: BaseGeometry) -> Iterator[np.ndarray]:
    """Per output row, the flat indices (int64) of its windows lying wholly inside ``coverage``."""
    shapely.prepare(coverage)
    cols = np.arange(grid.width)
    for row in range(grid.height):
        b = grid.window_bounds(np.full(grid.width, row), cols)
        inside = shapely.contains(coverage, shapely.box(b[:, 0], b[:, 1], b[:, 2], b[:, 3]))
        yield row * grid.width + np.flatnonzero(inside).astype(np.int64)


def candidate_batches(grid: MapGrid, coverage: BaseGeometry, batch_size: int) -> Iterator[np.ndarray]:
    """Flat pixel indices (row-major, int64) of the windows inside ``coverage``, ``batch_size`` at a time."""
    pending: list[np.ndarray] = []
    n_pending = 0
    for flat in _candidate_rows(grid, coverage):
        pending.append(flat)
        n_pending += len(flat)
        while n_pending >= batch_size:
            joined = np.concatenate(pending)
            yield joined[:batch_size]
            rest = joined[batch_size:]
            pending, n_pending = [rest], len(rest)
    if n_pending:
        yield np.concatenate(pending)


def window_table(grid: MapGrid, flat: np.ndarray) -> pd.DataFrame:
    """Sample table of windows (``sample_id`` = flat pixel index, ``crs``, ``xmin … ymax``) for the chippers."""
    rows, cols = np.divmod(np.asarray(flat, dtype=np.int64), grid.width)
    b = grid.window_bounds(rows, cols)
    return pd.DataFrame({"sample_id": np.asarray(flat, dtype=np.int64), "crs": grid.crs,
                         "xmin": b[:, 0], "ymin": b[:, 1], "xmax": b[:, 2], "ymax": b[:, 3]})


# --------------------------------------------------------------------------------------------
# classification of windows
# --------------------------------------------------------------------------------------------


@dataclass
class _Pipeline:
    """Everything a batch needs, opened or loaded once."""

    google: str
    s2_source: Any
    segmenter: Any
    s2_model: LoadedModel
    gcn_model: LoadedModel
    device: Any
    alpha: float
    google_chip_px: int
    google_resampling: str
    s2_resampling: str
    min_area: int
    max_masks: int
    graph_kwargs: dict[str, Any]
    excluded: dict[str, int] = field(default_factory=dict)

    def count(self, stream: str, reasons: pd.Series) -> None:
        for reason in reasons.astype(str):
            key = f"{stream}: {reason.split(':')[0]}"
            self.excluded[key] = self.excluded.get(key, 0) + 1

    def classify(self, grid: MapGrid, flat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(ids, codes)``: the windows of ``flat`` both chippers kept and their fused LCZ codes (uint8)."""
        table = window_table(grid, flat)
        g_ids, g_img, g_exc = chip_google(self.google, table, chip_px=self.google_chip_px,
                                          resampling=self.google_resampling)
        s_ids, s_img, s_exc = self.s2_source.chip(table, working_crs=grid.crs, resampling=self.s2_resampling)
        self.count("google", g_exc["reason"])
        self.count("sentinel2", s_exc["reason"])
        g_keep, s_keep = np.isin(g_ids, s_ids), np.isin(s_ids, g_ids)
        ids = g_ids[g_keep]  # both chippers keep input order, so the common ids line up
        if len(ids) == 0:
            return ids, np.zeros(0, dtype=np.uint8)
        images = g_img[g_keep]
        maskset = segment_images(images, self.segmenter, self.min_area, self.max_masks)
        graphset = build_graphs(maskset.labels, images, **self.graph_kwargs)
        graphs = graphs_to_pyg(graphset, np.ones(len(ids), dtype=np.int64), ids)
        p_gcn = predict_gcn(self.gcn_model, graphs, device=self.device)
        p_s2 = predict_s2(self.s2_model, s_img[s_keep], ids, device=self.device)
        fused = fuse_probabilities(p_s2, p_gcn, self.alpha)
        return ids, (fused.argmax(axis=1) + 1).astype(np.uint8)


@contextlib.contextmanager
def _quiet_stage_logs() -> Iterator[None]:
    """Mute INFO records of the package while batches run; keep this module's records."""
    package = logging.getLogger(LOGGER_NAME)
    package_level, own_level = package.level, log.level
    log.setLevel(package.getEffectiveLevel())
    package.setLevel(max(package.getEffectiveLevel(), logging.WARNING))
    try:
        yield
    finally:
        package.setLevel(package_level)
        log.setLevel(own_level)


def _load(path: PathLike, kind: str, device: Any) -> LoadedModel:
    loaded = load_model(path, device=device)
    if loaded.kind != kind:
        what = "a Sentinel-2 model" if kind == "s2" else "the GCN"
        raise ValueError(f"{path}: holds a {loaded.kind!r} model; expected {what}")
    return loaded


# --------------------------------------------------------------------------------------------
# outputs
# --------------------------------------------------------------------------------------------


def lcz_colormap() -> dict[int, tuple[int, int, int, int]]:
    """GeoTIFF colour table: ``0`` transparent, LCZ codes 1–17 with :data:`LCZ_COLORS` (opaque)."""
    return {NODATA: (0, 0, 0, 0), **{c: (*LCZ_COLORS[c], 255) for c in LCZ_CODES}}


def write_lcz_geotiff(
    path: PathLike, codes: np.ndarray, grid: MapGrid, tags: Mapping[str, Any] | None = None
) -> None:
    """Write ``codes`` ``(H, W)`` uint8 as a tiled, compressed GeoTIFF with the LCZ colour table (atomic)."""
    arr = np.asarray(codes)
    if arr.shape != grid.shape or arr.dtype != np.uint8:
        raise ValueError(f"{path}: codes must be uint8 of shape {grid.shape}, got {arr.dtype} {arr.shape}")
    profile = {
        "driver": "GTiff", "width": grid.width, "height": grid.height, "count": 1, "dtype": "uint8",
        "crs": grid.crs, "transform": grid.transform, "nodata": NODATA, "tiled": True,
        "blockxsize": GTIFF_BLOCK_PX, "blockysize": GTIFF_BLOCK_PX, "compress": "deflate",
    }
    with atomic_path(path) as tmp:
        with rasterio.open(tmp, "w", **profile) as dst:
            dst.write(arr, 1)
            dst.write_colormap(1, lcz_colormap())
            dst.set_band_description(1, "LCZ (1-17; 11-17 = A-G; 0 = nodata)")
            dst.update_tags(**{k: str(v) for k, v in (tags or {}).items()})


def _legend_label(code: int) -> str:
    return f"LCZ {LCZ_NAMES[code]}" if code > 10 else f"LCZ {code} {LCZ_NAMES[code]}"


def plot_lcz_map(codes: np.ndarray, grid: MapGrid, path: PathLike, title: str | None = None) -> None:
    """PNG preview of a map ``(H, W)`` with a legend of the classes present (written atomically)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    arr = np.asarray(codes)
    step = max(1, math.ceil(max(arr.shape) / PREVIEW_MAX_PX))
    view = arr[::step, ::step]
    palette = np.zeros((256, 4), dtype=np.float32)
    for code, rgba in lcz_colormap().items():
        palette[code] = np.asarray(rgba, dtype=np.float32) / 255.0
    t = grid.transform
    extent = (t.c, t.c + grid.width * grid.stride_m, t.f - grid.height * grid.stride_m, t.f)
    fig = Figure(figsize=(10.0, 7.5))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    ax.set_facecolor("white")
    ax.imshow(palette[view], extent=extent, interpolation="nearest")
    present = [c for c in LCZ_CODES if (arr == c).any()]
    handles = [Patch(facecolor=tuple(v / 255 for v in LCZ_COLORS[c]), edgecolor="0.3", label=_legend_label(c))
               for c in present]
    if (arr == NODATA).any():
        handles.append(Patch(facecolor="white", edgecolor="0.3", label="no data"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, title="class")
    ax.ticklabel_format(useOffset=False, style="plain")
    ax.set_xlabel(f"x (m, {grid.crs})")
    ax.set_ylabel("y (m)")
    ax.set_title(title or f"LCZ map, {grid.stride_m:g} m pixels ({grid.width} × {grid.height})")
    fig.subplots_adjust(left=0.1, right=0.68, top=0.93, bottom=0.08)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110)


def polygon_reference(
    labels: PathLike, grid: MapGrid, label_column: str = "lcz", label_map: Mapping[str, int] | None = None
) -> np.ndarray:
    """``(H, W)`` uint8: the class of the labelled polygon containing each pixel centre (0 = none).

    Polygons are read with :func:`df4lcz.samples.read_labels` (validated, reprojected); where they
    overlap, the one later in the file wins.
    """
    polys = read_labels(labels, grid.crs, label_column, dict(label_map or {}))
    shapes = [(geom, int(code)) for geom, code in zip(polys.geometry, polys.lcz) if not geom.is_empty]
    if not shapes:
        return np.zeros(grid.shape, dtype=np.uint8)
    return rasterio.features.rasterize(shapes, out_shape=grid.shape, transform=grid.transform, fill=0,
                                       all_touched=False, dtype="uint8")


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
        raise ValueError(f"{truth}: not a readable raster ({exc})") from exc
    with src:
        if src.crs is None:
            raise ValueError(f"{truth}: truth raster has no CRS")
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
            block = out[rows[0]:rows[-1] + 1]
            block[valid] = values[valid].astype(np.uint8)
    if n_bad:
        log.warning("%s: %d sampled value(s) outside the LCZ codes 1–17 ignored", truth, n_bad)
    return out


def agreement_table(pred: np.ndarray, reference: np.ndarray, reference_name: str) -> pd.DataFrame:
    """Agreement of a map with a reference raster of the same grid (module docstring).

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
        return {"reference": reference_name, "lcz": lcz, "name": name, "n_pixels": n, "n_agree": k,
                "agreement": k / n if n else float("nan"), "n_unmapped": int((has_ref & ~mapped & sel).sum())}

    rows = [row("all", "all classes", has_ref)]
    for code in sorted(int(c) for c in np.unique(r[has_ref])):
        rows.append(row(str(code), LCZ_NAMES.get(code, str(code)), r == code))
    return pd.DataFrame(rows, columns=list(AGREEMENT_COLUMNS))


# --------------------------------------------------------------------------------------------
# entry point
# --------------------------------------------------------------------------------------------


@dataclass
class MapResult:
    """Summary of :func:`map_region`.

    Attributes:
        grid: the output grid.
        n_windows: windows wholly inside both footprints (candidates).
        n_mapped: pixels that got a class.
        excluded: ``"stream: reason"`` → windows the chippers excluded.
        agreement: the agreement table written.
    """

    grid: MapGrid
    n_windows: int
    n_mapped: int
    excluded: dict[str, int]
    agreement: pd.DataFrame


def map_region(
    google: PathLike,
    sentinel2: PathLike,
    s2_model: PathLike,
    gcn_model: PathLike,
    out_tif: PathLike,
    out_png: PathLike,
    out_agreement: PathLike,
    *,
    working_crs: str | None = None,
    stride_m: float = DEFAULT_STRIDE_M,
    alpha: float = PAPER_ALPHA,
    segment_params: Mapping[str, Any] | None = None,
    graph_params: Mapping[str, Any] | None = None,
    google_params: Mapping[str, Any] | None = None,
    sentinel2_params: Mapping[str, Any] | None = None,
    band_names: Sequence[str] | None = None,
    checkpoint: PathLike | None = None,
    labels: PathLike | None = None,
    label_column: str = "lcz",
    label_map: Mapping[str, int] | None = None,
    truth: PathLike | None = None,
    device: str = "auto",
    batch_size: int = DEFAULT_BATCH_SIZE,
    title: str | None = None,
) -> MapResult:
    """Classify every window of a region and write the LCZ GeoTIFF, its PNG preview and agreement CSV.

    Args:
        google: Google Earth mosaic of the region (uint8 RGB, any CRS).
        sentinel2: Sentinel-2 multi-band raster or band folder.
        s2_model: trained Sentinel-2 model file (``results/models/{strategy}/resnet11_3d.pt``).
        gcn_model: trained GCN model file.
        out_tif, out_png, out_agreement: outputs (written atomically).
        working_crs: CRS of the map (default the Sentinel-2 CRS; use the region's working CRS).
        stride_m: output pixel size = step between window centres (m).
        alpha: weight of the Sentinel-2 stream in the fusion.
        segment_params: the ``segment`` config slice (``backend``, ``min_area``, ``max_masks`` and
            the backend's section), as given to the segment rule.
        graph_params: the ``graphs`` config section (``features``, ``edge_rule``, …).
        google_params: the ``google`` config section (``chip_px``, ``resampling``).
        sentinel2_params: the ``sentinel2`` config section (``resampling``).
        band_names: band names of a Sentinel-2 file without descriptions (``regions[].s2_band_names``).
        checkpoint: SAM checkpoint (``sam`` backend only).
        labels: labelled polygons of the region, for the agreement table (optional).
        label_column, label_map: as ``regions[].label_column`` / ``label_map``.
        truth: raster of true LCZ codes (e.g. the demo's ``lcz_truth.tif``), optional.
        device: torch device for the models (``auto``, ``cpu``, ``cuda``…).
        batch_size: windows processed together (bounds memory).
        title: title of the preview.

    Returns:
        A :class:`MapResult`.

    Raises:
        FileNotFoundError: an input is missing.
        ValueError: bad settings, rasters that do not overlap, an overlap smaller than one window,
            models of the wrong kind, or a GCN trained on other node features than ``graph_params``.
    """
    if int(batch_size) != batch_size or batch_size < 1:
        raise ValueError(f"batch_size: {batch_size!r} must be an integer ≥ 1")
    fuse_probabilities(np.zeros((0, N_CLASSES)), np.zeros((0, N_CLASSES)), alpha)  # checks alpha
    seg = dict(segment_params or {})
    gp = dict(graph_params or {})
    gg = dict(google_params or {})
    sp = dict(sentinel2_params or {})
    grid, coverage = map_grid(google, sentinel2, stride_m, working_crs)
    dev = resolve_device(device)
    s2_loaded = _load(s2_model, "s2", dev)
    gcn_loaded = _load(gcn_model, "gcn", dev)
    graph_kwargs = graph_settings(gp)
    features = graph_kwargs["features"]
    trained_on = [str(f) for f in gcn_loaded.meta.get("feature_names", [])]
    if trained_on != features:
        raise ValueError(f"{gcn_model}: the GCN was trained on node features {trained_on}, but graph_params "
                         f"asks for {features}; map with the graphs settings the model was trained with")
    n_windows = sum(len(flat) for flat in _candidate_rows(grid, coverage))
    if n_windows == 0:
        left, bottom, right, top = coverage.bounds
        raise ValueError(f"no {grid.window_m:g} m window fits inside the overlap of {google} and {sentinel2} "
                         f"({right - left:.0f} m × {top - bottom:.0f} m in {grid.crs})")
    log.info("map of %d × %d pixels of %g m (%s): %d windows of %g m inside both rasters, batches of %d",
             grid.width, grid.height, grid.stride_m, grid.crs, n_windows, grid.window_m, batch_size)
    codes = np.zeros(grid.shape, dtype=np.uint8)
    flat_codes = codes.reshape(-1)
    segmenter = make_segmenter(seg.get("backend", "classical"), sam=seg.get("sam"), classical=seg.get("classical"),
                               checkpoint=checkpoint)
    with open_sentinel2(sentinel2, band_names=band_names) as source:
        pipeline = _Pipeline(
            google=str(google), s2_source=source, segmenter=segmenter, s2_model=s2_loaded, gcn_model=gcn_loaded,
            device=dev, alpha=float(alpha), google_chip_px=int(gg.get("chip_px", GOOGLE_CHIP_PX)),
            google_resampling=str(gg.get("resampling", "bilinear")),
            s2_resampling=str(sp.get("resampling", "bilinear")),
            min_area=int(seg.get("min_area", 50)), max_masks=int(seg.get("max_masks", 50)),
            graph_kwargs=graph_kwargs,
        )
        n_batches = math.ceil(n_windows / batch_size)
        with _quiet_stage_logs():
            batches = candidate_batches(grid, coverage, int(batch_size))
            for flat in progress(batches, desc="LCZ map", total=n_batches, logger=log):
                ids, batch_codes = pipeline.classify(grid, flat)
                flat_codes[ids] = batch_codes
    n_mapped = int((codes != NODATA).sum())
    if pipeline.excluded:
        log.warning("%d window(s) excluded by the chippers: %s", sum(pipeline.excluded.values()),
                    pipeline.excluded)
    if n_mapped == 0:
        log.warning("no window could be classified; the map holds nodata only")
    tags = {"stride_m": grid.stride_m, "window_m": grid.window_m, "alpha": float(alpha),
            "s2_model": Path(s2_model).name, "gcn_model": Path(gcn_model).name,
            "segment_backend": seg.get("backend", "classical"), "nodata": "0 = no window classified here",
            "pixel": "class of the window centred on the pixel"}
    write_lcz_geotiff(out_tif, codes, grid, tags)
    plot_lcz_map(codes, grid, out_png, title)
    tables = []
    if labels is not None:
        tables.append(agreement_table(codes, polygon_reference(labels, grid, label_column, label_map), "polygons"))
    if truth is not None:
        tables.append(agreement_table(codes, truth_reference(truth, grid), "truth"))
    agreement = (pd.concat(tables, ignore_index=True) if tables
                 else pd.DataFrame(columns=list(AGREEMENT_COLUMNS)))
    with atomic_path(out_agreement) as tmp:
        agreement.to_csv(tmp, index=False, float_format="%.6g")
    for t in tables:
        overall = t.iloc[0]
        log.info("agreement with %s: %.3f over %d pixel(s) (%d reference pixel(s) unmapped)", overall["reference"],
                 overall["agreement"], overall["n_pixels"], overall["n_unmapped"])
    log.info("%s: %d of %d pixels classified", out_tif, n_mapped, grid.width * grid.height)
    return MapResult(grid=grid, n_windows=n_windows, n_mapped=n_mapped, excluded=dict(pipeline.excluded),
                     agreement=agreement)
