"""WUDAPT training-area files for tests, written as KML text by hand (not by the code under test).

A document is a list of folders; a folder is ``(name, [placemark or folder, …])``, so folders can
nest. Coordinates are written with ``repr`` (shortest exact decimal of each double), so a polygon
read back is the very polygon written.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Union
from xml.sax.saxutils import escape

from shapely.geometry import MultiPolygon, Point, Polygon

#: The KML 2.2 namespace.
KML_NS = "http://www.opengis.net/kml/2.2"

#: A folder: its name and its children (placemark KML strings or further folders).
Folder = tuple[str, list[Union[str, "Folder"]]]


def _ring(coords) -> str:
    """A ``<LinearRing>`` with lon,lat,0 triples written exactly."""
    text = " ".join(f"{x!r},{y!r},0" for x, y in coords)
    return f"<LinearRing><coordinates>{text}</coordinates></LinearRing>"


def _polygon(poly: Polygon) -> str:
    """A ``<Polygon>`` element (outer ring and holes)."""
    inner = "".join(f"<innerBoundaryIs>{_ring(r.coords)}</innerBoundaryIs>" for r in poly.interiors)
    return f"<Polygon><outerBoundaryIs>{_ring(poly.exterior.coords)}</outerBoundaryIs>{inner}</Polygon>"


def polygon_placemark(geom: Polygon | MultiPolygon, name: str = "training area") -> str:
    """A placemark of a polygon (a MultiPolygon becomes a ``<MultiGeometry>``), lon/lat degrees."""
    if isinstance(geom, MultiPolygon):
        body = "<MultiGeometry>" + "".join(_polygon(p) for p in geom.geoms) + "</MultiGeometry>"
    else:
        body = _polygon(geom)
    return f"<Placemark><name>{escape(name)}</name>{body}</Placemark>"


def point_placemark(point: Point, name: str = "pin") -> str:
    """A placemark of a point (a pin dropped in Google Earth)."""
    return f"<Placemark><name>{escape(name)}</name><Point><coordinates>{point.x!r},{point.y!r},0</coordinates></Point></Placemark>"


def _folder(folder: Folder) -> str:
    name, children = folder
    body = "".join(c if isinstance(c, str) else _folder(c) for c in children)
    return f"<Folder><name>{escape(name)}</name>{body}</Folder>"


def kml_text(folders: list[Folder], document_name: str = "WUDAPT training areas", top: list[str] = ()) -> str:
    """A whole KML document: ``top`` placemarks directly in the document, then the folders."""
    body = "".join(top) + "".join(_folder(f) for f in folders)
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<kml xmlns="{KML_NS}"><Document>'
        f"<name>{escape(document_name)}</name>{body}</Document></kml>\n"
    )


def write_kml(path: Path, text: str) -> Path:
    """Write KML text to ``path`` (``.kmz``: a zip holding ``doc.kml``)."""
    if path.suffix.lower() == ".kmz":
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("doc.kml", text)
    else:
        path.write_text(text, encoding="utf-8")
    return path
