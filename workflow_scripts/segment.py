"""Rule segment: instance masks of every Google chip of one shard (SAM or classical)."""

import _bootstrap  # noqa: F401  (makes df4lcz importable when not installed)

from df4lcz.segmentation import segment_shard_file
from df4lcz.logs import setup_logging
from df4lcz.scripting import load_job

job = load_job(globals().get("snakemake"))
setup_logging(job.log[0])
checkpoint = job.input.checkpoint[0] if len(job.input.checkpoint) else None
segment_shard_file(job.input.chips, job.input.samples, job.output.masks, job.output.overlay,
                   job.params["segment"], checkpoint=checkpoint)
