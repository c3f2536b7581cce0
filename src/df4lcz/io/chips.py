"""The chip shard files of both streams (docs/contracts.md §2, §3): one reader, writer and validator.

``results/chips/google/{shard}.h5`` and ``results/chips/sentinel2/{shard}.h5`` share one layout,
datasets in this order:

* ``sample_id`` (N,) int64 — the samples chipped, in shard order;
* ``image`` (N, H, W, C) — the chips; dtype, channels and value range per stream (:data:`CHIP_SPECS`);
* ``excluded_sample_id`` (M,) int64 and ``excluded_reason`` (M,) UTF-8 byte strings — the samples of
  the shard that could not be chipped, and why.

Sentinel-2 shards may add per-sample datasets after the exclusions (:data:`S2_PER_SAMPLE`:
``s2_input``, ``cloud_fraction``).

File attrs: the writer's ``attrs`` (e.g. ``source``; Sentinel-2 must give ``reflectance_scale`` and
``reflectance_offset``), then the stream's fixed attrs (Sentinel-2: ``bands``, ``pixel_size_m``),
which the reader checks.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..constants import S2_BANDS, S2_REFLECTANCE_SCALE
from ..errors import ContractError
from .hdf5 import read_h5, read_h5_info, write_h5

#: Ground sampling distance (m) of the Sentinel-2 chips (attr ``pixel_size_m``): the native
#: resolution of B02/B03/B04/B08, the grid every band is resampled onto.
S2_PIXEL_SIZE_M: float = 10.0


@dataclass(frozen=True)
class ChipSpec:
    """What the chips of one stream are.

    Attributes:
        stream: stream name (a key of :data:`df4lcz.constants.STREAM_DIRS`).
        channels: size of the last axis of ``image``.
        dtype: dtype of ``image``.
        what: the chips in words, for messages (``"uint8 RGB"``).
        square: chips must be square (H == W).
        reflectance: values must be finite and in [0, 1] (checked on writing).
        attrs: file attrs the writer adds after the caller's and the reader requires.
        required_attrs: attrs the caller must give.
    """

    stream: str
    channels: int
    dtype: np.dtype
    what: str
    square: bool = False
    reflectance: bool = False
    attrs: Mapping[str, Any] = field(default_factory=dict)
    required_attrs: tuple[str, ...] = ()


#: The spec of each chip stream.
CHIP_SPECS: dict[str, ChipSpec] = {
    "google": ChipSpec("google", 3, np.dtype(np.uint8), "uint8 RGB"),
    "sentinel2": ChipSpec(
        "sentinel2",
        len(S2_BANDS),
        np.dtype(np.float32),
        "float32 reflectance",
        square=True,
        reflectance=True,
        attrs={"bands": list(S2_BANDS), "pixel_size_m": S2_PIXEL_SIZE_M},
        required_attrs=("reflectance_scale", "reflectance_offset"),
    ),
}

#: Optional per-sample datasets of Sentinel-2 shards: the input (position in ``regions[].sentinel2``)
#: each chip was cut from (int16) and that input's cloud/shadow fraction over the square (float32,
#: NaN without a cloud mask).
S2_PER_SAMPLE: dict[str, np.dtype] = {"s2_input": np.dtype(np.int16), "cloud_fraction": np.dtype(np.float32)}

#: Attrs of imported Sentinel-2 chips (reflectance = DN / 10000 as in So2Sat / LCZC-GES2, no offset).
IMPORTED_S2_ATTRS: dict[str, Any] = {
    "reflectance_scale": S2_REFLECTANCE_SCALE,
    "reflectance_offset": [0.0] * len(S2_BANDS),
}


@dataclass
class ChipShard:
    """One chip shard read back: ``sample_id`` (N,) int64, ``image`` (N, H, W, C), file ``attrs``."""

    sample_id: np.ndarray
    image: np.ndarray
    attrs: dict[str, Any]


def chip_spec(stream: str) -> ChipSpec:
    """The :class:`ChipSpec` of ``stream``; ``ValueError`` for a stream without chips."""
    try:
        return CHIP_SPECS[stream]
    except KeyError:
        raise ValueError(
            f"no chip files for stream {stream!r}; expected one of {sorted(CHIP_SPECS)}"
        ) from None


def _check_sample_ids(where: str | os.PathLike, sample_ids: np.ndarray) -> np.ndarray:
    """``sample_ids`` as a 1-D int64 array; ``ValueError`` naming ``where`` otherwise."""
    ids = np.asarray(sample_ids)
    if ids.ndim != 1 or ids.dtype.kind not in "iu":
        raise ContractError(f"{where}: sample_ids must be a 1-D integer array, got {ids.dtype} {ids.shape}")
    return ids.astype(np.int64)


def _in_unit_range(img: np.ndarray) -> bool:
    """All values finite and in [0, 1] (an empty array is)."""
    return not img.size or bool(np.isfinite(img).all() and img.min() >= 0.0 and img.max() <= 1.0)


def validate_chips(
    where: str | os.PathLike,
    stream: str,
    sample_ids: np.ndarray,
    images: np.ndarray,
    attrs: Mapping[str, Any] | None = None,
    check_values: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Check chips of ``stream`` against the contract; return ``(sample_ids as int64, images)``.

    Args:
        where: file named in the messages.
        stream: ``"google"`` or ``"sentinel2"``.
        sample_ids: (N,) integer ids.
        images: (N, H, W, C) chips.
        attrs: file attrs to check against the stream's fixed attrs (the reader passes them).
        check_values: check the value range of reflectance chips (the writer does).

    Raises:
        ContractError (a ValueError): ids not 1-D integers, shape, dtype, value range or attrs off the contract.
    """
    spec = chip_spec(stream)
    ids = _check_sample_ids(where, sample_ids)
    img = np.asarray(images)
    hw = "H, H" if spec.square else "H, W"
    bad_shape = img.ndim != 4 or img.shape[0] != len(ids) or (spec.square and img.shape[1] != img.shape[2])
    if bad_shape or img.shape[3] != spec.channels:
        raise ContractError(f"{where}: images must be (N={len(ids)}, {hw}, {spec.channels}), got {img.shape}")
    if img.dtype != spec.dtype:
        raise ContractError(f"{where}: images must be {spec.what}, got {img.dtype}")
    if check_values and spec.reflectance and not _in_unit_range(img):
        raise ContractError(f"{where}: images must be finite reflectance in [0, 1]")
    if attrs is not None and "bands" in spec.attrs:
        bands = attrs.get("bands")
        if bands is None or list(bands) != list(spec.attrs["bands"]):
            raise ContractError(f"{where}: attr 'bands' is {bands!r}; expected {list(spec.attrs['bands'])}")
    return ids, img


