"""Rule graph_checks: one-node graphs over all shards, limited by graphs.max_single_node_fraction. Logic: df4lcz.stages.graph_checks."""

import _bootstrap  # noqa: F401  (makes df4lcz importable when not installed)

from df4lcz.scripting import run_stage
from df4lcz.stages import graph_checks

run_stage(graph_checks.run, globals().get("snakemake"))
