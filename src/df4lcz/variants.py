"""Dataset variants: what each value of the ``dataset`` config key brings to the workflow.

The workflow asks one :class:`DatasetVariant` (``DATASET_VARIANTS[config["dataset"]]``) instead of
testing the dataset name in every rule: which rule file makes the sample table, which streams a
sample must be present in, whether there are graphs (GCN, fusion, maps) and rasters to map, and what
the summary says about segmentation when no masks were computed.
"""

from __future__ import annotations

from dataclasses import dataclass

from .constants import DATASETS


@dataclass(frozen=True)
class DatasetVariant:
    """How the workflow treats one ``dataset`` value.

    Attributes:
        name: the ``dataset`` value.
        imported: pre-cut patches (and graphs) are imported instead of cut from rasters.
        streams: per-shard stage files a sample must be present in (keys of ``STREAM_DIRS``).
        has_graphs: there is a Google/graph stream (GCN, fusion, maps).
        rule_files: the rule files (under ``rules/``) that make the sample table, the per-shard
            streams and the splits of this variant.
        samples_rule: the checkpoint that writes ``results/samples.parquet``.
        demo_truth: the embedded demo's wall-to-wall truth raster exists for map agreement.
        segmentation_note: what the summary says about segmentation when no masks were computed
            (``None``: the run's own masks files describe it).
    """

    name: str
    imported: bool
    streams: tuple[str, ...]
    has_graphs: bool
    rule_files: tuple[str, ...]
    samples_rule: str
    demo_truth: bool = False
    segmentation_note: str | None = None


#: Rule files of the datasets cut from rasters (demo and regions).
_RASTER_RULES: tuple[str, ...] = ("samples.smk", "google.smk", "sentinel2.smk", "splits.smk", "map.smk")

DATASET_VARIANTS: dict[str, DatasetVariant] = {
    "demo": DatasetVariant(
        "demo", False, ("google", "sentinel2"), True, ("demo.smk", *_RASTER_RULES), "samples", demo_truth=True
    ),
    "regions": DatasetVariant("regions", False, ("google", "sentinel2"), True, _RASTER_RULES, "samples"),
    "lczc_ges2": DatasetVariant(
        "lczc_ges2",
        True,
        ("graphs", "sentinel2"),
        True,
        ("lczc_ges2.smk",),
        "lczc_ges2_samples",
        segmentation_note="imported LCZC-GES2 graphs (segmentation done by the data's authors with SAM vit_h)",
    ),
    "so2sat": DatasetVariant(
        "so2sat",
        True,
        ("sentinel2",),
        False,
        ("so2sat.smk",),
        "so2sat_samples",
        segmentation_note="none (So2Sat LCZ42: Sentinel-2 stream only)",
    ),
}

assert tuple(DATASET_VARIANTS) == DATASETS, "every dataset name needs a variant"
