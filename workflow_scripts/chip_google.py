"""Rule chip_google: resample the Google mosaic onto each sample square of one shard."""

import _bootstrap  # noqa: F401  (makes df4lcz importable when not installed)

from df4lcz.google import chip_google, write_google_chips
from df4lcz.logs import get_logger, setup_logging
from df4lcz.samples import read_samples
from df4lcz.scripting import load_job

job = load_job(globals().get("snakemake"))
setup_logging(job.log[0])
log = get_logger("chip_google")
shard = read_samples(job.input.samples, shard=int(job.wildcards["shard"]))
cfg = job.params["google"]
ids, images, excluded = chip_google(job.input.raster, shard, chip_px=cfg["chip_px"], resampling=cfg["resampling"])
for row in excluded.itertuples():
    log.warning("sample %d excluded: %s", row.sample_id, row.reason)
log.info("shard %s: %d chips, %d excluded", job.wildcards["shard"], len(ids), len(excluded))
write_google_chips(job.output.chips, ids, images, excluded, attrs={"source": job.input.raster})