def write_chips(
    path: str | os.PathLike,
    stream: str,
    sample_ids: np.ndarray,
    images: np.ndarray,
    excluded: pd.DataFrame,
    attrs: Mapping[str, Any] | None = None,
    per_sample: Mapping[str, np.ndarray] | None = None,
) -> None:
    """Write the chip shard of ``stream`` atomically (docs/contracts.md §2 Google, §3 Sentinel-2).

    Args:
        path: destination ``.h5``.
        stream: ``"google"`` or ``"sentinel2"``.
        sample_ids: (N,) integer ids of the chips.
        images: (N, H, W, C) chips as :data:`CHIP_SPECS` says.
        excluded: ``sample_id``, ``reason`` of the samples that could not be chipped.
        attrs: extra file attrs (e.g. ``source``); the stream's fixed attrs are added after them.
        per_sample: Sentinel-2 only, datasets of :data:`S2_PER_SAMPLE` (N,) each.

    Raises:
        ValueError: shapes, dtype, values, attrs or the excluded table do not fit the contract.
    """
    spec = chip_spec(stream)
    ids, img = validate_chips(path, stream, sample_ids, images)
    if not {"sample_id", "reason"} <= set(excluded.columns):
        raise ValueError(
            f"{path}: excluded must have columns sample_id, reason; got {list(excluded.columns)}"
        )
    all_attrs: dict[str, Any] = dict(attrs or {})
    missing = [a for a in spec.required_attrs if a not in all_attrs]
    if missing:
        raise ValueError(f"{path}: attrs {missing} are required for {stream} chips")
    all_attrs.update(spec.attrs)
    reasons = [str(r).encode("utf-8") for r in excluded["reason"]]
    datasets: dict[str, np.ndarray] = {
        "sample_id": ids,
        "image": img,
        "excluded_sample_id": excluded["sample_id"].to_numpy().astype(np.int64),
        "excluded_reason": np.array(reasons, dtype="S") if reasons else np.zeros(0, dtype="S1"),
    }
    allowed = S2_PER_SAMPLE if stream == "sentinel2" else {}
    for name, values in (per_sample or {}).items():
        if name not in allowed:
            raise ValueError(
                f"{path}: per-sample dataset {name!r} is not part of {stream} chips; expected {sorted(allowed)}"
            )
        values = np.asarray(values)
        if values.shape != (len(ids),):
            raise ValueError(f"{path}: {name} must be ({len(ids)},), got {values.shape}")
        datasets[name] = values.astype(allowed[name])
    write_h5(path, datasets, all_attrs)


