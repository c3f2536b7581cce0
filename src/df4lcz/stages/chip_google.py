"""Stage of rule ``chip_google``: the Google chips of one shard (docs/contracts.md §2)."""

from __future__ import annotations

from ..chipping.google.chips import chip_google
from ..chipping.google.sources import GoogleSpec
from ..io.chips import write_chips
from ..io.samples import read_samples
from ..logs import get_logger
from ..scripting import Job

log = get_logger("chip_google")


def run(job: Job) -> None:
    """Resample the region's Google input onto every sample square of shard ``job.wildcards["shard"]``.

    The input is ``job.params["google_input"]`` (a :class:`GoogleSpec` as params); ``job.input.raster``
    lists the same files for Snakemake.
    """
    shard = read_samples(job.input.samples, shard=int(job.wildcards["shard"]))
    cfg = job.params["google"]
    google = GoogleSpec.from_params(job.params["google_input"])
    ids, images, excluded = chip_google(google, shard, chip_px=cfg["chip_px"], resampling=cfg["resampling"])
    for row in excluded.itertuples():
        log.warning("sample %d excluded: %s", row.sample_id, row.reason)
    log.info("shard %s: %d chips, %d excluded", job.wildcards["shard"], len(ids), len(excluded))
    write_chips(job.output.chips, "google", ids, images, excluded, attrs={"source": str(google)})
