"""A region's LCZ map as a library (docs/contracts.md §12): the tile plan, the gather and the map in one call.

* :func:`plan_map`: the grid of a region cut into tiles (:mod:`df4lcz.mapping.tiles`), from the
  raster footprints only (rule ``lcz_map_plan``);
* one tile's probabilities: :func:`df4lcz.mapping.classify.map_tile` (rule ``lcz_map_tile``);
* :func:`gather_map`: the tiles' VRT, the optional Gaussian filter and the argmax block by block
  (:mod:`df4lcz.mapping.gather`), the class COG with its ``.qml``, the optional probability COG, the
  optional uncertainty COG with its preview, the preview and the agreement CSV
  (:mod:`df4lcz.mapping.outputs`, :mod:`df4lcz.mapping.agreement`) (rule ``lcz_map``). Memory holds
  one block of probabilities plus the class map (1 byte per pixel; with the uncertainty 2 more: the
  streams' disagreement and the class probability for the preview) and, for the agreement, the
  reference rasters of the grid.

:func:`map_region` runs all three in one process (plan, every tile, gather). The gather checks that
every tile carries the same settings tags (:data:`~df4lcz.mapping.classify.SETTING_TAGS`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..chipping.google.sources import GoogleInput
from ..errors import ConfigError, ContractError, InputError
from ..evaluation.fusion import FusionSetting
from .agreement import agreement_table, polygon_reference, truth_reference
from .classify import (
    FUSION_TAGS,
    SETTING_TAGS,
    check_batch_size,
    classify_tile,
    settings_tags,
    window_classifier,
)
from .gather import (
    all17_bands,
    class_codes,
    sigma_pixels,
    smoothed_blocks,
    top2_bands,
    uncertainty_bands,
)
from .grid import MapGrid, map_grid
from .inference import log
from .outputs import (
    AGREEMENT_COLUMNS,
    NODATA,
    PROBABILITY_NODATA,
    PROBABILITY_PRODUCTS,
    TOP2_NODATA,
    UNCERTAINTY_NODATA,
    map_rasters,
    plot_lcz_map,
    plot_uncertainty,
    write_agreement,
    write_lcz_qml,
)
from .tiles import (
    TilePlan,
    check_tile,
    plan_tiles,
    read_stream_tile,
    stream_tile_path,
    write_plan,
    write_tiles_vrt,
)

PathLike = str | os.PathLike


@dataclass
class MapResult:
    """Summary of :func:`map_region` / :func:`gather_map`.

    Attributes:
        grid: the output grid.
        n_windows: windows wholly inside both footprints (candidates).
        n_mapped: pixels that got a class.
        excluded: ``"stream: reason"`` → windows the chippers excluded.
        agreement: the agreement table written.
        n_tiles: tiles the map was made of.
    """

    grid: MapGrid
    n_windows: int
    n_mapped: int
    excluded: dict[str, int]
    agreement: pd.DataFrame
    n_tiles: int = 1


def plan_map(
    google: GoogleInput,
    sentinel2: PathLike,
    out_plan: PathLike | None,
    *,
    stride_m: float,
    working_crs: str | None,
    tile_windows: int | None,
) -> TilePlan:
    """The tile plan of a region (written to ``out_plan`` unless ``None``).

    Args:
        google, sentinel2: the region's rasters (their footprints make the grid).
        out_plan: plan file to write, or ``None``.
        stride_m: output pixel size (``map.stride_m``).
        working_crs: ``regions[].working_crs``.
        tile_windows: about this many windows per tile (``map.tile_windows``); ``None``: one tile
            covering the whole grid.

    Raises:
        ValueError: bad settings, rasters that do not overlap, or an overlap smaller than one window.
    """
    grid, coverage = map_grid(google, sentinel2, stride_m, working_crs)
    plan = plan_tiles(grid, coverage, tile_windows or max(grid.width, grid.height) ** 2)
    if plan.n_windows == 0:
        left, bottom, right, top = coverage.bounds
        raise InputError(
            f"no {grid.window_m:g} m window fits inside the overlap of {google} and {sentinel2} "
            f"({right - left:.0f} m × {top - bottom:.0f} m in {grid.crs})"
        )
    log.info(
        "map of %d × %d pixels of %g m (%s): %d windows of %g m inside both rasters in %d tile(s) of ≤ %d × %d "
        "pixels",
        grid.width,
        grid.height,
        grid.stride_m,
        grid.crs,
        plan.n_windows,
        grid.window_m,
        len(plan.tiles),
        plan.tile_px,
        plan.tile_px,
    )
    if out_plan is not None:
        write_plan(out_plan, plan)
    return plan


def gather_map(
    plan: TilePlan,
    tile_paths: Sequence[PathLike],
    out_vrt: PathLike,
    out_tif: PathLike,
    out_png: PathLike,
    out_agreement: PathLike,
    out_qml: PathLike,
    *,
    probabilities_path: PathLike | None = None,
    smooth_sigma_m: float = 0.0,
    probabilities: str = "none",
    label_column: str = "lcz",
    label_map: Mapping[str, int] | None = None,
    labels: PathLike | None = None,
    truth: PathLike | None = None,
    title: str | None = None,
    source_tags: Mapping[str, Any] | None = None,
    uncertainty_path: PathLike | None = None,
    uncertainty_png: PathLike | None = None,
    stream_paths: Sequence[PathLike] | None = None,
) -> MapResult:
    """Mosaic the tiles of ``plan`` and write the map's files.

    Args:
        plan: the tile plan; ``tile_paths`` holds its tiles' files, in the plan's order.
        out_vrt: the tiles' VRT (written first; the probabilities are read through it).
        out_tif: class map, Cloud-Optimized GeoTIFF (:mod:`df4lcz.mapping.outputs`).
        out_png, out_agreement, out_qml: preview, agreement CSV and QGIS style.
        probabilities_path: probability COG (required unless ``probabilities == "none"``).
        smooth_sigma_m: σ (m) of the Gaussian filter on the class probabilities (``map.smooth_sigma_m``; 0 = none).
        probabilities: ``none``, ``all17`` or ``top2`` (``map.probabilities``).
        label_column, label_map, labels, truth: the references of the agreement table (optional).
        title: title of the preview.
        source_tags: more GeoTIFF tags naming where the map comes from (the ``lcz_map`` rule: ``fusion``
            and ``strategy``, :attr:`df4lcz.run.RunPlan.map_source`).
        uncertainty_path, uncertainty_png: the uncertainty COG and its preview (``map.uncertainty``;
            :mod:`df4lcz.mapping.outputs`), or ``None``: not written.
        stream_paths: the tiles' stream tiles (default: beside the tiles,
            :func:`df4lcz.mapping.tiles.stream_tile_path`); read only for the uncertainty.

    Raises:
        ValueError: tiles that do not match the plan or were made with other settings, bad options.
    """
    grid = plan.grid
    if probabilities not in PROBABILITY_PRODUCTS:
        raise ConfigError(f"map.probabilities: {probabilities!r} must be one of {list(PROBABILITY_PRODUCTS)}")
    if probabilities != "none" and probabilities_path is None:
        raise ConfigError(
            f"map.probabilities: {probabilities!r} needs an output path for the probability GeoTIFF"
        )
    sigma_px = sigma_pixels(float(smooth_sigma_m), grid.stride_m)
    if len(tile_paths) != len(plan.tiles):
        raise ValueError(
            f"{out_tif}: the plan has {len(plan.tiles)} tiles but {len(tile_paths)} tile files were given"
        )
    if (uncertainty_path is None) != (uncertainty_png is None):
        raise ValueError(f"{out_tif}: the uncertainty GeoTIFF and its preview go together")
    settings: dict[str, str] | None = None
    excluded: dict[str, int] = {}
    for tile, path in zip(plan.tiles, tile_paths):
        tags = check_tile(path, grid, tile)
        mine = {k: tags.get(k, "") for k in (*SETTING_TAGS, *FUSION_TAGS)}
        if settings is None:
            settings = mine
        elif mine != settings:
            raise ContractError(
                f"{path}: tile made with settings {mine}, other tiles with {settings}; "
                "remove the stale tiles and rerun the map"
            )
        for k, v in json.loads(tags.get("excluded", "{}")).items():
            excluded[k] = excluded.get(k, 0) + int(v)
    if excluded:
        log.warning("%d window(s) excluded by the chippers: %s", sum(excluded.values()), excluded)
    write_tiles_vrt(out_vrt, grid, plan.tiles, tile_paths)
    disagree = confidence = None
    if uncertainty_path is not None:
        streams = (
            list(stream_paths) if stream_paths is not None else [stream_tile_path(p) for p in tile_paths]
        )
        if len(streams) != len(plan.tiles):
            raise ValueError(f"{out_tif}: {len(plan.tiles)} tiles but {len(streams)} stream tiles")
        disagree = np.zeros(grid.shape, dtype=np.uint8)
        confidence = np.full(grid.shape, UNCERTAINTY_NODATA, dtype=np.uint8)
        for tile, path in zip(plan.tiles, streams):
            s2_code, gcn_code = read_stream_tile(path, grid, tile)
            block = disagree[tile.rows.start : tile.rows.stop, tile.cols.start : tile.cols.stop]
            block[...] = s2_code != gcn_code
    codes = np.zeros(grid.shape, dtype=np.uint8)
    map_tags: dict[str, Any] = {
        **{k: v for k, v in (settings or {}).items() if k in SETTING_TAGS or v != ""},
        **dict(source_tags or {}),
        "smooth_sigma_m": float(smooth_sigma_m),
        "tile_windows": plan.tile_windows,
        "nodata": "0 = no window classified here",
        "pixel": "class of the window centred on the pixel"
        + (
            f" (class probabilities Gaussian-filtered, sigma {float(smooth_sigma_m):g} m)" if sigma_px else ""
        ),
    }
    with map_rasters(out_tif, grid, map_tags, probabilities, probabilities_path, uncertainty_path) as rasters:
        for window, p in smoothed_blocks(out_vrt, sigma_px):
            block = class_codes(p, NODATA)
            r0, c0 = int(window.row_off), int(window.col_off)
            rows, cols = slice(r0, r0 + block.shape[0]), slice(c0, c0 + block.shape[1])
            bands = unc = None
            if probabilities != "none":
                bands = (
                    all17_bands(p, PROBABILITY_NODATA)
                    if probabilities == "all17"
                    else top2_bands(p, TOP2_NODATA)
                )
            if disagree is not None and confidence is not None:
                unc = uncertainty_bands(p, disagree[rows, cols], UNCERTAINTY_NODATA)
                confidence[rows, cols] = unc[0]
            rasters.write(window, block, bands, unc)
            codes[rows, cols] = block
    write_lcz_qml(out_qml)
    n_mapped = int((codes != NODATA).sum())
    if n_mapped == 0:
        log.warning("no window could be classified; the map holds nodata only")
    plot_lcz_map(codes, grid, out_png, title)
    if uncertainty_png is not None and confidence is not None and disagree is not None:
        mapped = codes != NODATA
        share = float((disagree[mapped] == 1).mean()) if mapped.any() else 0.0
        plot_uncertainty(
            confidence,
            grid,
            uncertainty_png,
            f"{title}: probability of the map's class" if title else None,
            f"the Sentinel-2 and GCN streams disagree on {100 * share:.1f}% of the mapped pixels",
        )
    tables = []
    if labels is not None:
        tables.append(
            agreement_table(codes, polygon_reference(labels, grid, label_column, label_map or {}), "polygons")
        )
    if truth is not None:
        tables.append(agreement_table(codes, truth_reference(truth, grid), "truth"))
    agreement = (
        pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=list(AGREEMENT_COLUMNS))
    )
    write_agreement(out_agreement, agreement)
    for t in tables:
        overall = t.iloc[0]
        log.info(
            "agreement with %s: %.3f over %d pixel(s) (%d reference pixel(s) unmapped)",
            overall["reference"],
            overall["agreement"],
            overall["n_pixels"],
            overall["n_unmapped"],
        )
    log.info(
        "%s: %d of %d pixels classified (%d tile(s))",
        out_tif,
        n_mapped,
        grid.width * grid.height,
        len(plan.tiles),
    )
    return MapResult(
        grid=grid,
        n_windows=plan.n_windows,
        n_mapped=n_mapped,
        excluded=excluded,
        agreement=agreement,
        n_tiles=len(plan.tiles),
    )


def map_region(
    google: GoogleInput,
    sentinel2: PathLike,
    s2_model: PathLike,
    gcn_model: PathLike,
    out_tif: PathLike,
    out_png: PathLike,
    out_agreement: PathLike,
    *,
    working_crs: str | None,
    stride_m: float,
    alpha: float,
    segment_params: Mapping[str, Any],
    graph_params: Mapping[str, Any],
    google_params: Mapping[str, Any],
    sentinel2_params: Mapping[str, Any],
    band_names: Sequence[str] | None,
    s2_scale: float | None = None,
    s2_offset: float | Sequence[float] | None = None,
    label_column: str,
    label_map: Mapping[str, int] | None,
    device: str,
    batch_size: int,
    checkpoint: PathLike | None = None,
    labels: PathLike | None = None,
    truth: PathLike | None = None,
    title: str | None = None,
    tile_windows: int | None = None,
    smooth_sigma_m: float = 0.0,
    probabilities: str = "none",
    tile_dir: PathLike | None = None,
    uncertainty: bool = False,
    fusion: FusionSetting | None = None,
) -> MapResult:
    """Map a region in one process: plan, every tile, gather (what the three map rules do in turn).

    Args:
        google: Google Earth input of the region (uint8 RGB, any CRS; a path, or a spec in any form
            :mod:`df4lcz.chipping.google.sources` opens).
        sentinel2: Sentinel-2 input(s): multi-band raster, band folder, .SAFE product, or a list.
        s2_model: trained Sentinel-2 model file (``results/models/{strategy}/resnet11_3d.pt``).
        gcn_model: trained GCN model file.
        out_tif, out_png, out_agreement: outputs (written atomically). Beside ``out_tif`` (stem
            ``S``): ``S.qml``, ``S_tiles.vrt``, ``S_probabilities.tif`` (unless ``probabilities`` is
            ``none``) and the tiles in ``tile_dir`` (default ``S_tiles/``).
        working_crs: CRS of the map (``regions[].working_crs``; ``None``: the Sentinel-2 CRS).
        stride_m: output pixel size = step between window centres (m) (``map.stride_m``).
        alpha: weight of the Sentinel-2 stream in the fusion.
        segment_params: the ``segment`` config slice (``backend``, ``min_area``, ``max_masks`` and
            the backend's section), as given to the segment rule.
        graph_params: the ``graphs`` config section (``features``, ``edge_rule``, …).
        google_params: the ``google`` config section (``chip_px``, ``resampling``).
        sentinel2_params: the ``sentinel2`` config section (``resampling``, ``max_cloud_fraction``).
        band_names: band names of a Sentinel-2 file without descriptions (``regions[].s2_band_names``).
        s2_scale, s2_offset: ``regions[].s2_scale`` / ``s2_offset``.
        label_column, label_map: as ``regions[].label_column`` / ``label_map``.
        device: torch device for the models (``auto``, ``cpu``, ``cuda``…).
        batch_size: windows processed together (bounds memory) (``map.batch_size``).
        checkpoint: SAM checkpoint (``sam`` backend only).
        labels: labelled polygons of the region, for the agreement table (optional).
        truth: raster of true LCZ codes (e.g. the demo's ``lcz_truth.tif``), optional.
        title: title of the preview.
        tile_windows: about this many windows per tile (``map.tile_windows``); ``None``: one tile.
        smooth_sigma_m, probabilities: as :func:`gather_map`.
        tile_dir: folder of the tile files.
        uncertainty: also write the uncertainty COG and its preview (``map.uncertainty``).
        fusion: the fused model (``map.fusion`` other than ``df4lcz``,
            :func:`df4lcz.evaluation.fusion.fusion_setting`): its α and temperatures replace ``alpha``.

    Returns:
        A :class:`MapResult`.

    Raises:
        FileNotFoundError: an input is missing.
        ValueError: bad settings, rasters that do not overlap, an overlap smaller than one window,
            models of the wrong kind, or a GCN trained on other node features than ``graph_params``.
    """
    check_batch_size(batch_size)
    if fusion is not None:
        alpha = fusion.alpha
    if probabilities not in PROBABILITY_PRODUCTS:
        raise ConfigError(f"map.probabilities: {probabilities!r} must be one of {list(PROBABILITY_PRODUCTS)}")
    sigma_pixels(float(smooth_sigma_m), float(stride_m) if stride_m else 1.0)
    plan = plan_map(
        google, sentinel2, None, stride_m=stride_m, working_crs=working_crs, tile_windows=tile_windows
    )
    out = Path(out_tif)
    folder = Path(tile_dir) if tile_dir is not None else out.with_name(f"{out.stem}_tiles")
    tile_paths = [folder / f"{t.id}.tif" for t in plan.tiles]
    with window_classifier(
        google,
        sentinel2,
        s2_model,
        gcn_model,
        alpha=alpha,
        segment_params=segment_params,
        graph_params=graph_params,
        google_params=google_params,
        sentinel2_params=sentinel2_params,
        band_names=band_names,
        s2_scale=s2_scale,
        s2_offset=s2_offset,
        device=device,
        checkpoint=checkpoint,
        temperatures=fusion.temperatures if fusion is not None else None,
    ) as classifier:
        folder.mkdir(parents=True, exist_ok=True)
        tags = settings_tags(plan.grid, alpha, s2_model, gcn_model, segment_params, fusion)
        for tile, path in zip(plan.tiles, tile_paths):
            streams = stream_tile_path(path) if uncertainty else None
            classify_tile(plan, tile, classifier, path, batch_size, tags, streams)
    return gather_map(
        plan,
        tile_paths,
        out.with_name(f"{out.stem}_tiles.vrt"),
        out_tif,
        out_png,
        out_agreement,
        out.with_suffix(".qml"),
        probabilities_path=out.with_name(f"{out.stem}_probabilities.tif")
        if probabilities != "none"
        else None,
        smooth_sigma_m=smooth_sigma_m,
        probabilities=probabilities,
        label_column=label_column,
        label_map=label_map,
        labels=labels,
        truth=truth,
        title=title,
        uncertainty_path=out.with_name(f"{out.stem}_uncertainty.tif") if uncertainty else None,
        uncertainty_png=out.with_name(f"{out.stem}_uncertainty.png") if uncertainty else None,
    )
