"""Stage of rule ``chip_sentinel2``: the Sentinel-2 chips of one shard (docs/contracts.md §3)."""

from __future__ import annotations

from ..chipping.sentinel2 import chip_sentinel2
from ..io.chips import write_chips
from ..io.samples import read_samples
from ..logs import get_logger
from ..scripting import Job

log = get_logger("chip_sentinel2")


def run(job: Job) -> None:
    """Cut the Sentinel-2 chip of every sample square of shard ``job.wildcards["shard"]``."""
    shard = read_samples(job.input.samples, shard=int(job.wildcards["shard"]))
    ids, images, excluded = chip_sentinel2(job.input.raster, shard, working_crs=None,
                                           resampling=job.params["sentinel2"]["resampling"],
                                           band_names=job.params["band_names"])
    for row in excluded.itertuples():
        log.warning("sample %d excluded: %s", row.sample_id, row.reason)
    log.info("shard %s: %d chips, %d excluded", job.wildcards["shard"], len(ids), len(excluded))
    write_chips(job.output.chips, "sentinel2", ids, images, excluded, attrs={"source": job.input.raster})
