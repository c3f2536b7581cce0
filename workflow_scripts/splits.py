"""Rule splits: train/val/test assignment of every sample for one strategy."""

import _bootstrap  # noqa: F401  (makes df4lcz importable when not installed)

from df4lcz.atomic import atomic_path
from df4lcz.logs import get_logger, setup_logging
from df4lcz.samples import read_samples
from df4lcz.scripting import load_job
from df4lcz.splits import make_split, split_summary, write_split

job = load_job(globals().get("snakemake"))
setup_logging(job.log[0])
samples = read_samples(job.input.samples)
split = make_split(samples, job.wildcards["strategy"], job.params["fractions"], job.params["seed"])
summary = split_summary(samples, split)
get_logger("splits").info("%s split:\n%s", job.wildcards["strategy"], summary.to_string(index=False))
write_split(job.output.split, split)
with atomic_path(job.output.summary) as tmp:
    summary.to_csv(tmp, index=False)
