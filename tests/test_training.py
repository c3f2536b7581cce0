"""Training, model files, predictions and the stage-file readers (all on small seeded data)."""

from __future__ import annotations

import importlib
import logging
import math

import h5py
import numpy as np
import pandas as pd
import pytest
import torch
from helpers.labels import labels_for

import df4lcz.training.resume as resume_mod
from df4lcz.config import schema_defaults
from df4lcz.constants import S2_BANDS, codes_to_index
from df4lcz.io.history import write_history
from df4lcz.io.models import save_model
from df4lcz.io.predictions import MODEL_FLOAT_FORMAT, PREDICTION_COLUMNS, predictions_frame, write_predictions
from df4lcz.io.splits import read_split
from df4lcz.pyg import Data
from df4lcz.scripting import Job, NamedFiles
from df4lcz.training import LoadedModel, load_model, predict_gcn, predict_s2, train_gcn, train_s2
from df4lcz.training.data import (
    GraphSamples,
    load_graphs,
    load_s2_chips,
    split_of,
)
from df4lcz.training.determinism import deterministic
from df4lcz.training.gcn import GCNAdapter, gcn_logits
from df4lcz.training.history import plot_history
from df4lcz.training.params import GCN_PARAM_KEYS, S2_PARAM_KEYS, check_params
from df4lcz.training.resume import ResumeFile
from df4lcz.training.runtime import configure_cpu_job
from df4lcz.training.s2 import band_statistics, transform_batch

N_CLASSES = 17
#: The schema's defaults of ``train.s2`` / ``train.gcn`` (the one home of defaults).
S2_DEFAULTS = schema_defaults("train")["s2"]
GCN_DEFAULTS = schema_defaults("train")["gcn"]
TINY_S2 = {"epochs": 2, "base_width": 2, "batch_size": 16}
TINY_GCN = {"epochs": 2, "hidden": 8, "batch_size": 8}


def s2_params(over):
    """Complete ``train.s2`` settings: the schema defaults with ``over`` on top."""
    return {**S2_DEFAULTS, **over}


def gcn_params(over):
    """Complete ``train.gcn`` settings: the schema defaults with ``over`` on top."""
    return {**GCN_DEFAULTS, **over}


