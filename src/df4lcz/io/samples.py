"""The sample table ``results/samples.parquet`` (docs/contracts.md §1): its writer and readers.

One row per sample square (or imported patch): the columns of :data:`SAMPLE_COLUMNS` in that
order, then any importer-specific columns (e.g. ``s2_path``), then a ``geometry`` column of
EPSG:4326 footprints (null for imported patches, which carry no location). The table is written
in Parquet row groups of :data:`SAMPLES_ROW_GROUP` rows so a shard job decodes only the groups
holding its own rows.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from df4lcz.atomic import atomic_path

from ..errors import ContractError

if TYPE_CHECKING:  # geopandas is imported where geometries are read: the workflow reads shards without it
    import geopandas as gpd

PathLike = str | os.PathLike

#: Columns of ``results/samples.parquet`` besides the geometry, in order.
SAMPLE_COLUMNS: tuple[str, ...] = (
    "sample_id",
    "region",
    "polygon_id",
    "lcz",
    "shard",
    "crs",
    "xmin",
    "ymin",
    "xmax",
    "ymax",
)

#: Columns every consumer of a shard's rows relies on (:func:`read_sample_table`, :func:`read_shard`).
SHARD_COLUMNS: tuple[str, ...] = ("sample_id", "lcz", "shard")

#: Rows per Parquet row group of the sample table: a shard job reading its rows (a filter on
#: ``shard``, whose values ascend with the rows) decodes only the few groups that hold them.
SAMPLES_ROW_GROUP: int = 256


def validate_samples(path: PathLike, samples: pd.DataFrame) -> None:
    """Check the invariants of a sample table: unique ``sample_id``, no square twice in a region.

    A square laid twice (overlapping label polygons, a repeated polygon) would put one scene in
    two samples, possibly in two splits. Imported rows (no coordinates) are not compared.

    Raises:
        ValueError: naming ``path``, the repeated ids or the repeated squares (sample ids, region,
            bounds).
    """
    ids = samples["sample_id"]
    dup_ids = ids[ids.duplicated()].unique()
    if len(dup_ids):
        raise ContractError(
            f"{path}: sample_id(s) {sorted(int(i) for i in dup_ids[:10])} occur more than once; "
            "expected unique ids"
        )
    bounds = ["xmin", "ymin", "xmax", "ymax"]
    located = samples[samples[bounds].notna().all(axis=1)]
    repeated = located[located.duplicated(["region", *bounds], keep=False)]
    if len(repeated):
        groups = repeated.groupby(["region", *bounds], sort=False)["sample_id"].apply(list)
        lines = [
            f"region {key[0]!r}, square {key[1]:.10g}, {key[2]:.10g}, {key[3]:.10g}, {key[4]:.10g}: samples {ids_}"
            for key, ids_ in list(groups.items())[:10]
        ]
        raise ContractError(
            f"{path}: {len(groups)} square(s) laid more than once (each scene must be one sample; "
            "overlapping or repeated label polygons?):\n  " + "\n  ".join(lines)
        )


def write_samples(path: PathLike, samples: gpd.GeoDataFrame) -> None:
    """Write the sample table as GeoParquet, atomically (row groups of ``SAMPLES_ROW_GROUP`` rows).

    Raises:
        ValueError: the table breaks :func:`validate_samples` (nothing is written).
    """
    validate_samples(path, samples)
    with atomic_path(path) as tmp:
        samples.to_parquet(tmp, index=False, row_group_size=SAMPLES_ROW_GROUP)


def read_samples(
    path: PathLike, shard: int | None = None, columns: Sequence[str] | None = None
) -> gpd.GeoDataFrame | pd.DataFrame:
    """Read ``results/samples.parquet`` and check its columns.

    Args:
        path: the sample table.
        shard: read only this shard's rows (a Parquet filter: shard jobs then need memory for
            their own rows, not for the whole table).
        columns: read only these columns (a plain ``DataFrame`` without geometry), e.g.
            ``["sample_id", "lcz"]``.
    """
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{p}: sample table not found (run the samples rule first)")
    wanted = list(SAMPLE_COLUMNS) if columns is None else list(columns)
    import pyarrow.parquet as pq

    present = set(pq.read_schema(p).names)
    missing = [c for c in wanted if c not in present]
    if missing:
        raise ContractError(f"{p}: missing column(s) {missing}")
    filters = None if shard is None else [("shard", "==", int(shard))]
    if columns is not None:
        return pd.read_parquet(p, columns=wanted, filters=filters)
    import geopandas as gpd

    return gpd.read_parquet(p, filters=filters)


def read_sample_table(samples: PathLike | pd.DataFrame, extra: Collection[str] = ()) -> pd.DataFrame:
    """The sample table from a parquet path or a DataFrame, checked for :data:`SHARD_COLUMNS` + ``extra``."""
    where = "sample table" if isinstance(samples, pd.DataFrame) else str(samples)
    table = samples if isinstance(samples, pd.DataFrame) else read_samples(samples)
    missing = [c for c in (*SHARD_COLUMNS, *extra) if c not in table.columns]
    if missing:
        raise ContractError(f"{where}: missing column(s) {missing}; was it written by this importer?")
    return table


def read_shard(samples: PathLike | pd.DataFrame, shard: int, extra: Collection[str] = ()) -> pd.DataFrame:
    """Rows of ``shard`` (sorted by ``sample_id``) of a sample table given as path or DataFrame.

    Checked for :data:`SHARD_COLUMNS` and the ``extra`` columns; from a path only the shard's row
    groups are decoded.

    Raises:
        ContractError (a ValueError): a column is missing, or the shard holds no sample.
    """
    where = "sample table" if isinstance(samples, pd.DataFrame) else str(samples)
    if isinstance(samples, pd.DataFrame):
        table = read_sample_table(samples, extra)
        rows = table[table["shard"].astype(np.int64) == int(shard)]
    else:  # only the shard's row groups are decoded
        rows = read_sample_table(read_samples(samples, shard=int(shard)), extra)
    if rows.empty:
        shards = sorted(int(s) for s in pd.unique(read_sample_table(samples)["shard"]))
        raise ContractError(
            f"{where}: shard {shard} holds no sample; shards are {shards[:10]}"
            f"{' …' if len(shards) > 10 else ''}"
        )
    return rows.sort_values("sample_id").reset_index(drop=True)


@dataclass(frozen=True)
class ShardIndex:
    """Which shards a sample table holds and the region of each (what the workflow's DAG needs).

    Attributes:
        shards: the shard numbers, sorted.
        regions: ``{shard: region name}`` (every shard's samples come from one region).
    """

    shards: tuple[int, ...]
    regions: dict[int, str]


def read_shard_index(path: PathLike) -> ShardIndex:
    """The :class:`ShardIndex` of ``results/samples.parquet`` (two columns read, one pass).

    Raises:
        ContractError (a ValueError): a shard whose samples come from several regions (the table breaks its contract).
    """
    table = pd.read_parquet(path, columns=["region", "shard"]).drop_duplicates()
    counts = table["shard"].value_counts()
    if (counts > 1).any():
        bad = sorted(int(s) for s in counts.index[counts > 1])
        raise ContractError(
            f"{path}: shard(s) {bad[:10]} hold samples of several regions; expected one region per "
            "shard (docs/contracts.md §1)"
        )
    regions = {int(s): str(r) for s, r in zip(table["shard"], table["region"])}
    return ShardIndex(tuple(sorted(regions)), regions)
