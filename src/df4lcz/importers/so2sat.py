"""Importer of So2Sat LCZ42 (HDF5) into this workflow's stage files (docs/contracts.md §1, §3, §6).

Published layout
----------------
Three HDF5 files, ``training.h5``, ``validation.h5`` and ``testing.h5`` (the official split), each
with ``sen2`` ``(N, 32, 32, 10)`` float Sentinel-2 reflectance (bands B2, B3, B4, B5, B6, B7, B8,
B8A, B11, B12 — this project's So2Sat order), ``label`` ``(N, 17)`` one-hot (position k ↔ LCZ
code k + 1) and ``sen1`` (Sentinel-1, not used). The real files are tens of GB: nothing here
loads a whole dataset; labels are read in blocks of :data:`LABEL_BLOCK_ROWS` rows and chips one
shard slice at a time.

What is written
---------------
* :func:`so2sat_samples` → ``results/samples.parquet`` with :data:`df4lcz.io.samples.SAMPLE_COLUMNS`
  (same dtypes as the raw-data path; ``crs`` ``""``, coordinates NaN, null geometry, ``region``
  :data:`REGION`, ``polygon_id = sample_id`` since polygons are unknown) plus ``so2sat_file``
  (``training``/``validation``/``testing``) and ``so2sat_index`` (row in that file). Sample ids
  are consecutive over the files in the order training, validation, testing; shards are
  consecutive blocks of ``shard_size`` rows that never span two files.
* :func:`import_so2sat_shard` → ``results/chips/sentinel2/{shard}.h5`` through
  :func:`df4lcz.io.chips.write_chips`. So2Sat stores reflectance already (no DN
  rescaling); values are clipped to [0, 1] as the contract requires (count logged and stored as a
  file attr). Chips with NaN/inf values are excluded with a reason.
* :func:`so2sat_split` → ``results/splits/{strategy}.csv``, the official split
  (training → train, validation → val, testing → test).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import h5py
import numpy as np
import pandas as pd

from ..constants import N_CLASSES, S2_BANDS, S2_CHIP_PX, SPLIT_NAMES
from ..errors import ContractError, InputError
from ..io.chips import IMPORTED_S2_ATTRS, write_chips
from ..io.samples import read_sample_table, read_shard, write_samples
from ..io.splits import write_split
from ..logs import get_logger, progress
from ..sampling.grid import assign_ids_and_shards

log = get_logger("importers.so2sat")

#: The official So2Sat LCZ42 files (keys of ``files``), in sample-id order, and their split names.
SO2SAT_FILES: dict[str, str] = {"training": "train", "validation": "val", "testing": "test"}

#: Other accepted names of the ``files`` keys.
FILE_ALIASES: dict[str, str] = {"train": "training", "val": "validation", "test": "testing"}

#: Dataset names inside a So2Sat file.
SEN2_KEY, LABEL_KEY = "sen2", "label"

#: Shape of one So2Sat Sentinel-2 patch (H, W, bands).
SEN2_PATCH_SHAPE: tuple[int, int, int] = (S2_CHIP_PX, S2_CHIP_PX, len(S2_BANDS))

#: Rows of ``label`` read at once while building the sample table.
LABEL_BLOCK_ROWS: int = 65536

#: ``region`` of imported So2Sat samples.
REGION: str = "so2sat_lcz42"

#: Extra columns of the sample table written by :func:`so2sat_samples`.
FILE_COLUMN, INDEX_COLUMN = "so2sat_file", "so2sat_index"

PathLike = str | os.PathLike


def _canonical_files(files: Mapping[str, PathLike]) -> dict[str, Path]:
    """``files`` with keys normalised to training/validation/testing, in that order."""
    out: dict[str, Path] = {}
    for key, path in files.items():
        name = FILE_ALIASES.get(str(key), str(key))
        if name not in SO2SAT_FILES:
            raise ValueError(
                f"So2Sat files: unknown key {key!r}; expected {list(SO2SAT_FILES)} (or {list(FILE_ALIASES)})"
            )
        if name in out:
            raise ValueError(f"So2Sat files: {name!r} given twice ({out[name]} and {path})")
        out[name] = Path(path)
    if not out:
        raise ValueError(f"So2Sat files: none given; expected paths for {list(SO2SAT_FILES)}")
    return {name: out[name] for name in SO2SAT_FILES if name in out}


def _open(path: Path) -> h5py.File:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: So2Sat HDF5 file not found")
    try:
        return h5py.File(path, "r")
    except OSError as exc:
        raise InputError(f"{path}: not a readable HDF5 file ({exc})") from None


def _check_layout(path: Path, f: h5py.File) -> int:
    """Number of patches of an open So2Sat file after checking ``sen2`` and ``label`` shapes."""
    missing = [k for k in (SEN2_KEY, LABEL_KEY) if k not in f]
    if missing:
        raise InputError(f"{path}: missing dataset(s) {missing}; found {sorted(f.keys())}")
    sen2, label = f[SEN2_KEY], f[LABEL_KEY]
    if sen2.ndim != 4 or sen2.shape[1:] != SEN2_PATCH_SHAPE:
        expected = ", ".join(map(str, SEN2_PATCH_SHAPE))
        raise InputError(
            f"{path}: '{SEN2_KEY}' has shape {sen2.shape}; expected (N, {expected})"
            f" — {len(S2_BANDS)} bands {', '.join(S2_BANDS)}"
        )
    if label.ndim != 2 or label.shape != (sen2.shape[0], N_CLASSES):
        raise InputError(
            f"{path}: '{LABEL_KEY}' has shape {label.shape}; expected ({sen2.shape[0]}, {N_CLASSES}) "
            f"one-hot rows, one per patch of '{SEN2_KEY}'"
        )
    if sen2.dtype.kind not in "iuf" or label.dtype.kind not in "biuf":
        raise InputError(
            f"{path}: '{SEN2_KEY}' ({sen2.dtype}) and '{LABEL_KEY}' ({label.dtype}) must be numeric"
        )
    return int(sen2.shape[0])


def onehot_codes(block: np.ndarray, where: str, first_row: int = 0) -> np.ndarray:
    """LCZ codes ``(n,)`` int64 (argmax + 1) of one-hot rows ``(n, 17)``.

    Raises:
        ValueError: a row is not one-hot (exactly one 1, the rest 0), naming ``where`` and the row.
    """
    block = np.asarray(block)
    ok = np.isin(block, (0, 1)).all(axis=1) & (block.sum(axis=1) == 1)
    if not ok.all():
        r = int(np.flatnonzero(~ok)[0])
        raise InputError(
            f"{where}: row {first_row + r} is not one-hot ({np.round(block[r], 3).tolist()}); "
            f"expected exactly one 1 among {N_CLASSES} values"
        )
    return block.argmax(axis=1).astype(np.int64) + 1


def so2sat_samples(files: Mapping[str, PathLike], out_parquet: PathLike, shard_size: int) -> gpd.GeoDataFrame:
    """Build and write the sample table of So2Sat LCZ42 files (module docstring).

    Args:
        files: ``{"training": path, "validation": path, "testing": path}`` (any subset; the
            aliases train/val/test are accepted).
        out_parquet: output ``results/samples.parquet`` (atomic).
        shard_size: samples per shard (shards never span two files).

    Returns:
        The GeoDataFrame written.

    Raises:
        FileNotFoundError: a file is missing.
        ValueError: an unknown key, a missing dataset, a wrong shape or band count, or a label row
            that is not one-hot (naming the file and row).
    """
    if int(shard_size) != shard_size or shard_size < 1:
        raise ValueError(f"shard_size: {shard_size} must be an integer ≥ 1")
    tables: list[pd.DataFrame] = []
    extras: list[pd.DataFrame] = []
    for name, path in _canonical_files(files).items():
        with _open(path) as f:
            n = _check_layout(path, f)
            label = f[LABEL_KEY]
            codes = np.empty(n, dtype=np.int64)
            starts = range(0, n, LABEL_BLOCK_ROWS)
            for start in progress(starts, desc=f"So2Sat labels ({path.name})", logger=log):
                stop = min(n, start + LABEL_BLOCK_ROWS)
                codes[start:stop] = onehot_codes(label[start:stop], f"{path}: '{LABEL_KEY}'", start)
        if n == 0:
            log.warning("%s: no patch", path)
            continue
        tables.append(
            pd.DataFrame(
                {
                    "region": pd.Series([REGION] * n, dtype=str),
                    "polygon_id": np.zeros(n, np.int64),
                    "lcz": codes,
                    "crs": pd.Series([""] * n, dtype=str),
                    **{c: np.full(n, np.nan) for c in ("xmin", "ymin", "xmax", "ymax")},
                }
            )
        )
        extras.append(
            pd.DataFrame(
                {FILE_COLUMN: pd.Series([name] * n, dtype=str), INDEX_COLUMN: np.arange(n, dtype=np.int64)}
            )
        )
        log.info(
            "%s: %d patches, per class %s", path, n, pd.Series(codes).value_counts().sort_index().to_dict()
        )
    if not tables:
        raise InputError(f"So2Sat files {[str(p) for p in files.values()]}: no patch at all")
    table = assign_ids_and_shards(tables, int(shard_size))
    table["polygon_id"] = table["sample_id"].to_numpy().copy()
    extra = pd.concat(extras, ignore_index=True)
    table[FILE_COLUMN] = extra[FILE_COLUMN].to_numpy()
    table[INDEX_COLUMN] = extra[INDEX_COLUMN].to_numpy()
    for col in ("sample_id", "polygon_id", "lcz", "shard"):
        table[col] = table[col].astype(np.int64)
    n = len(table)
    gdf = gpd.GeoDataFrame(table, geometry=gpd.GeoSeries([None] * n, crs="EPSG:4326"), crs="EPSG:4326")
    write_samples(out_parquet, gdf)
    log.info("%s: %d samples in %d shard(s)", out_parquet, n, int(table["shard"].nunique()))
    return gdf


def import_so2sat_shard(
    samples: PathLike | pd.DataFrame, shard: int, files: Mapping[str, PathLike], out_h5: PathLike
) -> dict[str, int]:
    """Write the Sentinel-2 chip shard ``results/chips/sentinel2/{shard}.h5`` from So2Sat files.

    Only the shard's rows of ``sen2`` and ``label`` are read (one slice).

    Args:
        samples: the table written by :func:`so2sat_samples` (path or DataFrame).
        shard: shard number.
        files: the same ``files`` mapping given to :func:`so2sat_samples`.
        out_h5: output HDF5 (atomic).

    Returns:
        Counts: ``chips``, ``excluded`` (NaN/inf), ``clipped`` (values outside [0, 1]).

    Raises:
        ValueError: the shard spans files, its file is not in ``files``, or the file's labels no
            longer match the sample table.
    """
    rows = read_shard(samples, shard, extra=(FILE_COLUMN, INDEX_COLUMN))
    names = sorted(set(rows[FILE_COLUMN].astype(str)))
    if len(names) != 1:
        raise ContractError(
            f"shard {shard} spans the So2Sat files {names}; rebuild the sample table with so2sat_samples"
        )
    canonical = _canonical_files(files)
    name = names[0]
    if name not in canonical:
        raise ContractError(
            f"shard {shard} comes from the So2Sat {name!r} file, which is not among files {list(canonical)}"
        )
    path = canonical[name]
    index = rows[INDEX_COLUMN].to_numpy().astype(np.int64)
    if (np.diff(index) <= 0).any():
        raise ContractError(f"shard {shard}: {INDEX_COLUMN} must increase with sample_id")
    with _open(path) as f:
        n = _check_layout(path, f)
        if index[0] < 0 or index[-1] >= n:
            raise InputError(
                f"{path}: holds {n} patches but shard {shard} needs rows {index[0]}..{index[-1]}"
            )
        contiguous = index[-1] - index[0] + 1 == len(index)
        sel = slice(int(index[0]), int(index[-1]) + 1) if contiguous else index
        images = np.asarray(f[SEN2_KEY][sel], dtype=np.float32)
        codes = onehot_codes(f[LABEL_KEY][sel], f"{path}: '{LABEL_KEY}'", int(index[0]))
    ids = rows["sample_id"].to_numpy().astype(np.int64)
    differ = np.flatnonzero(codes != rows["lcz"].to_numpy().astype(np.int64))
    if differ.size:
        k = int(differ[0])
        raise InputError(
            f"{path}: row {index[k]} has LCZ {codes[k]} but sample {ids[k]} has lcz "
            f"{int(rows['lcz'].iloc[k])} in the sample table; the file changed — rebuild the table"
        )
    finite = np.isfinite(images).all(axis=(1, 2, 3))
    n_clipped = int(np.count_nonzero((images[finite] < 0.0) | (images[finite] > 1.0)))
    np.clip(images, 0.0, 1.0, out=images)
    excluded = pd.DataFrame(
        {
            "sample_id": ids[~finite],
            "reason": pd.Series(
                [f"nodata: NaN/inf value(s) in {path.name} row {i}" for i in index[~finite]], dtype=str
            ),
        }
    )
    write_chips(
        out_h5,
        "sentinel2",
        ids[finite],
        images[finite],
        excluded,
        attrs={"source": f"So2Sat LCZ42 {path.name}", "clipped_values": n_clipped, **IMPORTED_S2_ATTRS},
    )
    if n_clipped:
        log.warning("shard %d: %d value(s) outside [0, 1] clipped", shard, n_clipped)
    for row in excluded.itertuples():
        log.warning("sample %d excluded: %s", row.sample_id, row.reason)
    log.info(
        "%s: %d chips from %s rows %d..%d, %d excluded",
        out_h5,
        int(finite.sum()),
        path,
        index[0],
        index[-1],
        len(excluded),
    )
    return {"chips": int(finite.sum()), "excluded": len(excluded), "clipped": n_clipped}


def so2sat_split(samples: PathLike | pd.DataFrame, out_csv: PathLike) -> pd.DataFrame:
    """Write the official So2Sat split (training → train, validation → val, testing → test).

    Args:
        samples: the table written by :func:`so2sat_samples` (path or DataFrame).
        out_csv: output ``results/splits/{strategy}.csv`` (atomic).

    Returns:
        The ``sample_id,split`` table, sorted by ``sample_id``.
    """
    table = read_sample_table(samples, extra=(FILE_COLUMN,))
    files = table[FILE_COLUMN].astype(str)
    unknown = sorted(set(files) - set(SO2SAT_FILES))
    if unknown:
        raise ContractError(
            f"sample table: {FILE_COLUMN} values {unknown} are not So2Sat files {list(SO2SAT_FILES)}"
        )
    split = pd.DataFrame(
        {
            "sample_id": table["sample_id"].to_numpy().astype(np.int64),
            "split": files.map(SO2SAT_FILES).to_numpy(),
        }
    )
    split = split.sort_values("sample_id").reset_index(drop=True)
    log.info(
        "%s: %s", out_csv, split["split"].value_counts().reindex(list(SPLIT_NAMES), fill_value=0).to_dict()
    )
    write_split(out_csv, split)
    return split


__all__ = ["import_so2sat_shard", "onehot_codes", "so2sat_samples", "so2sat_split"]
