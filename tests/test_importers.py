"""Importers of LCZC-GES2 (npz + pickles) and So2Sat LCZ42 (HDF5): files in the exact published
formats are imported and read back by the workflow's own readers (``training.data.load_s2_chips``,
``load_graphs``, ``io.splits.read_split``, ``io.samples.read_samples``), compared with the arrays the fixtures
wrote; malformed inputs give errors that name the file."""

from __future__ import annotations

import pickle
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
from helpers.graphs import dense_adjacency
from helpers.importer_fixtures import SPLIT_FILES, write_lczc_ges2_fixture, write_so2sat_fixture
from helpers.sampling import region_inputs, sample_params

from df4lcz.chipping.valid import valid_sample_table
from df4lcz.constants import S2_BANDS
from df4lcz.graphs.features import DF4LCZ_FEATURES
from df4lcz.importers.lczc_ges2.files import decode_label
from df4lcz.importers.lczc_ges2.graphs import dense_to_edge_index, import_graph_shard
from df4lcz.importers.lczc_ges2.scan import scan_lczc_ges2, write_samples_table
from df4lcz.importers.lczc_ges2.sentinel2 import import_s2_shard
from df4lcz.importers.lczc_ges2.splits import import_split
from df4lcz.importers.so2sat import (
    FILE_COLUMN,
    INDEX_COLUMN,
    import_so2sat_shard,
    so2sat_samples,
    so2sat_split,
)
from df4lcz.io.chips import read_excluded
from df4lcz.io.graphs import read_graphs
from df4lcz.io.samples import SAMPLE_COLUMNS, read_samples
from df4lcz.io.splits import read_split
from df4lcz.sampling.build import build_samples
from df4lcz.training.data import load_graphs, load_s2_chips

SPLIT_MAP = {"train": "train", "validation": "val", "test": "test"}


def load_splits(path: Path) -> pd.Series:
    """A split table read back (:func:`df4lcz.io.splits.read_split`) as split names by ``sample_id``."""
    table = read_split(path)
    return pd.Series(table["split"].to_numpy(), index=table["sample_id"].to_numpy(), name="split")


def import_all(root: Path, out: Path, shard_size: int) -> tuple[pd.DataFrame, list[Path], list[Path]]:
    """Scan, write the sample table and import every shard of both streams."""
    table = scan_lczc_ges2(root)
    write_samples_table(table, out / "samples.parquet", shard_size)
    samples = read_samples(out / "samples.parquet")
    s2_files, graph_files = [], []
    for shard in sorted(samples["shard"].unique()):
        s2_files.append(out / "chips" / f"{shard}.h5")
        graph_files.append(out / "graphs" / f"{shard}.h5")
        import_s2_shard(out / "samples.parquet", int(shard), s2_files[-1])
        import_graph_shard(samples, int(shard), graph_files[-1])
    return samples, s2_files, graph_files


# --------------------------------------------------------------------------------------------
# LCZC-GES2
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lczc(tmp_path_factory):
    root = tmp_path_factory.mktemp("lczc")
    fx = write_lczc_ges2_fixture(root / "data", n_samples=21, seed=3, first_id=5)
    samples, s2_files, graph_files = import_all(root / "data", root / "out", shard_size=8)
    return fx, samples, s2_files, graph_files, root / "out"


