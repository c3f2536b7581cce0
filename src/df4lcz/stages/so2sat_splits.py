"""Stage of rule ``so2sat_splits``: So2Sat LCZ42's official split as a split table (docs/contracts.md §6).

Training → ``train``, validation → ``val``, testing → ``test``. Outputs:
``results/splits/{strategy}.csv`` and ``{strategy}_summary.csv`` (``lcz,train,val,test,total``).
"""

from __future__ import annotations

from ..importers.so2sat import so2sat_split
from ..io.samples import read_samples
from ..io.tables import write_count_table
from ..logs import get_logger
from ..sampling.splits import split_summary
from ..scripting import Job


def run(job: Job) -> None:
    """Write the official split of the sample table (``job.wildcards["strategy"]`` is ``official``) and its summary."""
    samples = read_samples(job.input.samples)
    split = so2sat_split(samples, job.output.split)
    summary = split_summary(samples, split)
    get_logger("splits").info("%s split:\n%s", job.wildcards["strategy"], summary.to_string(index=False))
    write_count_table(job.output.summary, summary)
