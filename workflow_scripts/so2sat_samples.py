"""Rule so2sat_samples: the sample table of the So2Sat LCZ42 files and its per-class counts. Logic: df4lcz.stages.so2sat_samples."""

import _bootstrap  # noqa: F401  (makes df4lcz importable when not installed)

from df4lcz.scripting import run_stage
from df4lcz.stages import so2sat_samples

run_stage(so2sat_samples.run, globals().get("snakemake"))
