"""Rule graphs: one graph per sample from its masks and chip. Logic: df4lcz.stages.graphs."""

import _bootstrap  # noqa: F401  (makes df4lcz importable when not installed)

from df4lcz.scripting import run_stage
from df4lcz.stages import graphs

run_stage(graphs.run, globals().get("snakemake"))
