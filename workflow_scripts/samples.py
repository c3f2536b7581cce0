"""Rule samples: lay 320 m squares in the polygons, number and shard them (a checkpoint). Logic: df4lcz.stages.samples."""

import _bootstrap  # noqa: F401  (makes df4lcz importable when not installed)

from df4lcz.scripting import run_stage
from df4lcz.stages import samples

run_stage(samples.run, globals().get("snakemake"))
