"""Sampling settings with the schema's defaults, for tests that build sample tables directly."""

from __future__ import annotations

from typing import Any

from df4lcz.config import schema_defaults, validate_config
from df4lcz.sampling.settings import RegionInputs, SampleParams


def region_inputs(name: str, google: str, sentinel2: str, labels: str, **overrides: Any) -> RegionInputs:
    """One ``regions[]`` entry as the validated config has it (schema defaults), then ``overrides``."""
    entry = {"name": name, "google": str(google), "sentinel2": str(sentinel2), "labels": str(labels)}
    cfg = validate_config({"dataset": "regions", "regions": [entry]})["regions"][0]
    return RegionInputs(**{**cfg, **overrides})


def sample_params(**overrides: Any) -> SampleParams:
    """The ``samples`` section with the schema's defaults, then ``overrides``."""
    return SampleParams(**{**schema_defaults("samples"), **overrides})
