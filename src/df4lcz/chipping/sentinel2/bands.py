"""Sentinel-2 band names, per-band files in a folder, and naming the bands of a multi-band file."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from ...constants import S2_BANDS
from ...errors import ConfigError, InputError

#: File extensions recognised as per-band rasters in a folder.
BAND_FILE_EXTENSIONS: tuple[str, ...] = (".jp2", ".tif", ".tiff")

# "B2", "B02", "B8A", "b8a", "SR_B2", "B02_10m" → band token not glued to other letters/digits.
_BAND_TOKEN_RE = re.compile(r"(?<![A-Z0-9])B0?(\d{1,2})(A?)(?![A-Z0-9])")
_RESOLUTION_SUFFIX_RE = re.compile(r"_(\d+)M$")


def normalise_band_name(name: str | None) -> str | None:
    """Return the canonical Sentinel-2 band name (``"B02"``, ``"B8A"``, …) found in ``name``.

    ``"B2"``, ``"b02"``, ``"B02 (490 nm)"``, ``"SR_B2"`` → ``"B02"``; ``"B8A"``/``"B8a"`` →
    ``"B8A"``. Returns ``None`` when ``name`` holds no Sentinel-2 band token (B01–B12, B8A).
    If several tokens occur, the last one wins (file stems put the band last).
    """
    if not name:
        return None
    matches = list(_BAND_TOKEN_RE.finditer(str(name).strip().upper()))
    if not matches:
        return None
    number, suffix = int(matches[-1].group(1)), matches[-1].group(2)
    if suffix:
        return "B8A" if number == 8 else None
    if not 1 <= number <= 12:
        return None
    return f"B{number:02d}"


def _file_resolution_m(stem: str) -> float:
    """Resolution (m) encoded in an L2A file stem (``…_B02_10m`` → 10); 0 when the stem has none."""
    m = _RESOLUTION_SUFFIX_RE.search(stem.upper())
    return float(m.group(1)) if m else 0.0


def find_band_files(folder: str | os.PathLike, bands: Sequence[str] = S2_BANDS) -> dict[str, Path]:
    """Find one file per band in a folder of per-band Sentinel-2 rasters (searched recursively).

    Recognises ``*_B02.jp2``, ``*_B8A.tif``, L2A ``*_B02_10m.jp2`` and the like; ignores quality
    masks (``MSK_*`` files and anything under a ``QI_DATA`` folder). Where one band exists at
    several resolutions (L2A ``R10m``/``R20m``/``R60m``) the finest resolution is kept.

    Args:
        folder: directory to search.
        bands: band names wanted (canonical spelling, e.g. :data:`S2_BANDS`).

    Returns:
        ``{band: path}`` for every band in ``bands``, in the order of ``bands``.

    Raises:
        FileNotFoundError: ``folder`` does not exist.
        InputError (a ValueError): a wanted band has no file (the band is named), or one band has several
            files at the same resolution (they are listed).
    """
    root = Path(folder)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: Sentinel-2 band folder not found")
    names = [p.relative_to(root).as_posix() for p in sorted(root.rglob("*")) if p.is_file()]
    return {band: root / name for band, name in pick_band_files(names, str(root), bands).items()}


def pick_band_files(names: Sequence[str], where: str, bands: Sequence[str] = S2_BANDS) -> dict[str, str]:
    """Choose one file per band among relative file names (``/``-separated), as :func:`find_band_files`.

    Args:
        names: candidate files (e.g. every file of a folder or of a zip), relative to ``where``.
        where: the folder or archive, for messages.
        bands: band names wanted.

    Returns:
        ``{band: name}`` in the order of ``bands``.
    """
    candidates: dict[str, list[tuple[float, str]]] = {}
    for name in sorted(names):
        path = PurePosixPath(name)
        if path.suffix.lower() not in BAND_FILE_EXTENSIONS:
            continue
        if path.name.upper().startswith("MSK_") or "QI_DATA" in (p.upper() for p in path.parts):
            continue
        stem = path.stem
        band = normalise_band_name(_RESOLUTION_SUFFIX_RE.sub("", stem.upper()))
        if band is None:
            continue
        candidates.setdefault(band, []).append((_file_resolution_m(stem), name))
    found: dict[str, str] = {}
    missing = [b for b in bands if b not in candidates]
    if missing:
        raise InputError(
            f"{where}: no file for band(s) {', '.join(repr(b) for b in missing)} "
            f"(looked recursively for *_<BAND>{{{','.join(BAND_FILE_EXTENSIONS)}}}); "
            f"bands found: {sorted(candidates) or 'none'}"
        )
    for band in bands:
        options = sorted(candidates[band], key=lambda item: item[0])
        best = [p for res, p in options if res == options[0][0]]
        if len(best) > 1:
            raise InputError(
                f"{where}: several files for band {band!r}: {best}; point to a single granule folder"
            )
        found[band] = best[0]
    return found


#: Config key that names the bands of a multi-band file, for messages.
BAND_NAMES_KEY: str = "regions[].s2_band_names"


def identify_bands(
    path: Path, count: int, descriptions: Sequence[str | None], band_names: Sequence[str] | None
) -> list[str | None]:
    """Name every band of a multi-band file (``None`` for bands that are not S2 bands).

    Args:
        path: the file, for messages.
        count: its number of bands.
        descriptions: its band descriptions (``None`` or ``""`` where a band has none).
        band_names: ``regions[].s2_band_names`` (one name per band, file order), or ``None``.

    Raises:
        InputError: the bands cannot all be identified, a band is named twice, or ``band_names``
            contradicts the band descriptions the file carries (both orders named).
        ConfigError: a name in ``band_names`` that is no Sentinel-2 band.
    """
    expected = ", ".join(S2_BANDS)
    described = [normalise_band_name(d) for d in descriptions]
    if band_names is not None:
        if len(band_names) != count:
            raise InputError(
                f"{path}: {BAND_NAMES_KEY} has {len(band_names)} names but the file has {count} bands; "
                "give one name per band in file order"
            )
        names = [normalise_band_name(n) for n in band_names]
        unknown = [n for n, canon in zip(band_names, names) if canon is None]
        if unknown:
            raise ConfigError(
                f"{path}: {BAND_NAMES_KEY} {unknown} are not Sentinel-2 band names (B01…B12, B8A)"
            )
        clash = [
            i
            for i, (named, desc) in enumerate(zip(names, described))
            if named is not None and desc is not None and named != desc
        ]
        if clash:
            first = clash[0]
            raise InputError(
                f"{path}: {BAND_NAMES_KEY} {[str(n) for n in band_names]} contradicts the file's own band "
                f"descriptions {[d if d else None for d in descriptions]} (band {first + 1} is "
                f"{descriptions[first]!r} in the file but {band_names[first]!r} in the config; "
                f"{len(clash)} of {count} bands disagree). Expected {BAND_NAMES_KEY} to list the bands in "
                "the file's order: remove the key (the descriptions name the bands) or correct it"
            )
        source = BAND_NAMES_KEY
    else:
        names = described
        source = "band descriptions"
        if not any(names):
            raise InputError(
                f"{path}: found {count} band(s) and no band descriptions naming Sentinel-2 bands, so which band "
                f"is which cannot be known (a 10-band file is not assumed to be in So2Sat order {expected}). "
                f"Name the bands in file order with {BAND_NAMES_KEY} (e.g. s2_band_names: "
                "[B02, B03, B04, B05, B06, B07, B08, B8A, B11, B12]), or write band descriptions into the file "
                "(rasterio: dst.descriptions = (...); GDAL: gdal_edit.py -mo / a VRT with <Description>)"
            )
    duplicated = sorted({n for n in names if n is not None and names.count(n) > 1})
    if duplicated:
        listed = list(band_names) if band_names is not None else list(descriptions)
        raise InputError(f"{path}: band(s) {duplicated} named twice in the {source} ({listed})")
    missing = [b for b in S2_BANDS if b not in names]
    if missing:
        raise InputError(
            f"{path}: band(s) {missing} not found among the {source} {list(band_names or descriptions)} "
            f"of its {count} band(s); expected {expected}. Name the bands in file order with {BAND_NAMES_KEY}"
        )
    return names
