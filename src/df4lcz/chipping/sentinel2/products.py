"""Sentinel-2 products as ESA ships them: ``.SAFE`` folders and their ``.zip`` files (L1C and L2A).

A product holds its band files under ``GRANULE/<tile>/IMG_DATA`` (L2A: in ``R10m``/``R20m``/``R60m``)
and its radiometric metadata in ``MTD_MSIL1C.xml`` / ``MTD_MSIL2A.xml`` at the product root:

* the **quantification value** (``QUANTIFICATION_VALUE`` in L1C, ``BOA_QUANTIFICATION_VALUE`` in
  L2A; 10000), and
* from **processing baseline 04.00** (products since 25 January 2022) a per-band additive offset
  (``RADIO_ADD_OFFSET`` in L1C, ``BOA_ADD_OFFSET`` in L2A; −1000), keyed by ``band_id`` 0–12 in the
  order of :data:`PRODUCT_BAND_ORDER` (or by the product's own ``Spectral_Information`` list).

Reflectance = (DN + offset) / quantification. A zip is read in place through GDAL's ``/vsizip/``
(never extracted). The cloud mask a product carries is found too: the L2A scene classification
(``*_SCL_20m.jp2``) or the L1C classification mask (``QI_DATA/MSK_CLASSI_B00.jp2``, baseline ≥ 04.00;
older L1C masks are GML vectors, which are not read: such a product has no cloud mask).
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ...constants import S2_BANDS
from ...errors import InputError
from .bands import normalise_band_name, pick_band_files

#: File names of the product metadata, by processing level.
PRODUCT_METADATA_FILES: dict[str, str] = {"MTD_MSIL1C.xml": "L1C", "MTD_MSIL2A.xml": "L2A"}

#: Bands of a product in ``band_id`` order (0–12), as the metadata's offset lists key them.
PRODUCT_BAND_ORDER: tuple[str, ...] = (
    "B01",
    "B02",
    "B03",
    "B04",
    "B05",
    "B06",
    "B07",
    "B08",
    "B8A",
    "B09",
    "B10",
    "B11",
    "B12",
)

#: Processing baseline from which products carry the additive offset.
OFFSET_BASELINE: str = "04.00"

#: L2A scene-classification classes counted as cloud or shadow (3 cloud shadow, 8 cloud medium
#: probability, 9 cloud high probability, 10 thin cirrus).
SCL_CLOUD_CLASSES: tuple[int, ...] = (3, 8, 9, 10)

#: L2A scene-classification class of pixels without data.
SCL_NODATA: int = 0

#: Bands of the L1C ``MSK_CLASSI_B00`` mask counted as cloud (1 opaque clouds, 2 cirrus; 3 is snow).
CLASSI_CLOUD_BANDS: tuple[int, ...] = (1, 2)

_SCL_RE = re.compile(r"_SCL(_(\d+)M)?$")


@dataclass(frozen=True)
class ProductMetadata:
    """What the product metadata says about turning DN into reflectance.

    Attributes:
        level: ``"L1C"`` or ``"L2A"``.
        baseline: processing baseline, e.g. ``"05.09"`` (``""`` when the file names none).
        quantification: the quantification value (reflectance = (DN + offset) / quantification).
        offsets: additive offset per band (canonical names), for every band the file lists;
            empty before baseline 04.00.
        metadata_file: the file the values come from (for messages and the report).
    """

    level: str
    baseline: str
    quantification: float
    offsets: dict[str, float] = field(default_factory=dict)
    metadata_file: str = ""

    def offset(self, band: str) -> float:
        """The offset of ``band`` (0 when the product has none)."""
        return self.offsets.get(band, 0.0)


@dataclass(frozen=True)
class SafeProduct:
    """A Sentinel-2 product opened for reading (nothing extracted).

    Attributes:
        path: the ``.SAFE`` folder or ``.zip`` file.
        name: the product name (``S2B_MSIL2A_…SAFE``).
        metadata: its :class:`ProductMetadata`.
        band_files: GDAL path of each band of :data:`~df4lcz.constants.S2_BANDS` (finest resolution).
        cloud_mask: GDAL path of the cloud mask, or ``None``.
        cloud_mask_kind: ``"scl"`` (L2A scene classification), ``"classi"`` (L1C MSK_CLASSI) or ``None``.
    """

    path: Path
    name: str
    metadata: ProductMetadata
    band_files: dict[str, str]
    cloud_mask: str | None
    cloud_mask_kind: str | None


def _local(tag: str) -> str:
    """The tag name without its XML namespace."""
    return tag.rsplit("}", 1)[-1]


def parse_product_metadata(text: bytes | str, where: str) -> ProductMetadata:
    """Read the level, baseline, quantification value and offsets of a product metadata file.

    Args:
        text: the XML of ``MTD_MSIL1C.xml`` or ``MTD_MSIL2A.xml``.
        where: the file, for messages and :attr:`ProductMetadata.metadata_file`.

    Raises:
        InputError (a ValueError): not XML, no quantification value, an offset for an unknown band id.
    """
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise InputError(f"{where}: not a readable Sentinel-2 product metadata file ({exc})") from exc
    found: dict[str, list[ET.Element]] = {}
    for element in root.iter():
        found.setdefault(_local(element.tag), []).append(element)

    def first_text(*names: str) -> str | None:
        for name in names:
            for element in found.get(name, []):
                if element.text and element.text.strip():
                    return element.text.strip()
        return None

    product_type = first_text("PRODUCT_TYPE") or ""
    level = "L2A" if "2A" in product_type else "L1C" if "1C" in product_type else ""
    if not level:
        level = "L2A" if "BOA_QUANTIFICATION_VALUE" in found else "L1C"
    quant = first_text("BOA_QUANTIFICATION_VALUE") if level == "L2A" else None
    quant = quant or first_text("QUANTIFICATION_VALUE")
    if quant is None:
        raise InputError(
            f"{where}: no QUANTIFICATION_VALUE / BOA_QUANTIFICATION_VALUE; expected a Sentinel-2 L1C or L2A "
            "product metadata file"
        )
    try:
        quantification = float(quant)
    except ValueError:
        raise InputError(f"{where}: quantification value {quant!r} is not a number") from None
    if not quantification > 0:
        raise InputError(f"{where}: quantification value {quantification:g} must be positive")

    band_of_id = dict(enumerate(PRODUCT_BAND_ORDER))
    for element in found.get("Spectral_Information", []):
        band_id, physical = element.get("bandId"), normalise_band_name(element.get("physicalBand"))
        if band_id is not None and band_id.isdigit() and physical is not None:
            band_of_id[int(band_id)] = physical
    offsets: dict[str, float] = {}
    for element in found.get("BOA_ADD_OFFSET", []) + found.get("RADIO_ADD_OFFSET", []):
        band_id = element.get("band_id", "")
        if not band_id.isdigit() or int(band_id) not in band_of_id:
            raise InputError(f"{where}: offset for unknown band_id {band_id!r}; expected 0–12")
        offsets[band_of_id[int(band_id)]] = float((element.text or "0").strip())
    return ProductMetadata(level, first_text("PROCESSING_BASELINE") or "", quantification, offsets, where)


def is_product(path: str | os.PathLike) -> bool:
    """``path`` is a ``.zip`` file or a folder holding a product metadata file at its root."""
    p = Path(path)
    if p.is_file():
        return p.suffix.lower() == ".zip"
    return p.is_dir() and any((p / name).is_file() for name in PRODUCT_METADATA_FILES)


def _list_files(path: Path) -> tuple[list[str], str]:
    """Relative POSIX names of every file of the product, and the GDAL prefix that opens them."""
    if path.is_dir():
        names = [q.relative_to(path).as_posix() for q in sorted(path.rglob("*")) if q.is_file()]
        return names, f"{path}/"
    try:
        with zipfile.ZipFile(path) as archive:
            names = sorted(n for n in archive.namelist() if not n.endswith("/"))
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(
            f"{path}: not a readable zip file ({exc}); expected a zipped Sentinel-2 .SAFE product"
        ) from exc
    return names, f"/vsizip/{path.resolve()}/"


def _read_member(path: Path, name: str) -> bytes:
    if path.is_dir():
        return (path / name).read_bytes()
    with zipfile.ZipFile(path) as archive:
        return archive.read(name)


def open_product(path: str | os.PathLike) -> SafeProduct:
    """Open a ``.SAFE`` folder or ``.zip`` (L1C or L2A) for chipping.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        InputError (a ValueError): no product metadata file, several granules, a band missing — naming the product.
    """
    root = Path(path)
    if not root.exists():
        raise FileNotFoundError(f"{root}: Sentinel-2 product not found")
    names, prefix = _list_files(root)
    metadata_names = sorted(
        (n for n in names if PurePosixPath(n).name in PRODUCT_METADATA_FILES), key=lambda n: (n.count("/"), n)
    )
    if not metadata_names:
        raise InputError(
            f"{root}: no {' or '.join(PRODUCT_METADATA_FILES)} found; expected a Sentinel-2 .SAFE product "
            "(folder or .zip) as ESA ships it"
        )
    metadata_name = metadata_names[0]
    metadata = parse_product_metadata(_read_member(root, metadata_name), f"{root}/{metadata_name}")
    product_root = str(PurePosixPath(metadata_name).parent)
    product_root = "" if product_root == "." else product_root + "/"
    images = [n for n in names if n.startswith(product_root) and "/IMG_DATA/" in f"/{n}"]
    granules = sorted(
        {f"/{n}".split("/GRANULE/", 1)[1].split("/", 1)[0] for n in images if "/GRANULE/" in f"/{n}"}
    )
    if len(granules) > 1:
        raise InputError(
            f"{root}: {len(granules)} granules ({', '.join(granules)}); expected one tile per product "
            "(older multi-tile products: list each tile's band folder instead)"
        )
    band_files = pick_band_files(images, str(root), S2_BANDS)
    cloud_mask, kind = None, None
    scl = sorted(
        (
            (int(m.group(2) or 0), n)
            for n in images
            if (m := _SCL_RE.search(PurePosixPath(n).stem.upper())) and n.lower().endswith((".jp2", ".tif"))
        ),
    )
    if scl:
        cloud_mask, kind = scl[0][1], "scl"
    else:
        classi = [
            n
            for n in names
            if n.startswith(product_root) and PurePosixPath(n).name.upper() == "MSK_CLASSI_B00.JP2"
        ]
        if classi:
            cloud_mask, kind = classi[0], "classi"
    name = root.name[: -len(".zip")] if root.suffix.lower() == ".zip" else root.name
    if product_root:
        name = PurePosixPath(product_root).name
    return SafeProduct(
        root,
        name,
        metadata,
        {b: prefix + f for b, f in band_files.items()},
        prefix + cloud_mask if cloud_mask else None,
        kind,
    )
