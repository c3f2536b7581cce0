"""Rule lczc_ges2_graphs: one shard of graphs from the released LCZC-GES2 graph files (dense adjacency). Logic: df4lcz.stages.lczc_ges2_graphs."""

import _bootstrap  # noqa: F401  (makes df4lcz importable when not installed)

from df4lcz.scripting import run_stage
from df4lcz.stages import lczc_ges2_graphs

run_stage(lczc_ges2_graphs.run, globals().get("snakemake"))
