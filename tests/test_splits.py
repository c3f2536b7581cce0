"""Splits: no polygon straddles splits, class stratification, determinism."""

import numpy as np
import pandas as pd
import pytest

from df4lcz.io.splits import read_split, write_split
from df4lcz.sampling.splits import make_split, split_summary

FRACTIONS = {"train": 0.6, "val": 0.2, "test": 0.2}


@pytest.fixture()
def pool():
    rng = np.random.default_rng(1)
    rows = []
    sid = 0
    for region in ("a", "b"):
        for pid in range(40):
            lcz = pid % 5 + 1
            for _ in range(rng.integers(1, 12)):
                rows.append((sid, region, pid, lcz))
                sid += 1
    return pd.DataFrame(rows, columns=["sample_id", "region", "polygon_id", "lcz"])


def test_polygon_split_never_leaks(pool):
    split = make_split(pool, "polygon", FRACTIONS, seed=3)
    merged = pool.merge(split, on="sample_id")
    per_polygon = merged.groupby(["region", "polygon_id"])["split"].nunique()
    assert per_polygon.max() == 1
    assert len(split) == len(pool) and set(split.split) == {"train", "val", "test"}
    # polygon ids repeat across regions: they are distinct polygons and may go to different splits
    assert merged.groupby("polygon_id")["split"].nunique().max() > 1


def test_polygon_split_stratified(pool):
    merged = pool.merge(make_split(pool, "polygon", FRACTIONS, seed=3), on="sample_id")
    for lcz, grp in merged.groupby("lcz"):
        share = grp["split"].value_counts(normalize=True)
        assert set(share.index) == {"train", "val", "test"}, lcz
        assert abs(share["train"] - 0.6) < 0.2


def test_random_split_proportions_per_class(pool):
    merged = pool.merge(make_split(pool, "random", FRACTIONS, seed=3), on="sample_id")
    for _lcz, grp in merged.groupby("lcz"):
        counts = grp["split"].value_counts()
        n = len(grp)
        assert abs(counts["train"] - 0.6 * n) <= 1 and abs(counts["test"] - 0.2 * n) <= 1


def test_deterministic_and_seed_dependent(pool):
    a = make_split(pool, "random", FRACTIONS, seed=5)
    b = make_split(pool, "random", FRACTIONS, seed=5)
    c = make_split(pool, "random", FRACTIONS, seed=6)
    pd.testing.assert_frame_equal(a, b)
    assert (a.split != c.split).any()


def test_small_class_gets_test_polygon():
    pool = pd.DataFrame({"sample_id": range(6), "region": "r", "polygon_id": [0, 0, 0, 1, 1, 1], "lcz": 4})
    split = make_split(pool, "polygon", FRACTIONS, seed=0)
    assert set(split.split) == {"train", "test"}


def test_summary_counts(pool):
    split = make_split(pool, "polygon", FRACTIONS, seed=3)
    summary = split_summary(pool, split)
    total = summary[summary.lcz == "total"].iloc[0]
    assert total["total"] == len(pool)
    assert total["train"] == (split.split == "train").sum()


def test_errors(pool, tmp_path):
    with pytest.raises(ValueError, match="'kfold' is not a split strategy"):
        make_split(pool, "kfold", FRACTIONS, 0)
    with pytest.raises(ValueError, match="must be positive and sum to 1"):
        make_split(pool, "random", {"train": 0.7, "val": 0.2, "test": 0.2}, 0)
    path = tmp_path / "s.csv"
    write_split(path, pd.DataFrame({"sample_id": [1], "split": ["holdout"]}))
    with pytest.raises(ValueError, match=r"unknown split value\(s\) \['holdout'\]"):
        read_split(path)


def test_region_split_tests_on_whole_regions_only(pool):
    """The region strategy: every sample of a test region is in test, none of them in train or val,
    and the other regions' polygons go whole to train or val (never to test)."""
    three = pd.concat([pool, pool.assign(sample_id=pool.sample_id + 10_000, region="c")], ignore_index=True)
    split = make_split(three, "region", FRACTIONS, seed=3, test_regions=["b"])
    merged = three.merge(split, on="sample_id")
    assert len(split) == len(three)
    assert (merged.loc[merged.region == "b", "split"] == "test").all()
    assert set(merged.loc[merged.region != "b", "split"]) == {"train", "val"}
    assert merged.groupby(["region", "polygon_id"])["split"].nunique().max() == 1
    # train : val = 0.6 : 0.2 per class over the non-test regions
    rest = merged[merged.region != "b"]
    for _, grp in rest.groupby("lcz"):
        assert grp["split"].value_counts(normalize=True)["train"] == pytest.approx(0.75, abs=0.12)
    # two test regions; deterministic
    two = make_split(three, "region", FRACTIONS, seed=3, test_regions=["a", "c"])
    m2 = three.merge(two, on="sample_id")
    assert set(m2.loc[m2.region.isin(["a", "c"]), "split"]) == {"test"}
    assert set(m2.loc[m2.region == "b", "split"]) == {"train", "val"}
    pd.testing.assert_frame_equal(split, make_split(three, "region", FRACTIONS, seed=3, test_regions=["b"]))
    with pytest.raises(ValueError, match="no test regions"):
        make_split(three, "region", FRACTIONS, seed=3)


