"""Rule sam_checkpoint: download an official SAM checkpoint and verify its sha256."""

import _bootstrap  # noqa: F401  (makes df4lcz importable when not installed)

from df4lcz.logs import setup_logging
from df4lcz.sam_checkpoints import download_checkpoint
from df4lcz.scripting import load_job

job = load_job(globals().get("snakemake"))
setup_logging(job.log[0])
download_checkpoint(job.params["model_type"], job.output.checkpoint)
