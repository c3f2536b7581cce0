"""Sentinel-2 products as ESA ships them: ``.SAFE`` folders and their ``.zip`` files (L1C and L2A).

A product holds its band files under ``GRANULE/<tile>/IMG_DATA`` (L2A: in ``R10m``/``R20m``/``R60m``)
and its radiometric metadata in ``MTD_MSIL1C.xml`` / ``MTD_MSIL2A.xml`` at the product root:

* the **quantification value** (``QUANTIFICATION_VALUE`` in L1C, ``BOA_QUANTIFICATION_VALUE`` in
  L2A; 10000), and
* from **processing baseline 04.00** (products since 25 January 2022) a per-band additive offset
  (``RADIO_ADD_OFFSET`` in L1C, ``BOA_ADD_OFFSET`` in L2A; −1000), keyed by ``band_id`` 0–12 in the
  order of :data:`PRODUCT_BAND_ORDER` (or by the product's own ``Spectral_Information`` list).

Reflectance = (DN + offset) / quantification. A zip is read in place through GDAL's ``/vsizip/``
(never extracted), which does not check the CRC-32 of what it reads: :func:`open_product` reads the
members it will use (the metadata, the ten bands, the cloud mask) once through and checks their
CRC-32, so a damaged member stops the job that opens the product, naming the zip and the member,
instead of giving wrong values.

A folder is a product when it is named ``*.SAFE``, holds a ``GRANULE/`` tree or a metadata file at
its root, or holds a ``*.SAFE`` folder (:func:`is_product`); a product without its metadata file is
an error (its offset cannot be known), as is metadata that cannot tell the offset
(:attr:`ProductMetadata.offset_problem`) unless ``regions[].s2_offset`` states it. The cloud mask a product carries is found too: the L2A scene classification
(``*_SCL_20m.jp2``) or the L1C classification mask (``QI_DATA/MSK_CLASSI_B00.jp2``, baseline ≥ 04.00;
older L1C masks are GML vectors, which are not read: such a product has no cloud mask).
"""

from __future__ import annotations

import os
import re
import time
import xml.etree.ElementTree as ET
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ...constants import S2_BANDS
from ...errors import InputError
from ...logs import get_logger
from .bands import normalise_band_name, pick_band_files

log = get_logger("sentinel2")

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
_BASELINE_RE = re.compile(r"^\d{1,2}\.\d{1,2}$")

#: Config key that states the offset when the metadata cannot (:func:`require_offsets`).
OFFSET_KEY: str = "regions[].s2_offset"

