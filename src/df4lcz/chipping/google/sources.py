"""Google Earth inputs: a ``regions[].google`` spec → one lazily opened mosaic.

This module owns every form the Google imagery of a region may come in, and is the one place that
turns the config value into the files Snakemake tracks (:func:`google_files`) and into a located
input (:func:`resolve_google`); it imports no raster library, so the workflow can list a region's
files while it loads: the spec, and locating each form on disk with its errors. The VRT
XML that mosaics a tile folder or several GeoTIFFs is built, and their files checked, by
:mod:`df4lcz.chipping.google.vrt`, which also opens the input (:func:`~df4lcz.chipping.google.vrt.open_google`):

===========================  =========================================================  ======================
form                         how it is opened                                           files tracked
===========================  =========================================================  ======================
GeoTIFF / VRT (one path)     GDAL directly                                              the file
glob pattern or list         an in-memory VRT mosaic of the files (sorted; a later      every file matched
(``tiles/*.tif``)            file wins where two overlap)
tile folder                  an in-memory VRT placing each ``{z}/{x}/{y}.png|jpg|       the folder
(``{z}/{x}/{y}.png`` …)      jpeg|webp`` tile on the EPSG:3857 grid of its zoom
``.mbtiles`` file            GDAL's MBTiles driver (``ZOOM_LEVEL``, ``USE_BOUNDS=NO``)    the file
===========================  =========================================================  ======================

Nothing is copied or downloaded: a VRT is a few lines of XML per source file, and GDAL reads only
the windows the chipper asks for.

Validity. A mosaic always has 4 bands, RGB + alpha: the alpha of a source is its GDAL
mask (the alpha band of an RGBA file, its nodata, or all valid), and pixels no source covers (a
missing tile, a gap between GeoTIFFs) have alpha 0, so the chipper excludes squares that touch
them rather than reading black. MBTiles files open as RGBA in GDAL's driver with the same meaning.

Zoom and tile scheme (``regions[].google_zoom``, ``regions[].google_tile_scheme``). A tile folder or
MBTiles file is read at one zoom: the one given, or the finest present. Tiles are placed on the
EPSG:3857 grid of their zoom (:func:`~df4lcz.chipping.google.vrt.tiles_vrt`) with rows counted from
the north (XYZ); the TMS scheme counts rows from the south (``y_tms = 2^z - 1 - y_xyz``). MBTiles rows are always TMS (the format says so), so
the scheme key does not apply to them.

Checks (errors name the config key, e.g. ``regions[0].google``, and the path): a missing path, a
glob or list matching no file, a folder that is not a ``{z}/{x}/{y}`` tile folder or holds no tile,
a requested zoom absent (the message lists the zooms present), GeoTIFFs of a mosaic with another
CRS, band count or data type than the first (the message names the odd file), rotated GeoTIFFs,
tiles of other sizes or fewer than 3 bands (a few tiles spread over the folder are probed); the
last ones when the VRT is built (:mod:`~df4lcz.chipping.google.vrt`).
Doubtful input is logged: GeoTIFFs of differing pixel sizes (the finest is used), a zoom or a tile
scheme given for an input they do not apply to, two tiles with the same ``x/y`` (the first
extension of :data:`TILE_EXTENSIONS` wins).
"""

from __future__ import annotations

import glob
import os
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path
from typing import Any, Literal

from ...errors import ConfigError, InputError
from ...logs import get_logger

log = get_logger("google")

#: Tile file extensions recognised in a tile folder, in order of preference for a duplicate x/y.
TILE_EXTENSIONS: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".webp")

#: Row numbering schemes of a tile folder (``regions[].google_tile_scheme``).
TILE_SCHEMES: tuple[str, ...] = ("xyz", "tms")

#: Suffix (any case) that marks an MBTiles file.
MBTILES_SUFFIX: str = ".mbtiles"

#: Characters that make a ``regions[].google`` string a glob pattern.
GLOB_CHARS: str = "*?["

#: The forms a Google input may take.
GoogleForm = Literal["raster", "mosaic", "tiles", "mbtiles"]


@dataclass(frozen=True)
class Tile:
    """One tile of a tile folder: its column, its XYZ row (north = 0) and its file."""

    x: int
    y: int
    path: str


@cache
def _region_schema_default(name: str) -> Any:
    """The schema's default of one ``regions[]`` key (the schema is the one home of defaults)."""
    from ...config import region_defaults

    return region_defaults()[name]


