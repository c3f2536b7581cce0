"""Ground materials of the demo world: their RGB appearance and 10-band Sentinel-2 spectra.

Spectra are typical top-of-atmosphere reflectances for the ten So2Sat bands (B02 … B12), shaped
after the usual spectral-library curves (vegetation red edge and NIR plateau, water absorbing
beyond red, bright dry soil in SWIR). They are plausible, not measured: what matters for the demo
is that materials differ the way real ones do, so that the Sentinel-2 stream sees material
mixtures (vegetation share, imperviousness, water) and the Google stream sees shapes and shadows.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np


class Material(IntEnum):
    """Material codes of the internal material map (uint8)."""

    GRASS = 0
    TREES = 1
    SHRUB = 2
    SOIL = 3
    WATER = 4
    ROCK = 5
    ASPHALT = 6
    CONCRETE = 7
    ROOF_LIGHT = 8
    ROOF_DARK = 9
    ROOF_METAL = 10
    ROOF_TILE = 11
    SHADOW = 12


N_MATERIALS: int = len(Material)

#: Mean RGB (0–255) of each material as seen from above on a sunny day.
MATERIAL_RGB: np.ndarray = np.array(
    [
        (96, 128, 68),  # grass
        (46, 78, 44),  # trees
        (104, 110, 72),  # shrub
        (164, 138, 104),  # soil
        (42, 62, 80),  # water
        (150, 146, 140),  # rock
        (72, 72, 78),  # asphalt
        (178, 176, 168),  # concrete
        (204, 202, 196),  # light roof
        (92, 92, 98),  # dark roof
        (150, 170, 186),  # metal roof
        (168, 88, 62),  # tile roof
        (30, 33, 40),  # shadow
    ],
    dtype=np.float32,
)

#: Reflectance spectra, rows = materials, columns = So2Sat bands B02 … B12.
MATERIAL_SPECTRA: np.ndarray = np.array(
    [
        [0.040, 0.080, 0.050, 0.120, 0.280, 0.330, 0.350, 0.370, 0.220, 0.120],  # grass
        [0.030, 0.050, 0.030, 0.080, 0.220, 0.280, 0.300, 0.320, 0.150, 0.070],  # trees
        [0.050, 0.070, 0.070, 0.110, 0.200, 0.240, 0.260, 0.280, 0.220, 0.140],  # shrub
        [0.100, 0.140, 0.180, 0.210, 0.230, 0.250, 0.260, 0.270, 0.320, 0.280],  # soil
        [0.070, 0.060, 0.040, 0.030, 0.020, 0.020, 0.020, 0.020, 0.010, 0.010],  # water
        [0.180, 0.200, 0.220, 0.230, 0.240, 0.250, 0.260, 0.260, 0.300, 0.270],  # rock
        [0.080, 0.090, 0.100, 0.110, 0.120, 0.120, 0.130, 0.130, 0.140, 0.130],  # asphalt
        [0.200, 0.220, 0.240, 0.250, 0.260, 0.270, 0.280, 0.280, 0.300, 0.270],  # concrete
        [0.250, 0.270, 0.290, 0.300, 0.310, 0.320, 0.330, 0.330, 0.350, 0.320],  # light roof
        [0.090, 0.100, 0.110, 0.120, 0.130, 0.130, 0.140, 0.140, 0.160, 0.150],  # dark roof
        [0.220, 0.230, 0.220, 0.220, 0.220, 0.220, 0.220, 0.220, 0.200, 0.180],  # metal roof
        [0.080, 0.100, 0.180, 0.220, 0.240, 0.250, 0.260, 0.270, 0.300, 0.270],  # tile roof
        [0.030, 0.030, 0.030, 0.030, 0.040, 0.040, 0.050, 0.050, 0.040, 0.030],  # shadow
    ],
    dtype=np.float32,
)

ROOFS: tuple[Material, ...] = (
    Material.ROOF_LIGHT,
    Material.ROOF_DARK,
    Material.ROOF_METAL,
    Material.ROOF_TILE,
)
