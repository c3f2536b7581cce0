"""Rule valid_samples: the samples present in every stream (exclusions are applied to all streams)."""

import _bootstrap  # noqa: F401  (makes df4lcz importable when not installed)

from df4lcz.atomic import atomic_path
from df4lcz.chips import valid_sample_table
from df4lcz.logs import setup_logging
from df4lcz.scripting import load_job

job = load_job(globals().get("snakemake"))
setup_logging(job.log[0])
streams = {name: list(getattr(job.input, name)) for name in job.params["streams"]}
table = valid_sample_table(streams)
with atomic_path(job.output.table) as tmp:
    table.to_csv(tmp, index=False)
