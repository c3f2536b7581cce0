"""Importer of the released DF4LCZ dataset (LCZC-GES2) into this workflow's stage files.

Published layout (files may sit in any sub-folders of the dataset root)
-----------------------------------------------------------------------
* ``sen2_image_{i}.npz`` — key ``image``: the Sentinel-2 patch, ``(32, 32, 10)`` (H, W, bands in
  So2Sat order B2, B3, B4, B5, B6, B7, B8, B8A, B11, B12); key ``label``: the LCZ code 1–17.
* ``graph_{i}.npz`` — key ``x``: ``(n, 5)`` node features (mean R, G, B and bounding-box centre
  cx, cy of the n SAM instances); key ``a``: ``(n, n)`` dense adjacency; key ``y``: the LCZ code
  1–17, either as a scalar (any 1-element array) or one-hot ``(17,)`` (position k ↔ code k + 1).
* Split pickles (e.g. ``split_random.pkl``, ``split_polygon.pkl`` — "splitting the sample pool"
  and "splitting the polygon pool") — a dict with keys ``train``, ``validation``, ``test``, each a
  list or array of sample indices ``i``.

The index ``i`` of the file names becomes the ``sample_id`` unchanged, so the split pickles apply
directly.

What is written (the same contracts as the raw-data path)
---------------------------------------------------------
* :func:`write_samples_table` → ``results/samples.parquet``: the columns of
  :data:`df4lcz.samples.SAMPLE_COLUMNS` with the same dtypes. Imported patches carry no location:
  ``crs`` is ``""``, ``xmin…ymax`` are NaN and the geometry is null (``read_samples`` accepts
  this). ``polygon_id`` is unknown, so every sample is its own polygon (``polygon_id =
  sample_id``); use the released ``split_polygon.pkl`` for the polygon split. Two extra columns,
  ``s2_path`` and ``graph_path``, tell the shard importers where each sample's files are.
* :func:`import_s2_shard` → ``results/chips/sentinel2/{shard}.h5`` through
  :func:`df4lcz.sentinel2.write_sentinel2_chips` (band names in the attrs, So2Sat order).
  **Scale:** the released patches are reflectance floats. A patch whose maximum exceeds
  :data:`DN_DETECT_THRESHOLD` (1.5) is taken to be in digital numbers and divided by 10000
  (:data:`~df4lcz.constants.S2_REFLECTANCE_SCALE`); values are then clipped to [0, 1] as the
  contract requires (the counts of rescaled patches and clipped values are logged and stored as
  file attrs). A patch with NaN/inf values is excluded with a reason, like nodata chips.
* :func:`import_graph_shard` → ``results/graphs/{shard}.h5`` through
  :func:`df4lcz.graphs.write_graphs`: every nonzero entry of ``a`` is an edge (``a`` may be the
  binary or the already normalised adjacency), the matrix is symmetrised, the diagonal dropped,
  and both directions stored (``edge_index`` sorted by source, then target). Feature names are
  :data:`df4lcz.graphs.DEFAULT_FEATURES`. A graph with no node or with NaN/inf features is
  left out (logged); ``valid_sample_table`` then excludes that sample from both streams.
* :func:`import_split` → ``results/splits/{strategy}.csv`` (``train``/``validation``/``test`` →
  ``train``/``val``/``test``).

Only load pickles from a source you trust: unpickling can run arbitrary code.
"""

from __future__ import annotations

import os
import pickle
import re
import zipfile
import zlib
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from ..constants import N_CLASSES, S2_BANDS, S2_CHIP_PX, S2_REFLECTANCE_SCALE, SPLIT_NAMES, validate_lcz_code
from ..graphs import DEFAULT_FEATURES, GraphSet, write_graphs
from ..logs import get_logger, progress
from ..samples import SAMPLE_COLUMNS, read_samples, write_samples
from ..sentinel2 import write_sentinel2_chips
from ..splits import write_split

