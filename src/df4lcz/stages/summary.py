"""Stage of rule ``summary``: the one-page Markdown/HTML summary of the run.

Reads the metrics table (docs/contracts.md §11), the sample table (§1), the split tables (§6) and
the α curves (§9); writes ``results/summary.md`` and ``results/summary.html``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from ..atomic import write_text_atomic
from ..evaluation.summary import SUMMARY_TITLE, summary_content, summary_html, summary_markdown
from ..io.alpha_curve import read_alpha_curve
from ..io.samples import read_samples
from ..io.splits import read_split
from ..io.tables import read_metrics, validate_metrics
from ..scripting import Job
from ..segmentation.describe import describe_backend


def write_summary(
    metrics_table: pd.DataFrame | str | os.PathLike,
    md_path: str | os.PathLike,
    html_path: str | os.PathLike,
    *,
    regions: Sequence[str],
    split_counts: Mapping[str, Mapping[str, int]],
    segmentation_backend: str,
    figure_dir: str | os.PathLike,
    n_bins: int,
    alpha_curves: Mapping[str, str | os.PathLike] | None = None,
    title: str = SUMMARY_TITLE,
) -> None:
    """Write a one-page Markdown and HTML summary of a run (both atomically).

    Args:
        metrics_table: the frame returned by :func:`df4lcz.stages.evaluate.evaluate`, or the path of ``metrics.csv``.
        md_path, html_path: pages to write (figures are linked relative to each page).
        regions: names of the regions (cities) used.
        split_counts: ``{strategy: {"train": n, "val": n, "test": n}}``.
        segmentation_backend: how the Google chips were segmented (e.g. "SAM vit_h").
        figure_dir: where the evaluate rule wrote the PNGs; missing figures are skipped with a warning.
        n_bins: calibration bins used (for the table note).
        alpha_curves: ``{strategy: α-curve CSV}``; the chosen α is reported and its plot embedded.
        title: page title.
    """
    if isinstance(metrics_table, pd.DataFrame):
        table = validate_metrics(metrics_table)
    else:
        table = read_metrics(metrics_table)
    alphas = {s: read_alpha_curve(p)[0] for s, p in (alpha_curves or {}).items()}
    content = summary_content(table, regions=regions, split_counts=split_counts,
                              segmentation_backend=segmentation_backend, figure_dir=figure_dir, alphas=alphas,
                              n_bins=n_bins, title=title)
    write_text_atomic(md_path, summary_markdown(content, Path(md_path)))
    write_text_atomic(html_path, summary_html(content, Path(html_path)))


def run(job: Job) -> None:
    """Summarise the run: regions, split sizes, segmentation, models, fusion weights, metrics, figures."""
    samples = read_samples(job.input.samples)
    counts = {s: read_split(p)["split"].value_counts().to_dict()
              for s, p in zip(job.params["strategies"], job.input.splits)}
    write_summary(job.input.metrics, job.output.markdown, job.output.html,
                  regions=sorted(samples["region"].unique()), split_counts=counts,
                  segmentation_backend=job.params["segmentation"] or describe_backend(list(job.input.masks)),
                  figure_dir=Path(job.input.figures[0]).parent,
                  alpha_curves=dict(zip(job.params["fusion_strategies"], job.input.curves)),
                  n_bins=job.params["n_bins"])
