"""WUDAPT training areas: LCZ polygons in a KML or KMZ file, one folder per class.

WUDAPT / LCZ Generator training areas are drawn in Google Earth from a template holding one
``<Folder>`` per LCZ class (names such as ``LCZ 1``, ``1 Compact highrise``, ``LCZ A`` or
``A Dense trees``), each polygon a ``<Placemark>``, coordinates in EPSG:4326. This module owns
that format: it opens a ``.kml`` or ``.kmz`` (a zip holding ``doc.kml``), reads every placemark of
every folder with GDAL's KML/LIBKML driver, and tells the class of each from its folder.

GDAL reads each folder as one layer but flattens nested folders (a sub-folder becomes a layer of
its own, without its parent). So before GDAL reads the file, every ``<Document>`` and
``<Folder>`` is renamed to a unique token, and the path of names above it is kept here: each layer
then maps back to exactly one container, whatever the driver or duplicate names. Only container
names are touched; the geometries and fields are read by GDAL.

:func:`read_kml` reads the placemarks; :func:`is_wudapt_layout` tells whether any container is
named by a class; :func:`wudapt_polygons` gives the polygons with their classes, as
:func:`df4lcz.sampling.labels.read_labels` expects them.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from xml.dom import minidom
from xml.parsers.expat import ExpatError

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..constants import LCZ_SHORT, N_CLASSES
from ..errors import InputError
from ..logs import get_logger

log = get_logger(__name__)

#: File name endings read as KML (``.kmz``: a zip archive holding the KML).
KML_SUFFIXES: tuple[str, ...] = (".kml", ".kmz")
#: The main KML of a KMZ archive; without it, the archive's first ``.kml`` entry is the main one.
KMZ_MAIN_KML: str = "doc.kml"
#: KML elements that contain placemarks and have a name (each becomes one GDAL layer).
CONTAINER_ELEMENTS: tuple[str, ...] = ("Document", "Folder")
#: Name given to container ``i`` before GDAL reads the file (letters, digits and ``_`` only, so no
#: driver alters it).
CONTAINER_TOKEN: str = "df4lcz_container_{:06d}"
#: The CRS of every KML file (the format allows no other).
KML_CRS: str = "EPSG:4326"
#: WUDAPT's raster codes of the land-cover classes A–G (101–107) minus the LCZ codes used here (11–17).
WUDAPT_LAND_COVER_OFFSET: int = 90
#: Land-cover letters A–G → LCZ codes 11–17.
LETTER_CODES: dict[str, int] = {s: c for c, s in LCZ_SHORT.items() if s.isalpha()}
#: Column of :func:`read_kml`'s result holding the container index of each placemark.
CONTAINER_COLUMN: str = "_df4lcz_container"
#: How a folder name may start: an optional ``LCZ`` prefix, then the class as a number (1–17, or
#: WUDAPT's 101–107) or a letter A–G, then the end of the name or a character that is not a letter
#: or digit (a space, ``:``, ``-``, ``.``, ``_`` …) before any description.
_FOLDER_NAME = re.compile(
    r"^\s*(?:(?P<prefix>lcz)[\s_:.#-]*)?(?P<code>\d{1,3}|[a-g])(?![0-9a-z])", re.IGNORECASE
)


def lcz_class_of_folder(name: str) -> int | None:
    """The LCZ class (1–17) a WUDAPT folder name names, or ``None`` when it names none.

    Accepted: ``LCZ 1``, ``LCZ1``, ``lcz_1``, ``1 Compact highrise``, ``1: Compact high-rise``,
    ``10 Heavy industry``, ``LCZ 10``, ``LCZ A``, ``LCZ-a``, ``A Dense trees``, ``G: Water``,
    ``LCZ 11`` … ``LCZ 17`` and WUDAPT's raster codes ``101`` … ``107`` (A–G). A letter without the
    ``LCZ`` prefix must be a capital (``a forest`` names no class).

    Refused (``None``): codes outside 1–17 and 101–107 (``LCZ 0``, ``LCZ 18``, ``2020``), letters
    after G (``LCZ H``), a class token glued to more letters or digits (``Airport``, ``3D
    buildings``, ``1a``) and names without a class (``Untitled Folder``, ``LCZ``).
    """
    match = _FOLDER_NAME.match(name)
    if match is None:
        return None
    code = match.group("code")
    if code.isalpha():
        if match.group("prefix") is None and not code.isupper():
            return None
        return LETTER_CODES[code.upper()]
    value = int(code)
    if 1 <= value <= N_CLASSES:
        return value
    if LETTER_CODES["A"] <= value - WUDAPT_LAND_COVER_OFFSET <= N_CLASSES:
        return value - WUDAPT_LAND_COVER_OFFSET
    return None


@dataclass
class KmlPlacemarks:
    """Every placemark of a KML file and the containers (documents, folders) holding them.

    Attributes:
        placemarks: one row per placemark, in document order of their containers, with the fields
            GDAL reads, the geometry (EPSG:4326) and :data:`CONTAINER_COLUMN` (index into
            ``containers``; -1 for placemarks outside any container).
        containers: per container, the names from the outermost container down to it.
    """

    placemarks: gpd.GeoDataFrame
    containers: list[tuple[str, ...]]

    def class_of_container(self, index: int) -> int | None:
        """The class named by the nearest container (itself, then upwards) whose name names one."""
        if index < 0:
            return None
        for name in reversed(self.containers[index]):
            code = lcz_class_of_folder(name)
            if code is not None:
                return code
        return None


def _kml_bytes(path: Path) -> bytes:
    """The main KML document of a ``.kml`` or ``.kmz`` file.

    Raises:
        ValueError: a KMZ that is no zip archive or holds no ``.kml``.
    """
    if path.suffix.lower() != ".kmz":
        return path.read_bytes()
    try:
        with zipfile.ZipFile(path) as archive:
            names = [n for n in archive.namelist() if n.lower().endswith(".kml")]
            if not names:
                raise InputError(
                    f"{path}: KMZ archive holds no .kml file (entries: {archive.namelist()[:10]})"
                )
            main = next((n for n in names if n.lower() == KMZ_MAIN_KML), names[0])
            if len(names) > 1:
                log.warning("%s: KMZ holds %d .kml files; reading %s only", path, len(names), main)
            return archive.read(main)
    except zipfile.BadZipFile as exc:
        raise InputError(
            f"{path}: not a readable KMZ file (a KMZ is a zip archive holding doc.kml): {exc}"
        ) from exc


def _containers(
    node: minidom.Node, above: tuple[str, ...], found: list[tuple[minidom.Element, tuple[str, ...]]]
) -> None:
    """Collect the containers under ``node`` in document order, each with its path of names."""
    for child in node.childNodes:
        if child.nodeType != child.ELEMENT_NODE:
            continue
        if child.localName in CONTAINER_ELEMENTS:
            path = (*above, _name_of(child))
            found.append((child, path))
            _containers(child, path, found)
        else:
            _containers(child, above, found)


def _name_element(container: minidom.Element) -> minidom.Element | None:
    """The ``<name>`` child of a container, if it has one."""
    for child in container.childNodes:
        if child.nodeType == child.ELEMENT_NODE and child.localName == "name":
            return child
    return None


def _name_of(container: minidom.Element) -> str:
    """The text of a container's ``<name>`` ('' without one)."""
    element = _name_element(container)
    if element is None:
        return ""
    return "".join(
        t.data for t in element.childNodes if t.nodeType in (t.TEXT_NODE, t.CDATA_SECTION_NODE)
    ).strip()


