"""Configuration: JSON-schema validation with defaults, and the checks a schema cannot express.

The bottom layer of the package: it reads no input file and imports no reader. The schema
(``schemas/config.schema.yaml``) documents every key and is the only home of defaults.
:func:`validate_config` fills in defaults, rejects unknown keys and bad values with messages that
name the key and say what is expected, then checks cross-key rules (split shares sum to 1, region
names unique, map regions known). The checks that open the input files a config names live one
layer up, in :mod:`df4lcz.preflight`.
"""

from __future__ import annotations

import copy
import functools
import math
import os
from collections.abc import Iterator, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pyproj
import yaml

from .errors import ConfigError

__all__ = [
    "ConfigError",
    "canonical_order",
    "config_error",
    "load_schema",
    "read_config_file",
    "region_defaults",
    "region_names",
    "schema_defaults",
    "schema_markdown",
    "schema_problems",
    "semantic_problems",
    "validate_config",
]

SCHEMA_RESOURCE = "config.schema.yaml"


def load_schema() -> dict[str, Any]:
    """Return the configuration JSON schema shipped with the package (a fresh copy: callers may change it)."""
    return copy.deepcopy(_schema())


@functools.cache
def _schema() -> dict[str, Any]:
    """The schema, parsed once per process (every Snakemake call and cluster job validates the config)."""
    text = resources.files("df4lcz.schemas").joinpath(SCHEMA_RESOURCE).read_text(encoding="utf-8")
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def _with_defaults(validator_class):
    """A validator class that fills ``default`` values into objects as it validates them."""
    check_properties = validator_class.VALIDATORS["properties"]

    def properties(validator, props, instance, schema):
        if isinstance(instance, dict):
            for name, sub in props.items():
                if "default" in sub and name not in instance:
                    instance[name] = copy.deepcopy(sub["default"])
        yield from check_properties(validator, props, instance, schema)

    return jsonschema.validators.extend(validator_class, {"properties": properties})


_Validator = _with_defaults(jsonschema.Draft202012Validator)


def _key(path: Iterator[Any] | list[Any]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<top level>"


def _describe(error: jsonschema.ValidationError) -> str:
    key = _key(list(error.absolute_path))
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed))
        where = f"{key}." if key != "<top level>" else ""
        return (
            f"unknown config key(s) {', '.join(repr(where + e) for e in extra)}; "
            f"valid keys here are: {', '.join(allowed)}"
        )
    if error.validator == "required":
        return f"config key '{key}': {error.message}"
    expected = error.schema.get("description", "").strip()
    if error.validator == "enum":
        expected = ""
    elif error.validator in {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}:
        parent = error.parent.schema.get("description", "") if error.parent else ""
        expected = expected or parent
    msg = f"config key '{key}': {error.message}"
    if expected:
        msg += f" (expected: {' '.join(expected.split())})"
    return msg


def validate_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """Validate ``config`` and return a deep copy with every default filled in (no file is opened).

    Args:
        config: the parsed config mapping (e.g. Snakemake's ``config``).

    Raises:
        ConfigError: listing every problem found, each naming its key and what was expected.
    """
    cfg = copy.deepcopy(dict(config))
    problems = schema_problems(cfg) or semantic_problems(cfg)
    if problems:
        raise config_error(problems)
    return canonical_order(cfg, _schema())


def schema_problems(cfg: dict[str, Any]) -> list[str]:
    """Fill the schema's defaults into ``cfg`` (in place) and return what breaks the schema."""
    return sorted({_describe(e) for e in _Validator(_schema()).iter_errors(cfg)})


def config_error(problems: list[str]) -> ConfigError:
    """The :class:`ConfigError` that lists ``problems``, one per line."""
    return ConfigError("invalid configuration:\n  - " + "\n  - ".join(problems))


def schema_defaults(section: str | None = None) -> dict[str, Any]:
    """The schema's defaults (of one top-level ``section``, e.g. ``"train"``), as a validated config has them.

    The schema is the only home of defaults; library functions take validated settings and never
    re-default. Tests and standalone callers that want "the defaults" ask here.
    """
    cfg = validate_config({})
    return copy.deepcopy(cfg if section is None else cfg[section])


def region_defaults() -> dict[str, Any]:
    """The schema's defaults of one ``regions[]`` entry (the keys that have one)."""
    items = _schema()["properties"]["regions"]["items"]["properties"]
    return {k: copy.deepcopy(v["default"]) for k, v in items.items() if "default" in v}


