"""Rule valid_samples: the samples present in every stream (exclusions are applied to all streams). Logic: df4lcz.stages.valid_samples."""

import _bootstrap  # noqa: F401  (makes df4lcz importable when not installed)

from df4lcz.scripting import run_stage
from df4lcz.stages import valid_samples

run_stage(valid_samples.run, globals().get("snakemake"))
