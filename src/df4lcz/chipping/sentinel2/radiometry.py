"""From stored Sentinel-2 values to reflectance: ``(value + offset) / scale``, decided once per input.

Where the scale and offsets come from, first match wins:

1. **The config** (``regions[].s2_scale`` / ``regions[].s2_offset``), for rasters exported by other
   tools; they override product metadata (a warning says so when the two differ).
2. **Product metadata** of a ``.SAFE`` product (:mod:`.products`): quantification value and, from
   processing baseline 04.00, the per-band offset (−1000). Metadata that cannot tell the offset (a
   baseline that does not parse, baseline ≥ 04.00 without the offset list) is an error unless
   ``regions[].s2_offset`` states it (then a warning says the config overrides). For a **STAC
   item** (:mod:`.stac`), the item's own metadata (``raster:bands``, Earth Search's
   ``earthsearch:boa_offset_applied``, ``s2:processing_baseline``), decided per item
   (:func:`stac_radiometry`), likewise refused when it cannot tell and overridden with a warning.
3. **Floating-point rasters already holding reflectance**: when the largest valid value of a
   decimated read of the first file is at most :data:`REFLECTANCE_LOOKALIKE_MAX`, values are taken as
   reflectance (scale 1, offset 0) and not divided again.
4. Otherwise **digital numbers**: scale :data:`~df4lcz.constants.S2_REFLECTANCE_SCALE` (10000),
   offset 0 (no metadata can tell a baseline ≥ 04.00 offset: set ``s2_offset: -1000`` for such data).

The same input always gets the same answer (the float test reads a fixed decimated view), so the
``samples`` check and every chip job agree.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ...constants import S2_BANDS, S2_REFLECTANCE_SCALE
from ...errors import ConfigError
from ...logs import get_logger
from .products import require_offsets

if TYPE_CHECKING:
    from .products import SafeProduct
    from .sources import RasterPart
    from .stac import StacScene

log = get_logger("sentinel2")

#: Largest value of a floating-point input that is taken for reflectance in [0, 1] rather than
#: digital numbers (reflectance × 10000; real scenes hold values in the hundreds and thousands).
REFLECTANCE_LOOKALIKE_MAX: float = 1.5

#: Side (pixels) of the decimated read that decides whether a float raster holds reflectance.
DETECT_READ_PX: int = 256


@dataclass(frozen=True)
class Radiometry:
    """Reflectance = (value + offset[band]) / scale, per band in So2Sat order.

    Attributes:
        scale: the divisor (10000 for DN; 1 for reflectance already in [0, 1]).
        offsets: (10,) additive offsets in So2Sat band order (−1000 for baseline ≥ 04.00 DN).
        origin: where the numbers come from, in words (log, chips attrs, report).
    """

    scale: float
    offsets: tuple[float, ...]
    origin: str

    def apply(self, images: np.ndarray) -> np.ndarray:
        """Turn ``images`` (N, H, W, 10) float32 of stored values into reflectance, in place."""
        if any(self.offsets):
            images += np.asarray(self.offsets, dtype=np.float32)
        if self.scale != 1.0:
            images /= np.float32(self.scale)
        return images

    def formula(self) -> str:
        """``(DN - 1000) / 10000`` style text (one offset shown when all bands share it)."""
        distinct = sorted(set(self.offsets))
        if distinct == [0.0]:
            core = "DN"
        elif len(distinct) == 1:
            core = f"(DN {'+' if distinct[0] > 0 else '-'} {abs(distinct[0]):g})"
        else:
            core = (
                "(DN + per-band offset "
                + ", ".join(f"{b} {o:g}" for b, o in zip(S2_BANDS, self.offsets))
                + ")"
            )
        return core if self.scale == 1.0 else f"{core} / {self.scale:g}"

    def attrs(self) -> dict[str, Any]:
        """The chips-file attrs that record it (docs/contracts.md §3)."""
        return {
            "reflectance_scale": float(self.scale),
            "reflectance_offset": [float(o) for o in self.offsets],
            "radiometry": f"reflectance = {self.formula()} ({self.origin})",
        }


def _offsets(value: float | Sequence[float] | None, key: str) -> tuple[float, ...]:
    """``s2_offset`` as 10 offsets (one number for all bands, or one per band in So2Sat order)."""
    if value is None:
        return (0.0,) * len(S2_BANDS)
    if isinstance(value, (int, float)):
        return (float(value),) * len(S2_BANDS)
    values = [float(v) for v in value]
    if len(values) != len(S2_BANDS):
        raise ConfigError(
            f"{key}: {len(values)} offsets; expected one number or {len(S2_BANDS)} (So2Sat order)"
        )
    return tuple(values)


def float_peak(part: RasterPart) -> float:
    """Largest valid value of a decimated read (≤ :data:`DETECT_READ_PX` a side) of ``part``'s bands."""
    ds = part.dataset
    shape = (len(part.indexes), min(ds.height, DETECT_READ_PX), min(ds.width, DETECT_READ_PX))
    data = ds.read(part.indexes, out_shape=shape).astype(np.float64)
    valid = np.isfinite(data)
    if ds.nodata is not None and not (isinstance(ds.nodata, float) and math.isnan(ds.nodata)):
        valid &= data != ds.nodata
    return float(data[valid].max()) if valid.any() else -math.inf


