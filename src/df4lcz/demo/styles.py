"""How each LCZ class looks on the ground in the demo world.

Typical values follow the LCZ property ranges of Stewart & Oke (2012, Table 3): building surface
fraction, height of roughness elements, and pervious/impervious shares, simplified to what a
material map can show. Per-patch values are drawn around them with the ``variation`` knob, so
neighbouring classes (2/3, 4/5, 5/6, A/B, C/D, E/F) overlap at the margins.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .materials import Material as M


@dataclass(frozen=True)
class ClassStyle:
    """Ground recipe of one LCZ class.

    Attributes:
        building_fraction: share of the built blocks covered by roofs (0 for land-cover classes).
        building_size_m: (min, max) side of a building footprint.
        height_m: (min, max) building height; shadows are 0.8 × height long.
        road_spacing_m: distance between streets (0 = no street grid).
        road_width_m: street width.
        arrangement: ``grid`` (lots in rows) or ``random`` (scattered, overlapping allowed).
        roofs: roof material → weight.
        ground: ground-cover material → share (between buildings, or the whole patch).
        cover_grain_m: size of ground-cover blobs (tree crowns, fields, scrub clumps).
        fields_m: side of agricultural fields with their own tone (0 = none).
    """

    building_fraction: float = 0.0
    building_size_m: tuple[float, float] = (10.0, 20.0)
    height_m: tuple[float, float] = (3.0, 10.0)
    road_spacing_m: float = 0.0
    road_width_m: float = 10.0
    arrangement: str = "grid"
    roofs: dict[M, float] = field(default_factory=dict)
    ground: dict[M, float] = field(default_factory=dict)
    cover_grain_m: float = 6.0
    fields_m: float = 0.0


_CITY_ROOFS = {M.ROOF_LIGHT: 0.45, M.ROOF_DARK: 0.35, M.ROOF_TILE: 0.1, M.ROOF_METAL: 0.1}
_LOW_ROOFS = {M.ROOF_TILE: 0.4, M.ROOF_DARK: 0.3, M.ROOF_LIGHT: 0.3}

#: Demo recipe of every LCZ class code.
STYLES: dict[int, ClassStyle] = {
    1: ClassStyle(
        0.42,
        (22, 45),
        (40, 90),
        150,
        16,
        "grid",
        _CITY_ROOFS,
        {M.CONCRETE: 0.55, M.ASPHALT: 0.25, M.TREES: 0.12, M.GRASS: 0.08},
        8,
    ),
    2: ClassStyle(
        0.48,
        (14, 30),
        (12, 26),
        110,
        12,
        "grid",
        _CITY_ROOFS,
        {M.CONCRETE: 0.55, M.ASPHALT: 0.2, M.TREES: 0.15, M.GRASS: 0.1},
        6,
    ),
    3: ClassStyle(
        0.52,
        (8, 16),
        (4, 11),
        90,
        8,
        "grid",
        _LOW_ROOFS,
        {M.CONCRETE: 0.45, M.SOIL: 0.2, M.TREES: 0.2, M.GRASS: 0.15},
        5,
    ),
    4: ClassStyle(
        0.18,
        (22, 40),
        (40, 90),
        220,
        16,
        "grid",
        _CITY_ROOFS,
        {M.GRASS: 0.35, M.TREES: 0.35, M.CONCRETE: 0.3},
        10,
    ),
    5: ClassStyle(
        0.22,
        (14, 28),
        (12, 26),
        170,
        12,
        "grid",
        _CITY_ROOFS,
        {M.GRASS: 0.35, M.TREES: 0.35, M.CONCRETE: 0.3},
        8,
    ),
    6: ClassStyle(
        0.26, (8, 16), (4, 11), 120, 8, "grid", _LOW_ROOFS, {M.GRASS: 0.4, M.TREES: 0.4, M.CONCRETE: 0.2}, 6
    ),
    7: ClassStyle(
        0.62,
        (4, 9),
        (2.5, 4.5),
        0,
        4,
        "random",
        {M.ROOF_METAL: 0.6, M.ROOF_DARK: 0.25, M.ROOF_TILE: 0.15},
        {M.SOIL: 0.6, M.CONCRETE: 0.2, M.GRASS: 0.2},
        3,
    ),
    8: ClassStyle(
        0.4,
        (45, 110),
        (6, 12),
        200,
        14,
        "grid",
        {M.ROOF_LIGHT: 0.45, M.ROOF_METAL: 0.4, M.ROOF_DARK: 0.15},
        {M.CONCRETE: 0.5, M.ASPHALT: 0.4, M.GRASS: 0.1},
        8,
    ),
    9: ClassStyle(
        0.09, (9, 18), (4, 10), 0, 6, "random", _LOW_ROOFS, {M.GRASS: 0.45, M.TREES: 0.35, M.SOIL: 0.2}, 8
    ),
    10: ClassStyle(
        0.24,
        (20, 70),
        (6, 25),
        180,
        14,
        "random",
        {M.ROOF_METAL: 0.5, M.ROOF_DARK: 0.35, M.ROOF_LIGHT: 0.15},
        {M.CONCRETE: 0.4, M.SOIL: 0.35, M.ASPHALT: 0.25},
        12,
    ),
    11: ClassStyle(ground={M.TREES: 0.85, M.GRASS: 0.1, M.SHRUB: 0.05}, cover_grain_m=7),
    12: ClassStyle(ground={M.GRASS: 0.5, M.TREES: 0.35, M.SOIL: 0.15}, cover_grain_m=6),
    13: ClassStyle(ground={M.SHRUB: 0.5, M.SOIL: 0.3, M.GRASS: 0.2}, cover_grain_m=3),
    14: ClassStyle(ground={M.GRASS: 0.85, M.SOIL: 0.1, M.SHRUB: 0.05}, cover_grain_m=10, fields_m=120),
    15: ClassStyle(ground={M.ROCK: 0.6, M.CONCRETE: 0.3, M.SOIL: 0.1}, cover_grain_m=12),
    16: ClassStyle(ground={M.SOIL: 0.85, M.GRASS: 0.1, M.ROCK: 0.05}, cover_grain_m=15),
    17: ClassStyle(ground={M.WATER: 0.96, M.SOIL: 0.04}, cover_grain_m=25),
}
