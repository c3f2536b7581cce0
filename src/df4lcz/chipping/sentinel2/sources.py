"""Opening a Sentinel-2 input (multi-band file, per-band folder, ``.SAFE`` product or STAC item) as a
:class:`Sentinel2Source`."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import rasterio
import rasterio.errors
from rasterio.crs import CRS
from rasterio.transform import Affine

from ...constants import S2_BANDS, S2_CHIP_PX
from ...errors import ConfigError, InputError
from ...logs import get_logger
from .bands import find_band_files, identify_bands
from .products import SafeProduct, is_product, open_product
from .radiometry import Radiometry, resolve_radiometry, stac_radiometry
from .stac import StacScene, is_stac_file, read_stac
from .warp import DEFAULT_TILE_PX, chip_source

log = get_logger("sentinel2")  # logger name as before the split: same log lines


@dataclass
class RasterPart:
    """One opened file of a Sentinel-2 source and the S2 bands it provides.

    Attributes:
        path: the file.
        dataset: the open rasterio dataset.
        indexes: 1-based band indexes in the file, one per provided band.
        positions: the matching positions in :data:`S2_BANDS` (0–9).
    """

    path: Path
    dataset: Any
    indexes: tuple[int, ...]
    positions: tuple[int, ...]

    @property
    def label(self) -> str:
        """``file name`` plus the band names for per-band files, for messages."""
        if len(self.positions) == 1:
            return f"{self.path.name} ({S2_BANDS[self.positions[0]]})"
        return self.path.name


def _open_raster(path: Path | str) -> Any:
    """Open ``path`` with rasterio, turning GDAL failures into a ``ValueError`` naming it."""
    try:
        dataset = rasterio.open(path)
    except rasterio.errors.RasterioIOError as exc:
        raise InputError(f"{path}: cannot be read as a raster ({exc})") from exc
    if dataset.crs is None:
        dataset.close()
        raise InputError(f"{path}: raster has no CRS; Sentinel-2 input must be georeferenced (e.g. UTM)")
    if dataset.transform == Affine.identity():
        dataset.close()
        raise InputError(f"{path}: raster has no geotransform; Sentinel-2 input must be georeferenced")
    return dataset


class Sentinel2Source:
    """An opened Sentinel-2 input (multi-band file, per-band folder or product), ready for chipping.

    Open it once per job with :func:`open_sentinel2`, use :meth:`chip` any number of times, and
    close it (or use it as a context manager).

    Attributes:
        path: the input as configured.
        parts: the opened files.
        form: ``"multiband"``, ``"folder"``, ``"product"`` or ``"stac"``.
        radiometry: how stored values become reflectance (:mod:`.radiometry`).
        product: the ``.SAFE`` product, for ``form == "product"``.
        stac: the STAC item, for ``form == "stac"`` (``path`` is the JSON file that holds it).
    """

    def __init__(
        self,
        path: Path,
        parts: list[RasterPart],
        form: str,
        product: SafeProduct | None = None,
        stac: StacScene | None = None,
    ) -> None:
        self.path = path
        self.parts = parts
        self.form = form
        self.product = product
        self.stac = stac
        self.radiometry: Radiometry = Radiometry(1.0, (0.0,) * len(S2_BANDS), "unset")

    @property
    def name(self) -> str:
        """The input's name in messages: the file name, or ``item id (file name)`` for a STAC item."""
        return self.stac.label if self.stac is not None else self.path.name

    @property
    def cloud_mask(self) -> str | None:
        """GDAL path of the input's cloud mask (a product's SCL / MSK_CLASSI, an item's SCL asset), or ``None``."""
        if self.stac is not None:
            return self.stac.cloud_mask
        return self.product.cloud_mask if self.product is not None else None

    @property
    def cloud_mask_kind(self) -> str | None:
        """``"scl"``, ``"classi"`` or ``None`` (see :attr:`cloud_mask`)."""
        if self.stac is not None:
            return self.stac.cloud_mask_kind
        return self.product.cloud_mask_kind if self.product is not None else None

    @property
    def band_files(self) -> dict[str, Path]:
        """``{band: file}`` in So2Sat order."""
        out = {S2_BANDS[pos]: part.path for part in self.parts for pos in part.positions}
        return {band: out[band] for band in S2_BANDS}

    @property
    def crs(self) -> CRS:
        """CRS of the first file (B02's file for a folder)."""
        return self.parts[0].dataset.crs

    def close(self) -> None:
        """Close every file."""
        for part in self.parts:
            part.dataset.close()

    def __enter__(self) -> Sentinel2Source:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        item = f", item={self.stac.item_id!r}" if self.stac is not None else ""
        return f"Sentinel2Source({str(self.path)!r}, form={self.form!r}{item}, files={len(self.parts)})"

    def chip(
        self,
        samples: pd.DataFrame,
        working_crs: str | None,
        resampling: str,
        chip_px: int = S2_CHIP_PX,
        tile_px: int = DEFAULT_TILE_PX,
    ) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
        """Cut one chip per sample square; see :func:`chip_sentinel2` for the arguments."""
        return chip_source(self, samples, working_crs, resampling, chip_px, tile_px, self.radiometry)


