# Helpers shared by the workflow (config validation, regions, shards, final targets).

import os
import re
import sys
from functools import lru_cache
from pathlib import Path

# the package is installed by `make`; fall back to the checkout's src/ (scripts do the same
# through workflow_scripts/_bootstrap.py, for conda envs and cluster nodes)
_SRC = str(Path(workflow.basedir) / "src")
if _SRC not in sys.path:
    sys.path.insert(0, _SRC)

import pandas as pd
from snakemake.exceptions import WorkflowError

from df4lcz.chipping.google_sources import GoogleSpec, google_files
from df4lcz.config import (
    ConfigError,
    read_config_file,
    region_defaults,
    validate_config,
)
from df4lcz.constants import (
    ALL_MODEL_NAMES,
    FUSION_MODEL_NAMES,
    GCN_MODEL_NAME,
    PAPER_FUSION_MODEL_NAMES,
    MAIN_S2_MODEL,
    SPLIT_STRATEGIES,
    STREAM_DIRS,
    TRAINED_MODEL_NAMES,
)
from df4lcz.demo import CITY_SITES
from df4lcz.devices import device_problems, used_device_settings
from df4lcz.mapping.compat import check_map_models
from df4lcz.sigterm import defer_sigterm_handler
from df4lcz.segmentation.checkpoints import SAM_CHECKPOINTS
from df4lcz.variants import DATASET_VARIANTS

#: The config file the workflow reads when present (in the working directory), before --configfile ones.
DEFAULT_CONFIGFILE = "config.yaml"

# Snakemake reports a YAML syntax error in it without file or line: read it first with df4lcz's
# reader, whose message names both. (Files given with --configfile are read by Snakemake before
# the workflow loads; `df4lcz check-config FILE` names the line of their errors: README.)
if os.path.exists(DEFAULT_CONFIGFILE):
    try:
        read_config_file(DEFAULT_CONFIGFILE)
    except ConfigError as _err:
        raise WorkflowError(str(_err)) from None


configfile: DEFAULT_CONFIGFILE


try:
    _validated = validate_config(config, base_dir=".")
except ConfigError as _err:
    raise WorkflowError(str(_err)) from None
config.clear()
config.update(_validated)


def check_devices_here(local):
    """Stop before the first job if this machine lacks a device the settings name (df4lcz.devices).

    Called from the onstart hook; ``local``: whether jobs run on this machine (with a cluster
    executor the submit host need not have the GPU its jobs get, and each job checks its own).
    """
    if not local:
        return
    problems = device_problems(used_device_settings(config))
    if problems:
        raise WorkflowError("\n".join(problems))


#: What the chosen dataset brings: its rule files, streams, graphs (df4lcz.variants).
VARIANT = DATASET_VARIANTS[config["dataset"]]
#: Datasets imported as pre-cut patches (no rasters, no chipping or segmentation).
IMPORTED = VARIANT.imported
#: Whether the dataset has a Google Earth stream (graphs, GCN and fusion).
HAS_GRAPHS = VARIANT.has_graphs
#: Streams a sample must be present in (their shard files live under results/STREAM_DIRS[stream]).
STREAMS = list(VARIANT.streams)


