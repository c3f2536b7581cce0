"""Rule evaluate: metrics, per-class tables, confusion matrices and reliability diagrams. Logic: df4lcz.stages.evaluate."""

import _bootstrap  # noqa: F401  (makes df4lcz importable when not installed)

from df4lcz.scripting import run_stage
from df4lcz.stages import evaluate

run_stage(evaluate.run, globals().get("snakemake"))
