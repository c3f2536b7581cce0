"""The embedded procedural demo dataset (synthetic cities; see DESIGN.md §6)."""

from .generate import CITY_SITES, DemoSettings, generate_demo, plan_cities

__all__ = ["CITY_SITES", "DemoSettings", "generate_demo", "plan_cities"]
