"""Checkpoint samples: lay 320 m squares in the polygons, number and shard them."""

import _bootstrap  # noqa: F401  (makes df4lcz importable when not installed)

from df4lcz.atomic import atomic_path
from df4lcz.logs import get_logger, setup_logging
from df4lcz.samples import RegionInputs, SampleParams, build_samples, class_summary, plot_overview, write_samples
from df4lcz.scripting import load_job

job = load_job(globals().get("snakemake"))
setup_logging(job.log[0])
params = SampleParams(**job.params["samples"])
regions = [RegionInputs(**r) for r in job.params["regions"]]
samples, context = build_samples(regions, params, seed=job.params["seed"])
summary = class_summary(samples)
get_logger("samples").info("%d samples in %d shards\n%s", len(samples), samples.shard.nunique(), summary.to_string())
write_samples(job.output.table, samples)
with atomic_path(job.output.summary) as tmp:
    summary.to_csv(tmp, index=False)
plot_overview(samples, context, params.overview_region or sorted(context)[0], job.output.overview)
