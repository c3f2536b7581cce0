"""Rule import_sentinel2: one shard of Sentinel-2 chips from the imported dataset's patches."""

import _bootstrap  # noqa: F401  (makes df4lcz importable when not installed)

from df4lcz.importers import import_s2_shard, import_so2sat_shard
from df4lcz.logs import setup_logging
from df4lcz.scripting import load_job

job = load_job(globals().get("snakemake"))
setup_logging(job.log[0])
shard = int(job.wildcards["shard"])
if job.params["dataset"] == "lczc_ges2":
    import_s2_shard(job.input.samples, shard, job.output.chips)
else:
    import_so2sat_shard(job.input.samples, shard, job.params["files"], job.output.chips)
