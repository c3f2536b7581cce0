"""Train/val/test splits: over the sample pool (``random``), the polygon pool (``polygon``), or by region
(``region``: the samples of the test regions are the test split; the other regions' polygons are
dealt whole to train and val in the shares ``train`` : ``val``).

DF4LCZ reports both. Neighbouring squares of one polygon are near-duplicates, so the random
split over samples flatters models; the polygon split sends every polygon whole to one split.
Both are stratified by class: per class, samples (random) or polygons (polygon) are dealt to the
split whose share of that class is furthest below its target. The split table is the file of
docs/contracts.md §6, written and read by :mod:`df4lcz.io.splits`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..constants import REGION_STRATEGY, SPLIT_NAMES, SPLIT_STRATEGIES

#: The strategies :func:`make_split` computes (``official`` is imported, never computed).
STRATEGIES: tuple[str, ...] = tuple(s for s in SPLIT_STRATEGIES if s != "official")


def _check_fractions(fractions: dict[str, float]) -> np.ndarray:
    missing = [s for s in SPLIT_NAMES if s not in fractions]
    if missing:
        raise ValueError(f"split fractions lack {missing}; expected keys {list(SPLIT_NAMES)}")
    f = np.array([float(fractions[s]) for s in SPLIT_NAMES])
    if np.any(f <= 0) or not np.isclose(f.sum(), 1.0):
        raise ValueError(f"split fractions {dict(zip(SPLIT_NAMES, f))} must be positive and sum to 1")
    return f


def _deal(sizes: np.ndarray, fractions: np.ndarray) -> np.ndarray:
    """Assign items (with ``sizes``) one by one to the split of largest relative deficit.

    Items are taken in the given order. Returns the split index (0, 1, 2) of each item.
    Ties go to the split listed first in the order train, test, val, so that a class with
    only two units still gets a test unit.
    """
    total = sizes.sum()
    target = fractions * total
    current = np.zeros(3)
    out = np.empty(len(sizes), dtype=int)
    priority = np.array([0, 2, 1])  # train, test, val
    for i, size in enumerate(sizes):
        # a split with share 0 (test, for the region strategy) never gets an item
        deficit = np.divide(target - current, target, out=np.full(3, -np.inf), where=target > 0)
        order = priority[np.argsort(-deficit[priority], kind="stable")]
        out[i] = order[0]
        current[order[0]] += size
    return out


def make_split(
    samples: pd.DataFrame,
    strategy: str,
    fractions: dict[str, float],
    seed: int,
    test_regions: Sequence[str] = (),
) -> pd.DataFrame:
    """Split the samples.

    Args:
        samples: table with ``sample_id``, ``region``, ``polygon_id`` and ``lcz``.
        strategy: ``random`` (sample pool), ``polygon`` (polygon pool) or ``region``.
        fractions: shares for train, val and test (sum 1); ``region`` uses train : val only.
        seed: seed of the shuffles.
        test_regions: the ``region`` strategy's test regions (``splits.test_regions``).

    Returns:
        DataFrame ``sample_id, split`` sorted by sample_id.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"'{strategy}' is not a split strategy; expected one of {list(STRATEGIES)}")
    f = _check_fractions(fractions)
    rng = np.random.default_rng(seed)
    split = pd.Series(index=samples["sample_id"].to_numpy(), dtype=object)
    pool = samples
    if strategy == REGION_STRATEGY:
        if not test_regions:
            raise ValueError("region strategy: no test regions given (splits.test_regions)")
        in_test = samples["region"].isin(list(test_regions)).to_numpy()
        split.loc[samples.loc[in_test, "sample_id"].to_numpy()] = "test"
        pool = samples[~in_test]
        f = np.array([f[0], f[1], 0.0]) / (f[0] + f[1])
    for lcz in sorted(pool["lcz"].unique()):
        cls = pool[pool["lcz"] == lcz]
        if strategy == "random":
            ids = rng.permutation(cls["sample_id"].to_numpy())
            assign = _deal(np.ones(len(ids)), f)
            split.loc[ids] = np.asarray(SPLIT_NAMES)[assign]
        else:
            groups = cls.groupby(["region", "polygon_id"])["sample_id"].apply(np.asarray)
            order = rng.permutation(len(groups))
            groups = groups.iloc[order]
            sizes = np.array([len(g) for g in groups])
            by_size = np.argsort(-sizes, kind="stable")  # big polygons first, shuffled ties
            assign = np.empty(len(groups), dtype=int)
            assign[by_size] = _deal(sizes[by_size], f)
            for ids, a in zip(groups, assign):
                split.loc[ids] = SPLIT_NAMES[a]
    out = pd.DataFrame({"sample_id": split.index.astype(np.int64), "split": split.to_numpy()})
    return out.sort_values("sample_id").reset_index(drop=True)


def missing_train_classes(samples: pd.DataFrame, split: pd.DataFrame) -> list[int]:
    """LCZ codes with test samples but no training sample (a model cannot predict them right)."""
    merged = samples[["sample_id", "lcz"]].merge(split, on="sample_id")
    present = {s: set(merged.loc[merged["split"] == s, "lcz"].astype(int)) for s in ("train", "test")}
    return sorted(present["test"] - present["train"])


def split_summary(samples: pd.DataFrame, split: pd.DataFrame) -> pd.DataFrame:
    """Samples per class (rows) and split (columns), with totals."""
    merged = samples[["sample_id", "lcz"]].merge(split, on="sample_id")
    table = pd.crosstab(merged["lcz"], merged["split"]).reindex(columns=list(SPLIT_NAMES), fill_value=0)
    table["total"] = table.sum(axis=1)
    table.loc["total"] = table.sum(axis=0)
    return table.reset_index()