def region_names(cfg: Mapping[str, Any]) -> list[str]:
    """The names of a validated config's regions in order: ``regions[].name``, or the demo's cities."""
    if cfg["dataset"] == "regions":
        return [r["name"] for r in cfg["regions"]]
    if cfg["dataset"] == "demo":
        from .demo.sites import CITY_SITES

        return [name for name, _, _ in CITY_SITES[: cfg["demo"]["n_cities"]]]
    return []


#: The demo city the ``region`` strategy tests on when ``splits.test_regions`` is null (the third).
DEMO_TEST_REGION_INDEX: int = 2


def split_test_regions(cfg: Mapping[str, Any]) -> list[str]:
    """The test regions of the ``region`` split strategy: ``splits.test_regions``, or the third demo city.

    Empty when the list is null and there is no default (dataset regions, or a demo of fewer than
    three cities); :func:`validate_config` refuses such a config when ``region`` is a strategy.
    """
    given = cfg["splits"].get("test_regions")
    if given is not None:
        return list(given)
    names = region_names(cfg)
    if cfg["dataset"] == "demo" and len(names) > DEMO_TEST_REGION_INDEX:
        return [names[DEMO_TEST_REGION_INDEX]]
    return []


def _region_split_problems(cfg: dict[str, Any]) -> list[str]:
    """The ``region`` strategy: a dataset with regions, and known, labelled test regions with a training region left."""
    if "region" not in cfg["splits"]["strategies"]:
        return []
    if cfg["dataset"] not in ("demo", "regions"):
        return [
            f"config key 'splits.strategies': 'region' needs a dataset with regions (demo or regions), "
            f"not {cfg['dataset']!r}"
        ]
    names = region_names(cfg)
    tests = split_test_regions(cfg)
    if not tests:
        return [
            "config key 'splits.test_regions': the region strategy needs its test regions; list region "
            f"names among {names}"
        ]
    problems = []
    unknown = [t for t in tests if t not in names]
    if unknown:
        problems.append(
            f"config key 'splits.test_regions': {unknown} are not regions of this run; expected names among {names}"
        )
    labelled = (
        names if cfg["dataset"] == "demo" else [r["name"] for r in cfg["regions"] if r["labels"] is not None]
    )
    unlabelled = [t for t in tests if t in names and t not in labelled]
    if unlabelled:
        problems.append(
            f"config key 'splits.test_regions': {unlabelled} have no labels, so they have no test samples; "
            f"choose among the labelled regions {labelled}"
        )
    if not problems and not [n for n in labelled if n not in tests]:
        problems.append(
            f"config key 'splits.test_regions': {tests} leave no labelled region to train on; keep at least "
            f"one of {labelled} out of the test regions"
        )
    return problems


def canonical_order(value: Any, schema: Mapping[str, Any]) -> Any:
    """``value`` with every mapping's keys in the schema's order (other keys after, sorted).

    Snakemake compares ``params:`` by their text, so the order in which a user wrote the keys of a
    config section must not matter: reordering ``config.yaml`` would otherwise rerun jobs.
    """
    if isinstance(value, Mapping):
        props = schema.get("properties", {})
        keys = [k for k in props if k in value] + sorted(k for k in value if k not in props)
        return {k: canonical_order(value[k], props.get(k, {})) for k in keys}
    if isinstance(value, list):
        items = schema.get("items", {})
        return [canonical_order(v, items if isinstance(items, Mapping) else {}) for v in value]
    return value


