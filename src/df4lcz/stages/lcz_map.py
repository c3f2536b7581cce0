"""Stage of rule ``lcz_map``: the wall-to-wall LCZ map of one region (docs/contracts.md §12).

:func:`map_region` runs the whole map from files: the grid (:mod:`df4lcz.mapping.grid`), batches
of windows classified by both streams and the fusion (:mod:`df4lcz.mapping.inference`), the
GeoTIFF, preview and agreement CSV (:mod:`df4lcz.mapping.outputs`, :mod:`df4lcz.mapping.agreement`).
Memory holds the output array plus one batch, whatever the region's size.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..chipping.google_sources import GoogleInput, GoogleSpec, resolve_google
from ..chipping.sentinel2.scenes import Sentinel2Scenes
from ..constants import N_CLASSES
from ..devices import resolve_device
from ..evaluation.fusion import fuse_probabilities
from ..graphs.build import graph_settings
from ..logs import progress
from ..mapping.agreement import agreement_table, polygon_reference, truth_reference
from ..mapping.grid import MapGrid, candidate_batches, candidate_rows, map_grid
from ..mapping.inference import WindowClassifier, load_map_model, log, quiet_stage_logs
from ..mapping.outputs import AGREEMENT_COLUMNS, NODATA, plot_lcz_map, write_agreement, write_lcz_geotiff
from ..scripting import Job
from ..segmentation.protocol import make_segmenter

PathLike = str | os.PathLike


def run(job: Job) -> None:
    """Map the region of ``job.params["region"]`` with the models of ``job.input``."""
    region, params = job.params["region"], job.params
    map_region(
        GoogleSpec.from_params(params["google_input"]), region["sentinel2"], job.input.s2_model, job.input.gcn_model,
        job.output.tif, job.output.png, job.output.agreement,
        working_crs=region["working_crs"], stride_m=params["map"]["stride_m"], alpha=params["alpha"],
        segment_params=params["segment"], graph_params=params["graphs"],
        google_params=params["google"], sentinel2_params=params["sentinel2"],
        band_names=region["s2_band_names"], s2_scale=region["s2_scale"], s2_offset=region["s2_offset"],
        label_column=region["label_column"], label_map=region["label_map"],
        device=params["device"], batch_size=params["map"]["batch_size"],
        checkpoint=job.input.checkpoint[0] if len(job.input.checkpoint) else None,
        labels=_optional(job.input.labels), truth=job.input.truth[0] if len(job.input.truth) else None,
        title=f"{region['name']}: LCZ map (DF4LCZ fusion, α = {params['alpha']:g})",
    )


def _optional(files: Any) -> str | None:
    """A named input that is one file or an empty list (a region without labels)."""
    if isinstance(files, (str, os.PathLike)):
        return str(files)
    return str(files[0]) if len(files) else None


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
) -> MapResult:
    """Classify every window of a region and write the LCZ GeoTIFF, its PNG preview and agreement CSV.

    Args:
        google: Google Earth input of the region (uint8 RGB, any CRS; a path, or a spec in any form
            :mod:`df4lcz.chipping.google_sources` opens).
        sentinel2: Sentinel-2 input(s): multi-band raster, band folder, .SAFE product, or a list.
        s2_model: trained Sentinel-2 model file (``results/models/{strategy}/resnet11_3d.pt``).
        gcn_model: trained GCN model file.
        out_tif, out_png, out_agreement: outputs (written atomically).
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
    seg, gg, sp = dict(segment_params), dict(google_params), dict(sentinel2_params)
    google = resolve_google(google)  # located once; every batch reopens the same mosaic
    grid, coverage = map_grid(google, sentinel2, stride_m, working_crs)
    dev = resolve_device(device)
    s2_loaded = load_map_model(s2_model, "s2", dev)
    gcn_loaded = load_map_model(gcn_model, "gcn", dev)
    graph_kwargs = graph_settings(dict(graph_params))
    features = graph_kwargs["features"]
    trained_on = [str(f) for f in gcn_loaded.meta.get("feature_names", [])]
    if trained_on != features:
        raise ValueError(f"{gcn_model}: the GCN was trained on node features {trained_on}, but graph_params "
                         f"asks for {features}; map with the graphs settings the model was trained with")
    n_windows = sum(len(flat) for flat in candidate_rows(grid, coverage))
    if n_windows == 0:
        left, bottom, right, top = coverage.bounds
        raise ValueError(f"no {grid.window_m:g} m window fits inside the overlap of {google} and {sentinel2} "
                         f"({right - left:.0f} m × {top - bottom:.0f} m in {grid.crs})")
    log.info("map of %d × %d pixels of %g m (%s): %d windows of %g m inside both rasters, batches of %d",
             grid.width, grid.height, grid.stride_m, grid.crs, n_windows, grid.window_m, batch_size)
    codes = np.zeros(grid.shape, dtype=np.uint8)
    flat_codes = codes.reshape(-1)
    segmenter = make_segmenter(seg["backend"], sam=seg.get("sam"), classical=seg.get("classical"),
                               checkpoint=checkpoint)
    with Sentinel2Scenes(sentinel2, float(sp["max_cloud_fraction"]), band_names, s2_scale, s2_offset) as source:
        pipeline = WindowClassifier(
            google=google, s2_source=source, segmenter=segmenter, s2_model=s2_loaded, gcn_model=gcn_loaded,
            device=dev, alpha=float(alpha), google_chip_px=int(gg["chip_px"]),
            google_resampling=str(gg["resampling"]),
            s2_resampling=str(sp["resampling"]),
            min_area=int(seg["min_area"]), max_masks=int(seg["max_masks"]),
            graph_kwargs=graph_kwargs,
        )
        n_batches = math.ceil(n_windows / batch_size)
        with quiet_stage_logs():
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
            "segment_backend": seg["backend"], "nodata": "0 = no window classified here",
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
    write_agreement(out_agreement, agreement)
    for t in tables:
        overall = t.iloc[0]
        log.info("agreement with %s: %.3f over %d pixel(s) (%d reference pixel(s) unmapped)", overall["reference"],
                 overall["agreement"], overall["n_pixels"], overall["n_unmapped"])
    log.info("%s: %d of %d pixels classified", out_tif, n_mapped, grid.width * grid.height)
    return MapResult(grid=grid, n_windows=n_windows, n_mapped=n_mapped, excluded=dict(pipeline.excluded),
                     agreement=agreement)
