"""End-to-end: the workflow on imported datasets (LCZC-GES2 release layout, So2Sat LCZ42 HDF5).

The runs use the named configs ``tests/configs/lczc_ges2.yaml`` and ``so2sat.yaml``; their inputs are
written by ``helpers.importer_fixtures`` in the exact published formats (``helpers.named_configs``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml
from helpers.importer_fixtures import write_lczc_ges2_fixture, write_so2sat_fixture
from helpers.named_configs import SO2SAT_SIZES, config_path, load_config, make_fixtures
from helpers.workflow import snakemake

from df4lcz.training.data import load_graphs, load_s2_chips


def write_config(path, cfg) -> str:
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.mark.slow
def test_lczc_ges2_workflow(tmp_path):
    work = tmp_path / "wf"
    fx = make_fixtures("lczc_ges2", work)
    assert load_config("lczc_ges2")["samples"]["shard_size"] == 25 and len(fx.sample_id) == 60
    snakemake(work, "--cores", "2", "all", configfile=config_path("lczc_ges2"))
    res = work / "results"
    samples = pd.read_parquet(res / "samples.parquet")
    assert sorted(samples.sample_id) == sorted(fx.sample_id.tolist())
    assert samples.shard.nunique() == 3  # 60 samples in shards of 25
    # the imported shards hold the released arrays
    chips = load_s2_chips(sorted((res / "chips" / "sentinel2").glob("*.h5")))
    order = np.argsort(fx.sample_id)
    np.testing.assert_array_equal(chips.sample_id, fx.sample_id[order])
    np.testing.assert_allclose(chips.image, np.clip(fx.images[order], 0, 1), atol=1e-6)
    graphs = load_graphs(sorted((res / "graphs").glob("*.h5")))
    g0 = graphs.graphs[0]
    i0 = int(np.flatnonzero(fx.sample_id == g0.sample_id)[0])
    np.testing.assert_allclose(g0.x.numpy(), fx.x[i0], atol=1e-6)
    dense = fx.a[i0] != 0
    np.fill_diagonal(dense, False)
    dense |= dense.T
    assert {tuple(e) for e in g0.edge_index.t().tolist()} == {tuple(e) for e in np.argwhere(dense).tolist()}
    # the released splits become ours (validation → val)
    for strategy, pickle_name in (("random", "split_random.pkl"), ("polygon", "split_polygon.pkl")):
        split = pd.read_csv(res / "splits" / f"{strategy}.csv").set_index("sample_id")["split"]
        released = fx.splits[pickle_name]
        for name, ours in (("train", "train"), ("validation", "val"), ("test", "test")):
            assert set(split[split == ours].index) == {int(i) for i in released[name]}
    metrics = pd.read_csv(res / "tables" / "metrics.csv")
    assert set(metrics.model) == {
        "resnet11_3d",
        "gcn",
        "df4lcz",
        "df4lcz_tuned",
        "df4lcz_cal",
        "df4lcz_cal_tuned",
    }
    assert set(metrics.strategy) == {"random", "polygon"}
    assert "imported LCZC-GES2 graphs" in (res / "summary.md").read_text()
    assert not (res / "chips" / "google").exists() and not (res / "masks").exists()


@pytest.mark.slow
def test_so2sat_workflow(tmp_path):
    work = tmp_path / "wf"
    fx = make_fixtures("so2sat", work)
    assert load_config("so2sat")["samples"]["shard_size"] == 20 and SO2SAT_SIZES == (48, 16, 16)
    snakemake(work, "--cores", "2", "all", configfile=config_path("so2sat"))
    res = work / "results"
    samples = pd.read_parquet(res / "samples.parquet")
    assert len(samples) == 80
    # shards never span two files: 48 → 3 shards, 16 → 1, 16 → 1
    assert samples.shard.nunique() == 5
    split = pd.read_csv(res / "splits" / "official.csv")
    assert split.split.value_counts().to_dict() == {"train": 48, "val": 16, "test": 16}
    chips = load_s2_chips(sorted((res / "chips" / "sentinel2").glob("*.h5")))
    expected = np.concatenate([fx.sen2[k] for k in ("training", "validation", "testing")])
    np.testing.assert_allclose(chips.image, np.clip(expected, 0, 1), atol=1e-6)
    labels = np.concatenate([fx.label[k] for k in ("training", "validation", "testing")]).argmax(1) + 1
    np.testing.assert_array_equal(samples.sort_values("sample_id").lcz, labels)
    metrics = pd.read_csv(res / "tables" / "metrics.csv")
    assert list(metrics.model) == ["resnet11_3d"] and list(metrics.strategy) == ["official"]
    assert metrics.n_test.iloc[0] == 16
    assert not (res / "graphs").exists()


def test_so2sat_needs_official_split(tmp_path):
    fx = write_so2sat_fixture(tmp_path / "so2sat", n=(4, 2, 2), seed=0)
    cfg = {"dataset": "so2sat", "so2sat": {k: str(v) for k, v in fx.files.items()}}
    proc = snakemake(tmp_path, "-n", "all", configfile=write_config(tmp_path / "c.yaml", cfg), check=False)
    assert proc.returncode != 0
    assert (
        "config key 'splits.strategies': dataset 'so2sat' has only its official split"
        in proc.stdout + proc.stderr
    )


def test_lczc_ges2_missing_split_file(tmp_path):
    fx = write_lczc_ges2_fixture(tmp_path / "lczc", n_samples=6, seed=0)
    cfg = {
        "dataset": "lczc_ges2",
        "lczc_ges2": {"root": str(fx.root), "split_files": {"random": str(fx.root / "split_random.pkl")}},
    }
    proc = snakemake(tmp_path, "-n", "all", configfile=write_config(tmp_path / "c.yaml", cfg), check=False)
    assert proc.returncode != 0
    assert (
        "config key 'lczc_ges2.split_files.polygon': strategy 'polygon' needs its released split pickle"
        in (proc.stdout + proc.stderr)
    )
