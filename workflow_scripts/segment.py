"""Rule segment: instance masks of every Google chip of one shard (SAM or classical). Logic: df4lcz.stages.segment."""

import _bootstrap  # noqa: F401  (makes df4lcz importable when not installed)

from df4lcz.scripting import run_stage
from df4lcz.stages import segment

run_stage(segment.run, globals().get("snakemake"))