def _rename(doc: minidom.Document, container: minidom.Element, name: str) -> None:
    """Set a container's ``<name>`` to ``name`` (adding the element when it has none)."""
    element = _name_element(container)
    if element is None:
        qualified = f"{container.prefix}:name" if container.prefix else "name"
        element = doc.createElementNS(container.namespaceURI, qualified)
        container.insertBefore(element, container.firstChild)
    while element.firstChild is not None:
        element.removeChild(element.firstChild)
    element.appendChild(doc.createTextNode(name))


def read_kml(path: Path) -> KmlPlacemarks:
    """Read every placemark of every folder of a KML or KMZ file (GDAL reads the geometries).

    Raises:
        InputError (a ValueError): the file is no readable KML/KMZ, or holds no placemark.
    """
    try:
        doc = minidom.parseString(_kml_bytes(path))
    except ExpatError as exc:
        raise InputError(f"{path}: not a readable KML file (XML error: {exc})") from exc
    found: list[tuple[minidom.Element, tuple[str, ...]]] = []
    _containers(doc, (), found)
    for i, (element, _) in enumerate(found):
        _rename(doc, element, CONTAINER_TOKEN.format(i))
    links = doc.getElementsByTagNameNS("*", "NetworkLink")
    if links.length:
        log.warning(
            "%s: %d NetworkLink(s) not followed; only placemarks stored in the file are read",
            path,
            links.length,
        )
    data = doc.toxml(encoding="utf-8")
    index = {CONTAINER_TOKEN.format(i): i for i in range(len(found))}
    try:
        layers = list(gpd.list_layers(io.BytesIO(data))["name"])
        read = [(index.get(layer, -1), gpd.read_file(io.BytesIO(data), layer=layer)) for layer in layers]
    except Exception as exc:  # pyogrio raises several types for unreadable files
        raise InputError(f"{path}: not a readable KML file ({exc})") from exc
    # layers in document order of their containers (drivers list them in different orders)
    frames = [f.assign(**{CONTAINER_COLUMN: i}) for i, f in sorted(read, key=lambda t: t[0]) if len(f)]
    if not frames:
        raise InputError(
            f"{path}: contains no placemarks (folders found: {_folder_list([p for _, p in found])})"
        )
    placemarks = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry")
    if placemarks.crs is None:
        placemarks = placemarks.set_crs(KML_CRS)
    return KmlPlacemarks(placemarks, [p for _, p in found])


