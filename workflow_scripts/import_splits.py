"""Rule import_splits: a released split (LCZC-GES2 pickle, or So2Sat's official files) as a split table."""

import _bootstrap  # noqa: F401  (makes df4lcz importable when not installed)

from df4lcz.atomic import atomic_path
from df4lcz.importers import import_split, so2sat_split
from df4lcz.logs import get_logger, setup_logging
from df4lcz.samples import read_samples
from df4lcz.scripting import load_job
from df4lcz.splits import split_summary

job = load_job(globals().get("snakemake"))
setup_logging(job.log[0])
samples = read_samples(job.input.samples)
if job.params["dataset"] == "lczc_ges2":
    # ids of the pickle whose patch or graph file is missing were left out of the sample table
    split = import_split(job.input.pickle[0], job.output.split, samples, unknown_ids="drop")
else:
    split = so2sat_split(samples, job.output.split)
summary = split_summary(samples, split)
get_logger("splits").info("%s split:\n%s", job.wildcards["strategy"], summary.to_string(index=False))
with atomic_path(job.output.summary) as tmp:
    summary.to_csv(tmp, index=False)
