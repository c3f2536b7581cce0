"""Checks made before any job runs that open the files a config names.

One layer above :mod:`df4lcz.config` (which opens no file) and above the readers it uses: the
Google input resolver (no raster library), the Sentinel-2 product metadata reader (standard library:
a zip's directory and its small metadata member, no raster read), the STAC Item / ItemCollection
JSON of a Sentinel-2 input (pystac, only when one is given; no asset opened), the band header of a Sentinel-2
GeoTIFF (rasterio, only when ``regions[].s2_band_names`` is given), the SAM checkpoint reader
(torch, only when a checkpoint is given) and the model-file compatibility check (only when
``map.models`` is given). Each reader is imported where a setting needs it, so loading the workflow
stays light. Checks that must read whole files (the CRC-32 of a zipped product's bands) are made by
the jobs that open the files (:func:`df4lcz.chipping.sentinel2.products.open_product`).

:func:`validate_run_config` is what the workflow and ``df4lcz check-config`` call.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .config import (
    canonical_order,
    config_error,
    load_schema,
    read_config_file,
    schema_problems,
    semantic_problems,
)
from .errors import ConfigError, ContractError, InputError
from .run import RunPlan, training_window

__all__ = ["input_problems", "load_config", "validate_run_config"]


def validate_run_config(
    config: Mapping[str, Any], base_dir: str | os.PathLike = ".", check_files: bool = True
) -> dict[str, Any]:
    """:func:`~df4lcz.config.validate_config`, and (``check_files``) :func:`input_problems`.

    Every problem is reported at once: the cross-key rules and the files of a schema-valid config.

    Args:
        config: the parsed config mapping.
        base_dir: directory relative input paths are resolved against.
        check_files: also check the input files the config names.

    Returns:
        The validated config, defaults filled in.

    Raises:
        ConfigError: every problem found, each naming its key and what was expected.
    """
    cfg = copy.deepcopy(dict(config))
    problems = schema_problems(cfg)
    if not problems:
        problems = semantic_problems(cfg)
        if check_files:
            problems += input_problems(cfg, Path(base_dir), compatibility=not problems)
    if problems:
        raise config_error(problems)
    return canonical_order(cfg, load_schema())


def load_config(path: str | os.PathLike, check_files: bool = True) -> dict[str, Any]:
    """Read a YAML config file and validate it (:func:`validate_run_config`; paths relative to the CWD).

    Raises:
        ConfigError: what :func:`~df4lcz.config.read_config_file` raises, or any validation problem.
    """
    return validate_run_config(read_config_file(path), check_files=check_files)


def input_problems(cfg: Mapping[str, Any], base: Path, compatibility: bool = True) -> list[str]:
    """Problems of the input files a schema-valid config names (missing, unreadable, incompatible).

    ``compatibility``: also check that ``map.models`` fit the run (needs a config without other
    problems).
    """
    problems: list[str] = []
    dataset = cfg["dataset"]
    if dataset == "regions":
        for i, region in enumerate(cfg["regions"]):
            problems += _google_problems(region, i, base)
            for field in ("sentinel2", "labels"):
                values = region[field] if isinstance(region[field], list) else [region[field]]
                for value in (v for v in values if v is not None):
                    if not (base / value).exists():
                        problems.append(f"config key 'regions[{i}].{field}': input not found: {value}")
                    elif field == "sentinel2":
                        problems += _sentinel2_problems(region, i, base / value)
        models = cfg["map"]["models"]
        if models is not None:
            for key in ("s2", "gcn"):
                if not (base / models[key]).exists():
                    problems.append(f"config key 'map.models.{key}': model file not found: {models[key]}")
    if dataset == "so2sat":
        for key in ("training", "validation", "testing"):
            path = cfg["so2sat"][key]
            if path and not (base / path).is_file():
                problems.append(f"config key 'so2sat.{key}': input not found: {path}")
    if dataset == "lczc_ges2":
        root = cfg["lczc_ges2"]["root"]
        if root and not (base / root).is_dir():
            problems.append(f"config key 'lczc_ges2.root': folder not found: {root}")
        for strategy in cfg["splits"]["strategies"]:
            path = cfg["lczc_ges2"]["split_files"].get(strategy)
            if path and not (base / path).is_file():
                problems.append(f"config key 'lczc_ges2.split_files.{strategy}': input not found: {path}")
    sam = cfg["segment"]["sam"]
    if cfg["segment"]["backend"] == "sam" and sam["checkpoint"]:
        problems += _sam_checkpoint_problems(sam, base)
    if compatibility and not problems:
        problems += _map_model_problems(cfg, base)
    return problems


def _google_problems(region: Mapping[str, Any], index: int, base: Path) -> list[str]:
    """The Google input of ``regions[index]`` located on disk (every form: path, glob, tiles, MBTiles)."""
    from .chipping.google.sources import GoogleSpec, resolve_google  # rasterio: only for regions

    key = f"regions[{index}].google"
    try:
        resolve_google(GoogleSpec.from_region(region, index), base_dir=base)
    except FileNotFoundError:
        return [f"config key '{key}': input not found: {region['google']}"]
    except (ConfigError, InputError) as exc:
        return [str(exc)]
    return []


def _sentinel2_problems(region: Mapping[str, Any], index: int, path: Path) -> list[str]:
    """What can be known of one existing Sentinel-2 input of ``regions[index]`` from its headers.

    A product (:func:`~df4lcz.chipping.sentinel2.products.is_product`): its metadata file is there,
    parses, and tells the offset unless ``s2_offset`` states it; ``s2_band_names`` is not set. A STAC
    Item / ItemCollection file (:mod:`~df4lcz.chipping.sentinel2.stac`, pystac imported only then):
    every item has a known asset layout, metadata that tells its radiometry unless ``s2_offset``
    states it, and local band files that exist; ``s2_band_names`` is not set. A
    multi-band file with ``s2_band_names``: the names fit its band count and descriptions (rasterio
    reads the header; imported only then).
    """
    from .chipping.sentinel2.products import is_product, read_product_metadata, require_offsets

    key = f"config key 'regions[{index}].sentinel2'"
    try:
        if path.is_file() and _is_stac_file(path):
            return [
                f"{key}: {p}".replace("regions[].", f"regions[{index}].")
                for p in _stac_problems(region, path)
            ]
        if is_product(path) or path.is_dir():
            if region["s2_band_names"] is not None:
                raise ConfigError(
                    f"{path}: regions[{index}].s2_band_names applies to a multi-band file, not to a folder "
                    "of per-band files or a product (their file names and metadata name the bands): "
                    "remove the key"
                )
            if is_product(path):
                require_offsets(read_product_metadata(path), region["s2_offset"] is not None)
        elif region["s2_band_names"] is not None:
            import rasterio  # only to read a band header when s2_band_names is given
            import rasterio.errors

            from .chipping.sentinel2.bands import identify_bands

            try:
                with rasterio.open(path) as dataset:
                    count, descriptions = dataset.count, dataset.descriptions
            except rasterio.errors.RasterioIOError as exc:
                raise InputError(f"{path}: cannot be read as a raster ({exc})") from exc
            identify_bands(path, count, descriptions, region["s2_band_names"])
    except (ConfigError, InputError) as exc:
        return [f"{key}: {exc}".replace("regions[].", f"regions[{index}].")]
    return []


def _is_stac_file(path: Path) -> bool:
    from .chipping.sentinel2.stac import is_stac_file

    return is_stac_file(path)


def _stac_problems(region: Mapping[str, Any], path: Path) -> list[str]:
    """Problems of a STAC Item / ItemCollection file: one per item (layout, radiometry, local files)."""
    from .chipping.sentinel2.stac import read_stac, require_radiometry

    try:
        scenes = read_stac(path)
    except (ConfigError, InputError) as exc:
        return [str(exc)]
    if region["s2_band_names"] is not None:
        return [
            f"{path}: regions[].s2_band_names applies to a multi-band file, not to STAC items (their asset "
            "keys name the bands): remove the key"
        ]
    problems: list[str] = []
    for scene in scenes:
        try:
            require_radiometry(scene, region["s2_offset"] is not None)
        except InputError as exc:
            problems.append(str(exc))
        missing = [f for f in scene.local_files() if not Path(f).exists()]
        if missing:
            problems.append(f"{scene.where}: asset file(s) not found: {', '.join(missing)}")
    return problems


def _sam_checkpoint_problems(sam: Mapping[str, Any], base: Path) -> list[str]:
    """A given ``segment.sam.checkpoint`` exists and fits ``segment.sam.model_type``."""
    path = base / sam["checkpoint"]
    if not path.exists():
        return [
            f"config key 'segment.sam.checkpoint': file not found: {sam['checkpoint']} "
            "(set it to null to let rule sam_checkpoint download the official file)"
        ]
    from .segmentation.sam import sam_checkpoint_state  # torch: only when a checkpoint is given

    try:
        sam_checkpoint_state(sam["model_type"], path, mmap=True)
    except InputError as exc:
        return [f"config key 'segment.sam.checkpoint': {exc}"]
    return []


def _map_model_problems(cfg: Mapping[str, Any], base: Path) -> list[str]:
    """``map.models`` fit this run's graphs, window and bands (only when given and maps are made)."""
    plan = RunPlan(cfg)
    if cfg["map"]["models"] is None or not plan.maps:
        return []
    from .mapping.compat import check_map_models  # reads model records (torch): only for map.models

    models = plan.map_models
    try:
        check_map_models(
            base / models["s2"], base / models["gcn"], {"graphs": cfg["graphs"], **training_window(cfg)}
        )
    except (InputError, ContractError) as exc:
        return [str(exc)]
    return []