log = get_logger("importers.lczc_ges2")

#: File name of a Sentinel-2 patch; group 1 is the sample index ``i``.
S2_FILE_RE: re.Pattern[str] = re.compile(r"^sen2_image_(\d+)\.npz$")

#: File name of a graph; group 1 is the sample index ``i``.
GRAPH_FILE_RE: re.Pattern[str] = re.compile(r"^graph_(\d+)\.npz$")

#: Keys of a Sentinel-2 patch file.
S2_IMAGE_KEY, S2_LABEL_KEY = "image", "label"

#: Keys of a graph file.
GRAPH_X_KEY, GRAPH_A_KEY, GRAPH_Y_KEY = "x", "a", "y"

#: Shape of a released Sentinel-2 patch (H, W, bands).
S2_PATCH_SHAPE: tuple[int, int, int] = (S2_CHIP_PX, S2_CHIP_PX, len(S2_BANDS))

#: Node features of the released graphs, in column order (the paper's five).
GRAPH_FEATURES: tuple[str, ...] = DEFAULT_FEATURES

#: A patch whose maximum exceeds this is in digital numbers (DN), not reflectance.
DN_DETECT_THRESHOLD: float = 1.5

#: Split keys of the released pickles → split names of ``results/splits/{strategy}.csv``.
SPLIT_KEYS: dict[str, str] = {"train": "train", "validation": "val", "test": "test"}

#: What :func:`import_split` may do with split ids missing from the sample table.
UNKNOWN_ID_MODES: tuple[str, ...] = ("error", "drop")

#: Default ``region`` of imported LCZC-GES2 samples.
DEFAULT_REGION: str = "lczc_ges2"

#: Columns of the table returned by :func:`scan_lczc_ges2`.
SCAN_COLUMNS: tuple[str, ...] = ("sample_id", "lcz", "s2_path", "graph_path")

#: Edge rule recorded in the attrs of imported graph shards.
IMPORTED_EDGE_RULE: str = "lczc_ges2 dense adjacency (nonzero entries, symmetrised, no self-loops)"

PathLike = str | os.PathLike


# --------------------------------------------------------------------------------------------
# helpers shared with the So2Sat importer
# --------------------------------------------------------------------------------------------


def decode_label(value: Any, where: str) -> int:
    """LCZ code 1–17 of a released label: a scalar (any 1-element array) or a one-hot ``(17,)``.

    Args:
        value: the stored label.
        where: file and key, for error messages.

    Raises:
        ValueError: not a code 1–17, or a 17-vector that is not one-hot (exactly one 1, rest 0).
    """
    arr = np.asarray(value)
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"{where}: label {value!r} is not numeric; expected an LCZ code 1–17 or a one-hot (17,)")
    if arr.size == 1:
        return validate_lcz_code(arr.reshape(()).item(), where)
    if arr.size == N_CLASSES and arr.ndim <= 2:
        flat = arr.reshape(-1)
        if not (np.isin(flat, (0, 1)).all() and flat.sum() == 1):
            raise ValueError(
                f"{where}: label of shape {arr.shape} is not one-hot (values {np.round(flat, 3).tolist()}); "
                "expected exactly one 1 and sixteen 0"
            )
        return int(np.argmax(flat)) + 1
    raise ValueError(f"{where}: label has shape {arr.shape}; expected a scalar LCZ code 1–17 or a one-hot (17,)")


def _open_npz(path: PathLike, keys: Iterable[str]) -> dict[str, np.ndarray]:
    """Read ``keys`` of an ``.npz`` file; errors name the file and the keys found."""
    keys = list(keys)
    try:
        npz = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: file not found") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{path}: not a readable .npz file ({exc})") from None
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise ValueError(f"{path}: holds a single array, not an .npz archive with keys {list(keys)}")
    with npz:
        missing = [k for k in keys if k not in npz.files]
        if missing:
            raise ValueError(f"{path}: missing key(s) {missing}; found {sorted(npz.files)}")
        try:
            return {k: npz[k] for k in keys}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
            raise ValueError(f"{path}: cannot read keys {list(keys)} ({exc})") from None


