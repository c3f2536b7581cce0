"""Rule lczc_ges2_sentinel2: one shard of Sentinel-2 chips from the released LCZC-GES2 patches. Logic: df4lcz.stages.lczc_ges2_sentinel2."""

import _bootstrap  # noqa: F401  (makes df4lcz importable when not installed)

from df4lcz.scripting import run_stage
from df4lcz.stages import lczc_ges2_sentinel2

run_stage(lczc_ges2_sentinel2.run, globals().get("snakemake"))
