"""Stages of the map rules (docs/contracts.md §12): the tile plan and the gathered map.

* rule ``lcz_map_plan`` (:func:`run_plan`): :func:`df4lcz.mapping.region.plan_map`;
* rule ``lcz_map_tile``, one tile's probabilities: :mod:`df4lcz.stages.lcz_map_tile`;
* rule ``lcz_map`` (:func:`run`): :func:`df4lcz.mapping.region.gather_map`.

Each reads the job and calls the library (:mod:`df4lcz.mapping.region`).
"""

from __future__ import annotations

import os
from typing import Any

from ..chipping.google.sources import GoogleSpec
from ..evaluation.fusion import read_fusion_setting
from ..mapping.region import gather_map, plan_map
from ..mapping.tiles import read_plan
from ..scripting import Job


def run_plan(job: Job) -> None:
    """Rule ``lcz_map_plan``: the tile plan of ``job.params["region"]``."""
    region, params = job.params["region"], job.params
    plan_map(
        GoogleSpec.from_params(params["google_input"]),
        region["sentinel2"],
        job.output.plan,
        stride_m=params["map"]["stride_m"],
        working_crs=region["working_crs"],
        tile_windows=params["map"]["tile_windows"],
    )


def run(job: Job) -> None:
    """Rule ``lcz_map``: gather the tiles of ``job.params["region"]`` into the map's files."""
    region, params = job.params["region"], job.params
    plan = read_plan(job.input.plan)
    fusion = read_fusion_setting(getattr(job.input, "fusion", None), params.get("fusion"))
    source, alpha = dict(params["source"]), params["alpha"]
    if fusion is not None:  # map.fusion: the model it names (recommended → the recommended one) and its α
        source["fusion"], alpha = fusion.model, fusion.alpha
    gather_map(
        plan,
        list(job.input.tiles),
        job.output.vrt,
        job.output.tif,
        job.output.png,
        job.output.agreement,
        job.output.qml,
        probabilities_path=getattr(job.output, "probabilities", None),
        smooth_sigma_m=params["map"]["smooth_sigma_m"],
        probabilities=params["map"]["probabilities"],
        label_column=region["label_column"],
        label_map=region["label_map"],
        labels=_optional(job.input.labels),
        truth=job.input.truth[0] if len(job.input.truth) else None,
        title=map_title(region["name"], alpha, source),
        source_tags=source,
        uncertainty_path=getattr(job.output, "uncertainty", None),
        uncertainty_png=getattr(job.output, "uncertainty_png", None),
        stream_paths=list(job.input.streams) if hasattr(job.input, "streams") else None,
    )


def map_title(region: str, alpha: float, source: dict[str, str]) -> str:
    """The preview's title: the region, the fused model, α and whose models (``map.strategy``)."""
    return f"{region}: LCZ map ({source['fusion']}, α = {alpha:g}; models of {source['strategy']})"


def _optional(files: Any) -> str | None:
    """A named input that is one file or an empty list (a region without labels)."""
    if isinstance(files, (str, os.PathLike)):
        return str(files)
    return str(files[0]) if len(files) else None