def read_sample_table(samples: PathLike | pd.DataFrame, extra: Collection[str] = ()) -> pd.DataFrame:
    """The sample table from a parquet path or a DataFrame, checked for ``extra`` columns."""
    where = "sample table" if isinstance(samples, pd.DataFrame) else str(samples)
    table = samples if isinstance(samples, pd.DataFrame) else read_samples(samples)
    missing = [c for c in ("sample_id", "lcz", "shard", *extra) if c not in table.columns]
    if missing:
        raise ValueError(f"{where}: missing column(s) {missing}; was it written by this importer?")
    return table


def shard_rows(samples: PathLike | pd.DataFrame, shard: int, extra: Collection[str] = ()) -> pd.DataFrame:
    """Rows of ``shard`` (sorted by ``sample_id``) of a sample table given as path or DataFrame.

    Raises:
        ValueError: a column is missing, or the shard holds no sample.
    """
    where = "sample table" if isinstance(samples, pd.DataFrame) else str(samples)
    if isinstance(samples, pd.DataFrame):
        table = read_sample_table(samples, extra)
        rows = table[table["shard"].astype(np.int64) == int(shard)]
    else:  # only the shard's row groups are decoded
        rows = read_sample_table(read_samples(samples, shard=int(shard)), extra)
    if rows.empty:
        shards = sorted(int(s) for s in pd.unique(read_sample_table(samples)["shard"]))
        raise ValueError(f"{where}: shard {shard} holds no sample; shards are {shards[:10]}"
                         f"{' …' if len(shards) > 10 else ''}")
    return rows.sort_values("sample_id").reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# scanning and the sample table
# --------------------------------------------------------------------------------------------


def _index_files(root: Path, pattern: re.Pattern[str]) -> dict[int, Path]:
    """``{i: path}`` of the files below ``root`` whose name matches ``pattern``."""
    found: dict[int, Path] = {}
    for path in sorted(root.rglob("*.npz")):
        m = pattern.match(path.name)
        if not m:
            continue
        i = int(m.group(1))
        if i in found:
            raise ValueError(f"sample {i} is stored twice: {found[i]} and {path}; keep one of them")
        found[i] = path
    return found