#: Bytes read at a time when checking a zip member's CRC-32.
CRC_CHUNK: int = 1 << 20


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
        offset_problem: why the file cannot tell the offsets (``""`` when it can): a processing
            baseline that is missing or does not parse, or baseline ≥ 04.00 without the offset of
            every band. The message names the file and the element.
    """

    level: str
    baseline: str
    quantification: float
    offsets: dict[str, float] = field(default_factory=dict)
    metadata_file: str = ""
    offset_problem: str = ""

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
    offset_tag = "BOA_ADD_OFFSET" if level == "L2A" else "RADIO_ADD_OFFSET"
    offsets: dict[str, float] = {}
    for element in found.get("BOA_ADD_OFFSET", []) + found.get("RADIO_ADD_OFFSET", []):
        band_id = element.get("band_id", "")
        if not band_id.isdigit() or int(band_id) not in band_of_id:
            raise InputError(f"{where}: offset for unknown band_id {band_id!r}; expected 0–12")
        text_value = (element.text or "").strip()
        try:
            offsets[band_of_id[int(band_id)]] = float(text_value)
        except ValueError:
            raise InputError(
                f"{where}: {_local(element.tag)} band_id {band_id} holds {text_value!r}; expected a number "
                "(e.g. -1000)"
            ) from None
    baseline = first_text("PROCESSING_BASELINE") or ""
    problem = _offset_problem(baseline, offsets, offset_tag, where)
    return ProductMetadata(level, baseline, quantification, offsets, where, problem)


def _offset_problem(baseline: str, offsets: dict[str, float], offset_tag: str, where: str) -> str:
    """Why ``baseline`` and ``offsets`` cannot tell the offset of every band (``""`` when they can)."""
    if not baseline:
        return (
            f"{where}: no PROCESSING_BASELINE element; expected the product's processing baseline "
            f"(e.g. 05.09), which tells whether its DN carry the offset of baseline ≥ {OFFSET_BASELINE}"
        )
    if not _BASELINE_RE.match(baseline):
        return (
            f"{where}: PROCESSING_BASELINE {baseline!r} does not parse; expected a processing baseline "
            f"such as 05.09, which tells whether its DN carry the offset of baseline ≥ {OFFSET_BASELINE}"
        )
    if float(baseline) < float(OFFSET_BASELINE):
        return ""
    missing = [b for b in S2_BANDS if b not in offsets]
    if len(missing) == len(S2_BANDS):
        return (
            f"{where}: processing baseline {baseline} (≥ {OFFSET_BASELINE}) but no {offset_tag} element; "
            f"expected the {offset_tag} list (one per band_id, -1000 in ESA's products) that such products "
            "carry"
        )
    if missing:
        return (
            f"{where}: processing baseline {baseline} (≥ {OFFSET_BASELINE}) but no {offset_tag} for band(s) "
            f"{', '.join(missing)}; expected one per band_id"
        )
    return ""


def require_offsets(metadata: ProductMetadata, offset_given: bool) -> None:
    """Refuse metadata that cannot tell the offsets (:attr:`ProductMetadata.offset_problem`).

    Args:
        metadata: the product's metadata.
        offset_given: ``regions[].s2_offset`` is set (then the config states the offset: no error;
            :func:`~.radiometry.resolve_radiometry` logs a warning that it overrides).

    Raises:
        InputError: the metadata cannot tell the offsets and the config does not state them.
    """
    if metadata.offset_problem and not offset_given:
        raise InputError(
            f"{metadata.offset_problem}. Without it reflectance could be off by 0.1 (1000 DN); "
            f"fix or re-download the product, or state the offset with {OFFSET_KEY} (-1000 for "
            f"baseline ≥ {OFFSET_BASELINE}, 0 before)"
        )


def is_product(path: str | os.PathLike) -> bool:
    """``path`` is a Sentinel-2 product rather than a raster or a plain folder of band files.

    A ``.zip`` file, or a folder that is named ``*.SAFE``, holds a product metadata file or a
    ``GRANULE`` folder at its root, or holds a ``*.SAFE`` folder (a product unzipped into it).
    Cheap: names only, nothing read.
    """
    p = Path(path)
    if p.is_file():
        return p.suffix.lower() == ".zip"
    if not p.is_dir():
        return False
    if p.name.upper().endswith(".SAFE") or (p / "GRANULE").is_dir():
        return True
    if any((p / name).is_file() for name in PRODUCT_METADATA_FILES):
        return True
    return any(child.is_dir() and child.name.upper().endswith(".SAFE") for child in p.iterdir())


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


def _damaged(path: Path, name: str, exc: BaseException) -> InputError:
    """The error for a zip member that does not read back as the zip recorded it."""
    reason = "its CRC-32 does not match the one the zip records" if "CRC" in str(exc) else str(exc)
    return InputError(
        f"{path}: member {name} is damaged ({reason}); expected the bytes the zip was written with "
        "(its values would be wrong). Re-download the product"
    )


def _read_member(path: Path, name: str) -> bytes:
    if path.is_dir():
        return (path / name).read_bytes()
    with zipfile.ZipFile(path) as archive:
        try:
            return archive.read(name)
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
            raise _damaged(path, name, exc) from exc


def verify_members(path: str | os.PathLike, names: Sequence[str]) -> int:
    """Read the members ``names`` of the zip ``path`` through, checking each one's CRC-32.

    GDAL's ``/vsizip/`` does not check CRCs, so a member with damaged bytes would be read as
    values; :mod:`zipfile` checks a member's CRC-32 once it has read the member to its end.

    Returns:
        The number of bytes read (uncompressed).

    Raises:
        InputError: a member whose CRC-32 (or compressed stream) is wrong, naming the zip and the member.
    """
    total = 0
    with zipfile.ZipFile(path) as archive:
        for name in names:
            try:
                with archive.open(name) as member:
                    while chunk := member.read(CRC_CHUNK):
                        total += len(chunk)
            except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
                raise _damaged(Path(path), name, exc) from exc
    return total


def _metadata_member(root: Path, names: Sequence[str]) -> str:
    """The product metadata file among ``names`` (the shallowest), or an error naming ``root``."""
    metadata_names = sorted(
        (n for n in names if PurePosixPath(n).name in PRODUCT_METADATA_FILES), key=lambda n: (n.count("/"), n)
    )
    if not metadata_names:
        form = "zip" if root.is_file() else "folder"
        raise InputError(
            f"{root}: no {' or '.join(PRODUCT_METADATA_FILES)} found in this product {form}; expected a "
            "Sentinel-2 .SAFE product (folder or .zip) as ESA ships it, with its metadata file, which "
            "holds the quantification value and (baseline ≥ 04.00) the offset of every band. Restore the "
            "file from the original product (a folder of band files that is not a product must not be "
            "named *.SAFE nor hold GRANULE/)"
        )
    return metadata_names[0]


def read_product_metadata(path: str | os.PathLike) -> ProductMetadata:
    """The metadata of the product ``path`` (folder or zip), without opening any raster (cheap).

    Raises:
        FileNotFoundError: ``path`` does not exist.
        InputError: not a readable zip, no metadata file, metadata that is not what it should be.
    """
    root = Path(path)
    if not root.exists():
        raise FileNotFoundError(f"{root}: Sentinel-2 product not found")
    names, _ = _list_files(root)
    name = _metadata_member(root, names)
    return parse_product_metadata(_read_member(root, name), f"{root}/{name}")


def open_product(path: str | os.PathLike, verify: bool = True) -> SafeProduct:
    """Open a ``.SAFE`` folder or ``.zip`` (L1C or L2A) for chipping.

    Args:
        path: the product.
        verify: for a zip, check the CRC-32 of every member that will be read (the bands and the
            cloud mask; :func:`verify_members`). Call once per product per job.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        InputError (a ValueError): no product metadata file, several granules, a band missing, a
            damaged zip member — naming the product.
    """
    root = Path(path)
    if not root.exists():
        raise FileNotFoundError(f"{root}: Sentinel-2 product not found")
    names, prefix = _list_files(root)
    metadata_name = _metadata_member(root, names)
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
    if verify and root.is_file():
        used = [band_files[b] for b in S2_BANDS] + ([cloud_mask] if cloud_mask else [])
        start = time.perf_counter()
        size = verify_members(root, used)
        log.info(
            "%s: CRC-32 of the %d members read checked (%.0f MB in %.1f s)",
            root,
            len(used),
            size / 1e6,
            time.perf_counter() - start,
        )
    return SafeProduct(
        root,
        name,
        metadata,
        {b: prefix + f for b, f in band_files.items()},
        prefix + cloud_mask if cloud_mask else None,
        kind,
    )
