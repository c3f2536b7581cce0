"""DF4LCZ: SAM-empowered fusion of Google Earth graphs and Sentinel-2 chips for scene-level
Local Climate Zone classification, as a reproducible workflow (Wu et al., IEEE TGRS 62, 2024)."""

__version__ = "0.1.0"
