"""Stage of rule ``lczc_ges2_splits``: a released LCZC-GES2 split pickle as a split table (docs/contracts.md §6).

Outputs: ``results/splits/{strategy}.csv`` and ``{strategy}_summary.csv`` (``lcz,train,val,test,total``).
"""

from __future__ import annotations

from ..importers.lczc_ges2.splits import import_split
from ..io.samples import read_samples
from ..io.tables import write_count_table
from ..logs import get_logger
from ..sampling.splits import split_summary
from ..scripting import Job


def run(job: Job) -> None:
    """Turn ``job.input.pickle`` into the split of ``job.wildcards["strategy"]`` and its summary."""
    samples = read_samples(job.input.samples)
    # ids of the pickle whose patch or graph file is missing were left out of the sample table
    split = import_split(job.input.pickle, job.output.split, samples, unknown_ids="drop")
    summary = split_summary(samples, split)
    get_logger("splits").info("%s split:\n%s", job.wildcards["strategy"], summary.to_string(index=False))
    write_count_table(job.output.summary, summary)