@dataclass(frozen=True)
class GoogleSpec:
    """A region's Google input as the config gives it.

    Attributes:
        source: ``regions[].google``: one path or glob pattern, or a tuple of them.
        zoom: ``regions[].google_zoom`` (``None``: the finest zoom present).
        tile_scheme: ``regions[].google_tile_scheme`` (``"xyz"`` or ``"tms"``).
        key: the config key named in error messages (e.g. ``"regions[0].google"``).
    """

    source: str | tuple[str, ...]
    zoom: int | None
    tile_scheme: str
    key: str

    def __post_init__(self) -> None:
        if self.tile_scheme not in TILE_SCHEMES:
            raise ConfigError(
                f"config key {self.key!r}: tile scheme {self.tile_scheme!r} is not one of "
                f"{list(TILE_SCHEMES)}"
            )
        if self.zoom is not None and not (isinstance(self.zoom, int) and self.zoom >= 0):
            raise ConfigError(
                f"config key {self.key!r}: zoom {self.zoom!r} is not a zoom level (integer ≥ 0)"
            )

    def __str__(self) -> str:
        if isinstance(self.source, str):
            return self.source
        if len(self.source) == 1:
            return self.source[0]
        return f"{len(self.source)} Google rasters ({self.source[0]}, …)"

    @classmethod
    def from_region(cls, region: Mapping[str, Any], index: int | None = None) -> GoogleSpec:
        """The spec of one validated ``regions[]`` entry (``index``: its position, for messages)."""
        key = (
            f"regions[{index}].google"
            if index is not None
            else f"regions[].google of region {region['name']!r}"
        )
        return cls(_as_source(region["google"]), region["google_zoom"], region["google_tile_scheme"], key)

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> GoogleSpec:
        """Inverse of :meth:`as_params` (a rule's JSON-able ``params`` entry)."""
        return cls(_as_source(params["source"]), params["zoom"], params["tile_scheme"], params["key"])

    def as_params(self) -> dict[str, Any]:
        """JSON-able form passed to a rule's script (see :meth:`from_params`)."""
        source = self.source if isinstance(self.source, str) else list(self.source)
        return {"source": source, "zoom": self.zoom, "tile_scheme": self.tile_scheme, "key": self.key}


def _as_source(value: str | os.PathLike | Sequence[str | os.PathLike]) -> str | tuple[str, ...]:
    if isinstance(value, (str, os.PathLike)):
        return os.fspath(value)
    return tuple(os.fspath(v) for v in value)


@dataclass(frozen=True)
class ResolvedGoogle:
    """A Google input located on disk (cheap: paths listed, no raster opened).

    Attributes:
        spec: the spec it was resolved from.
        form: ``"raster"`` (one GeoTIFF/VRT), ``"mosaic"`` (several GeoTIFFs), ``"tiles"`` (a tile
            folder) or ``"mbtiles"``.
        files: the files Snakemake should track (the folder itself for ``"tiles"``).
        zoom: the zoom read (``"tiles"``, ``"mbtiles"``), else ``None``.
        tiles: the tiles at ``zoom`` (``"tiles"`` only).
    """

    spec: GoogleSpec
    form: GoogleForm
    files: tuple[str, ...]
    zoom: int | None = None
    tiles: tuple[Tile, ...] = field(default=(), repr=False)

    def __str__(self) -> str:
        return str(self.spec) if self.zoom is None else f"{self.spec} (zoom {self.zoom})"

    @cached_property
    def vrt_xml(self) -> str:
        """The VRT XML of a ``"tiles"`` or ``"mosaic"`` input (built once, then reused)."""
        from .vrt import mosaic_vrt, tiles_vrt  # the raster stack: only when a mosaic is opened

        if self.form == "tiles":
            assert self.zoom is not None
            return tiles_vrt(self.tiles, self.zoom, self.spec.key)
        if self.form == "mosaic":
            return mosaic_vrt(self.files, self.spec.key, str(self.spec))
        raise ValueError(f"{self}: a {self.form} input is opened by GDAL directly, not through a VRT")


#: Anything :func:`~df4lcz.chipping.google.vrt.open_google` accepts: a path, a list of paths/globs, a spec, or a resolved spec.
GoogleInput = str | os.PathLike | Sequence[str | os.PathLike] | GoogleSpec | ResolvedGoogle


def as_spec(
    value: GoogleSpec | str | os.PathLike | Sequence[str | os.PathLike], key: str = "google"
) -> GoogleSpec:
    """``value`` as a :class:`GoogleSpec`; a bare path or list gets the schema's zoom and tile scheme."""
    if isinstance(value, GoogleSpec):
        return value
    return GoogleSpec(
        _as_source(value),
        _region_schema_default("google_zoom"),
        _region_schema_default("google_tile_scheme"),
        key,
    )


# ---------------------------------------------------------------------------------------------
# resolving: which form, which files
# ---------------------------------------------------------------------------------------------


