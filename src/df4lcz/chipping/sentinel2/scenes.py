"""Chipping from one or several Sentinel-2 inputs, with cloud fractions and the per-sample choice.

A region's ``sentinel2`` may list several inputs (MGRS tiles of one city, dates of one tile); a
STAC ItemCollection file counts as one input per item. Each sample square gets a **cloud/shadow fraction** from every input that carries a cloud mask (L2A SCL
classes :data:`~.products.SCL_CLOUD_CLASSES`, from a product or a STAC item's SCL asset; L1C
``MSK_CLASSI`` opaque clouds and cirrus), counted
over the mask pixels under the square that hold data. Then, per sample, deterministically:

1. the inputs are ranked by cloud fraction, lowest first (an input without a cloud mask counts as
   ``max_cloud_fraction``, i.e. acceptable but after any clearer one), ties broken by list order;
2. inputs whose fraction exceeds ``max_cloud_fraction`` are not used;
3. the sample is chipped from the first ranked input that covers it with valid pixels (an input
   whose square hits nodata or its edge passes the sample on to the next).

A sample no input can chip is excluded; if cloud ruled out an input that covers it, the reason is
``cloud: …`` with the clearest fraction, otherwise the first input's own reason.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import rasterio.errors
from rasterio.crs import CRS

from ...constants import S2_CHIP_PX
from ...errors import ConfigError, InputError
from ...logs import get_logger
from ..windows import square_windows
from .products import CLASSI_CLOUD_BANDS, SCL_CLOUD_CLASSES, SCL_NODATA
from .sources import Sentinel2Source, open_inputs
from .squares import resolve_working_crs
from .warp import DEFAULT_TILE_PX

log = get_logger("sentinel2")


@dataclass
class ChippedScenes:
    """Chips cut from one or several inputs.

    Attributes:
        sample_ids: (N,) int64 chipped samples, in input order.
        images: (N, H, W, 10) float32 reflectance.
        excluded: ``sample_id``, ``reason`` of the samples not chipped.
        source_index: (N,) int16, the input (position in the list) each chip comes from.
        cloud_fraction: (N,) float32 cloud/shadow fraction of the chosen input (NaN: no cloud mask).
        inputs: per input, what was used (path, product, level, baseline, radiometry) for attrs/report.
    """

    sample_ids: np.ndarray
    images: np.ndarray
    excluded: pd.DataFrame
    source_index: np.ndarray
    cloud_fraction: np.ndarray
    inputs: list[dict]

    def attrs(self) -> dict[str, Any]:
        """The chips-file attrs that record the radiometry (docs/contracts.md §3).

        One input: its ``reflectance_scale``, ``reflectance_offset``, ``radiometry``; several: those
        when all inputs share them, else NaN and ``"per input, see s2_inputs"``; always ``s2_inputs``.
        """
        first = self.inputs[0]
        same = all(
            i["reflectance_scale"] == first["reflectance_scale"]
            and i["reflectance_offset"] == first["reflectance_offset"]
            for i in self.inputs
        )
        if same:
            out = {k: first[k] for k in ("reflectance_scale", "reflectance_offset")}
            out["radiometry"] = (
                first["radiometry"]
                if len(self.inputs) == 1
                else "; ".join(dict.fromkeys(i["radiometry"] for i in self.inputs))
            )
        else:
            out = {
                "reflectance_scale": float("nan"),
                "reflectance_offset": [float("nan")] * len(first["reflectance_offset"]),
                "radiometry": "per input, see s2_inputs",
            }
        out["s2_inputs"] = json.dumps(self.inputs)
        return out

    def per_sample(self) -> dict[str, np.ndarray]:
        """The per-sample datasets of the chips file (``s2_input``, ``cloud_fraction``)."""
        return {"s2_input": self.source_index, "cloud_fraction": self.cloud_fraction}


def describe_source(source: Sentinel2Source) -> dict:
    """What one input is, for the chips attrs and the report."""
    out = {"path": str(source.path), "form": source.form}
    if source.product is not None:
        meta = source.product.metadata
        out.update(
            product=source.product.name,
            level=meta.level,
            baseline=meta.baseline,
            cloud_mask=source.product.cloud_mask_kind or "none",
        )
    if source.stac is not None:
        item = source.stac
        out.update(
            item=item.item_id,
            collection=item.collection,
            layout=item.layout,
            baseline=str(item.properties.get("s2:processing_baseline", "")),
            cloud_mask=item.cloud_mask_kind or "none",
        )
        if "earthsearch:boa_offset_applied" in item.properties:
            out["earthsearch:boa_offset_applied"] = item.properties["earthsearch:boa_offset_applied"]
    out.update(source.radiometry.attrs())
    return out


def cloud_fractions(source: Sentinel2Source, bounds: np.ndarray, crs: CRS) -> np.ndarray:
    """(N,) cloud/shadow fraction of each square ``bounds`` (N, 4) in ``crs``; NaN without a mask or data."""
    n = len(bounds)
    mask, kind = source.cloud_mask, source.cloud_mask_kind
    if mask is None:
        return np.full(n, np.nan)
    try:
        dataset = rasterio.open(mask)
    except rasterio.errors.RasterioIOError as exc:
        owner = source.stac.where if source.stac is not None else source.path
        raise InputError(f"{mask}: cloud mask of {owner} cannot be read ({exc})") from exc
    out = np.full(n, np.nan)
    with dataset:
        for i, window in enumerate(square_windows(dataset, crs, bounds)):
            if window is None:
                continue
            if kind == "scl":
                scl = dataset.read(1, window=window)
                valid = scl != SCL_NODATA
                cloudy = np.isin(scl, SCL_CLOUD_CLASSES) & valid
            else:
                bands = [b for b in CLASSI_CLOUD_BANDS if b <= dataset.count]
                masks = dataset.read(bands, window=window)
                valid = np.ones(masks.shape[1:], dtype=bool)
                cloudy = (masks > 0).any(0)
            if valid.any():
                out[i] = float(cloudy.sum()) / float(valid.sum())
    return out


class Sentinel2Scenes:
    """One or several opened Sentinel-2 inputs of a region; :meth:`chip` picks per sample (module docstring).

    Open once per job (or per map), chip any number of sample tables, close (or use ``with``).
    """

    def __init__(
        self,
        paths: str | os.PathLike | Sequence[str | os.PathLike],
        max_cloud_fraction: float,
        band_names: Sequence[str] | None = None,
        scale: float | None = None,
        offset: float | Sequence[float] | None = None,
    ) -> None:
        if not isinstance(paths, (str, os.PathLike)) and not list(paths):
            raise ConfigError("regions[].sentinel2: empty list; expected at least one Sentinel-2 input")
        if not 0.0 <= max_cloud_fraction <= 1.0:
            raise ConfigError(f"sentinel2.max_cloud_fraction: {max_cloud_fraction!r} must lie in [0, 1]")
        self.max_cloud_fraction = float(max_cloud_fraction)
        self.sources: list[Sentinel2Source] = open_inputs(paths, band_names, scale, offset)
        self.inputs = [describe_source(s) for s in self.sources]
        for source, described in zip(self.sources, self.inputs):
            log.info("%s: %s", source.stac.where if source.stac else source.path, described["radiometry"])
            if len(self.sources) > 1 and source.cloud_mask is None:
                log.warning(
                    "%s: no cloud mask; its squares rank as if %.2f cloudy among the %d inputs",
                    source.stac.where if source.stac else source.path,
                    self.max_cloud_fraction,
                    len(self.sources),
                )

    def close(self) -> None:
        """Close every input."""
        for source in self.sources:
            source.close()

    def __enter__(self) -> Sentinel2Scenes:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def chip(
        self,
        samples: pd.DataFrame,
        working_crs: str | None,
        resampling: str,
        chip_px: int = S2_CHIP_PX,
        tile_px: int = DEFAULT_TILE_PX,
    ) -> ChippedScenes:
        """Cut every sample's chip from the clearest input that covers it.

        Args:
            samples: sample table (``sample_id``, ``xmin, ymin, xmax, ymax``, ``crs``).
            working_crs: CRS of the squares (``None``: the ``crs`` column).
            resampling: ``sentinel2.resampling``.
            chip_px, tile_px: see :func:`~.sources.chip_sentinel2`.

        Raises:
            ValueError: as :func:`~.sources.chip_sentinel2`; an input overlapping no square is an
                error only when it is the only input.
        """
        sources, max_cloud = self.sources, self.max_cloud_fraction
        ids_all = samples["sample_id"].to_numpy(dtype=np.int64)
        n = len(ids_all)
        index = pd.Index(ids_all)
        bounds = samples[["xmin", "ymin", "xmax", "ymax"]].to_numpy(dtype=np.float64).reshape(-1, 4)
        crs = resolve_working_crs(samples, working_crs) if n else None
        clouds = (
            np.stack([cloud_fractions(s, bounds, crs) for s in sources]) if n else np.zeros((len(sources), 0))
        )
        rank_key = np.where(np.isnan(clouds), max_cloud, clouds)
        order = np.argsort(rank_key, axis=0, kind="stable")  # (K, N): k-th choice per sample
        images = np.zeros((n, chip_px, chip_px, 10), dtype=np.float32)
        done = np.zeros(n, dtype=bool)
        chosen = np.full(n, -1, dtype=np.int16)
        first_reason: list[str | None] = [None] * n
        for level in range(len(sources)):
            for k, source in enumerate(sources):
                pick = (~done) & (order[level] == k) & ~(clouds[k] > max_cloud)
                if not pick.any():
                    continue
                try:
                    got, chips, excluded = source.chip(
                        samples[pick], working_crs, resampling, chip_px, tile_px
                    )
                except InputError as exc:
                    if len(sources) == 1 or "does not overlap any" not in str(exc):
                        raise
                    got, chips = np.zeros(0, np.int64), None
                    excluded = pd.DataFrame(
                        {
                            "sample_id": ids_all[pick],
                            "reason": f"outside raster: square misses {source.name}",
                        }
                    )
                rows = index.get_indexer(got)
                if len(rows):
                    images[rows] = chips
                    done[rows], chosen[rows] = True, k
                for row, reason in zip(index.get_indexer(excluded["sample_id"]), excluded["reason"]):
                    if first_reason[row] is None:
                        first_reason[row] = str(reason)
        reasons = []
        for i in np.flatnonzero(~done):
            if (clouds[:, i] > max_cloud).any():
                k = int(np.nanargmin(clouds[:, i]))
                reasons.append(
                    f"cloud: cloud/shadow fraction {clouds[k, i]:.2f} above sentinel2.max_cloud_fraction "
                    f"{max_cloud:g} in {sources[k].name}"
                    + (f" (clearest of {len(sources)} inputs)" if len(sources) > 1 else "")
                )
            else:
                reasons.append(first_reason[i] or "outside raster: no input covers the square")
        keep = np.flatnonzero(done)
        return ChippedScenes(
            sample_ids=ids_all[keep],
            images=images[keep],
            excluded=pd.DataFrame({"sample_id": ids_all[~done], "reason": pd.Series(reasons, dtype=str)}),
            source_index=chosen[keep],
            cloud_fraction=np.array([clouds[chosen[i], i] for i in keep], dtype=np.float32),
            inputs=self.inputs,
        )


def chip_scenes(
    paths: str | os.PathLike | Sequence[str | os.PathLike],
    samples: pd.DataFrame,
    working_crs: str | None,
    resampling: str,
    max_cloud_fraction: float,
    band_names: Sequence[str] | None = None,
    scale: float | None = None,
    offset: float | Sequence[float] | None = None,
    chip_px: int = S2_CHIP_PX,
    tile_px: int = DEFAULT_TILE_PX,
) -> ChippedScenes:
    """Open ``paths`` as :class:`Sentinel2Scenes` and :meth:`~Sentinel2Scenes.chip` ``samples`` once.

    Args:
        paths: one input or a list (rasters, band folders, ``.SAFE`` folders or zips, STAC Item or
            ItemCollection JSON files: one input per item).
        max_cloud_fraction: ``sentinel2.max_cloud_fraction`` in [0, 1].
        band_names, scale, offset: ``regions[].s2_band_names`` / ``s2_scale`` / ``s2_offset``,
            applied to every input.
        samples, working_crs, resampling, chip_px, tile_px: see :meth:`Sentinel2Scenes.chip`.
    """
    with Sentinel2Scenes(paths, max_cloud_fraction, band_names, scale, offset) as scenes:
        return scenes.chip(samples, working_crs, resampling, chip_px, tile_px)
