"""Rule sam_checkpoint: download an official SAM checkpoint and verify its sha256. Logic: df4lcz.stages.sam_checkpoint."""

import _bootstrap  # noqa: F401  (makes df4lcz importable when not installed)

from df4lcz.scripting import run_stage
from df4lcz.stages import sam_checkpoint

run_stage(sam_checkpoint.run, globals().get("snakemake"))
