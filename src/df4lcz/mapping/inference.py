"""Classification of map windows: both chippers, segmentation, graphs, both models and the fusion.

Each batch of windows goes through the same functions as the sample pipeline: the Google chip
(:func:`df4lcz.chipping.google.chips.chip_google`) and the Sentinel-2 chip
(:meth:`df4lcz.chipping.sentinel2.Sentinel2Source.chip`) are cut from a sample table of the windows
(:func:`df4lcz.mapping.grid.window_table`); the Google chips are segmented
(:func:`df4lcz.segmentation.labels.segment_images`) and turned into graphs
(:func:`df4lcz.graphs.build.build_graphs`); the two models predict (:func:`df4lcz.training.predict_s2`,
:func:`df4lcz.training.predict_gcn`) and the probabilities are fused,
``P = α·P_S2 + (1 − α)·P_GCN`` (:func:`df4lcz.evaluation.fusion.fuse_probabilities`), argmax → LCZ code.
With ``temperatures`` (``map.fusion`` a calibrated fused model) each stream is first scaled,
``softmax(log p / T)``, as the evaluation did (:class:`df4lcz.evaluation.fusion.FusionSetting`).

While batches run, :func:`quiet_stage_logs` mutes the INFO records of the stage functions (their
per-call progress bars); the map logs one progress bar over the batches, and warnings still show.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..chipping.google.chips import chip_google
from ..chipping.google.sources import GoogleInput
from ..constants import N_CLASSES
from ..errors import ContractError
from ..evaluation.fusion import FusionSetting
from ..graphs.build import build_graphs
from ..graphs.pyg import graphs_to_pyg
from ..logs import LOGGER_NAME, get_logger
from ..segmentation.labels import segment_images
from ..training import LoadedModel, load_model, predict_gcn, predict_s2
from .grid import MapGrid, window_table

#: The map's logger (one name for the whole map, as its log lines have always carried).
log = get_logger("lczmap")

PathLike = str | os.PathLike


@dataclass
class WindowClassifier:
    """Classifies batches of map windows; everything a batch needs, opened or loaded once.

    ``excluded`` counts the windows the chippers excluded, by ``"stream: reason"``; ``temperatures``
    ``(T_s2, T_gcn)`` scale the streams before the fusion (``None``: the raw probabilities).
    """

    google: GoogleInput
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
    temperatures: tuple[float, float] | None = None
    excluded: dict[str, int] = field(default_factory=dict)

    def count(self, stream: str, reasons: pd.Series) -> None:
        """Add the exclusion ``reasons`` of one chipper (``stream``) to :attr:`excluded`."""
        for reason in reasons.astype(str):
            key = f"{stream}: {reason.split(':')[0]}"
            self.excluded[key] = self.excluded.get(key, 0) + 1

    def stream_probabilities(
        self, grid: MapGrid, flat: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(ids, P_S2, P_GCN)``: the windows of ``flat`` both chippers kept and each stream's class
        probabilities (``(len(ids), 17)`` float, column ``k`` = LCZ code ``k + 1``; not temperature-scaled)."""
        table = window_table(grid, flat)
        g_ids, g_img, g_exc = chip_google(
            self.google, table, chip_px=self.google_chip_px, resampling=self.google_resampling
        )
        scenes = self.s2_source.chip(table, working_crs=grid.crs, resampling=self.s2_resampling)
        s_ids, s_img, s_exc = scenes.sample_ids, scenes.images, scenes.excluded
        self.count("google", g_exc["reason"])
        self.count("sentinel2", s_exc["reason"])
        g_keep, s_keep = np.isin(g_ids, s_ids), np.isin(s_ids, g_ids)
        ids = g_ids[g_keep]  # both chippers keep input order, so the common ids line up
        if len(ids) == 0:
            empty = np.zeros((0, N_CLASSES), dtype=np.float64)
            return ids, empty, empty.copy()
        images = g_img[g_keep]
        maskset = segment_images(images, self.segmenter, self.min_area, self.max_masks)
        graphset = build_graphs(maskset, images, **self.graph_kwargs)
        graphs = graphs_to_pyg(graphset, np.ones(len(ids), dtype=np.int64), ids)
        p_gcn = predict_gcn(self.gcn_model, graphs, device=self.device)
        p_s2 = predict_s2(self.s2_model, s_img[s_keep], ids, device=self.device)
        return ids, p_s2, p_gcn

    def fuse(self, p_s2: np.ndarray, p_gcn: np.ndarray) -> np.ndarray:
        """The fused ``(N, 17)`` float64 probabilities of the streams' (scaled with :attr:`temperatures`)."""
        return FusionSetting("", self.alpha, self.temperatures).fuse(p_s2, p_gcn)

    def windows(self, grid: MapGrid, flat: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(ids, P, codes)``: the kept windows, their fused probabilities and ``(2, len(ids))`` uint8
        LCZ codes of each stream's most probable class (row 0 Sentinel-2, row 1 GCN; first on ties)."""
        ids, p_s2, p_gcn = self.stream_probabilities(grid, flat)
        codes = np.stack([np.asarray(p_s2).argmax(axis=1), np.asarray(p_gcn).argmax(axis=1)]) + 1
        return ids, self.fuse(p_s2, p_gcn), codes.astype(np.uint8).reshape(2, len(ids))

    def probabilities(self, grid: MapGrid, flat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(ids, P)``: the windows of ``flat`` both chippers kept and their fused class probabilities.

        ``P`` is ``(len(ids), 17)`` float64, column ``k`` = LCZ code ``k + 1``.
        """
        ids, p_s2, p_gcn = self.stream_probabilities(grid, flat)
        return ids, self.fuse(p_s2, p_gcn)

    def classify(self, grid: MapGrid, flat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(ids, codes)``: the windows of ``flat`` both chippers kept and their fused LCZ codes (uint8)."""
        ids, fused = self.probabilities(grid, flat)
        return ids, (fused.argmax(axis=1) + 1).astype(np.uint8)


@contextlib.contextmanager
def quiet_stage_logs() -> Iterator[None]:
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


def load_map_model(path: PathLike, kind: str, device: Any) -> LoadedModel:
    """The model file ``path``, checked to hold a ``kind`` (``"s2"`` or ``"gcn"``) model."""
    loaded = load_model(path, device=device)
    if loaded.kind != kind:
        what = "a Sentinel-2 model" if kind == "s2" else "the GCN"
        raise ContractError(f"{path}: holds a {loaded.kind!r} model; expected {what}")
    return loaded