def scan_lczc_ges2(root: PathLike) -> pd.DataFrame:
    """Find the released patches and graphs below ``root`` and read their labels.

    A sample needs both files; samples with only one are left out and counted (logged as a
    warning, and in ``table.attrs["n_only_sentinel2"]`` / ``["n_only_graph"]``).

    Args:
        root: dataset folder, searched recursively for ``sen2_image_{i}.npz`` and ``graph_{i}.npz``.

    Returns:
        DataFrame with columns ``sample_id`` (int64, the ``i`` of the file names), ``lcz`` (int64,
        1–17), ``s2_path``, ``graph_path`` (str), sorted by ``sample_id``.

    Raises:
        FileNotFoundError: ``root`` does not exist or holds no such file.
        ValueError: no sample has both files; a file is unreadable, lacks its label key, or has a
            label outside 1–17; the two files of a sample disagree on the label (both named); the
            same index occurs twice.
    """
    base = Path(root)
    if not base.is_dir():
        raise FileNotFoundError(f"{base}: LCZC-GES2 dataset folder not found")
    s2_files = _index_files(base, S2_FILE_RE)
    graph_files = _index_files(base, GRAPH_FILE_RE)
    if not s2_files and not graph_files:
        raise FileNotFoundError(f"{base}: no sen2_image_<i>.npz or graph_<i>.npz file found (searched recursively)")
    both = sorted(set(s2_files) & set(graph_files))
    only_s2 = sorted(set(s2_files) - set(graph_files))
    only_graph = sorted(set(graph_files) - set(s2_files))
    if only_s2 or only_graph:
        log.warning("%s: %d sample(s) have only a Sentinel-2 patch (e.g. %s) and %d only a graph (e.g. %s); "
                    "they are left out", base, len(only_s2), only_s2[:5], len(only_graph), only_graph[:5])
    if not both:
        raise ValueError(f"{base}: no sample has both sen2_image_<i>.npz and graph_<i>.npz "
                         f"({len(s2_files)} patch file(s), {len(graph_files)} graph file(s))")
    lcz = np.empty(len(both), dtype=np.int64)
    for k, i in enumerate(progress(both, desc="scan LCZC-GES2", logger=log)):
        s2_path, graph_path = s2_files[i], graph_files[i]
        code_s2 = decode_label(_open_npz(s2_path, [S2_LABEL_KEY])[S2_LABEL_KEY],
                               f"{s2_path}: key '{S2_LABEL_KEY}'")
        code_g = decode_label(_open_npz(graph_path, [GRAPH_Y_KEY])[GRAPH_Y_KEY],
                              f"{graph_path}: key '{GRAPH_Y_KEY}'")
        if code_s2 != code_g:
            raise ValueError(f"sample {i}: label {code_s2} in {s2_path} disagrees with label {code_g} "
                             f"in {graph_path}")
        lcz[k] = code_s2
    table = pd.DataFrame({
        "sample_id": np.asarray(both, dtype=np.int64),
        "lcz": lcz,
        "s2_path": [str(s2_files[i]) for i in both],
        "graph_path": [str(graph_files[i]) for i in both],
    })
    table.attrs["n_only_sentinel2"] = len(only_s2)
    table.attrs["n_only_graph"] = len(only_graph)
    counts = table["lcz"].value_counts().sort_index()
    log.info("%s: %d samples with both files; per class %s", base, len(table), counts.to_dict())
    return table


def write_samples_table(
    table: pd.DataFrame, out_parquet: PathLike, shard_size: int, region: str = DEFAULT_REGION
) -> gpd.GeoDataFrame:
    """Write the imported samples as ``results/samples.parquet`` (module docstring).

    Args:
        table: the output of :func:`scan_lczc_ges2` (``sample_id, lcz, s2_path, graph_path``).
        out_parquet: output GeoParquet (written atomically).
        shard_size: samples per shard; shards are consecutive blocks in ``sample_id`` order.
        region: value of the ``region`` column.

    Returns:
        The GeoDataFrame written: :data:`~df4lcz.samples.SAMPLE_COLUMNS`, ``s2_path``,
        ``graph_path`` and a null ``geometry`` (EPSG:4326).

    Raises:
        ValueError: columns missing, repeated ids, labels outside 1–17, ``shard_size < 1``.
    """
    missing = [c for c in SCAN_COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"LCZC-GES2 table: missing column(s) {missing}; expected {list(SCAN_COLUMNS)} "
                         "(the output of scan_lczc_ges2)")
    if int(shard_size) != shard_size or shard_size < 1:
        raise ValueError(f"shard_size: {shard_size} must be an integer ≥ 1")
    if table.empty:
        raise ValueError("LCZC-GES2 table: no sample to write")
    t = table.sort_values("sample_id").reset_index(drop=True)
    ids = t["sample_id"].to_numpy().astype(np.int64)
    if len(np.unique(ids)) != len(ids):
        repeated = sorted(set(ids[pd.Series(ids).duplicated().to_numpy()].tolist()))
        raise ValueError(f"LCZC-GES2 table: repeated sample_id(s) {repeated[:5]}")
    for sid, code in zip(ids, t["lcz"]):
        validate_lcz_code(code, f"LCZC-GES2 table: lcz of sample {sid}")
    n = len(t)
    frame = pd.DataFrame({
        "sample_id": ids,
        "region": pd.Series([str(region)] * n, dtype=str),
        "polygon_id": ids.copy(),
        "lcz": t["lcz"].to_numpy().astype(np.int64),
        "shard": (np.arange(n) // int(shard_size)).astype(np.int64),
        "crs": pd.Series([""] * n, dtype=str),
        **{c: np.full(n, np.nan) for c in ("xmin", "ymin", "xmax", "ymax")},
    })[list(SAMPLE_COLUMNS)]
    frame["s2_path"] = t["s2_path"].astype(str).to_numpy()
    frame["graph_path"] = t["graph_path"].astype(str).to_numpy()
    gdf = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries([None] * n, crs="EPSG:4326"), crs="EPSG:4326")
    write_samples(out_parquet, gdf)
    log.info("%s: %d samples in %d shard(s) of ≤ %d", out_parquet, n, int(frame["shard"].max()) + 1, shard_size)
    return gdf


