"""Sentinel-2 chip shards of imported LCZC-GES2 samples (docs/contracts.md §3), DN → reflectance detection."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from ...constants import S2_REFLECTANCE_SCALE
from ...errors import InputError
from ...io.chips import IMPORTED_S2_ATTRS, write_chips
from ...io.samples import read_shard
from ...logs import get_logger, progress
from .files import S2_PATCH_SHAPE, read_s2_patch

log = get_logger("importers.lczc_ges2")

#: A patch whose maximum exceeds this is in digital numbers (DN), not reflectance.
DN_DETECT_THRESHOLD: float = 1.5

PathLike = str | os.PathLike


def to_reflectance(image: np.ndarray) -> tuple[np.ndarray, bool, int]:
    """Float32 reflectance in [0, 1] of a patch; DN detected when the maximum > 1.5.

    Returns:
        ``(reflectance, was_dn, n_clipped)``: the patch (same shape), whether it was divided by
        10000, and how many values were clipped into [0, 1].
    """
    x = np.asarray(image, dtype=np.float32)
    was_dn = bool(x.size and float(x.max()) > DN_DETECT_THRESHOLD)
    if was_dn:
        x = x / np.float32(S2_REFLECTANCE_SCALE)
    n_clipped = int(np.count_nonzero((x < 0.0) | (x > 1.0)))
    return np.clip(x, 0.0, 1.0), was_dn, n_clipped


def import_s2_shard(samples: PathLike | pd.DataFrame, shard: int, out_h5: PathLike) -> dict[str, int]:
    """Write the Sentinel-2 chip shard ``results/chips/sentinel2/{shard}.h5`` of imported samples.

    Args:
        samples: ``results/samples.parquet`` (path or table) written by :func:`.scan.write_samples_table`.
        shard: shard number.
        out_h5: output HDF5 (atomic): ``sample_id`` (N,), ``image`` (N, 32, 32, 10) float32 in
            [0, 1], exclusions, band names in attrs.

    Returns:
        Counts: ``chips``, ``excluded``, ``dn_scaled`` (patches divided by 10000), ``clipped`` (values).

    Raises:
        FileNotFoundError: a patch file is missing.
        ValueError: a patch is malformed (shape, keys, label), or its label differs from the table.
    """
    rows = read_shard(samples, shard, extra=("s2_path",))
    n = len(rows)
    images = np.zeros((n, *S2_PATCH_SHAPE), dtype=np.float32)
    keep = np.ones(n, dtype=bool)
    reasons: list[tuple[int, str]] = []
    n_dn = n_clipped = 0
    for k, (sid, code, path) in enumerate(
        progress(
            list(zip(rows["sample_id"], rows["lcz"], rows["s2_path"])),
            desc=f"import sentinel-2 shard {shard}",
            logger=log,
        )
    ):
        image, label = read_s2_patch(path)
        if label != int(code):
            raise InputError(
                f"{path}: label {label} differs from lcz {int(code)} of sample {int(sid)} in the "
                "sample table; the dataset changed since the table was written — rerun the import"
            )
        if not np.isfinite(image).all():
            keep[k] = False
            reasons.append(
                (int(sid), f"nodata: {int((~np.isfinite(image)).sum())} NaN/inf value(s) in {path}")
            )
            continue
        images[k], was_dn, clipped = to_reflectance(image)
        n_dn += was_dn
        n_clipped += clipped
    excluded = pd.DataFrame(
        {
            "sample_id": np.array([r[0] for r in reasons], dtype=np.int64),
            "reason": pd.Series([r[1] for r in reasons], dtype=str),
        }
    )
    ids = rows["sample_id"].to_numpy().astype(np.int64)
    write_chips(
        out_h5,
        "sentinel2",
        ids[keep],
        images[keep],
        excluded,
        attrs={
            "source": "LCZC-GES2",
            "dn_scaled_chips": n_dn,
            "clipped_values": n_clipped,
            "dn_detect_threshold": DN_DETECT_THRESHOLD,
            **IMPORTED_S2_ATTRS,
        },
    )
    if n_dn:
        log.warning(
            "shard %d: %d patch(es) looked like digital numbers (max > %g) and were divided by %g",
            shard,
            n_dn,
            DN_DETECT_THRESHOLD,
            S2_REFLECTANCE_SCALE,
        )
    if n_clipped:
        log.warning("shard %d: %d value(s) outside [0, 1] clipped", shard, n_clipped)
    for sid, reason in reasons:
        log.warning("sample %d excluded: %s", sid, reason)
    log.info("%s: %d chips, %d excluded", out_h5, int(keep.sum()), len(reasons))
    return {"chips": int(keep.sum()), "excluded": len(reasons), "dn_scaled": n_dn, "clipped": n_clipped}
