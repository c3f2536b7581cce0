"""Rule train: fit one stream model for one split strategy. Logic: df4lcz.stages.train."""

import _bootstrap  # noqa: F401  (makes df4lcz importable when not installed)

from df4lcz.scripting import run_stage
from df4lcz.stages import train

run_stage(train.run, globals().get("snakemake"))
