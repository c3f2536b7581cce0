"""Finding the released files below the dataset root and writing the sample table (docs/contracts.md §1)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from ...constants import validate_lcz_code
from ...errors import InputError
from ...io.samples import SAMPLE_COLUMNS, write_samples
from ...logs import get_logger, progress
from .files import GRAPH_FILE_RE, GRAPH_Y_KEY, S2_FILE_RE, S2_LABEL_KEY, decode_label, open_npz

log = get_logger("importers.lczc_ges2")

#: Default ``region`` of imported LCZC-GES2 samples.
DEFAULT_REGION: str = "lczc_ges2"

#: Columns of the table returned by :func:`scan_lczc_ges2`.
SCAN_COLUMNS: tuple[str, ...] = ("sample_id", "lcz", "s2_path", "graph_path")

PathLike = str | os.PathLike


def _index_files(root: Path, pattern: re.Pattern[str]) -> dict[int, Path]:
    """``{i: path}`` of the files below ``root`` whose name matches ``pattern``."""
    found: dict[int, Path] = {}
    for path in sorted(root.rglob("*.npz")):
        m = pattern.match(path.name)
        if not m:
            continue
        i = int(m.group(1))
        if i in found:
            raise InputError(f"sample {i} is stored twice: {found[i]} and {path}; keep one of them")
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
        raise FileNotFoundError(
            f"{base}: no sen2_image_<i>.npz or graph_<i>.npz file found (searched recursively)"
        )
    both = sorted(set(s2_files) & set(graph_files))
    only_s2 = sorted(set(s2_files) - set(graph_files))
    only_graph = sorted(set(graph_files) - set(s2_files))
    if only_s2 or only_graph:
        log.warning(
            "%s: %d sample(s) have only a Sentinel-2 patch (e.g. %s) and %d only a graph (e.g. %s); "
            "they are left out",
            base,
            len(only_s2),
            only_s2[:5],
            len(only_graph),
            only_graph[:5],
        )
    if not both:
        raise InputError(
            f"{base}: no sample has both sen2_image_<i>.npz and graph_<i>.npz "
            f"({len(s2_files)} patch file(s), {len(graph_files)} graph file(s))"
        )
    lcz = np.empty(len(both), dtype=np.int64)
    for k, i in enumerate(progress(both, desc="scan LCZC-GES2", logger=log)):
        s2_path, graph_path = s2_files[i], graph_files[i]
        code_s2 = decode_label(
            open_npz(s2_path, [S2_LABEL_KEY])[S2_LABEL_KEY], f"{s2_path}: key '{S2_LABEL_KEY}'"
        )
        code_g = decode_label(
            open_npz(graph_path, [GRAPH_Y_KEY])[GRAPH_Y_KEY], f"{graph_path}: key '{GRAPH_Y_KEY}'"
        )
        if code_s2 != code_g:
            raise InputError(
                f"sample {i}: label {code_s2} in {s2_path} disagrees with label {code_g} in {graph_path}"
            )
        lcz[k] = code_s2
    table = pd.DataFrame(
        {
            "sample_id": np.asarray(both, dtype=np.int64),
            "lcz": lcz,
            "s2_path": [str(s2_files[i]) for i in both],
            "graph_path": [str(graph_files[i]) for i in both],
        }
    )
    table.attrs["n_only_sentinel2"] = len(only_s2)
    table.attrs["n_only_graph"] = len(only_graph)
    counts = table["lcz"].value_counts().sort_index()
    log.info("%s: %d samples with both files; per class %s", base, len(table), counts.to_dict())
    return table


def write_samples_table(
    table: pd.DataFrame, out_parquet: PathLike, shard_size: int, region: str = DEFAULT_REGION
) -> gpd.GeoDataFrame:
    """Write the imported samples as ``results/samples.parquet`` (:mod:`df4lcz.importers.lczc_ges2`).

    Args:
        table: the output of :func:`scan_lczc_ges2` (``sample_id, lcz, s2_path, graph_path``).
        out_parquet: output GeoParquet (written atomically).
        shard_size: samples per shard; shards are consecutive blocks in ``sample_id`` order.
        region: value of the ``region`` column.

    Returns:
        The GeoDataFrame written: :data:`~df4lcz.io.samples.SAMPLE_COLUMNS`, ``s2_path``,
        ``graph_path`` and a null ``geometry`` (EPSG:4326).

    Raises:
        ValueError: columns missing, repeated ids, labels outside 1–17, ``shard_size < 1``.
    """
    missing = [c for c in SCAN_COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(
            f"LCZC-GES2 table: missing column(s) {missing}; expected {list(SCAN_COLUMNS)} "
            "(the output of scan_lczc_ges2)"
        )
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
    frame = pd.DataFrame(
        {
            "sample_id": ids,
            "region": pd.Series([str(region)] * n, dtype=str),
            "polygon_id": ids.copy(),
            "lcz": t["lcz"].to_numpy().astype(np.int64),
            "shard": (np.arange(n) // int(shard_size)).astype(np.int64),
            "crs": pd.Series([""] * n, dtype=str),
            **{c: np.full(n, np.nan) for c in ("xmin", "ymin", "xmax", "ymax")},
        }
    )[list(SAMPLE_COLUMNS)]
    frame["s2_path"] = t["s2_path"].astype(str).to_numpy()
    frame["graph_path"] = t["graph_path"].astype(str).to_numpy()
    gdf = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries([None] * n, crs="EPSG:4326"), crs="EPSG:4326")
    write_samples(out_parquet, gdf)
    log.info(
        "%s: %d samples in %d shard(s) of ≤ %d", out_parquet, n, int(frame["shard"].max()) + 1, shard_size
    )
    return gdf