# --------------------------------------------------------------------------------------------
# shard importers
# --------------------------------------------------------------------------------------------


def read_s2_patch(path: PathLike) -> tuple[np.ndarray, int]:
    """``image`` ``(32, 32, 10)`` (as stored) and the LCZ code of one ``sen2_image_{i}.npz``.

    Raises:
        ValueError: missing key, wrong shape, non-numeric image or label outside 1–17 (naming the file).
    """
    data = _open_npz(path, [S2_IMAGE_KEY, S2_LABEL_KEY])
    image = data[S2_IMAGE_KEY]
    if image.shape != S2_PATCH_SHAPE:
        raise ValueError(f"{path}: key '{S2_IMAGE_KEY}' has shape {image.shape}; expected {S2_PATCH_SHAPE} "
                         "(H, W, bands in So2Sat order)")
    if image.dtype.kind not in "biuf":
        raise ValueError(f"{path}: key '{S2_IMAGE_KEY}' has dtype {image.dtype}; expected numbers")
    return image, decode_label(data[S2_LABEL_KEY], f"{path}: key '{S2_LABEL_KEY}'")


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
        samples: ``results/samples.parquet`` (path or table) written by :func:`write_samples_table`.
        shard: shard number.
        out_h5: output HDF5 (atomic): ``sample_id`` (N,), ``image`` (N, 32, 32, 10) float32 in
            [0, 1], exclusions, band names in attrs.

    Returns:
        Counts: ``chips``, ``excluded``, ``dn_scaled`` (patches divided by 10000), ``clipped`` (values).

    Raises:
        FileNotFoundError: a patch file is missing.
        ValueError: a patch is malformed (shape, keys, label), or its label differs from the table.
    """
    rows = shard_rows(samples, shard, extra=("s2_path",))
    n = len(rows)
    images = np.zeros((n, *S2_PATCH_SHAPE), dtype=np.float32)
    keep = np.ones(n, dtype=bool)
    reasons: list[tuple[int, str]] = []
    n_dn = n_clipped = 0
    for k, (sid, code, path) in enumerate(progress(list(zip(rows["sample_id"], rows["lcz"], rows["s2_path"])),
                                                   desc=f"import sentinel-2 shard {shard}", logger=log)):
        image, label = read_s2_patch(path)
        if label != int(code):
            raise ValueError(f"{path}: label {label} differs from lcz {int(code)} of sample {int(sid)} in the "
                             "sample table; the dataset changed since the table was written — rerun the import")
        if not np.isfinite(image).all():
            keep[k] = False
            reasons.append((int(sid), f"nodata: {int((~np.isfinite(image)).sum())} NaN/inf value(s) in {path}"))
            continue
        images[k], was_dn, clipped = to_reflectance(image)
        n_dn += was_dn
        n_clipped += clipped
    excluded = pd.DataFrame({"sample_id": np.array([r[0] for r in reasons], dtype=np.int64),
                             "reason": pd.Series([r[1] for r in reasons], dtype=str)})
    ids = rows["sample_id"].to_numpy().astype(np.int64)
    write_sentinel2_chips(out_h5, ids[keep], images[keep], excluded,
                          attrs={"source": "LCZC-GES2", "dn_scaled_chips": n_dn, "clipped_values": n_clipped,
                                 "dn_detect_threshold": DN_DETECT_THRESHOLD})
    if n_dn:
        log.warning("shard %d: %d patch(es) looked like digital numbers (max > %g) and were divided by %g",
                    shard, n_dn, DN_DETECT_THRESHOLD, S2_REFLECTANCE_SCALE)
    if n_clipped:
        log.warning("shard %d: %d value(s) outside [0, 1] clipped", shard, n_clipped)
    for sid, reason in reasons:
        log.warning("sample %d excluded: %s", sid, reason)
    log.info("%s: %d chips, %d excluded", out_h5, int(keep.sum()), len(reasons))
    return {"chips": int(keep.sum()), "excluded": len(reasons), "dn_scaled": n_dn, "clipped": n_clipped}


def dense_to_edge_index(a: np.ndarray) -> np.ndarray:
    """``(2, E)`` int64 undirected edges (both directions, no self-loops) of a dense ``(n, n)`` matrix.

    Every nonzero entry ``a[i, j]`` or ``a[j, i]`` with ``i ≠ j`` gives the edges ``i→j`` and
    ``j→i``; edges are sorted by source, then target.
    """
    b = np.asarray(a) != 0
    if b.ndim != 2 or b.shape[0] != b.shape[1]:
        raise ValueError(f"adjacency must be a square (n, n) matrix, got shape {b.shape}")
    b = b | b.T
    np.fill_diagonal(b, False)
    src, dst = np.nonzero(b)
    return np.stack([src, dst]).astype(np.int64)


def read_graph_file(path: PathLike) -> tuple[np.ndarray, np.ndarray, int]:
    """``x`` ``(n, 5)``, ``a`` ``(n, n)`` and the LCZ code of one ``graph_{i}.npz``.

    Raises:
        ValueError: missing key, wrong shapes (``x`` not (n, 5), ``a`` not n × n) or a label outside
            1–17, naming the file.
    """
    data = _open_npz(path, [GRAPH_X_KEY, GRAPH_A_KEY, GRAPH_Y_KEY])
    x, a = data[GRAPH_X_KEY], data[GRAPH_A_KEY]
    n_feat = len(GRAPH_FEATURES)
    if x.ndim != 2 or x.shape[1] != n_feat or x.dtype.kind not in "biuf":
        raise ValueError(f"{path}: key '{GRAPH_X_KEY}' has shape {x.shape} ({x.dtype}); expected (n, {n_feat}) "
                         f"numbers ({', '.join(GRAPH_FEATURES)})")
    if a.shape != (x.shape[0], x.shape[0]) or a.dtype.kind not in "biuf":
        raise ValueError(f"{path}: key '{GRAPH_A_KEY}' has shape {a.shape} ({a.dtype}); expected the "
                         f"{x.shape[0]} × {x.shape[0]} adjacency of the {x.shape[0]} nodes in '{GRAPH_X_KEY}'")
    return x, a, decode_label(data[GRAPH_Y_KEY], f"{path}: key '{GRAPH_Y_KEY}'")


def import_graph_shard(samples: PathLike | pd.DataFrame, shard: int, out_h5: PathLike) -> dict[str, int]:
    """Write the graph shard ``results/graphs/{shard}.h5`` of imported samples (module docstring).

    Args:
        samples: ``results/samples.parquet`` (path or table) written by :func:`write_samples_table`.
        shard: shard number.
        out_h5: output HDF5 (atomic): ``x`` (ΣN, 5), ``edge_index`` (2, ΣE) local, ``node_ptr``,
            ``edge_ptr``, ``sample_id``, ``y`` (1–17); ``feature_names`` in attrs.

    Returns:
        Counts: ``graphs`` written, ``dropped`` (no node or NaN/inf features), ``edges`` (directed).

    Raises:
        FileNotFoundError: a graph file is missing.
        ValueError: a graph file is malformed, or its label differs from the sample table.
    """
    rows = shard_rows(samples, shard, extra=("graph_path",))
    xs: list[np.ndarray] = []
    edges: list[np.ndarray] = []
    ids: list[int] = []
    codes: list[int] = []
    dropped: list[tuple[int, str]] = []
    for sid, code, path in progress(list(zip(rows["sample_id"], rows["lcz"], rows["graph_path"])),
                                    desc=f"import graph shard {shard}", logger=log):
        x, a, label = read_graph_file(path)
        if label != int(code):
            raise ValueError(f"{path}: label {label} differs from lcz {int(code)} of sample {int(sid)} in the "
                             "sample table; the dataset changed since the table was written — rerun the import")
        if x.shape[0] == 0:
            dropped.append((int(sid), f"{path}: graph without nodes"))
            continue
        if not np.isfinite(x).all():
            dropped.append((int(sid), f"{path}: NaN/inf node features"))
            continue
        xs.append(x.astype(np.float32))
        edges.append(dense_to_edge_index(a))
        ids.append(int(sid))
        codes.append(label)
    for sid, reason in dropped:
        log.warning("sample %d left out of the graphs: %s", sid, reason)
    n_nodes = np.array([len(x) for x in xs], dtype=np.int64)
    n_edges = np.array([e.shape[1] for e in edges], dtype=np.int64)
    graphset = GraphSet(
        x=np.concatenate(xs) if xs else np.zeros((0, len(GRAPH_FEATURES)), dtype=np.float32),
        edge_index=np.concatenate(edges, axis=1) if edges else np.zeros((2, 0), dtype=np.int64),
        node_ptr=np.concatenate([[0], np.cumsum(n_nodes)]).astype(np.int64),
        edge_ptr=np.concatenate([[0], np.cumsum(n_edges)]).astype(np.int64),
        feature_names=list(GRAPH_FEATURES),
        params={"edge_rule": IMPORTED_EDGE_RULE},
    )
    dropped_ids = np.array([d[0] for d in dropped], dtype=np.int64)
    write_graphs(out_h5, np.asarray(ids, dtype=np.int64), np.asarray(codes, dtype=np.int64), graphset,
                 attrs={"source": "LCZC-GES2", "dropped_sample_id": dropped_ids})
    log.info("%s: %d graphs (%.1f nodes, %.1f directed edges on average), %d left out", out_h5, len(ids),
             float(n_nodes.mean()) if len(ids) else 0.0, float(n_edges.mean()) if len(ids) else 0.0, len(dropped))
    return {"graphs": len(ids), "dropped": len(dropped), "edges": int(n_edges.sum())}


# --------------------------------------------------------------------------------------------
# splits
# --------------------------------------------------------------------------------------------


def _load_pickle(path: Path) -> Any:
    try:
        with open(path, "rb") as f:
            return pickle.load(f)
    except UnicodeDecodeError:  # written by Python 2 with numpy arrays inside
        with open(path, "rb") as f:
            return pickle.load(f, encoding="latin1")
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, IndexError) as exc:
        raise ValueError(f"{path}: not a readable pickle ({exc})") from None


def _known_ids(sample_ids: Collection[int] | pd.DataFrame | PathLike) -> set[int]:
    if isinstance(sample_ids, (str, os.PathLike)):
        return set(read_samples(sample_ids)["sample_id"].astype(np.int64).tolist())
    if isinstance(sample_ids, pd.DataFrame):
        return set(sample_ids["sample_id"].astype(np.int64).tolist())
    return {int(i) for i in sample_ids}


def import_split(
    pickle_path: PathLike,
    out_csv: PathLike,
    sample_ids: Collection[int] | pd.DataFrame | PathLike,
    unknown_ids: str = "error",
) -> pd.DataFrame:
    """Turn a released split pickle into ``results/splits/{strategy}.csv`` (``sample_id,split``).

    Args:
        pickle_path: dict with keys ``train``, ``validation``, ``test`` → lists/arrays of sample ids.
        out_csv: output CSV (atomic), rows sorted by ``sample_id``.
        sample_ids: the ids of the sample table (a collection of ints, the table, or its path).
        unknown_ids: what to do with ids of the pickle that are not in ``sample_ids``: ``"error"``
            (default) or ``"drop"`` (logged; e.g. samples :func:`scan_lczc_ges2` left out because
            one of their two files is missing).

    Returns:
        The ``sample_id,split`` table written (split ∈ train/val/test).

    Raises:
        FileNotFoundError: the pickle does not exist.
        ValueError: not a dict, a key missing, non-integer ids, ids not in the sample table, or an
            id in two splits (all naming the file).
    """
    if unknown_ids not in UNKNOWN_ID_MODES:
        raise ValueError(f"unknown_ids: {unknown_ids!r}; expected one of {list(UNKNOWN_ID_MODES)}")
    path = Path(pickle_path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: split pickle not found")
    obj = _load_pickle(path)
    if not isinstance(obj, Mapping):
        raise ValueError(f"{path}: holds a {type(obj).__name__}; expected a dict with keys {list(SPLIT_KEYS)}")
    missing = [k for k in SPLIT_KEYS if k not in obj]
    if missing:
        raise ValueError(f"{path}: missing key(s) {missing}; found {sorted(map(str, obj))}, "
                         f"expected {list(SPLIT_KEYS)}")
    known = _known_ids(sample_ids)
    split_of: dict[int, str] = {}
    for key, name in SPLIT_KEYS.items():
        arr = np.asarray(obj[key]).reshape(-1)
        if arr.size and (arr.dtype.kind not in "iuf" or not np.all(np.mod(arr, 1) == 0)):
            raise ValueError(f"{path}: key '{key}' must list integer sample ids; "
                             f"found {arr[:5].tolist()} ({arr.dtype})")
        ids = arr.astype(np.int64)
        unique, counts = np.unique(ids, return_counts=True)
        if (counts > 1).any():
            log.warning("%s: key '%s' lists %d id(s) more than once (e.g. %s); counted once", path, key,
                        int((counts > 1).sum()), unique[counts > 1][:5].tolist())
        unknown = [int(i) for i in unique if int(i) not in known]
        if unknown and unknown_ids == "error":
            raise ValueError(f"{path}: key '{key}' lists {len(unknown)} id(s) not in the sample table, e.g. "
                             f"{unknown[:5]}")
        if unknown and len(unknown) == len(unique):
            raise ValueError(f"{path}: none of the {len(unique)} id(s) of key '{key}' is in the sample table "
                             f"(e.g. {unknown[:5]}); is this split file from another copy of the dataset?")
        if unknown:
            log.warning("%s: key '%s' lists %d id(s) not in the sample table (e.g. %s); dropped", path, key,
                        len(unknown), unknown[:5])
            unique = np.array([i for i in unique if int(i) in known], dtype=np.int64)
        both = [int(i) for i in unique if int(i) in split_of]
        if both:
            raise ValueError(f"{path}: sample id(s) {both[:5]} appear in '{key}' and in another split "
                             f"({sorted({split_of[i] for i in both})}); a sample must be in one split only")
        split_of.update({int(i): name for i in unique})
    table = pd.DataFrame({"sample_id": np.fromiter(split_of.keys(), dtype=np.int64, count=len(split_of)),
                          "split": list(split_of.values())})
    table = table.sort_values("sample_id").reset_index(drop=True)
    unassigned = len(known) - len(table)
    if unassigned:
        log.warning("%s: %d sample(s) of the table are in no split", path, unassigned)
    counts_by_split = table["split"].value_counts().reindex(list(SPLIT_NAMES), fill_value=0).to_dict()
    log.info("%s → %s: %s", path, out_csv, counts_by_split)
    write_split(out_csv, table)
    return table