def test_region_split_names_classes_missing_from_training(pool):
    from df4lcz.sampling.splits import missing_train_classes

    test_only = pool.assign(
        sample_id=pool.sample_id + 10_000, region="c", lcz=pool.lcz.where(pool.lcz != 2, 17)
    )
    both = pd.concat([pool, test_only], ignore_index=True)
    split = make_split(both, "region", FRACTIONS, seed=0, test_regions=["c"])
    assert missing_train_classes(both, split) == [17]
    assert missing_train_classes(pool, make_split(pool, "polygon", FRACTIONS, seed=0)) == []


def test_region_strategy_config_checks():
    from df4lcz.config import split_test_regions, validate_config
    from df4lcz.errors import ConfigError

    demo = validate_config({"splits": {"strategies": ["random", "region"]}, "demo": {"n_cities": 3}})
    assert split_test_regions(demo) == ["demo_city_3"]
    chosen = validate_config({"splits": {"strategies": ["region"], "test_regions": ["demo_city_1"]}})
    assert split_test_regions(chosen) == ["demo_city_1"]
    with pytest.raises(
        ConfigError, match=r"'splits.test_regions': \['nowhere'\] are not regions of this run"
    ):
        validate_config({"splits": {"strategies": ["region"], "test_regions": ["nowhere"]}})
    with pytest.raises(
        ConfigError, match=r"'splits.test_regions': the region strategy needs its test regions"
    ):
        validate_config({"splits": {"strategies": ["region"]}, "demo": {"n_cities": 2}})
    with pytest.raises(ConfigError, match=r"leave no labelled region to train on"):
        validate_config(
            {
                "splits": {"strategies": ["region"], "test_regions": ["demo_city_1", "demo_city_2"]},
                "demo": {"n_cities": 2},
            }
        )

    def region(name, labels="l.gpkg"):
        return {"name": name, "google": "g.tif", "sentinel2": "s2", "labels": labels}

    regions = [region("north"), region("south"), region("east", labels=None)]
    base = {"dataset": "regions", "regions": regions, "map": {"regions": ["east"]}}
    ok = validate_config({**base, "splits": {"strategies": ["polygon", "region"], "test_regions": ["south"]}})
    assert split_test_regions(ok) == ["south"]
    with pytest.raises(ConfigError, match=r"'splits.test_regions': \['east'\] have no labels"):
        validate_config({**base, "splits": {"strategies": ["region"], "test_regions": ["east"]}})
    with pytest.raises(ConfigError, match=r"'splits.test_regions': the region strategy needs"):
        validate_config({**base, "splits": {"strategies": ["region"]}})
    # other strategies ignore the key
    assert validate_config({"splits": {"test_regions": ["nowhere"]}})["splits"]["strategies"] == [
        "random",
        "polygon",
    ]


def test_region_check_rows_name_missing_classes(tmp_path, pool):
    from df4lcz.io.checks import read_checks, write_checks
    from df4lcz.stages.splits import region_check_rows

    test_only = pool.assign(
        sample_id=pool.sample_id + 10_000, region="c", lcz=pool.lcz.where(pool.lcz != 2, 17)
    )
    both = pd.concat([pool, test_only], ignore_index=True)
    split = make_split(both, "region", FRACTIONS, seed=0, test_regions=["c"])
    rows = region_check_rows(both, split, ["c"])
    n17 = int((test_only.lcz == 17).sum())
    assert [(r.subject, r.check, r.level, r.value) for r in rows] == [
        ("LCZ G", "missing_train_class", "warning", float(n17))
    ]
    assert f"LCZ G (G Water) has {n17} test sample(s) in c but no training sample" in rows[0].message
    write_checks(tmp_path / "region.csv", rows)
    assert read_checks(tmp_path / "region.csv") == rows
    assert (
        region_check_rows(pool, make_split(pool, "region", FRACTIONS, seed=0, test_regions=["b"]), ["b"])
        == []
    )
