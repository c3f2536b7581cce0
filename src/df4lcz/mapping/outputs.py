"""The map's files (docs/contracts.md §12): the LCZ GeoTIFF, its QGIS style, the probability GeoTIFF,
the PNG preview and the agreement CSV.

* GeoTIFF (uint8, one band): LCZ codes 1–17; **0 = nodata** (:data:`NODATA`) where the window is
  not wholly inside both rasters or a chipper excluded it (nodata, partial coverage). Tiled
  (256 × 256), deflate-compressed, nodata 0, with the standard LCZ colour table
  (:data:`df4lcz.constants.LCZ_COLORS`; entry 0 transparent) and tags recording the settings.
  Written block by block (:func:`map_rasters`), then copied to a Cloud-Optimized GeoTIFF
  (:func:`write_cog`: GDAL's COG driver, internal overviews by the class mode).
* QGIS style (``.qml`` beside the GeoTIFF, same stem, so QGIS applies it on opening): a paletted
  renderer with the LCZ legend (:func:`write_lcz_qml`).
* Probability GeoTIFF (``map.probabilities``, COG too, written with the class GeoTIFF by
  :func:`map_rasters`; overviews by the average for ``all17``, nearest for ``top2``): ``all17`` = 17
  uint8 bands, band ``k`` = 100·P(LCZ ``k``) rounded, nodata 255; ``top2`` = 3 uint8 bands: most
  likely LCZ, second most likely LCZ, 100·P(most likely) rounded (the confidence), nodata 0.
* Uncertainty GeoTIFF (``map.uncertainty``, COG too, written with the class GeoTIFF by
  :func:`map_rasters`; overviews by the average): 3 uint8 bands, 100·P(the map's class) rounded,
  100·(P(the map's class) − P(the second most probable class)) rounded, and 1 where the streams'
  most probable classes differ (else 0); nodata 255 (:data:`UNCERTAINTY_NODATA`), on the class map's
  nodata pixels. Its preview (:func:`plot_uncertainty`) shows the first band with a colour bar.
* PNG preview with a legend of the classes present.
* Agreement CSV (:data:`AGREEMENT_COLUMNS`, built by :mod:`df4lcz.mapping.agreement`), floats with
  6 significant digits.

Every file is written atomically.
"""

from __future__ import annotations

import contextlib
import math
import os
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

import numpy as np
import pandas as pd
import rasterio
import rasterio.io
import rasterio.shutil
import rasterio.windows
from rasterio.enums import Resampling

from ..atomic import atomic_path, write_text_atomic
from ..constants import LCZ_CODES, LCZ_COLORS, LCZ_NAMES, N_CLASSES
from ..errors import ConfigError
from .grid import MapGrid

#: Output value of pixels without a class.
NODATA: int = 0

#: Tile size of the GeoTIFF.
GTIFF_BLOCK_PX: int = 256

#: The preview PNG is subsampled to at most this many pixels along its longer side.
PREVIEW_MAX_PX: int = 1600

#: Nodata of the ``all17`` probability GeoTIFF (percentages are 0–100).
PROBABILITY_NODATA: int = 255
#: Nodata of the ``top2`` GeoTIFF (class 0 does not exist; the top class always has P ≥ 1/17).
TOP2_NODATA: int = 0
#: Nodata of the uncertainty GeoTIFF (its bands are 0–100 and 0/1).
UNCERTAINTY_NODATA: int = 255
#: Band descriptions of the uncertainty GeoTIFF.
UNCERTAINTY_BANDS: tuple[str, ...] = (
    "P(class of the map) in % (255 = nodata)",
    "margin: P(class of the map) - P(second most probable class) in % (255 = nodata)",
    "stream disagreement: 1 = the Sentinel-2 and GCN streams' most probable LCZ differ, 0 = same (255 = nodata)",
)
#: Choices of ``map.probabilities``.
PROBABILITY_PRODUCTS: tuple[str, ...] = ("none", "all17", "top2")
#: QGIS version written into the style file (the paletted renderer reads the same since QGIS 3.0).
QML_QGIS_VERSION: str = "3.28.0"

#: Columns of the agreement CSV.
AGREEMENT_COLUMNS: tuple[str, ...] = (
    "reference",
    "lcz",
    "name",
    "n_pixels",
    "n_agree",
    "agreement",
    "n_unmapped",
)

PathLike = str | os.PathLike


def lcz_colormap() -> dict[int, tuple[int, int, int, int]]:
    """GeoTIFF colour table: ``0`` transparent, LCZ codes 1–17 with :data:`LCZ_COLORS` (opaque)."""
    return {NODATA: (0, 0, 0, 0), **{c: (*LCZ_COLORS[c], 255) for c in LCZ_CODES}}