def region_inputs():
    """The list of regions (dicts with name, google, sentinel2, labels, …) this run uses."""
    if IMPORTED:
        return []
    if VARIANT.demo_truth:
        return [
            dict(
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
            for name, _, _ in CITY_SITES[: config["demo"]["n_cities"]]
        ]
    return config["regions"]


REGIONS = {r["name"]: r for r in region_inputs()}
#: Regions with training polygons (the samples come from these; the others are only mapped).
LABELLED = {name: r for name, r in REGIONS.items() if r["labels"] is not None}
#: Whether the run trains and evaluates (an imported dataset, or some labelled region).
TRAINING = bool(IMPORTED or LABELLED)


def region_files(kind):
    """The labelled regions' input paths of one kind (sentinel2 or labels, lists flattened; google: google_inputs)."""
    if kind == "google":
        return [f for name in LABELLED for f in google_inputs(name)]
    out = []
    for region in LABELLED.values():
        value = region[kind]
        out.extend(value if isinstance(value, list) else [value])
    return out


def training_window():
    """The window graphs and chips are cut from (recorded in model files), or None for imported data."""
    if IMPORTED:
        return None
    return {
        "size_m": config["samples"]["size_m"],
        "google_chip_px": config["google"]["chip_px"],
        "segment_backend": config["segment"]["backend"],
    }


def s2_region_params(region):
    """The keys of a region the Sentinel-2 chipper reads (a ``params:`` slice)."""
    return {
        k: region[k] for k in ("sentinel2", "s2_band_names", "s2_scale", "s2_offset")
    }


#: Position of each region in the config's regions[] list (named in messages: regions[0].google).
REGION_INDEX = {name: i for i, name in enumerate(REGIONS)}


def google_spec(name):
    """The Google input of region ``name`` (regions[].google, google_zoom, google_tile_scheme)."""
    return GoogleSpec.from_region(REGIONS[name], REGION_INDEX[name])


@lru_cache(maxsize=None)
def _google_inputs(name):
    return tuple(google_files(google_spec(name)))


def google_inputs(name):
    """Files Snakemake tracks for a region's Google input: the GeoTIFF/VRT, every GeoTIFF of a glob or
    list, the tile folder, or the .mbtiles file (df4lcz.chipping.google_sources.google_files).
    """
    return list(_google_inputs(name))


@lru_cache(maxsize=4)
def _read_table(path, mtime):
    return pd.read_parquet(path, columns=["sample_id", "region", "shard", "lcz"])


def sample_table():
    """The checkpoint's sample table (re-evaluates the DAG once it exists)."""
    path = getattr(checkpoints, VARIANT.samples_rule).get().output.table
    return _read_table(path, os.path.getmtime(path))


def all_shards():
    return sorted(int(s) for s in sample_table()["shard"].unique())


def shard_files(kind):
    """Input function: every shard's file under results/<kind>/ (known once samples exist)."""

    def files(wildcards):
        return expand(f"results/{kind}/{{shard}}.h5", shard=all_shards())

    return files


def shard_region(wildcards):
    """Region dict of the shard in ``wildcards.shard``."""
    table = sample_table()
    names = table.loc[table["shard"] == int(wildcards.shard), "region"].unique()
    if len(names) != 1:
        raise WorkflowError(
            f"shard {wildcards.shard} is not in results/samples.parquet"
        )
    return REGIONS[names[0]]


SAM_FILES = {info.filename: model_type for model_type, info in SAM_CHECKPOINTS.items()}


def sam_checkpoint_path():
    """The SAM checkpoint the segment rule needs (None for the classical backend)."""
    sam = config["segment"]["sam"]
    if config["segment"]["backend"] != "sam":
        return None
    if sam["checkpoint"]:
        return sam["checkpoint"]
    if sam["model_type"] not in SAM_CHECKPOINTS:
        raise WorkflowError(
            f"config key 'segment.sam.checkpoint': model_type {sam['model_type']!r} has no official "
            "checkpoint to download; give the path of a checkpoint file"
        )
    return f"resources/sam/{SAM_CHECKPOINTS[sam['model_type']].filename}"


def sam_checkpoint_input(wildcards):
    path = sam_checkpoint_path()
    return [path] if path else []


def segment_params():
    """The segment config slice that matters: the active backend's settings only."""
    seg = config["segment"]
    keep = {
        k: seg[k]
        for k in ("backend", "min_area", "max_masks", "overlay_samples_per_class")
    }
    keep[seg["backend"]] = seg[seg["backend"]]
    return keep


S2_MODELS = [MAIN_S2_MODEL, *config["models"]["baselines"]]
#: Fusion models made by the fuse step: the paper's two, plus the calibrated two (fusion.calibrate).
FUSION_MODELS = list(
    FUSION_MODEL_NAMES if config["fusion"]["calibrate"] else PAPER_FUSION_MODEL_NAMES
)
MODELS = [*S2_MODELS, GCN_MODEL_NAME, *FUSION_MODELS] if HAS_GRAPHS else S2_MODELS
STRATEGIES = config["splits"]["strategies"]
#: Strategies with a fusion step (α curves); none without the graph stream.
FUSION_STRATEGIES = STRATEGIES if HAS_GRAPHS else []
TRAINED_MODELS_RE = "|".join(TRAINED_MODEL_NAMES)
EVAL_KEYS = [(s, m) for s in config["splits"]["strategies"] for m in MODELS]


def model_inputs(wildcards):
    """Shard files a model trains on: graphs for the GCN, Sentinel-2 chips otherwise."""
    stream = "graphs" if wildcards.model == GCN_MODEL_NAME else "sentinel2"
    return shard_files(STREAM_DIRS[stream])(wildcards)


def mask_inputs(wildcards):
    """Masks files of the run (none for imported datasets), for the summary's backend line."""
    return [] if IMPORTED else shard_files("masks")(wildcards)


def graph_inputs(wildcards):
    """Graph files of the run (none without a graph stream), for the summary's graphs line."""
    return shard_files(STREAM_DIRS["graphs"])(wildcards) if HAS_GRAPHS else []


def graph_checks_input(wildcards):
    """The GCN trains only once the one-node graphs of all shards were counted (rule graph_checks)."""
    return ["results/checks/graphs.csv"] if wildcards.model == GCN_MODEL_NAME else []


def check_inputs(wildcards):
    """Input-check records of the run (docs/contracts.md §13), for the summary's "Input checks"."""
    files = [] if IMPORTED else ["results/checks/samples.csv"]
    if HAS_GRAPHS and not IMPORTED:
        files += expand("results/checks/graphs/{shard}.csv", shard=all_shards())
    if HAS_GRAPHS:
        files.append("results/checks/graphs.csv")
    return files


if config["map"]["regions"] is None:
    MAP_REGIONS = list(REGIONS)[:1]
else:
    MAP_REGIONS = list(config["map"]["regions"])
    _unknown = sorted(set(MAP_REGIONS) - set(REGIONS))
    if _unknown and not IMPORTED:
        raise WorkflowError(
            f"config key 'map.regions': {_unknown} are not regions of this run (known: {sorted(REGIONS)})"
        )
MAPS = bool(config["map"]["enabled"] and not IMPORTED and HAS_GRAPHS)
#: Whose trained models make the maps.
MAP_STRATEGY = config["map"]["strategy"] or STRATEGIES[0]
if config["map"]["models"] is not None:
    #: The model files of the maps: map.models (checked now, before any job), or this run's.
    MAP_MODELS = dict(config["map"]["models"])
    if MAPS:
        try:
            check_map_models(
                MAP_MODELS["s2"],
                MAP_MODELS["gcn"],
                {
                    "graphs": config["graphs"],
                    "size_m": config["samples"]["size_m"],
                    "google_chip_px": config["google"]["chip_px"],
                    "segment_backend": config["segment"]["backend"],
                },
            )
        except (OSError, ValueError) as exc:
            raise WorkflowError(str(exc)) from None
else:
    MAP_MODELS = {
        "s2": f"results/models/{MAP_STRATEGY}/resnet11_3d.pt",
        "gcn": f"results/models/{MAP_STRATEGY}/gcn.pt",
    }


def final_outputs(wildcards):
    """Targets of the all target (each stage adds its own); a run without labels only maps."""
    if not TRAINING:
        return expand("results/maps/{region}_lcz.tif", region=MAP_REGIONS)
    targets = ["results/samples.parquet", "results/tables/samples_per_class.csv"]
    if not IMPORTED:
        targets.append("results/figures/samples_overview.png")
    targets += expand("results/splits/{strategy}.csv", strategy=STRATEGIES)
    targets += [
        "results/valid_samples.csv",
        "results/summary.html",
        "results/summary.md",
    ]
    if MAPS:
        targets += expand("results/maps/{region}_lcz.tif", region=MAP_REGIONS)
    return targets


def shard_column_files(column):
    """Input function: the raw files named in ``column`` of the shard's rows of the sample table.

    Imported datasets record each sample's source files in the sample table (docs/contracts.md §1);
    declaring them as inputs lets Snakemake see that data flow (a changed patch file reruns its shard).
    """

    def files(wildcards):
        path = getattr(checkpoints, VARIANT.samples_rule).get().output.table
        rows = pd.read_parquet(
            path, columns=[column], filters=[("shard", "==", int(wildcards.shard))]
        )
        return sorted(set(rows[column].astype(str)))

    return files


# ---- LCZ maps (rules/map.smk) ----


def map_raster_inputs(wc):
    """The region's rasters (Google mosaic and Sentinel-2 input(s))."""
    return {
        "google": google_inputs(wc.region),
        "sentinel2": REGIONS[wc.region]["sentinel2"],
    }


def map_tile_files(wc):
    """The tile files of the region's plan (known once the checkpoint lcz_map_plan has run)."""
    from df4lcz.mapping.tiles import read_plan

    plan = read_plan(checkpoints.lcz_map_plan.get(region=wc.region).output.plan)
    return [f"results/maps/tiles/{wc.region}/{tile.id}.tif" for tile in plan.tiles]


MAP_PROBABILITY_OUTPUTS = (
    {"probabilities": "results/maps/{region}_lcz_probabilities.tif"}
    if config["map"]["probabilities"] != "none"
    else {}
)
