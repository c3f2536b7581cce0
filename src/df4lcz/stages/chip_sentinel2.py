"""Stage of rule ``chip_sentinel2``: the Sentinel-2 chips of one shard (docs/contracts.md §3)."""

from __future__ import annotations

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
    scenes = chip_scenes(
        region["sentinel2"],
        shard,
        working_crs=None,
        resampling=settings["resampling"],
        max_cloud_fraction=settings["max_cloud_fraction"],
        band_names=region["s2_band_names"],
        scale=region["s2_scale"],
        offset=region["s2_offset"],
    )
    for row in scenes.excluded.itertuples():
        log.warning("sample %d excluded: %s", row.sample_id, row.reason)
    log.info(
        "shard %s: %d chips, %d excluded",
        job.wildcards["shard"],
        len(scenes.sample_ids),
        len(scenes.excluded),
    )
    source = job.input.raster if isinstance(job.input.raster, str) else list(job.input.raster)
    write_chips(
        job.output.chips,
        "sentinel2",
        scenes.sample_ids,
        scenes.images,
        scenes.excluded,
        attrs={"source": source, **scenes.attrs()},
        per_sample=scenes.per_sample(),
    )
