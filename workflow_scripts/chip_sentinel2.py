"""Rule chip_sentinel2: cut the Sentinel-2 chips of one shard."""

import _bootstrap  # noqa: F401  (makes df4lcz importable when not installed)

from df4lcz.logs import get_logger, setup_logging
from df4lcz.samples import read_samples
from df4lcz.scripting import load_job
from df4lcz.sentinel2 import chip_sentinel2, write_sentinel2_chips

job = load_job(globals().get("snakemake"))
setup_logging(job.log[0])
log = get_logger("chip_sentinel2")
shard = read_samples(job.input.samples, shard=int(job.wildcards["shard"]))
ids, images, excluded = chip_sentinel2(job.input.raster, shard, resampling=job.params["sentinel2"]["resampling"],
                                       band_names=job.params["band_names"])
for row in excluded.itertuples():
    log.warning("sample %d excluded: %s", row.sample_id, row.reason)
log.info("shard %s: %d chips, %d excluded", job.wildcards["shard"], len(ids), len(excluded))
write_sentinel2_chips(job.output.chips, ids, images, excluded, attrs={"source": job.input.raster})