def lcz_profile(grid: MapGrid) -> dict[str, Any]:
    """Rasterio profile of the class GeoTIFF of ``grid`` (uint8, tiled, deflate, nodata 0)."""
    return {
        "driver": "GTiff",
        "width": grid.width,
        "height": grid.height,
        "count": 1,
        "dtype": "uint8",
        "crs": grid.crs,
        "transform": grid.transform,
        "nodata": NODATA,
        "tiled": True,
        "blockxsize": GTIFF_BLOCK_PX,
        "blockysize": GTIFF_BLOCK_PX,
        "compress": "deflate",
    }


def probability_profile(grid: MapGrid, product: str) -> dict[str, Any]:
    """Rasterio profile of the probability GeoTIFF ``product`` (``all17`` or ``top2``) of ``grid``."""
    if product not in PROBABILITY_PRODUCTS[1:]:
        raise ConfigError(f"map.probabilities: {product!r} must be one of {list(PROBABILITY_PRODUCTS)}")
    count, nodata = (N_CLASSES, PROBABILITY_NODATA) if product == "all17" else (3, TOP2_NODATA)
    return {**lcz_profile(grid), "count": count, "nodata": nodata, "interleave": "band"}


def uncertainty_profile(grid: MapGrid) -> dict[str, Any]:
    """Rasterio profile of the uncertainty GeoTIFF of ``grid`` (3 uint8 bands, nodata 255)."""
    return {
        **lcz_profile(grid),
        "count": len(UNCERTAINTY_BANDS),
        "nodata": UNCERTAINTY_NODATA,
        "interleave": "band",
    }


def probability_band_descriptions(product: str) -> list[str]:
    """Band descriptions of the probability GeoTIFF ``product``."""
    if product == "all17":
        return [f"P(LCZ {c}: {LCZ_NAMES[c]}) in % (255 = nodata)" for c in LCZ_CODES]
    return [
        "most likely LCZ (0 = nodata)",
        "second most likely LCZ (0 = nodata)",
        "confidence: P(most likely LCZ) in % (0 = nodata)",
    ]


def overview_factors(width: int, height: int) -> list[int]:
    """Overview decimation factors 2, 4, … until the overview fits one block (at least one level)."""
    factors = [2]
    while math.ceil(max(width, height) / factors[-1]) > GTIFF_BLOCK_PX:
        factors.append(factors[-1] * 2)
    return factors


def write_cog(path: PathLike, source: PathLike, resampling: Resampling) -> None:
    """Copy the GeoTIFF ``source`` to a Cloud-Optimized GeoTIFF ``path`` (atomic).

    Overviews (:func:`overview_factors`, ``resampling``) are built into ``source`` first, then GDAL's
    COG driver lays out tiles (:data:`GTIFF_BLOCK_PX`), overviews and metadata; colour table, nodata,
    band descriptions and tags carry over.
    """
    with rasterio.open(source, "r+") as src:
        src.build_overviews(overview_factors(src.width, src.height), resampling)
    with atomic_path(path) as tmp:
        rasterio.shutil.copy(
            source, tmp, driver="COG", COMPRESS="DEFLATE", BLOCKSIZE=GTIFF_BLOCK_PX, OVERVIEWS="AUTO"
        )


@dataclass
class MapBlockWriter:
    """The open GeoTIFFs of :func:`map_rasters`: the class map and, unless ``none``, the probabilities."""

    classes: rasterio.io.DatasetWriter
    probabilities: rasterio.io.DatasetWriter | None
    probabilities_path: str = ""  # the COG the probabilities become (named in errors)
    uncertainty: rasterio.io.DatasetWriter | None = None

    def write(
        self,
        window: rasterio.windows.Window,
        classes: np.ndarray,
        bands: np.ndarray | None = None,
        uncertainty: np.ndarray | None = None,
    ) -> None:
        """Write one block: ``classes`` ``(h, w)`` uint8 codes and, with a probability GeoTIFF, its
        ``bands`` ``(count, h, w)`` uint8 (:func:`probability_profile`), with an uncertainty GeoTIFF its
        ``uncertainty`` ``(3, h, w)`` uint8 (:func:`uncertainty_profile`)."""
        self.classes.write(classes, 1, window=window)
        if self.uncertainty is not None:
            if uncertainty is None:
                raise ValueError(f"the uncertainty bands of window {window} are missing")
            self.uncertainty.write(uncertainty, window=window)
        if self.probabilities is not None:
            if bands is None:
                raise ValueError(
                    f"{self.probabilities_path}: the probability bands of window {window} are missing"
                )
            self.probabilities.write(bands, window=window)


