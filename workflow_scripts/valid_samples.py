"""Rule valid_samples: the samples chipped in both streams (exclusions are applied to both)."""

import _bootstrap  # noqa: F401  (makes df4lcz importable when not installed)

from df4lcz.chips import valid_sample_table
from df4lcz.atomic import atomic_path
from df4lcz.logs import setup_logging
from df4lcz.scripting import load_job

job = load_job(globals().get("snakemake"))
setup_logging(job.log[0])
table = valid_sample_table(list(job.input.google), list(job.input.sentinel2))
with atomic_path(job.output.table) as tmp:
    table.to_csv(tmp, index=False)
