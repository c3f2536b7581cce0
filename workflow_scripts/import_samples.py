"""Checkpoint samples of an imported dataset (lczc_ges2 or so2sat): the sample table and its shards."""

import _bootstrap  # noqa: F401  (makes df4lcz importable when not installed)

from df4lcz.atomic import atomic_path
from df4lcz.importers import scan_lczc_ges2, so2sat_samples, write_samples_table
from df4lcz.logs import get_logger, setup_logging
from df4lcz.scripting import load_job

job = load_job(globals().get("snakemake"))
setup_logging(job.log[0])
files, shard_size = job.params["files"], job.params["shard_size"]
if job.params["dataset"] == "lczc_ges2":
    samples = write_samples_table(scan_lczc_ges2(files["root"]), job.output.table, shard_size)
else:
    samples = so2sat_samples(files, job.output.table, shard_size)
counts = samples.groupby("lcz").size().rename("samples").reset_index()
get_logger("samples").info("%d samples in %d shards\n%s", len(samples), samples["shard"].nunique(),
                           counts.to_string(index=False))
with atomic_path(job.output.summary) as tmp:
    counts.to_csv(tmp, index=False)
