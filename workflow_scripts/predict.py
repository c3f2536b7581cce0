"""Rule predict: class probabilities of the val and test samples."""

import _bootstrap  # noqa: F401  (makes df4lcz importable when not installed)

from df4lcz.experiment import predict_model_files
from df4lcz.logs import setup_logging
from df4lcz.scripting import load_job

job = load_job(globals().get("snakemake"))
setup_logging(job.log[0])
predict_model_files(job.input.model, job.wildcards["model"], list(job.input.data), job.input.split,
                    job.input.samples, job.input.valid, job.output.predictions, device=job.params["device"])