def open_sentinel2(
    path: str | os.PathLike,
    band_names: Sequence[str] | None = None,
    scale: float | None = None,
    offset: float | Sequence[float] | None = None,
    item: StacScene | None = None,
) -> Sentinel2Source:
    """Open a Sentinel-2 input: a multi-band raster, a folder of per-band files, a ``.SAFE`` product, or
    a STAC item.

    Args:
        path: multi-band raster (GeoTIFF, VRT, …), folder of per-band files, a ``.SAFE`` folder /
            ``.zip`` (L1C or L2A, read in place), or a STAC Item / ItemCollection JSON file
            (:mod:`.stac`; a collection of several items needs ``item``: :func:`open_inputs` opens
            each).
        band_names: ``regions[].s2_band_names``: for a multi-band file without band descriptions,
            the band name of every band in file order (e.g. ``["B02", "B03", …]``); one that
            contradicts the file's band descriptions is an error; not allowed for a folder or product.
        scale, offset: ``regions[].s2_scale`` / ``s2_offset`` (``None``: from the product or item
            metadata, or the data; see :mod:`.radiometry`).
        item: the item of the STAC file ``path`` to open (:func:`~.stac.read_stac`).

    Returns:
        The opened source (close it, or use ``with``), its :attr:`~Sentinel2Source.radiometry` decided.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        InputError (a ValueError): a band is missing, the bands cannot be identified, a file is unreadable or
            has no CRS, a product without its metadata file or with a damaged zip member, metadata
            that cannot tell the offset (without ``offset``) — always naming the file (and the item).
    """
    root = Path(path)
    if item is None and is_stac_file(root) and root.is_file():
        items = read_stac(root)
        if len(items) > 1:
            raise InputError(
                f"{root}: {len(items)} STAC items; open each (open_inputs, Sentinel2Scenes), not the file"
            )
        item = items[0]
    if item is not None:
        if band_names is not None:
            raise ConfigError(
                f"{item.where}: regions[].s2_band_names applies to a multi-band file, not to a STAC item "
                "(its asset keys name the bands): remove the key"
            )
        try:
            source = _open_files(root, dict(item.band_hrefs), "stac", stac=item)
        except InputError as exc:
            raise InputError(f"{item.where}: {exc}") from exc
        try:
            source.radiometry = stac_radiometry(item, scale, offset)
        except BaseException:
            source.close()
            raise
        return source
    if not root.exists():
        raise FileNotFoundError(
            f"{root}: Sentinel-2 input not found (expected a multi-band raster, a band folder or a .SAFE product)"
        )
    product = open_product(root) if is_product(root) else None
    if (root.is_dir() or product is not None) and band_names is not None:
        raise ConfigError(
            f"{root}: regions[].s2_band_names applies to a multi-band file, not to a folder of "
            "per-band files or a product (their file names and metadata name the bands): remove the key"
        )
    if product is not None:
        source = _open_files(root, {b: product.band_files[b] for b in S2_BANDS}, "product", product)
    elif root.is_dir():
        source = _open_files(root, {b: str(f) for b, f in find_band_files(root, S2_BANDS).items()}, "folder")
    else:
        source = _open_multiband(root, band_names)
    try:
        source.radiometry = resolve_radiometry(source.parts, product, scale, offset, str(root))
    except BaseException:
        source.close()
        raise
    return source


