"""The embedded procedural demo dataset: synthetic cities rendered per LCZ class (README, "The embedded demo dataset")."""

from .generate import CITY_SITES, DemoSettings, generate_demo, plan_cities

__all__ = ["CITY_SITES", "DemoSettings", "generate_demo", "plan_cities"]
