"""Rule predict: class probabilities of the val and test samples. Logic: df4lcz.stages.predict."""

import _bootstrap  # noqa: F401  (makes df4lcz importable when not installed)

from df4lcz.scripting import run_stage
from df4lcz.stages import predict

run_stage(predict.run, globals().get("snakemake"))