def test_lczc_sample_table_follows_the_contract(lczc):
    fx, samples, *_ = lczc
    assert list(samples.columns[: len(SAMPLE_COLUMNS)]) == list(SAMPLE_COLUMNS)
    assert samples["sample_id"].tolist() == fx.sample_id.tolist()  # the released indices, not renumbered
    assert samples["lcz"].tolist() == fx.lcz.tolist()
    for col in ("sample_id", "polygon_id", "lcz", "shard"):
        assert samples[col].dtype == np.int64
    for col in ("xmin", "ymin", "xmax", "ymax"):
        assert samples[col].dtype == np.float64 and samples[col].isna().all()
    assert samples["shard"].tolist() == [k // 8 for k in range(21)]  # consecutive blocks in id order
    assert (samples["region"] == "lczc_ges2").all() and (samples["crs"] == "").all()
    assert samples.geometry.isna().all() and samples.crs.to_epsg() == 4326
    assert samples["polygon_id"].tolist() == samples["sample_id"].tolist()


def test_imported_tables_have_the_dtypes_of_the_raw_data_table(lczc, so2sat, tiny_region):
    _, lczc_samples, *_ = lczc
    _, so2sat_samples_table, _ = so2sat
    region = region_inputs("tiny", tiny_region["google"], tiny_region["sentinel2"], tiny_region["labels"])
    # the sample geometry as floats (as SampleParams() had it); imported bounds are float64 NaN
    raw, _ = build_samples([region], sample_params(size_m=320.0, stride_m=320.0, snap_m=10.0), seed=0)
    columns = [*SAMPLE_COLUMNS, "geometry"]
    assert lczc_samples[columns].dtypes.equals(raw[columns].dtypes)
    assert so2sat_samples_table[columns].dtypes.equals(raw[columns].dtypes)


def test_lczc_chips_read_back_equal_the_published_patches(lczc):
    fx, samples, s2_files, _, _ = lczc
    chips = load_s2_chips(s2_files)
    assert chips.sample_id.tolist() == fx.sample_id.tolist()
    assert chips.band_names == list(S2_BANDS)
    assert chips.image.dtype == np.float32
    np.testing.assert_array_equal(chips.image, fx.images)  # reflectance floats kept as they are
    with h5py.File(s2_files[0]) as f:
        assert f.attrs["dn_scaled_chips"] == 0


def test_lczc_graphs_read_back_with_the_published_features_and_adjacency(lczc):
    fx, samples, _, graph_files, _ = lczc
    graphs = load_graphs(graph_files)
    assert graphs.feature_names == list(DF4LCZ_FEATURES)
    assert graphs.sample_id.tolist() == fx.sample_id.tolist()
    assert graphs.labels.tolist() == fx.lcz.tolist()
    for g, x, a in zip(graphs.graphs, fx.x, fx.a):
        np.testing.assert_array_equal(g.x.numpy(), x)
        expected = (a != 0).astype(float)
        np.fill_diagonal(expected, 0.0)
        np.testing.assert_array_equal(dense_adjacency(g.edge_index.numpy(), len(x)), expected)
    # the file itself holds both directions, sorted, no self-loops
    _, _, gs = read_graphs(graph_files[0])
    x0, ei0 = gs.graph(0)
    assert (ei0[0] != ei0[1]).all()
    assert sorted(map(tuple, ei0.T.tolist())) == list(map(tuple, ei0.T.tolist()))


def test_lczc_splits_map_to_train_val_test(lczc):
    fx, samples, _, _, out = lczc
    for name in SPLIT_FILES:
        table = import_split(fx.root / name, out / f"{name}.csv", samples["sample_id"])
        split = load_splits(out / f"{name}.csv")
        expected = {int(i): SPLIT_MAP[key] for key, ids in fx.splits[name].items() for i in ids}
        assert split.to_dict() == expected
        assert table["sample_id"].is_monotonic_increasing
    # the sample table path is accepted too
    import_split(fx.root / SPLIT_FILES[0], out / "again.csv", out / "samples.parquet")
    assert load_splits(out / "again.csv").equals(load_splits(out / f"{SPLIT_FILES[0]}.csv"))


def test_lczc_graph_shards_stand_in_for_google_chips_in_valid_samples(lczc):
    fx, _, s2_files, graph_files, _ = lczc
    valid = valid_sample_table({"graphs": graph_files, "sentinel2": s2_files})
    assert valid["valid"].all() and valid["sample_id"].tolist() == fx.sample_id.tolist()


def test_lczc_dn_patches_and_scalar_graph_labels(tmp_path):
    fx = write_lczc_ges2_fixture(tmp_path / "data", n_samples=6, seed=1, dn=True, graph_label="scalar")
    _, s2_files, graph_files = import_all(tmp_path / "data", tmp_path / "out", shard_size=10)
    chips = load_s2_chips(s2_files)
    assert fx.images.dtype == np.uint16
    np.testing.assert_allclose(chips.image, fx.images.astype(np.float64) / 10000.0, rtol=0, atol=1e-7)
    with h5py.File(s2_files[0]) as f:
        assert f.attrs["dn_scaled_chips"] == 6
    assert load_graphs(graph_files).labels.tolist() == fx.lcz.tolist()


def test_lczc_samples_with_one_file_are_left_out_and_counted(tmp_path):
    fx = write_lczc_ges2_fixture(tmp_path, n_samples=5, seed=2)
    fx.graph_paths[1].unlink()
    fx.s2_paths[3].unlink()
    fx.s2_paths[4].unlink()
    table = scan_lczc_ges2(tmp_path)
    assert table["sample_id"].tolist() == [0, 2]
    assert table.attrs == {"n_only_sentinel2": 1, "n_only_graph": 2}


def test_lczc_scan_errors_name_the_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        scan_lczc_ges2(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no sen2_image"):
        scan_lczc_ges2(tmp_path / "empty")
    fx = write_lczc_ges2_fixture(tmp_path / "d", n_samples=4, seed=0, classes=(3, 7))
    # the two files of one sample disagree
    np.savez(fx.s2_paths[0], image=fx.images[0], label=np.int64(17 if fx.lcz[0] != 17 else 16))
    with pytest.raises(ValueError, match=r"disagrees") as err:
        scan_lczc_ges2(tmp_path / "d")
    assert str(fx.s2_paths[0]) in str(err.value) and str(fx.graph_paths[0]) in str(err.value)
    # a label outside 1-17
    np.savez(fx.s2_paths[0], image=fx.images[0], label=np.int64(18))
    with pytest.raises(ValueError, match=r"sen2_image_0\.npz.*'label'.*1–17"):
        scan_lczc_ges2(tmp_path / "d")
    # a missing key
    np.savez(fx.s2_paths[0], image=fx.images[0])
    with pytest.raises(ValueError, match=r"sen2_image_0\.npz: missing key\(s\) \['label'\]"):
        scan_lczc_ges2(tmp_path / "d")
    # a corrupt file
    fx.s2_paths[0].write_bytes(b"not a zip")
    with pytest.raises(ValueError, match=r"sen2_image_0\.npz: not a readable \.npz"):
        scan_lczc_ges2(tmp_path / "d")
    # the same index twice
    np.savez(fx.s2_paths[0], image=fx.images[0], label=np.int64(fx.lcz[0]))
    (tmp_path / "d" / "copy").mkdir()
    (tmp_path / "d" / "copy" / "graph_2.npz").write_bytes(fx.graph_paths[2].read_bytes())
    with pytest.raises(ValueError, match=r"sample 2 is stored twice"):
        scan_lczc_ges2(tmp_path / "d")


def test_lczc_malformed_patches_and_graphs_name_the_file(tmp_path):
    fx = write_lczc_ges2_fixture(tmp_path / "d", n_samples=3, seed=0)
    samples = write_samples_table(scan_lczc_ges2(tmp_path / "d"), tmp_path / "samples.parquet", 10)
    good_s2, good_graph = fx.s2_paths[1].read_bytes(), fx.graph_paths[1].read_bytes()

    np.savez(fx.s2_paths[1], image=np.zeros((32, 32, 9), np.float32), label=np.int64(fx.lcz[1]))
    with pytest.raises(ValueError, match=r"sen2_image_1\.npz: key 'image' has shape \(32, 32, 9\)"):
        import_s2_shard(samples, 0, tmp_path / "s2.h5")
    fx.s2_paths[1].write_bytes(good_s2)

    x, a = fx.x[1], fx.a[1]
    y = np.int64(fx.lcz[1])
    for kwargs, pattern in [
        (dict(x=x[:, :4], a=a, y=y), r"graph_1\.npz: key 'x' has shape \(\d+, 4\)"),
        (dict(x=x, a=np.zeros((len(x), len(x) + 1)), y=y), r"graph_1\.npz: key 'a' has shape"),
        (dict(x=x, y=y), r"graph_1\.npz: missing key\(s\) \['a'\]"),
        (dict(x=x, a=a, y=np.int64(0)), r"graph_1\.npz: key 'y'.*1–17"),
        (dict(x=x, a=a, y=np.array([1, 1] + [0] * 15)), r"graph_1\.npz: key 'y'.*not one-hot"),
    ]:
        np.savez(fx.graph_paths[1], **kwargs)
        with pytest.raises(ValueError, match=pattern):
            import_graph_shard(samples, 0, tmp_path / "g.h5")
    fx.graph_paths[1].write_bytes(good_graph)

    # a label changed after the table was written
    np.savez(fx.s2_paths[2], image=fx.images[2], label=np.int64(fx.lcz[2] % 17 + 1))
    with pytest.raises(ValueError, match=r"sen2_image_2\.npz: label .* differs"):
        import_s2_shard(samples, 0, tmp_path / "s2.h5")
    fx.s2_paths[2].unlink()
    with pytest.raises(FileNotFoundError, match=r"sen2_image_2\.npz"):
        import_s2_shard(samples, 0, tmp_path / "s2.h5")
    with pytest.raises(ValueError, match="shard 5 holds no sample"):
        import_s2_shard(samples, 5, tmp_path / "s2.h5")


def test_lczc_nonfinite_patch_is_excluded_with_a_reason(tmp_path):
    fx = write_lczc_ges2_fixture(tmp_path / "d", n_samples=3, seed=0)
    bad = fx.images[1].copy()
    bad[0, 0, 0] = np.nan
    np.savez(fx.s2_paths[1], image=bad, label=np.int64(fx.lcz[1]))
    samples = write_samples_table(scan_lczc_ges2(tmp_path / "d"), tmp_path / "samples.parquet", 10)
    counts = import_s2_shard(samples, 0, tmp_path / "s2.h5")
    assert counts["excluded"] == 1
    assert load_s2_chips(tmp_path / "s2.h5").sample_id.tolist() == [0, 2]
    excluded = read_excluded(tmp_path / "s2.h5")
    assert excluded["sample_id"].tolist() == [1] and "NaN" in excluded["reason"].iloc[0]


def test_split_pickle_errors_name_the_file(tmp_path):
    ids = [0, 1, 2, 3, 4]
    cases = [
        ({"train": [0, 1], "test": [2]}, r"bad\.pkl: missing key\(s\) \['validation'\]"),
        (
            {"train": [0, 1], "validation": [9], "test": [2]},
            r"bad\.pkl: key 'validation' lists 1 id\(s\) not in",
        ),
        (
            {"train": [0, 1], "validation": [1], "test": [2]},
            r"bad\.pkl: sample id\(s\) \[1\] appear in 'validation'",
        ),
        ({"train": ["a"], "validation": [], "test": []}, r"bad\.pkl: key 'train' must list integer"),
        ([0, 1, 2], r"bad\.pkl: holds a list"),
    ]
    for obj, pattern in cases:
        with open(tmp_path / "bad.pkl", "wb") as f:
            pickle.dump(obj, f)
        with pytest.raises(ValueError, match=pattern):
            import_split(tmp_path / "bad.pkl", tmp_path / "split.csv", ids)
    with open(tmp_path / "extra.pkl", "wb") as f:
        pickle.dump({"train": [0, 1, 7], "validation": [2], "test": np.array([3, 8])}, f)
    kept = import_split(tmp_path / "extra.pkl", tmp_path / "split.csv", ids, unknown_ids="drop")
    assert kept["sample_id"].tolist() == [0, 1, 2, 3] and kept["split"].tolist() == [
        "train",
        "train",
        "val",
        "test",
    ]
    with pytest.raises(ValueError, match="unknown_ids"):
        import_split(tmp_path / "extra.pkl", tmp_path / "split.csv", ids, unknown_ids="ignore")
    with open(tmp_path / "other.pkl", "wb") as f:  # a split of another copy of the data: nothing matches
        pickle.dump({"train": [70, 71], "validation": [72], "test": [73]}, f)
    with pytest.raises(
        ValueError, match=r"other\.pkl: none of the 2 id\(s\) of key 'train' is in the sample"
    ):
        import_split(tmp_path / "other.pkl", tmp_path / "split.csv", ids, unknown_ids="drop")
    (tmp_path / "split.csv").unlink()
    (tmp_path / "bad.pkl").write_bytes(b"garbage")
    with pytest.raises(ValueError, match=r"bad\.pkl: not a readable pickle"):
        import_split(tmp_path / "bad.pkl", tmp_path / "split.csv", ids)
    with pytest.raises(FileNotFoundError, match="none.pkl"):
        import_split(tmp_path / "none.pkl", tmp_path / "split.csv", ids)
    assert not (tmp_path / "split.csv").exists()


def test_decode_label_forms():
    assert decode_label(np.int64(4), "f") == 4
    assert decode_label(np.array([12.0]), "f") == 12
    onehot = np.zeros(17)
    onehot[16] = 1
    assert decode_label(onehot, "f") == 17
    assert decode_label(onehot.reshape(1, 17), "f") == 17
    for bad, msg in [
        (0, "1–17"),
        (18, "1–17"),
        (3.5, "1–17"),
        (np.zeros(17), "not one-hot"),
        (np.full(17, 1 / 17), "not one-hot"),
        (np.zeros(5), "shape"),
        (np.array("x"), "not numeric"),
    ]:
        with pytest.raises(ValueError, match=msg):
            decode_label(bad, "where.npz: key 'y'")


def test_dense_to_edge_index_symmetrises_and_drops_self_loops():
    a = np.array([[1.0, 0.5, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, -0.2], [0.0, 0.0, 0.0, 0.0]])
    assert dense_to_edge_index(a).tolist() == [[0, 1, 2, 3], [1, 0, 3, 2]]
    assert dense_to_edge_index(np.zeros((1, 1))).shape == (2, 0)
    with pytest.raises(ValueError, match="square"):
        dense_to_edge_index(np.zeros((2, 3)))


# --------------------------------------------------------------------------------------------
# So2Sat LCZ42
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def so2sat(tmp_path_factory):
    root = tmp_path_factory.mktemp("so2sat")
    fx = write_so2sat_fixture(root / "data", n=(37, 12, 20), seed=5)
    samples = so2sat_samples(fx.files, root / "out" / "samples.parquet", shard_size=16)
    return fx, samples, root / "out"


def test_so2sat_sample_table(so2sat):
    fx, samples, out = so2sat
    back = read_samples(out / "samples.parquet")
    assert list(back.columns[: len(SAMPLE_COLUMNS)]) == list(SAMPLE_COLUMNS)
    assert back["sample_id"].tolist() == list(range(69))
    expected_lcz = np.concatenate([fx.label[k].argmax(1) + 1 for k in ("training", "validation", "testing")])
    assert back["lcz"].tolist() == expected_lcz.tolist()
    assert back[FILE_COLUMN].tolist() == ["training"] * 37 + ["validation"] * 12 + ["testing"] * 20
    assert back[INDEX_COLUMN].tolist() == list(range(37)) + list(range(12)) + list(range(20))
    # shards never span two files: 37 → 16, 16, 5; 12 → 12; 20 → 16, 4
    sizes = back.groupby("shard").size().tolist()
    assert sizes == [16, 16, 5, 12, 16, 4]
    assert back.groupby("shard")[FILE_COLUMN].nunique().eq(1).all()
    for col in ("sample_id", "polygon_id", "lcz", "shard"):
        assert back[col].dtype == np.int64


class _ReadSpy:
    """Records the selections made on So2Sat datasets through ``h5py.Dataset.__getitem__``."""

    def __init__(self, monkeypatch):
        self.calls: list[tuple[str, object]] = []
        original = h5py.Dataset.__getitem__
        spy = self

        def getitem(ds, key):
            spy.calls.append((ds.name, key))
            return original(ds, key)

        monkeypatch.setattr(h5py.Dataset, "__getitem__", getitem)


def test_so2sat_chips_read_back_and_only_slices_are_read(so2sat, monkeypatch):
    fx, samples, out = so2sat
    spy = _ReadSpy(monkeypatch)
    files = []
    for shard in sorted(samples["shard"].unique()):
        files.append(out / "chips" / f"{shard}.h5")
        import_so2sat_shard(out / "samples.parquet", int(shard), fx.files, files[-1])
    sen2_reads = [key for name, key in spy.calls if name == "/sen2"]
    assert len(sen2_reads) == 6
    assert all(isinstance(k, slice) and k.stop - k.start <= 16 for k in sen2_reads)
    monkeypatch.undo()
    chips = load_s2_chips(files)
    expected = np.concatenate([fx.sen2[k] for k in ("training", "validation", "testing")]).astype(np.float32)
    assert chips.sample_id.tolist() == list(range(69))
    assert chips.band_names == list(S2_BANDS)
    np.testing.assert_array_equal(chips.image, expected)


def test_so2sat_samples_reads_labels_only(tmp_path, monkeypatch):
    fx = write_so2sat_fixture(tmp_path / "data", n=(5, 3, 4), seed=1)
    spy = _ReadSpy(monkeypatch)
    so2sat_samples(fx.files, tmp_path / "samples.parquet", 4)
    assert {name for name, _ in spy.calls} == {"/label"}


def test_so2sat_official_split_and_aliases(so2sat, tmp_path):
    fx, samples, _ = so2sat
    split = so2sat_split(samples, tmp_path / "official.csv")
    back = load_splits(tmp_path / "official.csv")
    assert back.value_counts().to_dict() == {"train": 37, "test": 20, "val": 12}
    assert back.loc[36] == "train" and back.loc[37] == "val" and back.loc[49] == "test"
    assert split["sample_id"].tolist() == list(range(69))
    aliased = so2sat_samples(
        {"test": fx.files["testing"], "train": fx.files["training"]}, tmp_path / "s.parquet", 50
    )
    assert aliased[FILE_COLUMN].tolist() == ["training"] * 37 + ["testing"] * 20


def test_so2sat_values_are_clipped_into_reflectance_range(tmp_path):
    fx = write_so2sat_fixture(tmp_path / "data", n=(3, 0, 0), seed=2)
    with h5py.File(fx.files["training"], "r+") as f:
        f["sen2"][0, 0, 0, 0] = 1.7
        f["sen2"][1, 0, 0, 1] = -0.1
    samples = so2sat_samples({"training": fx.files["training"]}, tmp_path / "s.parquet", 8)
    counts = import_so2sat_shard(samples, 0, {"training": fx.files["training"]}, tmp_path / "c.h5")
    assert counts == {"chips": 3, "excluded": 0, "clipped": 2}
    chips = load_s2_chips(tmp_path / "c.h5")
    assert chips.image[0, 0, 0, 0] == 1.0 and chips.image[1, 0, 0, 1] == 0.0


def test_so2sat_errors_name_the_file(tmp_path):
    fx = write_so2sat_fixture(tmp_path / "data", n=(6, 3, 3), seed=0)
    path = fx.files["validation"]
    with h5py.File(path, "r+") as f:
        f["label"][2] = 0.0
        f["label"][2, 3] = 1.0
        f["label"][2, 4] = 1.0
    with pytest.raises(ValueError, match=r"validation\.h5: 'label': row 2 is not one-hot"):
        so2sat_samples(fx.files, tmp_path / "s.parquet", 4)
    with h5py.File(path, "r+") as f:
        f["label"][2] = 0.0
    with pytest.raises(ValueError, match=r"validation\.h5: 'label': row 2 is not one-hot"):
        so2sat_samples(fx.files, tmp_path / "s.parquet", 4)

    def rewrite(**datasets):
        path.unlink()
        with h5py.File(path, "w") as f:
            for key, value in datasets.items():
                f.create_dataset(key, data=value)

    onehot = np.eye(17)[[0, 1, 2]]
    rewrite(sen2=np.zeros((3, 32, 32, 9)), label=onehot)
    with pytest.raises(ValueError, match=r"validation\.h5: 'sen2' has shape \(3, 32, 32, 9\).*10 bands"):
        so2sat_samples(fx.files, tmp_path / "s.parquet", 4)
    rewrite(sen2=np.zeros((3, 32, 32, 10)), label=onehot[:2])
    with pytest.raises(ValueError, match=r"validation\.h5: 'label' has shape \(2, 17\)"):
        so2sat_samples(fx.files, tmp_path / "s.parquet", 4)
    rewrite(sen2=np.zeros((3, 32, 32, 10)))
    with pytest.raises(ValueError, match=r"validation\.h5: missing dataset\(s\) \['label'\]"):
        so2sat_samples(fx.files, tmp_path / "s.parquet", 4)
    with pytest.raises(ValueError, match="unknown key 'extra'"):
        so2sat_samples({"extra": path}, tmp_path / "s.parquet", 4)
    with pytest.raises(FileNotFoundError, match="nowhere.h5"):
        so2sat_samples({"training": tmp_path / "nowhere.h5"}, tmp_path / "s.parquet", 4)
    assert not (tmp_path / "s.parquet").exists()


def test_so2sat_shard_checks_the_labels_still_match(tmp_path):
    fx = write_so2sat_fixture(tmp_path / "data", n=(4, 0, 0), seed=0, classes=(2, 5))
    samples = so2sat_samples(fx.files, tmp_path / "s.parquet", 4)
    with h5py.File(fx.files["training"], "r+") as f:
        f["label"][1] = np.eye(17)[16]
    with pytest.raises(ValueError, match=r"training\.h5: row 1 has LCZ 17"):
        import_so2sat_shard(samples, 0, fx.files, tmp_path / "c.h5")
    with pytest.raises(ValueError, match="not among files"):
        import_so2sat_shard(samples, 0, {"testing": fx.files["testing"]}, tmp_path / "c.h5")
