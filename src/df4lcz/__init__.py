"""DF4LCZ: SAM-empowered fusion of Google Earth graphs and Sentinel-2 chips for scene-level
Local Climate Zone classification, as a reproducible workflow (Wu et al., IEEE TGRS 62, 2024)."""

# The one place the version is written: pyproject.toml reads it (dynamic), model files record it
# (df4lcz.io.models), CITATION.cff repeats it (tests/test_packaging.py checks they agree).
__version__ = "0.1.0"
