"""Rule graphs: one graph per sample from its masks and chip."""

import _bootstrap  # noqa: F401  (makes df4lcz importable when not installed)

from df4lcz.graphs import graphs_shard_file
from df4lcz.logs import setup_logging
from df4lcz.scripting import load_job

job = load_job(globals().get("snakemake"))
setup_logging(job.log[0])
graphs_shard_file(job.input.masks, job.input.chips, job.input.samples, job.output.graphs, job.params["graphs"])
