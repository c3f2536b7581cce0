"""Classification of map tiles: the library behind rule ``lcz_map_tile`` (docs/contracts.md §12).

:func:`map_tile` opens the models, the segmenter and the Sentinel-2 source once
(:func:`window_classifier`), classifies the tile's windows batch by batch with both streams and the
fusion (:mod:`df4lcz.mapping.inference`, :func:`classify_tile`) and writes the tile
(:func:`df4lcz.mapping.tiles.write_tile`) tagged with the map's settings (:data:`SETTING_TAGS`), which
the gather (:func:`df4lcz.mapping.region.gather_map`) checks are the same on every tile (with a
``map.fusion`` other than ``df4lcz`` also :data:`FUSION_TAGS`). With ``out_streams`` it also writes
the tile's stream tile (each stream's most probable LCZ, :func:`df4lcz.mapping.tiles.write_stream_tile`).
Memory holds one tile's probabilities (and 2 bytes per pixel of stream codes) plus one batch, whatever
the region's size.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..chipping.google.sources import GoogleInput
from ..chipping.sentinel2.scenes import Sentinel2Scenes
from ..constants import N_CLASSES
from ..devices import resolve_device
from ..errors import ContractError
from ..evaluation.fusion import FusionSetting, fuse_probabilities
from ..graphs.build import graph_settings
from ..logs import progress
from ..segmentation.protocol import make_segmenter
from .grid import MapGrid, candidate_batches
from .inference import WindowClassifier, load_map_model, log, quiet_stage_logs
from .tiles import MapTile, TilePlan, write_stream_tile, write_tile

PathLike = str | os.PathLike

#: Tile tags that record the settings of the map; every tile of a map must carry the same values.
SETTING_TAGS: tuple[str, ...] = ("stride_m", "window_m", "alpha", "s2_model", "gcn_model", "segment_backend")
#: Tile tags of a map whose fused model is not ``df4lcz`` (``map.fusion``): the fused model and, when it
#: is calibrated, the streams' temperatures. Absent on the tiles of a ``df4lcz`` map.
FUSION_TAGS: tuple[str, ...] = ("fusion", "T_s2", "T_gcn")


@contextlib.contextmanager
def window_classifier(
    google: GoogleInput,
    sentinel2: PathLike,
    s2_model: PathLike,
    gcn_model: PathLike,
    *,
    alpha: float,
    segment_params: Mapping[str, Any],
    graph_params: Mapping[str, Any],
    google_params: Mapping[str, Any],
    sentinel2_params: Mapping[str, Any],
    band_names: Sequence[str] | None,
    s2_scale: float | None,
    s2_offset: float | Sequence[float] | None,
    device: str,
    checkpoint: PathLike | None,
    temperatures: tuple[float, float] | None = None,
) -> Iterator[WindowClassifier]:
    """The models, segmenter and Sentinel-2 source of a map, checked and opened once.

    ``temperatures``: ``(T_s2, T_gcn)`` of a calibrated fused model (``map.fusion``), else ``None``.
    """
    fuse_probabilities(np.zeros((0, N_CLASSES)), np.zeros((0, N_CLASSES)), alpha)  # checks alpha
    if temperatures is not None:  # checks the temperatures
        FusionSetting("", alpha, temperatures).fuse(np.ones((1, N_CLASSES)), np.ones((1, N_CLASSES)))
    seg, gg, sp = dict(segment_params), dict(google_params), dict(sentinel2_params)
    dev = resolve_device(device, key="train.device")
    s2_loaded = load_map_model(s2_model, "s2", dev)
    gcn_loaded = load_map_model(gcn_model, "gcn", dev)
    graph_kwargs = graph_settings(dict(graph_params))
    features = graph_kwargs["features"]
    trained_on = [str(f) for f in gcn_loaded.meta.get("feature_names", [])]
    if trained_on != features:
        raise ContractError(
            f"{gcn_model}: the GCN was trained on node features {trained_on}, but graph_params "
            f"asks for {features}; map with the graphs settings the model was trained with"
        )
    segmenter = make_segmenter(
        seg["backend"], sam=seg.get("sam"), classical=seg.get("classical"), checkpoint=checkpoint
    )
    with Sentinel2Scenes(
        sentinel2, float(sp["max_cloud_fraction"]), band_names, s2_scale, s2_offset
    ) as source:
        yield WindowClassifier(
            google=str(google),
            s2_source=source,
            segmenter=segmenter,
            s2_model=s2_loaded,
            gcn_model=gcn_loaded,
            device=dev,
            alpha=float(alpha),
            google_chip_px=int(gg["chip_px"]),
            google_resampling=str(gg["resampling"]),
            s2_resampling=str(sp["resampling"]),
            min_area=int(seg["min_area"]),
            max_masks=int(seg["max_masks"]),
            graph_kwargs=graph_kwargs,
            temperatures=None if temperatures is None else (float(temperatures[0]), float(temperatures[1])),
        )


def check_batch_size(batch_size: int) -> None:
    """``ValueError`` unless ``batch_size`` (``map.batch_size``) is an integer ≥ 1."""
    if int(batch_size) != batch_size or batch_size < 1:
        raise ValueError(f"batch_size: {batch_size!r} must be an integer ≥ 1")


def classify_tile(
    plan: TilePlan,
    tile: MapTile,
    classifier: WindowClassifier,
    out_tile: PathLike,
    batch_size: int,
    tags: Mapping[str, Any],
    out_streams: PathLike | None = None,
) -> int:
    """Classify the windows of ``tile`` with ``classifier`` and write the tile (and, with ``out_streams``,
    its stream tile); return the pixels classified."""
    grid = plan.grid
    probs = np.full((N_CLASSES, tile.height, tile.width), np.nan, dtype=np.float32)
    streams = np.zeros((2, tile.height, tile.width), dtype=np.uint8) if out_streams is not None else None
    excluded_before = dict(classifier.excluded)
    n_batches = math.ceil(tile.n_windows / batch_size)
    with quiet_stage_logs():
        batches = candidate_batches(grid, plan.coverage, int(batch_size), tile.rows, tile.cols)
        for flat in progress(batches, desc=f"LCZ map tile {tile.id}", total=n_batches, logger=log):
            ids, fused, codes = classifier.windows(grid, flat)
            rows, cols = np.divmod(ids, grid.width)
            probs[:, rows - tile.row_off, cols - tile.col_off] = fused.T
            if streams is not None:
                streams[:, rows - tile.row_off, cols - tile.col_off] = codes
    excluded = {
        k: v - excluded_before.get(k, 0)
        for k, v in classifier.excluded.items()
        if v - excluded_before.get(k, 0)
    }
    n_classified = int(np.isfinite(probs[0]).sum())
    write_tile(
        out_tile,
        probs,
        grid,
        tile,
        {
            **tags,
            "n_windows": tile.n_windows,
            "n_classified": n_classified,
            "excluded": json.dumps(excluded, sort_keys=True),
        },
    )
    if streams is not None:
        assert out_streams is not None
        write_stream_tile(out_streams, streams, grid, tile)
    return n_classified


def map_tile(
    plan: TilePlan,
    tile: MapTile,
    google: GoogleInput,
    sentinel2: PathLike,
    s2_model: PathLike,
    gcn_model: PathLike,
    out_tile: PathLike,
    *,
    alpha: float,
    segment_params: Mapping[str, Any],
    graph_params: Mapping[str, Any],
    google_params: Mapping[str, Any],
    sentinel2_params: Mapping[str, Any],
    band_names: Sequence[str] | None,
    s2_scale: float | None = None,
    s2_offset: float | Sequence[float] | None = None,
    device: str,
    batch_size: int,
    checkpoint: PathLike | None = None,
    fusion: FusionSetting | None = None,
    out_streams: PathLike | None = None,
) -> int:
    """Classify the windows of one tile and write its probabilities (:func:`df4lcz.mapping.tiles.write_tile`).

    Arguments as :func:`df4lcz.mapping.region.map_region`; ``fusion`` (``map.fusion`` other than
    ``df4lcz``) replaces ``alpha``; ``out_streams``: also write the stream tile. Returns the number
    of pixels classified.
    """
    if fusion is not None:
        alpha = fusion.alpha
    check_batch_size(batch_size)
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
        n = classify_tile(
            plan,
            tile,
            classifier,
            out_tile,
            batch_size,
            settings_tags(plan.grid, alpha, s2_model, gcn_model, segment_params, fusion),
            out_streams,
        )
        if classifier.excluded:
            log.warning(
                "tile %s: %d window(s) excluded by the chippers: %s",
                tile.id,
                sum(classifier.excluded.values()),
                classifier.excluded,
            )
    return n


def settings_tags(
    grid: MapGrid,
    alpha: float,
    s2_model: PathLike,
    gcn_model: PathLike,
    segment_params: Mapping[str, Any],
    fusion: FusionSetting | None = None,
) -> dict[str, Any]:
    """The :data:`SETTING_TAGS` of a map, and its :data:`FUSION_TAGS` when ``fusion`` is given (its α
    then replaces ``alpha``)."""
    tags: dict[str, Any] = {
        "stride_m": grid.stride_m,
        "window_m": grid.window_m,
        "alpha": float(fusion.alpha if fusion is not None else alpha),
        "s2_model": Path(s2_model).name,
        "gcn_model": Path(gcn_model).name,
        "segment_backend": segment_params["backend"],
    }
    if fusion is not None:
        tags["fusion"] = fusion.model
        if fusion.temperatures is not None:
            tags["T_s2"], tags["T_gcn"] = (repr(float(t)) for t in fusion.temperatures)
    return tags