def resolve_google(value: GoogleInput, base_dir: str | os.PathLike | None = None) -> ResolvedGoogle:
    """Locate a Google input on disk and detect its form.

    Args:
        value: the input (see :data:`GoogleInput`).
        base_dir: directory relative paths and patterns are taken against (default the CWD);
            returned paths keep the form given (relative stays relative).

    Raises:
        FileNotFoundError: a path that does not exist (message names the key and the path).
        InputError: an empty glob/list, a folder that is not a tile folder or holds no tile, or a
            zoom absent (see the module docstring).
    """
    if isinstance(value, ResolvedGoogle):
        return value
    spec = as_spec(value)
    base = Path(base_dir) if base_dir is not None else None
    if isinstance(spec.source, str) and not _is_glob(spec.source):
        path = spec.source
        full = _full(path, base)
        if not full.exists():
            raise FileNotFoundError(f"{path}: Google Earth mosaic not found (config key {spec.key!r})")
        if full.is_dir():
            resolved = _resolve_tile_folder(spec, path, full)
        elif full.suffix.lower() == MBTILES_SUFFIX:
            resolved = ResolvedGoogle(spec, "mbtiles", (path,), _mbtiles_zoom(spec, path, full))
        else:
            resolved = ResolvedGoogle(spec, "raster", (path,))
    else:
        files = _expand(spec, base)
        resolved = ResolvedGoogle(spec, "raster" if len(files) == 1 else "mosaic", files)
    if spec.zoom is not None and resolved.form in ("raster", "mosaic"):
        log.warning(
            "%s: %s is a GeoTIFF/VRT input; the zoom %d (google_zoom) applies only to tile folders "
            "and MBTiles files and is ignored",
            spec.key,
            spec,
            spec.zoom,
        )
    if spec.tile_scheme != "xyz" and resolved.form != "tiles":
        log.warning(
            "%s: %s is not a tile folder; the tile scheme %r (google_tile_scheme) is ignored%s",
            spec.key,
            spec,
            spec.tile_scheme,
            " (MBTiles rows are always TMS)" if resolved.form == "mbtiles" else "",
        )
    return resolved


def google_files(value: GoogleInput, base_dir: str | os.PathLike | None = None) -> list[str]:
    """The files Snakemake should track for a Google input (a tile folder is tracked as the folder).

    A single path that does not exist yet is returned as given: a rule may make it (the demo's
    ``google.tif``), and Snakemake reports it missing otherwise.
    """
    if isinstance(value, ResolvedGoogle):
        return list(value.files)
    spec = as_spec(value)
    base = Path(base_dir) if base_dir is not None else None
    if isinstance(spec.source, str) and not _is_glob(spec.source) and not _full(spec.source, base).exists():
        return [spec.source]
    return list(resolve_google(spec, base_dir).files)


def _is_glob(text: str) -> bool:
    return any(c in text for c in GLOB_CHARS)


def _full(path: str, base: Path | None) -> Path:
    p = Path(path)
    return p if base is None or p.is_absolute() else base / p


def _expand(spec: GoogleSpec, base: Path | None) -> tuple[str, ...]:
    """The files of a glob pattern or a list of paths/patterns (sorted, no repeats)."""
    items = [spec.source] if isinstance(spec.source, str) else list(spec.source)
    if not items:
        raise InputError(
            f"config key {spec.key!r}: the list of Google rasters is empty; give at least one file"
        )
    found: list[str] = []
    for item in items:
        if _is_glob(item):
            if base is not None and not Path(item).is_absolute():  # relative to base, and kept relative
                hits = [os.path.relpath(h, base) for h in glob.glob(str(base / item), recursive=True)]
            else:
                hits = glob.glob(item, recursive=True)
            hits = sorted(h for h in hits if _full(h, base).is_file())
            if not hits:
                raise InputError(
                    f"config key {spec.key!r}: the pattern {item!r} matches no file; expected "
                    "GeoTIFF tiles of the Google mosaic (e.g. data/google/*.tif)"
                )
            found += hits
            continue
        full = _full(item, base)
        if not full.exists():
            raise FileNotFoundError(f"{item}: Google Earth mosaic not found (config key {spec.key!r})")
        if full.is_dir() or full.suffix.lower() == MBTILES_SUFFIX:
            raise InputError(
                f"config key {spec.key!r}: {item} is a {'folder' if full.is_dir() else 'MBTiles file'}; "
                "a list or pattern must name GeoTIFF/VRT files (give a tile folder or an .mbtiles "
                "file alone, as a string)"
            )
        found.append(item)
    return tuple(sorted(set(found), key=found.index))