def resolve_radiometry(
    parts: Sequence[RasterPart],
    product: SafeProduct | None,
    scale: float | None,
    offset: float | Sequence[float] | None,
    where: str,
) -> Radiometry:
    """Decide the :class:`Radiometry` of one Sentinel-2 input (see the module docstring).

    Args:
        parts: the opened files of the input (their dtype and values decide for rasters without metadata).
        product: the product, when the input is a ``.SAFE`` folder or zip.
        scale: ``regions[].s2_scale`` (``None``: decide).
        offset: ``regions[].s2_offset`` (``None``: decide).
        where: the input, for messages.

    Raises:
        ConfigError: a scale that is not positive, an offset list of the wrong length.
        InputError: product metadata that cannot tell the offset, and no ``offset`` given.
    """
    if scale is not None and not scale > 0:
        raise ConfigError(
            f"regions[].s2_scale: {scale!r} must be a positive number (reflectance = (DN + offset) / scale)"
        )
    config_offsets = _offsets(offset, "regions[].s2_offset")
    if product is not None:
        meta = product.metadata
        meta_offsets = tuple(meta.offset(b) for b in S2_BANDS)
        origin = f"{product.name}: {meta.level}, processing baseline {meta.baseline or '?'}"
        require_offsets(meta, offset is not None)
        if scale is None and offset is None:
            return Radiometry(meta.quantification, meta_offsets, origin)
        chosen = Radiometry(
            scale if scale is not None else meta.quantification,
            config_offsets if offset is not None else meta_offsets,
            f"regions[].s2_scale/s2_offset, overriding {origin}",
        )
        if meta.offset_problem:
            log.warning(
                "%s; regions[].s2_offset states the offset: the config overrides the product metadata "
                "(reflectance = %s)",
                meta.offset_problem,
                chosen.formula(),
            )
        elif chosen.scale != meta.quantification or chosen.offsets != meta_offsets:
            log.warning(
                "%s: regions[].s2_scale/s2_offset (%s) override the product metadata (%s)",
                where,
                chosen.formula(),
                Radiometry(meta.quantification, meta_offsets, origin).formula(),
            )
        return chosen
    if scale is not None or offset is not None:
        return Radiometry(
            scale if scale is not None else S2_REFLECTANCE_SCALE,
            config_offsets,
            "regions[].s2_scale/s2_offset",
        )
    first = parts[0]
    kind = np.dtype(first.dataset.dtypes[first.indexes[0] - 1]).kind
    if kind == "f":
        peak = float_peak(first)
        if peak <= REFLECTANCE_LOOKALIKE_MAX:
            log.info(
                "%s: floating-point values at most %.3g: taken as reflectance in [0, 1] (not divided by "
                "%g); set regions[].s2_scale to override",
                where,
                peak,
                S2_REFLECTANCE_SCALE,
            )
            return Radiometry(
                1.0,
                (0.0,) * len(S2_BANDS),
                f"floating-point reflectance recognised (largest value {peak:.3g})",
            )
    return Radiometry(
        S2_REFLECTANCE_SCALE, config_offsets, "digital numbers without product metadata (offset 0 assumed)"
    )


def stac_radiometry(
    scene: StacScene, scale: float | None, offset: float | Sequence[float] | None
) -> Radiometry:
    """The :class:`Radiometry` of one STAC item: its metadata's decision (:mod:`.stac`), or the config's.

    ``regions[].s2_scale`` / ``s2_offset`` override the item's metadata with a warning when they
    differ from it (or when the metadata cannot tell the offset).

    Raises:
        ConfigError: a scale that is not positive, an offset list of the wrong length.
        InputError: the metadata cannot tell the radiometry and ``offset`` is not given (names the
            item, its file and the properties looked at).
    """
    from .stac import require_radiometry

    if scale is not None and not scale > 0:
        raise ConfigError(
            f"regions[].s2_scale: {scale!r} must be a positive number (reflectance = (DN + offset) / scale)"
        )
    config_offsets = _offsets(offset, "regions[].s2_offset")
    require_radiometry(scene, offset is not None)
    decided = scene.radiometry
    if scale is None and offset is None:
        return Radiometry(decided.scale, decided.offsets, decided.origin)
    base_scale = decided.scale if not decided.problem else S2_REFLECTANCE_SCALE
    chosen = Radiometry(
        scale if scale is not None else base_scale,
        config_offsets if offset is not None else decided.offsets,
        f"regions[].s2_scale/s2_offset, overriding {decided.origin or scene.where}",
    )
    if decided.problem:
        log.warning(
            "%s; regions[].s2_offset states the offset: the config overrides the item's metadata "
            "(reflectance = %s)",
            decided.problem.split("; looked at")[0],
            chosen.formula(),
        )
    elif chosen.scale != decided.scale or chosen.offsets != decided.offsets:
        log.warning(
            "%s: regions[].s2_scale/s2_offset (%s) override the item's metadata (%s, from %s)",
            scene.where,
            chosen.formula(),
            Radiometry(decided.scale, decided.offsets, decided.origin).formula(),
            decided.origin.removeprefix(scene.where + ": "),
        )
    return chosen
