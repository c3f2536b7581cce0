"""Stage of rule ``chip_google``: the Google chips of one shard (docs/contracts.md §2)."""

from __future__ import annotations

from ..chipping.google import chip_google
from ..io.chips import write_chips
from ..io.samples import read_samples
from ..logs import get_logger
from ..scripting import Job

log = get_logger("chip_google")


def run(job: Job) -> None:
    """Resample ``job.input.raster`` onto every sample square of shard ``job.wildcards["shard"]``."""
    shard = read_samples(job.input.samples, shard=int(job.wildcards["shard"]))
    cfg = job.params["google"]
    ids, images, excluded = chip_google(job.input.raster, shard, chip_px=cfg["chip_px"], resampling=cfg["resampling"])
    for row in excluded.itertuples():
        log.warning("sample %d excluded: %s", row.sample_id, row.reason)
    log.info("shard %s: %d chips, %d excluded", job.wildcards["shard"], len(ids), len(excluded))
    write_chips(job.output.chips, "google", ids, images, excluded, attrs={"source": job.input.raster})
