"""Rule lczc_ges2_splits: a released LCZC-GES2 split pickle as a split table and its summary. Logic: df4lcz.stages.lczc_ges2_splits."""

import _bootstrap  # noqa: F401  (makes df4lcz importable when not installed)

from df4lcz.scripting import run_stage
from df4lcz.stages import lczc_ges2_splits

run_stage(lczc_ges2_splits.run, globals().get("snakemake"))