def make_chips(rng: np.random.Generator, spectra: np.ndarray, n: int, px: int = 16, noise: float = 0.03):
    """Chips ``(n, px, px, 10)`` whose spectrum depends on the class (cycled 1..17), plus noise."""
    y = np.tile(np.arange(1, N_CLASSES + 1), n // N_CLASSES + 1)[:n]
    X = spectra[y - 1][:, None, None, :] + rng.normal(0.0, noise, (n, px, px, spectra.shape[1]))
    return X.astype(np.float32), y


def make_graphs(rng: np.random.Generator, centres: np.ndarray, n: int, noise: float = 0.3) -> list[Data]:
    """Random graphs (2–7 nodes, ring + chords) whose node features are drawn around a class centre."""
    graphs = []
    for i in range(n):
        code = i % N_CLASSES + 1
        k = int(rng.integers(2, 8))
        x = centres[code - 1] + rng.normal(0.0, noise, (k, centres.shape[1]))
        src = np.arange(k)
        dst = (src + 1) % k
        ei = np.concatenate([np.stack([src, dst]), np.stack([dst, src])], axis=1)
        ei = np.unique(ei[:, ei[0] != ei[1]], axis=1)
        graphs.append(
            Data(
                x=torch.tensor(x, dtype=torch.float32),
                edge_index=torch.from_numpy(ei).long(),
                y=torch.tensor([code]),
                sample_id=1000 + i,
            )
        )
    return graphs


@pytest.fixture(scope="module")
def s2_data():
    rng = np.random.default_rng(0)
    spectra = rng.uniform(0.02, 0.4, size=(N_CLASSES, 10))
    return make_chips(rng, spectra, 170), make_chips(rng, spectra, 85)


@pytest.fixture(scope="module")
def gcn_data():
    rng = np.random.default_rng(1)
    centres = rng.uniform(-1.0, 1.0, size=(N_CLASSES, 5))
    return make_graphs(rng, centres, 340), make_graphs(rng, centres, 170)


@pytest.fixture(scope="module")
def tiny_s2_result(s2_data):
    (X, y), (Xv, yv) = s2_data
    return train_s2(
        "resnet11_3d", (X[:48], y[:48]), (Xv[:17], yv[:17]), s2_params(TINY_S2), seed=5, device="cpu"
    )


# ---------------------------------------------------------------- parameters and helpers


def test_defaults_are_the_paper_values():
    assert tuple(S2_DEFAULTS) == S2_PARAM_KEYS and tuple(GCN_DEFAULTS) == GCN_PARAM_KEYS
    assert S2_DEFAULTS == {
        "epochs": 100,
        "batch_size": 64,
        "lr": 0.002,
        "lr_decay": 0.4,
        "lr_step": 5,
        "patience": 40,
        "augment": True,
        "base_width": 64,
    }
    assert (
        GCN_DEFAULTS["lr"],
        GCN_DEFAULTS["batch_size"],
        GCN_DEFAULTS["patience"],
        GCN_DEFAULTS["hidden"],
    ) == (0.01, 32, 20, 32)


def test_missing_hyper_parameter_is_rejected():
    with pytest.raises(ValueError, match=r"train_gcn: missing hyper-parameter\(s\) \['lr_decay', 'lr_step'"):
        check_params({"epochs": 1, "batch_size": 2, "lr": 0.1}, GCN_PARAM_KEYS, "train_gcn")


def test_unknown_hyper_parameter_is_rejected():
    with pytest.raises(
        ValueError, match=r"train_s2: unknown hyper-parameter\(s\) \['learning_rate'\]; valid keys"
    ):
        check_params({**S2_DEFAULTS, "learning_rate": 0.1}, S2_PARAM_KEYS, "train_s2")


@pytest.mark.parametrize(
    ("key", "value", "msg"),
    [
        ("epochs", 0, "a positive integer"),
        ("lr", -1.0, "a positive number"),
        ("lr_decay", 1.5, r"in \(0, 1\]"),
        ("augment", "yes", "true or false"),
        ("batch_size", 2.5, "a positive integer"),
    ],
)
def test_bad_hyper_parameter_values_are_rejected(key, value, msg):
    with pytest.raises(ValueError, match=f"'{key}' must be {msg}"):
        check_params({**S2_DEFAULTS, key: value}, S2_PARAM_KEYS, "train_s2")


def test_train_s2_rejects_unknown_model_and_param(s2_data):
    (X, y), _ = s2_data
    with pytest.raises(ValueError, match=r"unknown Sentinel-2 model 'alexnet'"):
        train_s2("alexnet", (X, y), (X, y), s2_params(TINY_S2), seed=0, device="cpu")
    with pytest.raises(ValueError, match=r"unknown hyper-parameter\(s\) \['hidden'\]"):
        train_s2("resnet11_3d", (X, y), (X, y), s2_params({"hidden": 3}), seed=0, device="cpu")


def test_train_gcn_rejects_unknown_param(gcn_data):
    with pytest.raises(ValueError, match=r"train_gcn: unknown hyper-parameter\(s\) \['base_width'\]"):
        train_gcn(gcn_data[0], gcn_data[1], gcn_params({"base_width": 4}), seed=0, device="cpu")


def test_labels_must_be_lcz_codes():
    np.testing.assert_array_equal(codes_to_index(np.array([1, 17, 5]), "t"), [0, 16, 4])
    with pytest.raises(ValueError, match=r"labels \[0, 18\] are not LCZ codes"):
        codes_to_index(np.array([0, 3, 18]), "t")


def test_band_statistics_match_numpy():
    rng = np.random.default_rng(2)
    X = rng.normal(3.0, 2.0, (5, 4, 4, 3)).astype(np.float32)
    X[..., 2] = 0.25  # constant band: std floored, not zero
    mean, std = band_statistics(X)
    np.testing.assert_allclose(mean, X.reshape(-1, 3).mean(0), rtol=1e-6)
    np.testing.assert_allclose(std[:2], X.reshape(-1, 3).std(0)[:2], rtol=1e-5)
    assert std[2] > 0


def test_transform_batch_flips_and_quarter_turn_are_exact():
    x = torch.randn(2, 8, 8, 3)
    no = torch.zeros(2, dtype=torch.bool)
    yes = torch.ones(2, dtype=torch.bool)
    zero = torch.zeros(2)
    torch.testing.assert_close(transform_batch(x, no, no, zero), x)
    torch.testing.assert_close(transform_batch(x, yes, no, zero), x.flip(2))  # left-right
    torch.testing.assert_close(transform_batch(x, no, yes, zero), x.flip(1))  # top-bottom
    quarter = transform_batch(x, no, no, torch.full((2,), math.pi / 2))
    torch.testing.assert_close(quarter, torch.rot90(x, 1, dims=(1, 2)), atol=1e-5, rtol=0)


# ---------------------------------------------------------------- training behaviour


def test_s2_training_is_deterministic_on_cpu(s2_data, tiny_s2_result):
    (X, y), (Xv, yv) = s2_data
    again = train_s2(
        "resnet11_3d", (X[:48], y[:48]), (Xv[:17], yv[:17]), s2_params(TINY_S2), seed=5, device="cpu"
    )
    p1 = predict_s2(tiny_s2_result_loaded(tiny_s2_result), Xv, device="cpu")
    p2 = predict_s2(tiny_s2_result_loaded(again), Xv, device="cpu")
    np.testing.assert_array_equal(p1, p2)
    pd.testing.assert_frame_equal(
        tiny_s2_result.history.drop(columns="seconds"), again.history.drop(columns="seconds")
    )


def tiny_s2_result_loaded(result):
    """A ``LoadedModel`` view of a ``TrainResult`` (no file round trip)."""
    return LoadedModel(
        result.model,
        {"kind": "s2", "norm_mean": result.norm_mean.tolist(), "norm_std": result.norm_std.tolist()},
    )


def test_gcn_training_is_deterministic_on_cpu(gcn_data):
    tr, va = gcn_data[0][:60], gcn_data[1][:30]
    a = train_gcn(tr, va, gcn_params(TINY_GCN), seed=3, device="cpu")
    b = train_gcn(tr, va, gcn_params(TINY_GCN), seed=3, device="cpu")
    for (ka, va_), (kb, vb) in zip(a.model.state_dict().items(), b.model.state_dict().items()):
        assert ka == kb
        torch.testing.assert_close(va_, vb, rtol=0, atol=0)


def test_s2_model_learns_class_spectra(s2_data):
    train, val = s2_data
    result = train_s2(
        "resnet11_3d",
        train,
        val,
        s2_params({"epochs": 5, "base_width": 2, "batch_size": 17}),
        seed=0,
        device="cpu",
    )
    hist = result.history
    assert list(hist["epoch"]) == [1, 2, 3, 4, 5]
    assert hist["loss"].iloc[-1] < hist["loss"].iloc[0]
    assert result.best_val_accuracy > 0.5  # chance is 1/17
    assert result.best_val_accuracy == hist["val_accuracy"].max()
    np.testing.assert_allclose(hist["lr"], [0.002] * 5)  # decay ×0.4 only after 5 epochs


def test_gcn_learns_class_features(gcn_data):
    train, val = gcn_data
    result = train_gcn(train, val, gcn_params({"epochs": 6, "hidden": 16}), seed=0, device="cpu")
    hist = result.history
    assert hist["loss"].iloc[-1] < hist["loss"].iloc[0]
    assert result.best_val_accuracy > 0.5
    proba = predict_gcn(_loaded_gcn(result), val, device="cpu")
    acc = (proba.argmax(1) + 1 == np.array([int(g.y[0]) for g in val])).mean()
    assert acc == pytest.approx(result.best_val_accuracy)  # kept weights are the best-val-accuracy ones


def _loaded_gcn(result):
    return LoadedModel(
        result.model,
        {"kind": "gcn", "model_kwargs": result.model_kwargs, "feature_names": result.feature_names},
    )


def test_step_decay_and_early_stopping(s2_data):
    (X, y), (Xv, yv) = s2_data
    # labels unrelated to the chips: val loss stops improving, patience 1 ends training early
    rng = np.random.default_rng(9)
    y_noise, yv_noise = rng.permutation(y[:34]), rng.permutation(yv[:17])
    params = {
        "epochs": 12,
        "base_width": 2,
        "batch_size": 17,
        "lr": 0.05,
        "lr_step": 2,
        "lr_decay": 0.5,
        "patience": 1,
        "augment": False,
    }
    result = train_s2(
        "resnet11_2d", (X[:34], y_noise), (Xv[:17], yv_noise), s2_params(params), seed=0, device="cpu"
    )
    hist = result.history
    expected_lr = [0.05 * 0.5 ** ((e - 1) // 2) for e in hist["epoch"]]
    np.testing.assert_allclose(hist["lr"], expected_lr)
    n = len(hist)
    assert n < 12
    assert hist["val_loss"].iloc[-1] >= hist["val_loss"].iloc[:-1].min()  # stop epoch did not improve


# ---------------------------------------------------------------- files


def test_save_load_round_trip_and_normalisation(tmp_path, s2_data, tiny_s2_result):
    _, (Xv, _) = s2_data
    path = tmp_path / "models" / "resnet11_3d.pt"
    save_model(path, tiny_s2_result, config={"strategy": "sample", "path": tmp_path})
    loaded = load_model(path)
    meta = loaded.meta
    assert meta["model_name"] == "resnet11_3d" and meta["kind"] == "s2" and meta["seed"] == 5
    assert meta["params"] == {**S2_DEFAULTS, **TINY_S2}
    assert set(meta["versions"]) == {"python", "torch", "torch_geometric", "df4lcz"}
    assert meta["config"] == {"strategy": "sample", "path": str(tmp_path)}
    assert meta["class_codes"] == list(range(1, 18))
    proba = predict_s2(path, Xv, sample_ids=np.arange(len(Xv)), device="cpu")
    # independent: standardise by hand, softmax of the in-memory model
    mean, std = tiny_s2_result.norm_mean, tiny_s2_result.norm_std
    with torch.no_grad():
        logits = tiny_s2_result.model.eval()(torch.from_numpy((Xv - mean) / std))
    np.testing.assert_allclose(proba, torch.softmax(logits, 1).numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(proba.sum(1), 1.0, rtol=1e-5)
    with pytest.raises(ValueError, match=r"not the GCN"):
        predict_gcn(path, [], device="cpu")
    with pytest.raises(ValueError, match=r"3 sample ids for 85 chips"):
        predict_s2(path, Xv, sample_ids=[1, 2, 3], device="cpu")


def test_gcn_save_load_round_trip(tmp_path, gcn_data):
    tr, va = gcn_data[0][:40], gcn_data[1][:20]
    graph_set = GraphSamples(tr, np.array([g.sample_id for g in tr]), list("RGBXY"))
    result = train_gcn(
        graph_set, va, gcn_params(TINY_GCN), seed=1, device="cpu"
    )  # names taken from the GraphSamples
    path = tmp_path / "gcn.pt"
    save_model(path, result)
    loaded = load_model(path)
    assert loaded.meta["feature_names"] == list("RGBXY")
    assert loaded.meta["model_kwargs"] == {"in_features": 5, "hidden": 8, "n_layers": 3, "n_classes": 17}
    np.testing.assert_allclose(
        predict_gcn(path, va, device="cpu"), predict_gcn(_loaded_gcn(result), va, device="cpu")
    )
    bad = [Data(x=torch.zeros(2, 4), edge_index=torch.zeros(2, 0, dtype=torch.long), y=torch.tensor([1]))]
    with pytest.raises(ValueError, match=r"the model expects 5"):
        predict_gcn(path, bad, device="cpu")


def test_load_model_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"missing\.pt: model file not found"):
        load_model(tmp_path / "missing.pt")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a torch file")
    with pytest.raises(ValueError, match=r"junk\.pt: not a readable torch model file"):
        load_model(junk)
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(2)}, other)
    with pytest.raises(ValueError, match=r"other\.pt: not a DF4LCZ model file"):
        load_model(other)


def test_predictions_frame_and_csv(tmp_path):
    rng = np.random.default_rng(4)
    logits = rng.normal(size=(4, 17))
    proba = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    frame = predictions_frame([10, 11, 12, 13], ["val", "val", "test", "test"], [1, 17, 3, 3], proba)
    assert list(frame.columns) == ["sample_id", "split", "y_true", "y_pred"] + [
        f"p_{c}" for c in range(1, 18)
    ]
    np.testing.assert_array_equal(frame["y_pred"], logits.argmax(1) + 1)
    path = tmp_path / "pred" / "resnet11_3d.csv"
    write_predictions(frame, path, float_format=MODEL_FLOAT_FORMAT)
    back = pd.read_csv(path)
    assert tuple(back.columns) == PREDICTION_COLUMNS
    assert back["split"].tolist() == ["val", "val", "test", "test"]
    assert back["y_true"].tolist() == [1, 17, 3, 3]
    np.testing.assert_allclose(back[[f"p_{c}" for c in range(1, 18)]].to_numpy(), proba, rtol=1e-5)
    assert not list(path.parent.glob(".tmp-*"))
    with pytest.raises(ValueError, match=r"proba has shape \(4, 3\); expected \(4, 17\)"):
        predictions_frame([1, 2, 3, 4], "test", [1, 1, 1, 1], np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"labels \[0\] are not LCZ codes"):
        predictions_frame([1], "test", [0], np.ones((1, 17)) / 17)


def test_history_csv_and_plot(tmp_path, tiny_s2_result):
    write_history(tiny_s2_result.history, tmp_path / "history.csv")
    back = pd.read_csv(tmp_path / "history.csv")
    assert list(back.columns[:6]) == ["epoch", "loss", "accuracy", "val_loss", "val_accuracy", "lr"]
    assert back["epoch"].tolist() == [1, 2]
    plot_history(tiny_s2_result.history, tmp_path / "curve.png", title="resnet11_3d")
    assert (tmp_path / "curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match=r"missing column\(s\) \['val_loss'\]"):
        write_history(tiny_s2_result.history.drop(columns="val_loss"), tmp_path / "h.csv")


# ---------------------------------------------------------------- stage-file readers


def _write(path, datasets, attrs=None):
    with h5py.File(path, "w") as f:
        for k, v in datasets.items():
            f.create_dataset(k, data=v)
        for k, v in (attrs or {}).items():
            f.attrs[k] = v


#: File attrs a Sentinel-2 chip shard must carry (docs/contracts.md §3).
S2_ATTRS = {"bands": list(S2_BANDS)}


def test_load_s2_chips_concatenates_and_filters(tmp_path):
    rng = np.random.default_rng(6)
    a, b = rng.random((3, 32, 32, 10), dtype=np.float32), rng.random((2, 32, 32, 10), dtype=np.float32)
    _write(tmp_path / "0.h5", {"sample_id": np.array([5, 1, 9]), "image": a}, S2_ATTRS)
    _write(tmp_path / "1.h5", {"sample_id": np.array([2, 7]), "image": b}, S2_ATTRS)
    chips = load_s2_chips([tmp_path / "0.h5", tmp_path / "1.h5"], keep_ids={9, 2, 5, 100})
    np.testing.assert_array_equal(chips.sample_id, [5, 9, 2])
    np.testing.assert_array_equal(chips.image, np.stack([a[0], a[2], b[0]]))
    _write(tmp_path / "dup.h5", {"sample_id": np.array([7]), "image": b[:1]}, S2_ATTRS)
    with pytest.raises(ValueError, match=r"duplicate sample_id\(s\) \[7\]"):
        load_s2_chips([tmp_path / "1.h5", tmp_path / "dup.h5"])
    with pytest.raises(FileNotFoundError, match=r"nope\.h5: file not found"):
        load_s2_chips([tmp_path / "nope.h5"])
    _write(tmp_path / "bad.h5", {"sample_id": np.array([1, 2]), "image": a}, S2_ATTRS)
    with pytest.raises(ValueError, match=r"bad\.h5: images must be \(N=2, H, H, 10\), got \(3, 32, 32, 10\)"):
        load_s2_chips([tmp_path / "bad.h5"])


def _graph_shard(path, edge_index, node_ptr, edge_ptr, ids, y, n_nodes):
    x = np.arange(n_nodes * 5, dtype=np.float32).reshape(n_nodes, 5)
    _write(
        path,
        {
            "x": x,
            "edge_index": np.asarray(edge_index),
            "node_ptr": np.asarray(node_ptr),
            "edge_ptr": np.asarray(edge_ptr),
            "sample_id": np.asarray(ids),
            "y": np.asarray(y),
        },
        {"feature_names": ["r", "g", "b", "cx", "cy"]},
    )
    return x


def test_load_graphs_splits_collated_shards(tmp_path):
    # graph 0: 3 nodes, one-directional edge 0→1, duplicate 1→2 twice and a self-loop 2→2
    # graph 1: 1 node, no edges; graph 2: 2 nodes, edge 0↔1
    edge_index = [[0, 1, 1, 2, 0, 1], [1, 2, 2, 2, 1, 0]]
    x = _graph_shard(tmp_path / "g.h5", edge_index, [0, 3, 4, 6], [0, 4, 4, 6], [40, 41, 42], [3, 11, 17], 6)
    gs = load_graphs([tmp_path / "g.h5"], keep_ids={40, 42})
    np.testing.assert_array_equal(gs.sample_id, [40, 42])
    assert gs.feature_names == ["r", "g", "b", "cx", "cy"]
    g0, g2 = gs.graphs
    np.testing.assert_array_equal(g0.x.numpy(), x[0:3])
    assert sorted(map(tuple, g0.edge_index.t().tolist())) == [(0, 1), (1, 0), (1, 2), (2, 1)]
    np.testing.assert_array_equal(g2.x.numpy(), x[4:6])
    assert sorted(map(tuple, g2.edge_index.t().tolist())) == [(0, 1), (1, 0)]
    np.testing.assert_array_equal(gs.labels, [3, 17])
    relabelled = load_graphs(tmp_path / "g.h5", labels={40: 5, 41: 6, 42: 7})
    np.testing.assert_array_equal(relabelled.labels, [5, 6, 7])
    with pytest.raises(ValueError, match=r"sample 42 .* is not in the sample table"):
        load_graphs(tmp_path / "g.h5", labels={40: 5, 41: 6})


def test_load_graphs_rejects_global_edge_indices(tmp_path):
    _graph_shard(tmp_path / "g.h5", [[0, 3], [1, 4]], [0, 3, 5], [0, 0, 2], [1, 2], [1, 1], 5)
    with pytest.raises(ValueError, match=r"g\.h5: graph of sample 2 has edge indices outside 0\.\.1"):
        load_graphs(tmp_path / "g.h5")
    _graph_shard(tmp_path / "p.h5", [[0], [1]], [0, 3, 4], [0, 1], [1, 2], [1, 1], 5)
    with pytest.raises(ValueError, match=r"p\.h5: 'node_ptr' must start at 0, never decrease and end at 5"):
        load_graphs(tmp_path / "p.h5")


def test_read_split_and_labels(tmp_path):
    path = tmp_path / "sample.csv"
    pd.DataFrame({"sample_id": [3, 1, 2], "split": ["train", "val", "test"]}).to_csv(path, index=False)
    splits = read_split(path)
    assert split_of([1, 2, 3, 9], splits).tolist() == ["val", "test", "train", ""]
    np.testing.assert_array_equal(labels_for([2, 3], {2: 17, 3: 1}), [17, 1])
    with pytest.raises(ValueError, match=r"sample 4 has no LCZ label"):
        labels_for([4], {2: 17})
    pd.DataFrame({"sample_id": [1], "split": ["validation"]}).to_csv(path, index=False)
    with pytest.raises(ValueError, match=r"unknown split value\(s\) \['validation'\]"):
        read_split(path)
    pd.DataFrame({"id": [1], "split": ["val"]}).to_csv(path, index=False)
    with pytest.raises(ValueError, match=r"missing column\(s\) \['sample_id'\]"):
        read_split(path)


# ---------------------------------------------------------------- CPU job settings


@pytest.fixture
def restore_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_configure_cpu_job_sets_torch_threads(restore_threads):
    configure_cpu_job(1)
    assert torch.get_num_threads() == 1
    for bad in (0, -2, 1.5, True):
        with pytest.raises(ValueError, match="threads must be a positive integer"):
            configure_cpu_job(bad)


@pytest.mark.parametrize("stage_name", ["train", "predict"])
def test_train_and_predict_stages_run_on_the_rules_threads(monkeypatch, restore_threads, stage_name):
    stage = importlib.import_module(f"df4lcz.stages.{stage_name}")
    seen = []
    worker = "train_model_files" if stage_name == "train" else "predict_model_files"
    monkeypatch.setattr(stage, worker, lambda *a, **k: seen.append(torch.get_num_threads()))
    monkeypatch.setattr(stage, "training_data_spec", lambda *a: {}, raising=False)
    files = {
        "data": ["chips.h5"],
        "split": "s.csv",
        "samples": "s.parquet",
        "valid": "v.csv",
        "model": "m.pt",
    }
    outs = {"model": "m.pt", "history": "h.csv", "curve": "c.png", "predictions": "p.csv"}
    job = Job(
        rule=stage_name,
        input=NamedFiles(["chips.h5"], files),
        output=NamedFiles(list(outs.values()), outs),
        params={"train": {}, "seed": 1, "device": "cpu", "amp": False, "window": {}},
        wildcards={"model": "resnet11_3d", "strategy": "random"},
        log=NamedFiles([]),
        threads=1,
    )
    stage.run(job)
    assert seen == [1]


def test_deterministic_block_skips_the_nan_fill_and_restores_settings():
    fill_before = torch.utils.deterministic.fill_uninitialized_memory
    det_before = torch.are_deterministic_algorithms_enabled()
    with deterministic(0, torch.device("cpu")):
        assert torch.are_deterministic_algorithms_enabled()
        assert torch.utils.deterministic.fill_uninitialized_memory is False
    assert torch.utils.deterministic.fill_uninitialized_memory == fill_before
    assert torch.are_deterministic_algorithms_enabled() == det_before


def test_gcn_validation_batches_are_collated_once_and_give_the_logits_of_gcn_logits(gcn_data):
    va = gcn_data[1][:20]
    adapter = GCNAdapter(
        {"in_features": 5, "hidden": 8, "n_layers": 2, "n_classes": N_CLASSES},
        gcn_data[0][:10],
        va,
        batch_size=8,
        device=torch.device("cpu"),
    )
    torch.manual_seed(0)
    model = adapter.build_model()
    first = adapter.val_logits(model)
    batches = adapter._val_batches
    assert first.shape == (20, N_CLASSES)
    assert adapter.val_logits(model) is not first and adapter._val_batches is batches
    torch.testing.assert_close(
        adapter.val_logits(model), gcn_logits(model, va, torch.device("cpu")), rtol=0, atol=0
    )
    # batches of 7 graphs give each graph the logits it gets alone
    alone = torch.cat([gcn_logits(model, [g], torch.device("cpu")) for g in va])
    torch.testing.assert_close(gcn_logits(model, va, torch.device("cpu"), batch_size=7), alone)


# ---------------------------------------------------------------- epoch checkpoints and resume


class Interrupted(Exception):
    """Stands in for a kill in process."""


def interrupt_after(monkeypatch, epoch: int) -> None:
    def stop(epochs_done: int) -> None:
        if epochs_done == epoch:
            raise Interrupted(epochs_done)

    monkeypatch.setattr(resume_mod, "stop_for_test", stop)


def fit_s2(data, params, resume=None, log=None):
    """A small Sentinel-2 fit: shuffling and augmentation draw from the loop's generator."""
    (X, y), (Xv, yv) = data
    return train_s2(
        "resnet11_3d",
        (X[:48], y[:48]),
        (Xv[:17], yv[:17]),
        s2_params(params),
        seed=3,
        device="cpu",
        resume=resume,
        log=log,
    )


def same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_interrupted_fit_resumes_with_the_next_epoch(s2_data, tmp_path, monkeypatch, caplog):
    params = {**TINY_S2, "epochs": 4, "augment": True}
    whole = fit_s2(s2_data, params)
    resume = ResumeFile.beside(tmp_path / "resnet11_3d.pt", {"settings": "a"})
    interrupt_after(monkeypatch, 2)
    with pytest.raises(Interrupted):
        fit_s2(s2_data, params, resume)
    saved = torch.load(resume.path, weights_only=False)
    assert saved["epochs_done"] == 2 and saved["key"] == resume.key and len(saved["stopper"]["rows"]) == 2

    monkeypatch.setattr(resume_mod, "stop_for_test", lambda epochs_done: None)
    log = logging.getLogger("test_resume")
    with caplog.at_level(logging.INFO, logger="test_resume"):
        again = fit_s2(s2_data, params, resume, log=log)
    assert f"resuming after epoch 2 of 4 from {resume.path}" in caplog.text
    assert same_weights(again.model, whole.model)
    columns = ["epoch", "loss", "accuracy", "val_loss", "val_accuracy", "lr"]
    assert again.history[columns].equals(whole.history[columns])
    assert (again.best_epoch, again.best_val_accuracy) == (whole.best_epoch, whole.best_val_accuracy)


def test_state_of_other_settings_is_not_taken_up(s2_data, tmp_path, monkeypatch, caplog):
    params = {**TINY_S2, "epochs": 3}
    old = ResumeFile.beside(tmp_path / "resnet11_3d.pt", {"lr": 0.01})
    interrupt_after(monkeypatch, 2)
    with pytest.raises(Interrupted):
        fit_s2(s2_data, params, old)
    monkeypatch.setattr(resume_mod, "stop_for_test", lambda epochs_done: None)

    changed = {**params, "lr": 0.002}
    new = ResumeFile.beside(tmp_path / "resnet11_3d.pt", {"lr": 0.002})
    assert new.path == old.path and new.key != old.key
    log = logging.getLogger("test_resume")
    with caplog.at_level(logging.INFO, logger="test_resume"):
        got = fit_s2(s2_data, changed, new, log=log)
    assert "saved with other settings or inputs (epoch 2); training starts afresh" in caplog.text
    assert list(got.history.epoch) == [1, 2, 3] and list(got.history.lr) == [0.002] * 3
    assert same_weights(got.model, fit_s2(s2_data, changed).model)


def test_unreadable_state_is_not_trusted(tmp_path, caplog):
    resume = ResumeFile.beside(tmp_path / "resnet11_3d.pt", {"a": 1})
    resume.path.write_bytes(b"not a torch file")
    log = logging.getLogger("test_resume")
    with caplog.at_level(logging.WARNING, logger="test_resume"):
        assert resume.load(log) is None
    assert f"{resume.path}: cannot be read" in caplog.text


@pytest.mark.parametrize("kind", ["s2", "gcn"])
def test_mixed_precision_trains_on_the_cpu_and_is_off_by_default(kind, s2_data, gcn_data):
    """``train.amp`` (off by default) runs the training forward passes under bfloat16 autocast on the
    CPU (float16 with gradient scaling on CUDA): the weights differ from float32's, stay finite, and the
    network still learns; without it the result is the float32 one."""
    assert schema_defaults("train")["amp"] is False
    if kind == "s2":
        (X, y), (Xv, yv) = s2_data

        def fit(**kw):
            return train_s2(
                "resnet11_3d",
                (X[:48], y[:48]),
                (Xv[:17], yv[:17]),
                s2_params(TINY_S2),
                seed=5,
                device="cpu",
                **kw,
            )
    else:
        train, val = gcn_data

        def fit(**kw):
            return train_gcn(train[:102], val[:51], gcn_params(TINY_GCN), seed=5, device="cpu", **kw)

    plain, off, mixed = fit(), fit(amp=False), fit(amp=True)
    sp, so, sm = (r.model.state_dict() for r in (plain, off, mixed))
    assert all(torch.equal(sp[k], so[k]) for k in sp)
    assert any(not torch.equal(sp[k], sm[k]) for k in sp if sp[k].is_floating_point())
    assert all(torch.isfinite(v).all() for v in sm.values() if v.is_floating_point())
    assert all(v.dtype == sp[k].dtype for k, v in sm.items())  # the weights stay float32
    assert np.isfinite(mixed.history.loss).all() and mixed.history.loss.iloc[-1] < mixed.history.loss.iloc[0]
