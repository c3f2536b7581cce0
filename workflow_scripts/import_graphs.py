"""Rule import_graphs: one shard of graphs from the released LCZC-GES2 graph files (dense adjacency)."""

import _bootstrap  # noqa: F401  (makes df4lcz importable when not installed)

from df4lcz.importers import import_graph_shard
from df4lcz.logs import setup_logging
from df4lcz.scripting import load_job

job = load_job(globals().get("snakemake"))
setup_logging(job.log[0])
import_graph_shard(job.input.samples, int(job.wildcards["shard"]), job.output.graphs)
