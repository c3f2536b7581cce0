"""Stage of rule ``chip_sentinel2``: the Sentinel-2 chips of one shard (docs/contracts.md §3)."""

from __future__ import annotations

import json

from ..chipping.sentinel2.scenes import chip_scenes
from ..io.chips import write_chips
from ..io.samples import read_samples
from ..logs import get_logger
from ..scripting import Job

log = get_logger("chip_sentinel2")


def run(job: Job) -> None:
    """Cut the Sentinel-2 chip of every sample square of shard ``job.wildcards["shard"]``."""
    shard = read_samples(job.input.samples, shard=int(job.wildcards["shard"]))
    region = job.params["region"]
    settings = job.params["sentinel2"]
    scenes = chip_scenes(region["sentinel2"], shard, working_crs=None, resampling=settings["resampling"],
                         max_cloud_fraction=settings["max_cloud_fraction"], band_names=region["s2_band_names"],
                         scale=region["s2_scale"], offset=region["s2_offset"])
    for row in scenes.excluded.itertuples():
        log.warning("sample %d excluded: %s", row.sample_id, row.reason)
    log.info("shard %s: %d chips, %d excluded", job.wildcards["shard"], len(scenes.sample_ids), len(scenes.excluded))
    first = scenes.inputs[0]
    attrs = {"source": job.input.raster if isinstance(job.input.raster, str) else list(job.input.raster)}
    if len(scenes.inputs) == 1:
        attrs.update({k: first[k] for k in ("reflectance_scale", "reflectance_offset", "radiometry")})
    else:  # per-input radiometry lives in s2_inputs; the shared attrs say so
        same = all(i["reflectance_offset"] == first["reflectance_offset"]
                   and i["reflectance_scale"] == first["reflectance_scale"] for i in scenes.inputs)
        attrs.update(reflectance_scale=first["reflectance_scale"] if same else float("nan"),
                     reflectance_offset=first["reflectance_offset"] if same else [float("nan")] * 10,
                     radiometry=first["radiometry"] if same else "per input, see s2_inputs")
    attrs["s2_inputs"] = json.dumps(scenes.inputs)
    write_chips(job.output.chips, "sentinel2", scenes.sample_ids, scenes.images, scenes.excluded, attrs=attrs,
                per_sample={"s2_input": scenes.source_index, "cloud_fraction": scenes.cloud_fraction})
