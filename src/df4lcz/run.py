"""What one run does, derived from its validated config: regions, models, strategies, maps, targets.

The workflow builds one :class:`RunPlan` when it loads (``rules/common.smk``) and every rule file
reads its run-wide constants from it; the same object can be built and tested without Snakemake.
Part of the config layer: it opens no file and imports no reader (the file checks are
:mod:`df4lcz.preflight`'s).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from .config import region_defaults, region_names
from .constants import (
    FUSION_MODEL_NAMES,
    GCN_MODEL_NAME,
    MAIN_S2_MODEL,
    PAPER_FUSION_MODEL_NAMES,
)
from .variants import DATASET_VARIANTS, DatasetVariant


def demo_region(name: str) -> dict[str, Any]:
    """The ``regions[]`` entry of demo city ``name``: its files under ``resources/demo/<name>/``."""
    return dict(
        region_defaults(),
        name=name,
        google=f"resources/demo/{name}/google.tif",
        sentinel2=f"resources/demo/{name}/sentinel2.tif",
        labels=f"resources/demo/{name}/labels.gpkg",
        label_column="lcz",
        label_map={},
        working_crs=None,
        s2_band_names=None,
        s2_scale=None,
        s2_offset=None,
    )


def training_window(config: Mapping[str, Any]) -> dict[str, Any]:
    """The window graphs and chips are cut from, as model files record it (``window`` of docs/contracts.md §7)."""
    return {
        "size_m": config["samples"]["size_m"],
        "google_chip_px": config["google"]["chip_px"],
        "segment_backend": config["segment"]["backend"],
    }


def segment_params(config: Mapping[str, Any]) -> dict[str, Any]:
    """The ``segment`` slice that matters to a segmenting job: the active backend's settings only
    (so that changing the other backend's settings reruns nothing)."""
    seg = config["segment"]
    keep = {k: seg[k] for k in ("backend", "min_area", "max_masks", "overlay_samples_per_class")}
    keep[seg["backend"]] = seg[seg["backend"]]
    return keep


#: The keys of a ``regions[]`` entry the Sentinel-2 chipper reads.
SENTINEL2_REGION_KEYS: tuple[str, ...] = ("sentinel2", "s2_band_names", "s2_scale", "s2_offset")


def sentinel2_region_params(region: Mapping[str, Any]) -> dict[str, Any]:
    """The keys of a region the Sentinel-2 chipper reads (a ``params:`` slice)."""
    return {k: region[k] for k in SENTINEL2_REGION_KEYS}


@dataclass(frozen=True)
class RunPlan:
    """The run-wide facts of one validated config.

    Attributes:
        config: the validated config (defaults filled in).
    """

    config: Mapping[str, Any]

    @cached_property
    def variant(self) -> DatasetVariant:
        """What the chosen dataset brings: rule files, streams, graphs (df4lcz.variants)."""
        return DATASET_VARIANTS[self.config["dataset"]]

    @property
    def imported(self) -> bool:
        """Pre-cut patches are imported (no rasters, no chipping or segmentation)."""
        return self.variant.imported

    @property
    def has_graphs(self) -> bool:
        """The dataset has a Google Earth stream (graphs, GCN and fusion)."""
        return self.variant.has_graphs

    @cached_property
    def regions(self) -> dict[str, dict[str, Any]]:
        """``{name: regions[] entry}`` of the regions this run cuts from rasters (none when imported)."""
        if self.imported:
            return {}
        if self.variant.demo_truth:
            return {name: demo_region(name) for name in region_names(self.config)}
        return {r["name"]: r for r in self.config["regions"]}

    @cached_property
    def labelled(self) -> dict[str, dict[str, Any]]:
        """Regions with training polygons (the samples come from these; the others are only mapped)."""
        return {name: r for name, r in self.regions.items() if r["labels"] is not None}

    @property
    def training(self) -> bool:
        """Whether the run trains and evaluates (an imported dataset, or some labelled region)."""
        return bool(self.imported or self.labelled)

    @cached_property
    def region_index(self) -> dict[str, int]:
        """Position of each region in ``regions[]`` (named in messages: ``regions[0].google``)."""
        return {name: i for i, name in enumerate(self.regions)}

    @property
    def strategies(self) -> list[str]:
        """The split strategies (``splits.strategies``)."""
        return list(self.config["splits"]["strategies"])

    @property
    def fusion_strategies(self) -> list[str]:
        """Strategies with a fusion step (α curves); none without the graph stream."""
        return self.strategies if self.has_graphs else []

    @property
    def s2_models(self) -> list[str]:
        """The Sentinel-2 models trained: the 3D ResNet11 and ``models.baselines``."""
        return [MAIN_S2_MODEL, *self.config["models"]["baselines"]]

    @property
    def fusion_models(self) -> list[str]:
        """Fusion models of the fuse step: the paper's two, plus the calibrated two (``fusion.calibrate``)."""
        return list(FUSION_MODEL_NAMES if self.config["fusion"]["calibrate"] else PAPER_FUSION_MODEL_NAMES)

    @property
    def models(self) -> list[str]:
        """Every model evaluated: Sentinel-2 models, then the GCN and the fusions when there are graphs."""
        if not self.has_graphs:
            return self.s2_models
        return [*self.s2_models, GCN_MODEL_NAME, *self.fusion_models]

    @property
    def eval_keys(self) -> list[tuple[str, str]]:
        """``(strategy, model)`` of every evaluated model."""
        return [(s, m) for s in self.strategies for m in self.models]

    @property
    def training_window(self) -> dict[str, Any] | None:
        """The window recorded in model files, or None for imported data (:func:`training_window`)."""
        return None if self.imported else training_window(self.config)

    @property
    def maps(self) -> bool:
        """Whether the run makes wall-to-wall maps (``map.enabled``, rasters and a graph stream)."""
        return bool(self.config["map"]["enabled"] and not self.imported and self.has_graphs)

    @property
    def map_regions(self) -> list[str]:
        """The regions mapped: ``map.regions``, or the first region."""
        if self.config["map"]["regions"] is None:
            return list(self.regions)[:1]
        return list(self.config["map"]["regions"])

    @property
    def map_strategy(self) -> str:
        """Whose trained models make the maps (``map.strategy``, or the first strategy)."""
        return self.config["map"]["strategy"] or self.strategies[0]

    @property
    def map_models(self) -> dict[str, str]:
        """The model files of the maps: ``map.models``, or this run's of :attr:`map_strategy`."""
        if self.config["map"]["models"] is not None:
            return dict(self.config["map"]["models"])
        return {
            "s2": f"results/models/{self.map_strategy}/{MAIN_S2_MODEL}.pt",
            "gcn": f"results/models/{self.map_strategy}/{GCN_MODEL_NAME}.pt",
        }

    def summary_provenance(self, configfiles: Sequence[str]) -> dict[str, Any]:
        """What the ``summary`` rule needs for its provenance block and demo caveat: the config files,
        the digest of the effective config (:func:`config_digest`), seed, dataset, and the run's values
        of the settings the demo departs from the paper in (docs/method.md)."""
        c = self.config
        segment = c["segment"]["backend"]
        if segment == "sam":
            segment = f"SAM {c['segment'].get('sam', {}).get('model_type', '')}".strip()
        return {
            "configfiles": [str(f) for f in configfiles],
            "config_sha256": config_digest(c),
            "seed": c.get("seed"),
            "dataset": c["dataset"],
            "caveat_settings": {
                "segmentation": segment,
                "graph edges": f"{c['graphs']['edge_rule']}, features over {c['graphs']['mask_view']} masks",
                "3D ResNet11 width": str(c["train"]["s2"]["base_width"]),
                "S2 epochs": f"≤ {c['train']['s2']['epochs']}",
                "GCN epochs": f"≤ {c['train']['gcn']['epochs']}",
            },
        }

    @property
    def map_fusion_inputs(self) -> dict[str, str]:
        """``{"fusion": fusion table of map.strategy}`` when ``map.fusion`` is not ``df4lcz`` (the map
        jobs read its α and temperatures), else ``{}``: the default map reads no fusion record."""
        if self.config["map"]["fusion"] == FUSION_MODEL_NAMES[0]:
            return {}
        return {"fusion": f"results/predictions/{self.map_strategy}/fusion.csv"}

    @property
    def map_source(self) -> dict[str, str]:
        """Where a map comes from, written in its title and GeoTIFF tags: ``fusion`` (the fused model
        the map computes, ``map.fusion``: ``df4lcz`` = the paper's late fusion of the raw stream
        probabilities with α = ``map.alpha`` or ``fusion.alpha``; ``recommended`` is replaced by the
        model it names when the map is gathered) and ``strategy`` (the split strategy whose models map,
        ``map.strategy``; ``map.models`` when model files were given)."""
        external = self.config["map"]["models"] is not None
        return {
            "fusion": self.config["map"]["fusion"],
            "strategy": "map.models" if external else self.map_strategy,
        }

    def final_outputs(self) -> list[str]:
        """Targets of rule ``all``; a run without labels only maps."""
        maps = [f"results/maps/{region}_lcz.tif" for region in self.map_regions]
        if not self.training:
            return maps
        targets = ["results/samples.parquet", "results/tables/samples_per_class.csv"]
        if not self.imported:
            targets.append("results/figures/samples_overview.png")
        targets += [f"results/splits/{strategy}.csv" for strategy in self.strategies]
        targets += ["results/valid_samples.csv", "results/summary.html", "results/summary.md"]
        if self.maps:
            targets += maps
        return targets


def config_digest(config: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the effective config: its JSON with sorted keys (values not JSON-native as text)."""
    text = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
