"""Stage of rule ``lcz_map_tile`` (docs/contracts.md §12): the class probabilities of one map tile.

:func:`run` reads the job and calls :func:`df4lcz.mapping.classify.map_tile`.
"""

from __future__ import annotations

from ..chipping.google.sources import GoogleSpec
from ..evaluation.fusion import read_fusion_setting
from ..mapping.classify import map_tile
from ..mapping.tiles import read_plan
from ..scripting import Job


def run(job: Job) -> None:
    """Rule ``lcz_map_tile``: the probabilities of tile ``job.wildcards["tile"]``."""
    region, params = job.params["region"], job.params
    plan = read_plan(job.input.plan)
    map_tile(
        plan,
        plan.tile(job.wildcards["tile"]),
        GoogleSpec.from_params(params["google_input"]),
        region["sentinel2"],
        job.input.s2_model,
        job.input.gcn_model,
        job.output.tile,
        alpha=params["alpha"],
        segment_params=params["segment"],
        graph_params=params["graphs"],
        google_params=params["google"],
        sentinel2_params=params["sentinel2"],
        band_names=region["s2_band_names"],
        s2_scale=region["s2_scale"],
        s2_offset=region["s2_offset"],
        device=params["device"],
        batch_size=params["map"]["batch_size"],
        checkpoint=job.input.checkpoint[0] if len(job.input.checkpoint) else None,
        fusion=read_fusion_setting(getattr(job.input, "fusion", None), job.params.get("fusion")),
        out_streams=getattr(job.output, "streams", None),
    )
