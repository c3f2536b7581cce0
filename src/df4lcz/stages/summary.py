"""Stage of rule ``summary``: the one-page Markdown/HTML summary of the run.

Reads the metrics table (docs/contracts.md §11), the sample table (§1), the split tables (§6), the
fusion tables (§9), the LCZ maps' previews and agreement tables (§12), the attrs of the masks (§4),
graph files (§5) and Sentinel-2 chip files (§3), which say what actually ran, and the input-check
records (§13), whose warnings it lists (with the per-class table of samples lost when a class lost
too many), and the provenance the rule passes (config files and digest, seed, dataset); writes
``results/summary.md`` and ``results/summary.html`` (the HTML with every image embedded).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from ..atomic import write_text_atomic
from ..evaluation.provenance import describe_graphs, describe_sentinel2, run_provenance
from ..evaluation.summary import SUMMARY_TITLE, map_sections, summary_content
from ..evaluation.summary_pages import summary_html, summary_markdown
from ..io.alpha_curve import read_fusion_table
from ..io.checks import read_checks
from ..io.class_loss import read_class_loss
from ..io.samples import read_samples
from ..io.splits import read_split
from ..io.tables import read_metrics, table_note, validate_metrics
from ..sampling.class_loss import class_loss_table
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
    graphs: str,
    figure_dir: str | os.PathLike,
    note: str,
    fusion_tables: Mapping[str, str | os.PathLike] | None = None,
    check_files: Sequence[str | os.PathLike] = (),
    title: str = SUMMARY_TITLE,
    sentinel2: str = "not recorded",
    maps: Mapping[str, Sequence[str | os.PathLike]] | None = None,
    class_loss_file: str | os.PathLike | None = None,
    n_samples: int | None = None,
    classes: Sequence[int] = (),
    dataset: str | None = None,
    provenance: Sequence[tuple[str, str]] = (),
    caveat_settings: Mapping[str, object] | None = None,
) -> None:
    """Write a one-page Markdown and HTML summary of a run (both atomically).

    Args:
        metrics_table: the frame returned by :func:`df4lcz.stages.evaluate.evaluate`, or the path of ``metrics.csv``.
        md_path, html_path: pages to write (figures are linked relative to each page).
        regions: names of the regions (cities) used.
        split_counts: ``{strategy: {"train": n, "val": n, "test": n}}``.
        segmentation_backend: how the Google chips were segmented (from the masks files' attrs).
        graphs: how the graphs were built (:func:`df4lcz.evaluation.provenance.describe_graphs`).
        figure_dir: where the evaluate rule wrote the PNGs; missing figures are skipped with a warning.
        note: the text under the metrics table (:func:`df4lcz.io.tables.table_note`).
        fusion_tables: ``{strategy: fusion table CSV}``; reported, and the α plot embedded.
        check_files: input-check records (``results/checks/*.csv``); their warnings are listed.
        sentinel2: the Sentinel-2 inputs and their reflectance formula
            (:func:`df4lcz.evaluation.provenance.describe_sentinel2`).
        title: page title.
        maps: ``{region: (map preview PNG, map agreement CSV[, uncertainty preview PNG])}`` of the LCZ
            maps made (docs/contracts.md §12).
        class_loss_file: the per-class account ``results/checks/class_loss/valid_samples.csv``
            (§13), shown as a table when a class lost more than its limit.
        n_samples, classes: labelled samples and their LCZ codes (the headline).
        dataset: the ``dataset`` config value (``"demo"`` adds the demo-vs-paper caveat).
        provenance: the provenance block (:func:`df4lcz.evaluation.provenance.run_provenance`).
        caveat_settings: this run's values of the settings the demo caveat compares with the paper's
            (:data:`df4lcz.evaluation.summary.PAPER_SETTINGS`).
    """
    if isinstance(metrics_table, pd.DataFrame):
        table = validate_metrics(metrics_table)
    else:
        table = read_metrics(metrics_table)
    fusion = {s: read_fusion_table(p) for s, p in (fusion_tables or {}).items()}
    checks = [row for path in check_files for row in read_checks(path)]
    content = summary_content(
        table,
        regions=regions,
        split_counts=split_counts,
        segmentation_backend=segmentation_backend,
        graphs=graphs,
        figure_dir=figure_dir,
        fusion=fusion,
        note=note,
        checks=checks,
        title=title,
        sentinel2=sentinel2,
        maps=map_sections(maps or {}),
        class_loss=class_loss_table(read_class_loss(class_loss_file)) if class_loss_file else None,
        n_samples=n_samples,
        classes=classes,
        dataset=dataset,
        checks_ran=bool(check_files),
        provenance=provenance,
        caveat_settings=caveat_settings,
    )
    write_text_atomic(md_path, summary_markdown(content, Path(md_path)))
    write_text_atomic(html_path, summary_html(content, Path(html_path)))


def run(job: Job) -> None:
    """Summarise the run: regions, split sizes, input checks, what ran, models, fusion, metrics, figures."""
    samples = read_samples(job.input.samples)
    counts = {
        s: read_split(p)["split"].value_counts().to_dict()
        for s, p in zip(job.params["strategies"], job.input.splits)
    }
    settings = job.params["evaluate"]
    segmentation = job.params["segmentation"] or describe_backend(list(job.input.masks))
    prov = job.params["provenance"]
    write_summary(
        job.input.metrics,
        job.output.markdown,
        job.output.html,
        regions=sorted(samples["region"].unique()),
        split_counts=counts,
        segmentation_backend=segmentation,
        graphs=describe_graphs(list(job.input.graphs)),
        figure_dir=Path(job.input.figures[0]).parent,
        note=table_note(settings["n_bins"], settings["bootstrap"], settings["ci"]),
        fusion_tables=dict(zip(job.params["fusion_strategies"], job.input.fusion)),
        check_files=list(job.input.checks),
        class_loss_file=job.input.class_loss,
        sentinel2=describe_sentinel2(list(job.input.s2_chips)),
        maps={
            r: (png, csv, *unc)
            for r, png, csv, *unc in zip(
                job.params["map_regions"],
                job.input.map_previews,
                job.input.map_agreements,
                *([job.input.map_uncertainty] if len(getattr(job.input, "map_uncertainty", [])) else []),
            )
        },
        n_samples=len(samples),
        classes=sorted(int(c) for c in samples["lcz"].unique()),
        dataset=prov["dataset"],
        provenance=run_provenance(
            configfiles=prov["configfiles"],
            config_sha256=prov["config_sha256"],
            seed=prov["seed"],
            segmentation_backend=segmentation,
        ),
        caveat_settings=prov["caveat_settings"],
    )