def _folder_list(paths: list[tuple[str, ...]]) -> list[str]:
    """Container names as ``'outer/inner'`` paths, for messages."""
    return ["/".join(p) for p in paths]


def is_wudapt_layout(kml: KmlPlacemarks) -> bool:
    """Whether any container of the file is named by an LCZ class (the WUDAPT layout)."""
    return any(lcz_class_of_folder(path[-1]) is not None for path in kml.containers)


def _polygonal_part(geom: shapely.Geometry | None) -> shapely.Geometry | None:
    """The polygons of a placemark's geometry (2-D), or ``None`` when it has none."""
    if geom is None or geom.is_empty:
        return None
    geom = shapely.force_2d(geom)
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else None


def wudapt_polygons(kml: KmlPlacemarks, path: Path) -> gpd.GeoDataFrame:
    """The polygons of a WUDAPT file with the class of their folder.

    Each placemark's class comes from the nearest folder (its own, then upwards) whose name names
    one (:func:`lcz_class_of_folder`). Empty folders are fine; points and lines are ignored with a
    warning counting them.

    Returns:
        GeoDataFrame (EPSG:4326) with ``polygon_id`` (placemark number in the file: folders in
        document order, placemarks in folder order, 0-based), ``lcz`` (1–17) and the polygons.

    Raises:
        ValueError: polygons lie in folders whose name (and whose parents' names) names no class;
            the message lists those folders and every folder of the file; or no polygon at all.
    """
    frame = kml.placemarks
    geoms = [_polygonal_part(g) for g in frame.geometry]
    has_poly = np.array([g is not None for g in geoms])
    containers = frame[CONTAINER_COLUMN].to_numpy()
    classes = {i: kml.class_of_container(int(i)) for i in np.unique(containers)}
    codes = np.array([classes[i] or 0 for i in containers], dtype=np.int64)
    unnamed = sorted({int(i) for i in containers[has_poly & (codes == 0)]})
    if unnamed:
        where = ["/".join(kml.containers[i]) if i >= 0 else "(outside any folder)" for i in unnamed]
        raise InputError(
            f"{path}: polygons in folder(s) {where} whose name names no LCZ class; name each class "
            "folder like 'LCZ 1', '1 Compact highrise', 'LCZ A' or 'A Dense trees' (classes 1–10, A–G). "
            f"Folders found: {_folder_list(kml.containers)}"
        )
    if not has_poly.any():
        raise InputError(
            f"{path}: no polygon placemark in any class folder (found {sorted(set(frame.geom_type.dropna()))})"
        )
    ignored = frame.geom_type[~has_poly].fillna("no geometry").value_counts()
    if len(ignored):
        log.warning(
            "%s: %d placemark(s) without polygons ignored (%s)",
            path,
            int(ignored.sum()),
            ", ".join(f"{n} {t}" for t, n in ignored.items()),
        )
    per_class = pd.Series(codes[has_poly]).value_counts().sort_index()
    log.info(
        "%s: WUDAPT layout, class from the folder names (regions[].label_column is not used): %s",
        path,
        ", ".join(f"LCZ {LCZ_SHORT[int(c)]}: {n}" for c, n in per_class.items()),
    )
    keep = np.flatnonzero(has_poly)
    return gpd.GeoDataFrame(
        {"polygon_id": keep.astype(np.int64), "lcz": codes[keep]},
        geometry=[geoms[i] for i in keep],
        crs=frame.crs,
    )