@contextlib.contextmanager
def map_rasters(
    out_tif: PathLike,
    grid: MapGrid,
    tags: Mapping[str, Any],
    probabilities: str = "none",
    probabilities_path: PathLike | None = None,
    uncertainty_path: PathLike | None = None,
) -> Iterator[MapBlockWriter]:
    """Write the class COG ``out_tif`` (and the probability and uncertainty COGs) of ``grid`` block by block.

    Both GeoTIFFs are written into a temporary folder beside ``out_tif`` (:func:`lcz_profile` with
    the colour table, :func:`probability_profile` with :func:`probability_band_descriptions`; ``tags``
    on both, but ``nodata`` and ``pixel`` on the class map only); the caller writes every block through
    the yielded :class:`MapBlockWriter`. On a clean exit they become COGs (:func:`write_cog`); on an
    error nothing is written and the temporary folder is removed.

    Args:
        out_tif: the class COG.
        grid: the map grid.
        tags: GeoTIFF tags (values written as text).
        probabilities: ``none``, ``all17`` or ``top2`` (``map.probabilities``).
        probabilities_path: the probability COG (unless ``probabilities`` is ``none``).
        uncertainty_path: the uncertainty COG (:func:`uncertainty_profile`), or ``None``: not written.
    """
    if probabilities != "none" and probabilities_path is None:
        raise ConfigError(
            f"map.probabilities: {probabilities!r} needs an output path for the probability GeoTIFF"
        )
    with tempfile.TemporaryDirectory(prefix=".tmp-gather-", dir=Path(out_tif).parent) as tmp:
        classes_tmp, probs_tmp = Path(tmp) / "classes.tif", Path(tmp) / "probabilities.tif"
        unc_tmp = Path(tmp) / "uncertainty.tif"
        with contextlib.ExitStack() as stack:
            dst = stack.enter_context(rasterio.open(classes_tmp, "w", **lcz_profile(grid)))
            dst.write_colormap(1, lcz_colormap())
            dst.set_band_description(1, "LCZ (1-17; 11-17 = A-G; 0 = nodata)")
            dst.update_tags(**{k: str(v) for k, v in tags.items()})
            pdst = None
            if probabilities != "none":
                pdst = stack.enter_context(
                    rasterio.open(probs_tmp, "w", **probability_profile(grid, probabilities))
                )
                for i, text in enumerate(probability_band_descriptions(probabilities), start=1):
                    pdst.set_band_description(i, text)
                pdst.update_tags(**{k: str(v) for k, v in tags.items() if k not in ("nodata", "pixel")})
            udst = None
            if uncertainty_path is not None:
                udst = stack.enter_context(rasterio.open(unc_tmp, "w", **uncertainty_profile(grid)))
                for i, text in enumerate(UNCERTAINTY_BANDS, start=1):
                    udst.set_band_description(i, text)
                udst.update_tags(**{k: str(v) for k, v in tags.items() if k not in ("nodata", "pixel")})
            yield MapBlockWriter(dst, pdst, os.fspath(probabilities_path or ""), udst)
        write_cog(out_tif, classes_tmp, Resampling.mode)
        if uncertainty_path is not None:
            write_cog(uncertainty_path, unc_tmp, Resampling.average)
        if probabilities != "none":
            assert probabilities_path is not None
            write_cog(
                probabilities_path,
                probs_tmp,
                Resampling.average if probabilities == "all17" else Resampling.nearest,
            )


def write_lcz_qml(path: PathLike) -> None:
    """Write the QGIS style of the class GeoTIFF: a paletted renderer with the LCZ legend (atomic).

    Colours are the GeoTIFF's colour table (:func:`lcz_colormap`); nodata (0) stays transparent.
    """
    entries = "\n".join(
        f'        <paletteEntry value="{c}" color="#{r:02x}{g:02x}{b:02x}" alpha="{a}" '
        f"label={quoteattr(_legend_label(c))}/>"
        for c, (r, g, b, a) in lcz_colormap().items()
        if c != NODATA
    )
    text = f"""<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<qgis version="{QML_QGIS_VERSION}" styleCategories="Symbology">
  <pipe>
    <rasterrenderer type="paletted" band="1" opacity="1" alphaBand="-1" nodataColor="">
      <rasterTransparency/>
      <colorPalette>
{entries}
      </colorPalette>
    </rasterrenderer>
    <brightnesscontrast brightness="0" contrast="0" gamma="1"/>
    <huesaturation saturation="0" grayscaleMode="0" colorizeOn="0" colorizeRed="255" colorizeGreen="128" colorizeBlue="128" colorizeStrength="100"/>
    <rasterresampler maxOversampling="2"/>
  </pipe>
  <blendMode>0</blendMode>
</qgis>
"""
    write_text_atomic(path, text)


#: How the preview draws nodata: a light grey hatch, unlike both the white page and the LCZ colours.
PREVIEW_NODATA: dict[str, Any] = {
    "facecolor": "#eeeeee",
    "edgecolor": "#9a9a9a",
    "hatch": "///",
    "linewidth": 0,
}


