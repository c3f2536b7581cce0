"""Rule train: fit one stream model for one split strategy."""

import _bootstrap  # noqa: F401  (makes df4lcz importable when not installed)

from df4lcz.experiment import train_model_files
from df4lcz.logs import setup_logging
from df4lcz.scripting import load_job

job = load_job(globals().get("snakemake"))
setup_logging(job.log[0])
train_model_files(
    job.wildcards["model"], list(job.input.data), job.input.split, job.input.samples, job.input.valid,
    params=job.params["train"], seed=job.params["seed"], device=job.params["device"],
    model_out=job.output.model, history_out=job.output.history, curve_out=job.output.curve,
    record={"train": job.params["train"], "strategy": job.wildcards["strategy"], "inputs": list(job.input.data)},
)