def read_chips(path: str | os.PathLike, stream: str) -> ChipShard:
    """Read the chips of a shard of ``stream`` (ids, images and file attrs), checked.

    Raises:
        FileNotFoundError: no such file.
        ContractError (a ValueError): not HDF5, datasets missing, or shapes/dtype/attrs off the contract.
    """
    data, attrs = read_h5(path, ["sample_id", "image"])
    ids, img = validate_chips(path, stream, data["sample_id"], data["image"], attrs, check_values=False)
    return ChipShard(ids, img, attrs)


def read_chip_info(path: str | os.PathLike) -> tuple[tuple[int, ...], dict[str, Any]]:
    """The ``image`` shape ``(N, H, W, C)`` and the file attrs of a chip shard, without reading chips.

    Raises:
        FileNotFoundError: no such file.
        ContractError (a ValueError): not HDF5, or no ``image`` dataset.
    """
    shapes, attrs = read_h5_info(path, what="chip file")
    if "image" not in shapes:
        raise ContractError(f"{path}: missing dataset 'image'; found {sorted(shapes)} (expected a chip file)")
    return shapes["image"], attrs


def _decode_reasons(raw: Any) -> list[str]:
    return [r.decode("utf-8") if isinstance(r, bytes) else str(r) for r in raw]


def read_excluded(path: str | os.PathLike) -> pd.DataFrame:
    """The excluded samples of a chip shard: DataFrame ``sample_id`` (int64), ``reason`` (str).

    Raises:
        FileNotFoundError: no such file.
        ContractError (a ValueError): not HDF5, or the exclusion datasets are missing.
    """
    data, _ = read_h5(path, ["excluded_sample_id", "excluded_reason"])
    reasons = _decode_reasons(data["excluded_reason"].tolist())
    ids = data["excluded_sample_id"].astype(np.int64)
    return pd.DataFrame({"sample_id": ids, "reason": pd.Series(reasons, dtype=str)})


def read_ids_and_excluded(path: str | os.PathLike) -> tuple[np.ndarray, pd.DataFrame]:
    """``sample_id`` (N,) int64 and the exclusions of a chip shard, without reading the images.

    A file without exclusion datasets has none (empty DataFrame ``sample_id``, ``reason``).

    Raises:
        FileNotFoundError: no such file.
        ContractError (a ValueError): not HDF5, or no ``sample_id`` dataset.
    """
    data, _ = read_h5(
        path, ["sample_id"], optional=["excluded_sample_id", "excluded_reason"], what="chip file"
    )
    ids = data["sample_id"].astype(np.int64)
    ex_ids = data.get("excluded_sample_id", np.empty(0, np.int64)).astype(np.int64)
    reasons = data.get("excluded_reason", np.empty(0, dtype=object))
    return ids, pd.DataFrame({"sample_id": ex_ids, "reason": _decode_reasons(reasons)})