def _open_files(
    root: Path,
    files: dict[str, str],
    form: str,
    product: SafeProduct | None = None,
    stac: StacScene | None = None,
) -> Sentinel2Source:
    """Open one file per band (a band folder, a product's granule or a STAC item's assets)."""
    parts: list[RasterPart] = []
    try:
        for position, band in enumerate(S2_BANDS):
            dataset = _open_raster(files[band])
            parts.append(RasterPart(Path(files[band]), dataset, (1,), (position,)))
            if dataset.count != 1:
                log.warning(
                    "%s: %d bands in a per-band file; using band 1 as %s", files[band], dataset.count, band
                )
    except BaseException:
        for part in parts:
            part.dataset.close()
        raise
    return Sentinel2Source(root, parts, form, product, stac)


def expand_inputs(
    paths: str | os.PathLike | Sequence[str | os.PathLike],
) -> list[tuple[Path, StacScene | None]]:
    """The scenes of ``regions[].sentinel2``: every input, with each STAC file expanded into its items.

    Returns ``(path, item)`` pairs in list order (``item`` ``None`` for non-STAC inputs).
    """
    inputs = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    out: list[tuple[Path, StacScene | None]] = []
    for p in inputs:
        path = Path(p)
        if is_stac_file(path) and path.is_file():
            out.extend((path, item) for item in read_stac(path))
        else:
            out.append((path, None))
    return out


def open_inputs(
    paths: str | os.PathLike | Sequence[str | os.PathLike],
    band_names: Sequence[str] | None = None,
    scale: float | None = None,
    offset: float | Sequence[float] | None = None,
) -> list[Sentinel2Source]:
    """Open every scene of ``regions[].sentinel2`` (:func:`expand_inputs`) with :func:`open_sentinel2`."""
    sources: list[Sentinel2Source] = []
    try:
        for path, item in expand_inputs(paths):
            sources.append(open_sentinel2(path, band_names=band_names, scale=scale, offset=offset, item=item))
    except BaseException:
        for source in sources:
            source.close()
        raise
    return sources


def _open_multiband(path: Path, band_names: Sequence[str] | None) -> Sentinel2Source:
    dataset = _open_raster(path)
    try:
        names = identify_bands(path, dataset.count, dataset.descriptions, band_names)
    except BaseException:
        dataset.close()
        raise
    indexes = tuple(names.index(band) + 1 for band in S2_BANDS)
    part = RasterPart(path, dataset, indexes, tuple(range(len(S2_BANDS))))
    return Sentinel2Source(path, [part], "multiband")


def chip_sentinel2(
    source_path: str | os.PathLike,
    samples: pd.DataFrame,
    working_crs: str | None,
    resampling: str,
    band_names: Sequence[str] | None = None,
    chip_px: int = S2_CHIP_PX,
    tile_px: int = DEFAULT_TILE_PX,
    scale: float | None = None,
    offset: float | Sequence[float] | None = None,
) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Cut the 10-band Sentinel-2 chip of every sample square from one input.

    Args:
        source_path: multi-band raster, folder of per-band files or product (see :func:`open_sentinel2`).
        samples: table with ``sample_id`` and the square ``xmin, ymin, xmax, ymax`` in the working
            CRS (side ``chip_px × 10`` m); a ``crs`` column, if present, must agree with
            ``working_crs``.
        working_crs: CRS of the squares (e.g. ``"EPSG:32650"``); ``None``: the ``crs`` column.
        resampling: ``"nearest"``, ``"bilinear"`` or ``"cubic"`` (config ``sentinel2.resampling``);
            used for bands not on the square's 10 m grid (20 m bands, unaligned squares, other CRSs).
        band_names: names of the bands of a multi-band file without descriptions (config
            ``regions[].s2_band_names``); ``None`` when the file's descriptions name them.
        chip_px: chip side in pixels (32 → 320 m squares).
        tile_px: side (pixels) of the tiles within which samples are read together; bounds memory.
        scale, offset: ``regions[].s2_scale`` / ``s2_offset`` (see :mod:`.radiometry`).

    Returns:
        ``sample_ids`` (N,) int64 of the chipped samples, in input order;
        ``images`` (N, chip_px, chip_px, 10) float32 reflectance in [0, 1], So2Sat band order;
        ``excluded`` DataFrame with ``sample_id`` (int64) and ``reason`` (str), in input order.

    Raises:
        FileNotFoundError / ValueError: see :func:`open_sentinel2`; also when the raster overlaps
            none of the squares, or the sample table is malformed.
    """
    with open_sentinel2(source_path, band_names=band_names, scale=scale, offset=offset) as source:
        return source.chip(samples, working_crs, resampling, chip_px, tile_px)