def semantic_problems(cfg: dict[str, Any]) -> list[str]:
    """Cross-key rules of a schema-valid config, defaults filled in (no file is opened)."""
    problems: list[str] = []
    splits = cfg["splits"]
    total = splits["train"] + splits["val"] + splits["test"]
    if not math.isclose(total, 1.0, abs_tol=1e-6):
        problems.append(
            f"config keys 'splits.train', 'splits.val', 'splits.test' sum to {total:g}; expected 1"
        )
    lo, hi = cfg["demo"]["patch_cells"]
    if lo > hi:
        problems.append(f"config key 'demo.patch_cells': minimum {lo} exceeds maximum {hi}")
    if cfg["samples"]["stride_m"] < cfg["samples"]["size_m"] / 4:
        problems.append(
            "config key 'samples.stride_m': stride below a quarter of size_m makes near-duplicate samples; "
            f"expected ≥ {cfg['samples']['size_m'] / 4:g}"
        )
    if cfg["dataset"] == "regions":
        problems += _region_problems(cfg)
    known = region_names(cfg)
    overview = cfg["samples"]["overview_region"]
    if overview is not None and cfg["dataset"] in ("demo", "regions") and overview not in known:
        problems.append(
            f"config key 'samples.overview_region': {overview!r} is not a region of this run; "
            f"expected one of {known}"
        )
    problems += _dataset_problems(cfg)
    problems += _region_split_problems(cfg)
    sam = cfg["segment"]["sam"]
    if cfg["segment"]["backend"] == "sam" and sam["model_type"] == "tiny" and not sam["checkpoint"]:
        problems.append(
            "config key 'segment.sam.checkpoint': model_type 'tiny' (a test model) has no official "
            "checkpoint; give the file made by df4lcz.segmentation.sam.build_tiny_sam_checkpoint"
        )
    return problems


def _region_problems(cfg: dict[str, Any]) -> list[str]:
    """``regions[]``: names, label maps, working CRSs, and regions without labels (only mapped)."""
    problems: list[str] = []
    regions = cfg["regions"]
    if not regions:
        problems.append(
            "config key 'regions': dataset is 'regions' but no region is listed; add at least one"
        )
    names = [r["name"] for r in regions]
    for dup in sorted({n for n in names if names.count(n) > 1}):
        problems.append(f"config key 'regions': region name {dup!r} is used more than once")
    for i, region in enumerate(regions):
        for key in region["label_map"]:
            try:
                int(key)
            except ValueError:
                problems.append(
                    f"config key 'regions[{i}].label_map': key {key!r} is not an integer class code"
                )
        if region["working_crs"] is not None:
            try:
                pyproj.CRS.from_user_input(region["working_crs"])
            except pyproj.exceptions.CRSError as exc:
                problems.append(
                    f"config key 'regions[{i}].working_crs': {region['working_crs']!r} is not a "
                    f"coordinate reference system ({exc}); expected e.g. 'EPSG:32650'"
                )
    map_cfg = cfg["map"]
    mapped = set(map_cfg["regions"] or [r["name"] for r in regions[:1]])
    for i, region in enumerate(regions):
        if region["labels"] is None and region["name"] not in mapped:
            problems.append(
                f"config key 'regions[{i}].labels': region {region['name']!r} has no labels and is not "
                "in map.regions, so the run would do nothing with it; give its training polygons, or "
                "add it to map.regions to map it"
            )
    if regions and all(r["labels"] is None for r in regions):
        if map_cfg["models"] is None:
            problems.append(
                "config key 'map.models': no region has labels, so nothing is trained; give the model "
                "files to map with (map.models: {s2: …/resnet11_3d.pt, gcn: …/gcn.pt} from a previous run)"
            )
        elif not map_cfg["enabled"]:
            problems.append(
                "config key 'map.enabled': no region has labels (a map-only run) but maps are disabled"
            )
    return problems


