"""The embedded procedural demo dataset: synthetic cities rendered per LCZ class (docs/datasets.md).

``CITY_SITES`` (:mod:`.sites`) is imported at once; the generator (:mod:`.generate`, which imports
geopandas and the raster stack) only when one of its names is first used, so that loading the
workflow does not pay for it.
"""

from __future__ import annotations

from typing import Any

from .sites import CITY_SITES

__all__ = ["CITY_SITES", "DemoSettings", "generate_demo", "plan_cities"]

_GENERATOR_NAMES = frozenset({"DemoSettings", "generate_demo", "plan_cities"})


def __getattr__(name: str) -> Any:
    if name in _GENERATOR_NAMES:
        from . import generate

        return getattr(generate, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
