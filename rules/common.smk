# Config loading and validation, and the run-wide constants every rule file reads (df4lcz.run):
# RUN (what the run does) and INPUTS (its input functions, df4lcz.workflow_inputs: plain Python, so
# that the rule files hold only rules and the functions are tested without Snakemake).
# Nothing here imports torch, torch_geometric, geopandas or rasterio: every Snakemake call, and
# every cluster job, parses this file.

import os
import re
import sys
from pathlib import Path

# the package is installed by `make`; fall back to the checkout's src/ (scripts do the same
# through workflow_scripts/_bootstrap.py, for conda envs and cluster nodes)
_SRC = str(Path(workflow.basedir) / "src")
if _SRC not in sys.path:
    sys.path.insert(0, _SRC)

from snakemake.exceptions import WorkflowError

from df4lcz.config import read_config_file, split_test_regions
from df4lcz.constants import (
    ALL_MODEL_NAMES,
    SPLIT_STRATEGIES,
    STREAM_DIRS,
    TRAINED_MODEL_NAMES,
)
from df4lcz.errors import ConfigError
from df4lcz.preflight import validate_run_config
from df4lcz.run import RunPlan
from df4lcz.workflow_inputs import RunInputs

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


# schema, defaults and cross-key rules (df4lcz.config), then the input files the config names
# (df4lcz.preflight: Google inputs, SAM checkpoint, map.models), all before any job
try:
    _validated = validate_run_config(config, base_dir=".")
except ConfigError as _err:
    raise WorkflowError(str(_err)) from None
config.clear()
config.update(_validated)

#: What this run does (df4lcz.run.RunPlan): regions, models, strategies, maps, final targets.
RUN = RunPlan(config)
#: The input functions of the rules (df4lcz.workflow_inputs.RunInputs).
INPUTS = RunInputs(RUN, checkpoints)
#: What the chosen dataset brings: its rule files, streams, graphs (df4lcz.variants).
VARIANT = RUN.variant
#: Datasets imported as pre-cut patches (no rasters, no chipping or segmentation).
IMPORTED = RUN.imported
#: Whether the dataset has a Google Earth stream (graphs, GCN and fusion).
HAS_GRAPHS = RUN.has_graphs
#: Streams a sample must be present in (their shard files live under results/STREAM_DIRS[stream]).
STREAMS = list(VARIANT.streams)
#: {name: regions[] entry} of the regions cut from rasters; LABELLED: those with training polygons.
REGIONS = RUN.regions
LABELLED = RUN.labelled
STRATEGIES = RUN.strategies
#: Strategies with a fusion step (α curves); none without the graph stream.
FUSION_STRATEGIES = RUN.fusion_strategies
FUSION_MODELS = RUN.fusion_models
MODELS = RUN.models
EVAL_KEYS = RUN.eval_keys
TRAINED_MODELS_RE = "|".join(TRAINED_MODEL_NAMES)
#: Regions wildcard of the map rules (never empty: a pattern that matches nothing when unmapped).
REGION_RE = "|".join(re.escape(name) for name in REGIONS) or "NO_REGION"
MAPS = RUN.maps
MAP_REGIONS = RUN.map_regions
MAP_MODELS = RUN.map_models
#: The summary's provenance: config files, digest of the effective config, seed, dataset (df4lcz.run).
SUMMARY_PROVENANCE = RUN.summary_provenance([str(f) for f in workflow.configfiles])