def _dataset_problems(cfg: dict[str, Any]) -> list[str]:
    """Checks of the imported datasets (lczc_ges2, so2sat), the split strategies and the map."""
    problems: list[str] = []
    dataset, strategies = cfg["dataset"], cfg["splits"]["strategies"]
    if dataset == "so2sat":
        if strategies != ["official"]:
            problems.append(
                f"config key 'splits.strategies': dataset 'so2sat' has only its official split; "
                f"set splits.strategies: [official] (got {strategies})"
            )
        for key in ("training", "validation", "testing"):
            if not cfg["so2sat"][key]:
                problems.append(
                    f"config key 'so2sat.{key}': dataset is 'so2sat' but no {key} HDF5 file is given"
                )
    elif "official" in strategies:
        problems.append(
            f"config key 'splits.strategies': 'official' exists only for dataset 'so2sat' "
            f"(dataset is {dataset!r}); use random and/or polygon"
        )
    if dataset == "lczc_ges2":
        if not cfg["lczc_ges2"]["root"]:
            problems.append("config key 'lczc_ges2.root': dataset is 'lczc_ges2' but no data folder is given")
        for strategy in strategies:
            if not cfg["lczc_ges2"]["split_files"].get(strategy):
                problems.append(
                    f"config key 'lczc_ges2.split_files.{strategy}': strategy {strategy!r} needs its "
                    "released split pickle (dict with train, validation, test)"
                )
    map_strategy = cfg["map"]["strategy"]
    if (
        map_strategy is not None
        and map_strategy not in strategies
        and dataset in ("demo", "regions")
        and cfg["map"]["enabled"]
    ):
        problems.append(
            f"config key 'map.strategy': {cfg['map']['strategy']!r} is not among splits.strategies "
            f"{strategies}; maps use that strategy's trained models"
        )
    fusion = cfg["map"]["fusion"]
    if fusion != "df4lcz":
        if cfg["map"]["models"] is not None:
            problems.append(
                f"config key 'map.fusion': {fusion!r} needs this run's fusion records; with map.models "
                "(model files of another run) only 'df4lcz' (map.alpha or fusion.alpha) is possible"
            )
        if cfg["map"]["alpha"] is not None:
            problems.append(
                f"config key 'map.alpha': applies to map.fusion 'df4lcz' only; {fusion!r} uses the α "
                "the evaluation chose (set map.alpha: null)"
            )
        if fusion in ("df4lcz_cal", "df4lcz_cal_tuned") and not cfg["fusion"]["calibrate"]:
            problems.append(
                f"config key 'map.fusion': {fusion!r} is a calibrated fusion, but fusion.calibrate is "
                "false; set fusion.calibrate: true or choose df4lcz / df4lcz_tuned"
            )
    if cfg["map"]["regions"] is not None and dataset in ("demo", "regions"):
        known = region_names(cfg)
        for name in cfg["map"]["regions"]:
            if name not in known:
                problems.append(
                    f"config key 'map.regions': {name!r} is not a region of this run ({sorted(known)})"
                )
    return problems


def _yaml_error_message(path: Path, exc: yaml.YAMLError) -> str:
    """``file, line L, column C: problem`` for a YAML syntax error (1-based, as editors count)."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = " ".join(str(getattr(exc, "problem", None) or exc).split())
    context, context_mark = getattr(exc, "context", None), getattr(exc, "context_mark", None)
    if context:
        where = ""
        if context_mark is not None and context_mark is not mark:
            where = f" that starts at line {context_mark.line + 1}, column {context_mark.column + 1}"
        problem = f"{problem} ({' '.join(str(context).split())}{where})"
    if mark is None:
        return f"{path}: not valid YAML: {problem}"
    return f"{path}, line {mark.line + 1}, column {mark.column + 1}: not valid YAML: {problem}"


def read_config_file(path: str | os.PathLike) -> dict[str, Any]:
    """The mapping a YAML config file holds, not yet validated (an empty file is ``{}``).

    Raises:
        ConfigError: missing file, a YAML syntax error (the message names the file, line and
            column), or a top level that is not a mapping.
    """
    p = Path(path)
    if not p.exists():
        raise ConfigError(f"config file not found: {p}")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(_yaml_error_message(p, exc)) from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: expected a mapping of config keys at the top level")
    return data


def schema_markdown(schema: Mapping[str, Any] | None = None) -> str:
    """Render every config key, its type, default and description as a Markdown table."""
    schema = schema or load_schema()
    rows: list[str] = ["| key | type | default | description |", "|---|---|---|---|"]

    def literal(value: Any) -> str:  # a value as the user writes it in YAML (null, true, 0.5, sam)
        return yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()

    def walk(node: Mapping[str, Any], prefix: str) -> None:
        for name, sub in node.get("properties", {}).items():
            key = f"{prefix}{name}"
            typ = sub.get("type", "")
            typ = " or ".join(typ) if isinstance(typ, list) else typ
            if "enum" in sub:
                typ = " \\| ".join(f"`{literal(v)}`" for v in sub["enum"])
            default = sub.get("default", "")
            default_txt = "" if isinstance(default, dict) else f"`{literal(default)}`"
            desc = " ".join(str(sub.get("description", "")).split())
            rows.append(f"| `{key}` | {typ} | {default_txt} | {desc} |")
            if sub.get("type") == "object" and "properties" in sub:
                walk(sub, f"{key}.")
            if (
                sub.get("type") == "array"
                and isinstance(sub.get("items"), dict)
                and "properties" in sub["items"]
            ):
                walk(sub["items"], f"{key}[].")

    walk(schema, "")
    return "\n".join(rows) + "\n"