def _legend_label(code: int) -> str:
    return f"LCZ {LCZ_NAMES[code]}" if code > 10 else f"LCZ {code} {LCZ_NAMES[code]}"


def _preview_axes(grid: MapGrid) -> tuple[Any, Any, tuple[float, float, float, float]]:
    """A map preview's figure and axes, and the grid's extent ``(x0, x1, y0, y1)``; nodata (transparent
    in the images drawn on it) shows a hatched grey, unlike the white page around the preview."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    t = grid.transform
    extent = (t.c, t.c + grid.width * grid.stride_m, t.f - grid.height * grid.stride_m, t.f)
    fig = Figure(figsize=(10.0, 7.5))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    ax.add_patch(
        Rectangle(
            (extent[0], extent[2]), extent[1] - extent[0], extent[3] - extent[2], **PREVIEW_NODATA, zorder=-1
        )
    )
    return fig, ax, extent


def plot_lcz_map(codes: np.ndarray, grid: MapGrid, path: PathLike, title: str | None = None) -> None:
    """PNG preview of a map ``(H, W)`` with a legend of the classes present (written atomically)."""
    from matplotlib.patches import Patch

    arr = np.asarray(codes)
    step = max(1, math.ceil(max(arr.shape) / PREVIEW_MAX_PX))
    view = arr[::step, ::step]
    palette = np.zeros((256, 4), dtype=np.float32)
    for code, rgba in lcz_colormap().items():
        palette[code] = np.asarray(rgba, dtype=np.float32) / 255.0
    fig, ax, extent = _preview_axes(grid)
    ax.imshow(palette[view], extent=extent, interpolation="nearest")
    present = [c for c in LCZ_CODES if (arr == c).any()]
    handles = [
        Patch(facecolor=tuple(v / 255 for v in LCZ_COLORS[c]), edgecolor="0.3", label=_legend_label(c))  # type: ignore[arg-type]
        for c in present
    ]
    if (arr == NODATA).any():
        handles.append(Patch(**{**PREVIEW_NODATA, "linewidth": 0.8}, label="no data"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, title="class")
    ax.ticklabel_format(useOffset=False, style="plain")
    ax.set_xlabel(f"x (m, {grid.crs})")
    ax.set_ylabel("y (m)")
    ax.set_title(title or f"LCZ map, {grid.stride_m:g} m pixels ({grid.width} × {grid.height})")
    fig.subplots_adjust(left=0.1, right=0.68, top=0.93, bottom=0.08)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110)


def plot_uncertainty(
    confidence: np.ndarray, grid: MapGrid, path: PathLike, title: str | None = None, note: str = ""
) -> None:
    """PNG preview of the first uncertainty band ``(H, W)`` (100·P(class of the map), uint8,
    :data:`UNCERTAINTY_NODATA` = nodata) with a colour bar (written atomically); ``note`` goes under
    the title."""
    from matplotlib.patches import Patch

    arr = np.asarray(confidence)
    step = max(1, math.ceil(max(arr.shape) / PREVIEW_MAX_PX))
    view = arr[::step, ::step].astype(np.float64)
    view[arr[::step, ::step] == UNCERTAINTY_NODATA] = np.nan
    fig, ax, extent = _preview_axes(grid)
    image = ax.imshow(view, extent=extent, interpolation="nearest", cmap="viridis", vmin=0, vmax=100)
    bar = fig.colorbar(image, ax=ax, fraction=0.046, pad=0.02)
    bar.set_label("probability of the map's class (%)")
    if (arr == UNCERTAINTY_NODATA).any():
        ax.legend(
            handles=[Patch(**{**PREVIEW_NODATA, "linewidth": 0.8}, label="no data")],
            loc="upper left",
            bbox_to_anchor=(0.0, -0.08),
            fontsize=8,
        )
    ax.ticklabel_format(useOffset=False, style="plain")
    ax.set_xlabel(f"x (m, {grid.crs})")
    ax.set_ylabel("y (m)")
    head = title or f"LCZ map uncertainty, {grid.stride_m:g} m pixels ({grid.width} × {grid.height})"
    ax.set_title(f"{head}\n{note}" if note else head, fontsize=10)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110)


def write_agreement(path: PathLike, table: pd.DataFrame) -> None:
    """Write the agreement table (:data:`AGREEMENT_COLUMNS`, floats ``%.6g``) as CSV (atomic)."""
    if list(table.columns) != list(AGREEMENT_COLUMNS):
        raise ValueError(
            f"{path}: agreement columns must be {list(AGREEMENT_COLUMNS)}, got {list(table.columns)}"
        )
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False, float_format="%.6g")
