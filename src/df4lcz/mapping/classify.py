"""Classification of map tiles: the library behind rule ``lcz_map_tile`` (docs/contracts.md §12).

:func:`map_tile` opens the models, the segmenter and the Sentinel-2 source once
(:func:`window_classifier`), classifies the tile's windows batch by batch with both streams and the
fusion (:mod:`df4lcz.mapping.inference`, :func:`classify_tile`) and writes the tile
(:func:`df4lcz.mapping.tiles.write_tile`) tagged with the map's settings (:data:`SETTING_TAGS`), which
the gather (:func:`df4lcz.mapping.region.gather_map`) checks are the same on every tile. Memory holds
one tile's probabilities plus one batch, whatever the region's size.
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
from ..evaluation.fusion import fuse_probabilities
from ..graphs.build import graph_settings
from ..logs import progress
from ..segmentation.protocol import make_segmenter
from .grid import MapGrid, candidate_batches
from .inference import WindowClassifier, load_map_model, log, quiet_stage_logs
from .tiles import MapTile, TilePlan, write_tile

PathLike = str | os.PathLike

#: Tile tags that record the settings of the map; every tile of a map must carry the same values.
SETTING_TAGS: tuple[str, ...] = ("stride_m", "window_m", "alpha", "s2_model", "gcn_model", "segment_backend")


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
) -> Iterator[WindowClassifier]:
    """The models, segmenter and Sentinel-2 source of a map, checked and opened once."""
    fuse_probabilities(np.zeros((0, N_CLASSES)), np.zeros((0, N_CLASSES)), alpha)  # checks alpha
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
) -> int:
    """Classify the windows of ``tile`` with ``classifier`` and write the tile; return the pixels classified."""
    grid = plan.grid
    probs = np.full((N_CLASSES, tile.height, tile.width), np.nan, dtype=np.float32)
    excluded_before = dict(classifier.excluded)
    n_batches = math.ceil(tile.n_windows / batch_size)
    with quiet_stage_logs():
        batches = candidate_batches(grid, plan.coverage, int(batch_size), tile.rows, tile.cols)
        for flat in progress(batches, desc=f"LCZ map tile {tile.id}", total=n_batches, logger=log):
            ids, fused = classifier.probabilities(grid, flat)
            rows, cols = np.divmod(ids, grid.width)
            probs[:, rows - tile.row_off, cols - tile.col_off] = fused.T
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
) -> int:
    """Classify the windows of one tile and write its probabilities (:func:`df4lcz.mapping.tiles.write_tile`).

    Arguments as :func:`df4lcz.mapping.region.map_region`. Returns the number of pixels classified.
    """
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
    ) as classifier:
        n = classify_tile(
            plan,
            tile,
            classifier,
            out_tile,
            batch_size,
            settings_tags(plan.grid, alpha, s2_model, gcn_model, segment_params),
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
    grid: MapGrid, alpha: float, s2_model: PathLike, gcn_model: PathLike, segment_params: Mapping[str, Any]
) -> dict[str, Any]:
    """The :data:`SETTING_TAGS` of a map."""
    return {
        "stride_m": grid.stride_m,
        "window_m": grid.window_m,
        "alpha": float(alpha),
        "s2_model": Path(s2_model).name,
        "gcn_model": Path(gcn_model).name,
        "segment_backend": segment_params["backend"],
    }
