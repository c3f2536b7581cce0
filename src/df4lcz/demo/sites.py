"""Where the demo cities lie (no heavy import: the workflow reads this while it loads)."""

from __future__ import annotations

#: City sites (name, lon, lat): south-east China, near UTM central meridians, three zones.
CITY_SITES: tuple[tuple[str, float, float], ...] = (
    ("demo_city_1", 111.6, 23.1),
    ("demo_city_2", 117.4, 30.6),
    ("demo_city_3", 122.7, 31.2),
    ("demo_city_4", 113.2, 28.2),
    ("demo_city_5", 116.5, 28.7),
    ("demo_city_6", 118.8, 32.0),
    ("demo_city_7", 114.3, 22.4),
    ("demo_city_8", 120.3, 30.2),
)
