"""Demo settings for tests: the schema's ``demo`` defaults with a few overrides."""

from __future__ import annotations

from typing import Any

from df4lcz.config import schema_defaults
from df4lcz.demo import DemoSettings


def demo_settings(**overrides: Any) -> DemoSettings:
    """``DemoSettings`` from the schema defaults of the ``demo`` section, with ``overrides`` applied."""
    return DemoSettings.from_config({**schema_defaults("demo"), **overrides})
