"""Rule lczc_ges2_samples: the sample table of the released LCZC-GES2 files and its per-class counts. Logic: df4lcz.stages.lczc_ges2_samples."""

import _bootstrap  # noqa: F401  (makes df4lcz importable when not installed)

from df4lcz.scripting import run_stage
from df4lcz.stages import lczc_ges2_samples

run_stage(lczc_ges2_samples.run, globals().get("snakemake"))
