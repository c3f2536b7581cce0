"""Stage of rule ``samples`` (a checkpoint): lay the sample squares in the polygons, number and shard them.

Before writing, the rasters of every region are checked against its squares (band counts, data
types, resolution, data over the squares: :mod:`df4lcz.chipping.inputs`), so a bad input stops the
run here rather than in a chip job.

Outputs: ``results/samples.parquet`` (docs/contracts.md §1), the per-class count table
``results/tables/samples_per_class.csv``, the overview figure of one region and the input-check
record ``results/checks/samples.csv`` (§13: polygons repaired, dropped or merged per label file,
Google mosaics upsampled, classes that lost squares outside the rasters) with the per-class account
``results/checks/class_loss/samples.csv``. A class that lost ``samples.max_class_loss_fraction`` of
its squares to the raster footprints stops the rule here, before any chip job.
"""

from __future__ import annotations

from ..io.checks import write_checks
from ..io.class_loss import write_class_loss
from ..io.samples import write_samples
from ..io.tables import write_count_table
from ..logs import get_logger
from ..sampling.build import build_samples, check_sample_rasters, class_summary
from ..sampling.class_loss import account_frame, class_loss_checks
from ..sampling.overview import plot_overview
from ..sampling.settings import RegionInputs, SampleParams
from ..scripting import Job


def run(job: Job) -> None:
    """Build the sample table of all regions from the ``samples`` and ``regions`` config slices."""
    params = SampleParams(**job.params["samples"])
    regions = [RegionInputs(**{**r, "index": i}) for i, r in enumerate(job.params["regions"])]
    samples, context = build_samples(regions, params, seed=job.params["seed"])
    google = job.params["google"]
    checks = [row for name in sorted(context) for row in context[name]["checks"]]
    account = account_frame(row for name in sorted(context) for row in context[name]["account"])
    checks += class_loss_checks(
        account, "samples", params.warn_class_loss_fraction, params.max_class_loss_fraction, "squares"
    )
    checks += check_sample_rasters(
        regions, samples, chip_px=google["chip_px"], max_upsampling=google["max_upsampling"]
    )
    summary = class_summary(samples)
    get_logger("samples").info(
        "%d samples in %d shards\n%s", len(samples), samples.shard.nunique(), summary.to_string()
    )
    write_samples(job.output.table, samples)
    write_count_table(job.output.summary, summary)
    plot_overview(samples, context, params.overview_region or sorted(context)[0], job.output.overview)
    write_checks(job.output.checks, checks)
    write_class_loss(job.output.class_loss, account)