def _numeric_children(folder: Path, files: bool) -> dict[int, Path]:
    """``{number: path}`` of the folder's entries named by an integer (directories, or files)."""
    out: dict[int, Path] = {}
    with os.scandir(folder) as entries:
        for entry in entries:
            stem = entry.name.split(".", 1)[0] if files else entry.name
            if stem.isdigit() and (entry.is_file() if files else entry.is_dir()):
                if files and os.path.splitext(entry.name)[1].lower() not in TILE_EXTENSIONS:
                    continue
                out.setdefault(int(stem), Path(entry.path))
    return out


def _tiles_at(folder: Path, zoom: int) -> list[tuple[int, int, Path]]:
    """``(x, y as numbered in the folder, file)`` of every tile at ``zoom`` (sorted)."""
    tiles: list[tuple[int, int, Path]] = []
    zdir = folder / str(zoom)
    for x, xdir in sorted(_numeric_children(zdir, files=False).items()):
        by_y: dict[int, list[Path]] = {}
        with os.scandir(xdir) as entries:
            for entry in entries:
                stem, ext = os.path.splitext(entry.name)
                if stem.isdigit() and ext.lower() in TILE_EXTENSIONS and entry.is_file():
                    by_y.setdefault(int(stem), []).append(Path(entry.path))
        for y, paths in sorted(by_y.items()):
            paths.sort(key=lambda p: TILE_EXTENSIONS.index(p.suffix.lower()))
            if len(paths) > 1:
                log.warning(
                    "%s: tile %d/%d/%d exists as %s; using %s",
                    folder,
                    zoom,
                    x,
                    y,
                    ", ".join(p.name for p in paths),
                    paths[0].name,
                )
            tiles.append((x, y, paths[0]))
    return tiles


def _resolve_tile_folder(spec: GoogleSpec, path: str, full: Path) -> ResolvedGoogle:
    """A ``{z}/{x}/{y}.ext`` folder at the spec's zoom (or the finest zoom holding tiles)."""
    zooms = sorted(_numeric_children(full, files=False))
    expected = f"expected a tile folder {{z}}/{{x}}/{{y}}{{{','.join(TILE_EXTENSIONS)}}}"
    if not zooms:
        raise InputError(
            f"config key {spec.key!r}: the folder {path} holds no zoom folder (0, 1, … 22); {expected}, "
            "or give GeoTIFF tiles as a pattern such as folder/*.tif"
        )
    if spec.zoom is not None:
        tiles = _tiles_at(full, spec.zoom) if spec.zoom in zooms else []
        if not tiles:
            present = [z for z in zooms if _tiles_at(full, z)]
            raise InputError(
                f"config key {spec.key!r}: the tile folder {path} has no tile at zoom {spec.zoom} "
                f"(google_zoom); zooms present: {present or 'none'}"
            )
        zoom = spec.zoom
    else:
        for zoom in reversed(zooms):
            tiles = _tiles_at(full, zoom)
            if tiles:
                break
        else:
            raise InputError(
                f"config key {spec.key!r}: the tile folder {path} holds no tile at any zoom "
                f"({zooms}); {expected}"
            )
    n = 2**zoom
    flip = spec.tile_scheme == "tms"
    out = []
    for x, y, p in tiles:
        y_xyz = n - 1 - y if flip else y
        if not (0 <= x < n and 0 <= y_xyz < n):
            raise InputError(
                f"config key {spec.key!r}: tile {p} lies outside the {n} × {n} grid of zoom {zoom}; "
                f"expected {{z}}/{{x}}/{{y}} with 0 ≤ x, y < 2^z"
            )
        out.append(Tile(x, y_xyz, str(p.resolve())))
    log.info("%s: tile folder %s: %d tiles at zoom %d (%s)", spec.key, path, len(out), zoom, spec.tile_scheme)
    return ResolvedGoogle(spec, "tiles", (path,), zoom, tuple(out))


def _mbtiles_zoom(spec: GoogleSpec, path: str, full: Path) -> int:
    """The zoom to read from an MBTiles file: the spec's (checked present) or the finest."""
    try:
        with sqlite3.connect(f"{full.resolve().as_uri()}?mode=ro", uri=True) as db:
            zooms = sorted(int(z) for (z,) in db.execute("SELECT DISTINCT zoom_level FROM tiles"))
    except sqlite3.Error as exc:
        raise InputError(
            f"config key {spec.key!r}: {path} is not an MBTiles file GDAL can read ({exc}); expected "
            "an SQLite database with a tiles(zoom_level, tile_column, tile_row, tile_data) table"
        ) from exc
    if not zooms:
        raise InputError(f"config key {spec.key!r}: the MBTiles file {path} holds no tile")
    if spec.zoom is None:
        return zooms[-1]
    if spec.zoom not in zooms:
        raise InputError(
            f"config key {spec.key!r}: the MBTiles file {path} has no tile at zoom {spec.zoom} "
            f"(google_zoom); zooms present: {zooms}"
        )
    return spec.zoom
