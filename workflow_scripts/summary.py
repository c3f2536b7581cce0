"""Rule summary: the one-page Markdown/HTML summary of the run. Logic: df4lcz.stages.summary."""

import _bootstrap  # noqa: F401  (makes df4lcz importable when not installed)

from df4lcz.scripting import run_stage
from df4lcz.stages import summary

run_stage(summary.run, globals().get("snakemake"))
