"""Prediction-file validation, late fusion arithmetic and the α search."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from df4lcz.config import schema_defaults
from df4lcz.evaluation import fusion
from df4lcz.io.alpha_curve import read_alpha_curve
from df4lcz.io.predictions import (
    PREDICTION_COLUMNS,
    PROB_COLUMNS,
    probabilities,
    read_predictions,
    validate_predictions,
    write_predictions,
)
from df4lcz.stages.fuse import fuse_files

#: The α grid of the ``fuse`` rule with the schema's ``fusion.grid_step``.
GRID = fusion.alpha_grid(schema_defaults("fusion")["grid_step"])


def make_stream(seed: int, ids: np.ndarray, y: np.ndarray, splits: np.ndarray, skill: float) -> pd.DataFrame:
    """Seeded softmax predictions of one stream for fixed samples (true class boosted by ``skill``)."""
    rng = np.random.default_rng(seed)
    n = ids.size
    logits = rng.normal(0.0, 1.0, size=(n, 17))
    logits[np.arange(n), y - 1] += skill * rng.uniform(0.0, 1.5, size=n)
    proba = np.exp(logits - logits.max(axis=1, keepdims=True))
    proba /= proba.sum(axis=1, keepdims=True)
    frame = pd.DataFrame({"sample_id": ids, "split": splits, "y_true": y, "y_pred": proba.argmax(axis=1) + 1})
    return pd.concat([frame, pd.DataFrame(proba, columns=list(PROB_COLUMNS))], axis=1)


def two_streams(seed: int = 0, n: int = 300) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(1000 + seed)
    ids = np.arange(n) * 3 + 7
    y = rng.integers(1, 18, size=n)
    splits = np.where(rng.uniform(size=n) < 0.4, "val", "test")
    return make_stream(seed, ids, y, splits, 2.0), make_stream(seed + 50, ids, y, splits, 1.6)


def one_hot_rows(rows: list[dict[int, float]]) -> np.ndarray:
    out = np.zeros((len(rows), 17))
    for i, row in enumerate(rows):
        for code, value in row.items():
            out[i, code - 1] = value
    return out


def frame(ids, splits, y_true, proba) -> pd.DataFrame:
    proba = np.asarray(proba, dtype=float)
    base = pd.DataFrame(
        {"sample_id": ids, "split": splits, "y_true": y_true, "y_pred": proba.argmax(axis=1) + 1}
    )
    return pd.concat([base, pd.DataFrame(proba, columns=list(PROB_COLUMNS))], axis=1)


def test_fuse_matches_hand_computation():
    s2 = frame([1, 2, 3], ["val", "test", "test"], [1, 2, 17],
               one_hot_rows([{1: 0.6, 2: 0.4}, {1: 0.9, 2: 0.1}, {17: 0.5, 16: 0.5}]))
    gcn = frame([3, 2, 1], ["test", "test", "val"], [17, 2, 1],
                one_hot_rows([{16: 1.0}, {2: 0.8, 3: 0.2}, {1: 0.2, 2: 0.8}]))
    fused = fusion.fuse(s2, gcn, alpha=0.25)
    assert list(fused.columns) == list(PREDICTION_COLUMNS)
    assert fused["sample_id"].tolist() == [1, 2, 3]  # order of the Sentinel-2 frame
    p = fused.loc[:, list(PROB_COLUMNS)].to_numpy()
    # sample 1: 0.25·(0.6, 0.4) + 0.75·(0.2, 0.8) = (0.3, 0.7) -> class 2
    assert p[0, 0] == pytest.approx(0.3) and p[0, 1] == pytest.approx(0.7)
    # sample 2: class 1: 0.225, class 2: 0.025 + 0.6 = 0.625, class 3: 0.15 -> class 2
    assert p[1, :3] == pytest.approx([0.225, 0.625, 0.15])
    # sample 3: class 16: 0.125 + 0.75 = 0.875, class 17: 0.125 -> class 16
    assert p[2, 15] == pytest.approx(0.875) and p[2, 16] == pytest.approx(0.125)
    assert fused["y_pred"].tolist() == [2, 2, 16]
    assert fused["y_true"].tolist() == [1, 2, 17]
    assert fused["split"].tolist() == ["val", "test", "test"]
    np.testing.assert_allclose(p.sum(axis=1), 1.0)


def test_fuse_extreme_alphas_reproduce_the_streams():
    s2, gcn = two_streams(3)
    np.testing.assert_allclose(probabilities(fusion.fuse(s2, gcn, 1.0)), probabilities(s2))
    np.testing.assert_allclose(probabilities(fusion.fuse(s2, gcn, 0.0)), probabilities(gcn))


def test_fuse_inner_join_and_errors():
    s2, gcn = two_streams(1, n=40)
    fused = fusion.fuse(s2, gcn.iloc[5:], 0.6)
    assert sorted(fused["sample_id"]) == sorted(gcn["sample_id"].iloc[5:])
    bad = gcn.copy()
    bad.loc[3, "y_true"] = bad.loc[3, "y_true"] % 17 + 1
    bad_id = bad.loc[3, "sample_id"]
    with pytest.raises(ValueError, match=rf"'y_true' differs .* 1 sample\(s\), e.g. sample_id \[{bad_id}\]"):
        fusion.fuse(s2, bad, 0.6)
    moved = gcn.copy()
    moved["sample_id"] += 100000
    with pytest.raises(ValueError, match="share no sample_id"):
        fusion.fuse(s2, moved, 0.6)
    with pytest.raises(ValueError, match=r"alpha: 1.5 is not a fusion weight; expected a number in \[0, 1\]"):
        fusion.fuse(s2, gcn, 1.5)


def brute_force_alpha(s2: pd.DataFrame, gcn: pd.DataFrame, grid) -> float:
    """Independent search: plain loops over val samples; tie → closest to 0.6, then smaller."""
    g = gcn.set_index("sample_id")
    candidates = []
    for a in grid:
        correct = 0
        total = 0
        for _, row in s2[s2["split"] == "val"].iterrows():
            other = g.loc[row["sample_id"]]
            best_code, best_p = None, -1.0
            for code in range(1, 18):
                value = a * row[f"p_{code}"] + (1 - a) * other[f"p_{code}"]
                if value > best_p:
                    best_code, best_p = code, value
            correct += best_code == row["y_true"]
            total += 1
        candidates.append((-round(correct / total, 12), round(abs(a - 0.6), 12), a))
    return min(candidates)[2]


@pytest.mark.parametrize("seed", [0, 4])
def test_tune_alpha_matches_brute_force(seed):
    s2, gcn = two_streams(seed, n=120)
    grid = np.linspace(0, 1, 11)
    alpha, curve = fusion.tune_alpha(s2, gcn, grid=grid)
    assert alpha == pytest.approx(brute_force_alpha(s2, gcn, grid))
    assert curve["alpha"].tolist() == pytest.approx(grid.tolist())
    val = s2["split"] == "val"
    for a, score in zip(curve["alpha"], curve["score"]):
        fused = fusion.fuse(s2, gcn, a)
        expected = np.mean(fused.loc[val.to_numpy(), "y_pred"].to_numpy() == s2.loc[val, "y_true"].to_numpy())
        assert score == pytest.approx(expected)


def test_tune_alpha_ignores_the_test_split():
    s2, gcn = two_streams(2, n=150)
    alpha, curve = fusion.tune_alpha(s2, gcn, grid=GRID)
    scrambled = s2.copy()
    test = scrambled["split"] == "test"
    rolled = np.roll(scrambled.loc[test, list(PROB_COLUMNS)].to_numpy(), 5, axis=1)
    scrambled.loc[test, list(PROB_COLUMNS)] = rolled
    alpha2, curve2 = fusion.tune_alpha(scrambled, gcn, grid=GRID)
    assert alpha2 == alpha
    np.testing.assert_allclose(curve2["score"], curve["score"])


def test_tie_break_prefers_alpha_closest_to_0_6():
    s2, _ = two_streams(5, n=60)
    alpha, curve = fusion.tune_alpha(s2, s2.copy(), grid=GRID)  # identical streams: every α scores the same
    assert alpha == pytest.approx(0.6)
    assert curve["score"].nunique() == 1
    grid = np.linspace(0, 1, 21)
    plateau = np.where(grid >= 0.7 - 1e-9, 0.9, 0.8)
    assert fusion.choose_alpha(grid, plateau) == pytest.approx(0.7)
    equidistant = np.where(np.isclose(grid, 0.55) | np.isclose(grid, 0.65), 0.9, 0.8)
    assert fusion.choose_alpha(grid, equidistant) == pytest.approx(0.55)


def test_tune_alpha_rejects_bad_arguments():
    s2, gcn = two_streams(0, n=30)
    with pytest.raises(ValueError, match="metric: 'nll' is not supported"):
        fusion.tune_alpha(s2, gcn, grid=GRID, metric="nll")
    with pytest.raises(ValueError, match=r"grid: -0.1 is not a fusion weight"):
        fusion.tune_alpha(s2, gcn, grid=[-0.1, 0.5])
    only_test = s2.assign(split="test")
    with pytest.raises(ValueError, match="no validation samples"):
        fusion.tune_alpha(only_test, gcn.assign(split="test"), grid=GRID)


def test_read_predictions_round_trip_and_errors(tmp_path):
    s2, _ = two_streams(0, n=20)
    path = tmp_path / "m.csv"
    write_predictions(s2, path, float_format=None)
    back = read_predictions(path)
    pd.testing.assert_frame_equal(back, validate_predictions(s2, "x"), check_exact=False, rtol=1e-12)
    assert list(back.columns) == list(PREDICTION_COLUMNS)

    with pytest.raises(FileNotFoundError, match="nope.csv: prediction file not found"):
        read_predictions(tmp_path / "nope.csv")

    def broken(name: str, df: pd.DataFrame):
        p = tmp_path / name
        df.to_csv(p, index=False)
        return p

    cases = [
        ("missing.csv", s2.drop(columns=["p_9"]), r"missing.csv: missing column\(s\) \['p_9'\]"),
        ("label.csv", s2.assign(y_true=0), r"label.csv: column 'y_true' has values \[0\] outside the LCZ"),
        ("pred.csv", s2.assign(y_pred=18), r"pred.csv: column 'y_pred' has values \[18\]"),
        ("split.csv", s2.assign(split="train"), r"split.csv: split values \['train'\] not allowed"),
        ("dup.csv", s2.assign(sample_id=1), "dup.csv: duplicate sample_id"),
        ("sum.csv", s2.assign(p_1=s2["p_1"] + 0.1), r"sum.csv: 20 probability row\(s\) do not sum to 1"),
        ("neg.csv", s2.assign(p_1=-0.5, p_2=s2["p_2"] + s2["p_1"] + 0.5), "neg.csv: probabilities must be"),
        ("nan.csv", s2.assign(p_3=np.nan), r"nan.csv: missing values in column\(s\) \['p_3'\]"),
    ]
    for name, df, message in cases:
        with pytest.raises(ValueError, match=message):
            read_predictions(broken(name, df))
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(ValueError, match="empty.csv: not a readable prediction CSV"):
        read_predictions(empty)


def test_fuse_files_fixed_and_tuned(tmp_path):
    s2, gcn = two_streams(6, n=80)
    write_predictions(s2, tmp_path / "s2.csv", float_format=None)
    write_predictions(gcn, tmp_path / "gcn.csv", float_format=None)
    used = fuse_files(tmp_path / "s2.csv", tmp_path / "gcn.csv", tmp_path / "df4lcz.csv", alpha=0.6)
    assert used == 0.6
    np.testing.assert_allclose(probabilities(read_predictions(tmp_path / "df4lcz.csv")),
                               0.6 * probabilities(s2) + 0.4 * probabilities(gcn), atol=1e-12)
    tuned = fuse_files(tmp_path / "s2.csv", tmp_path / "gcn.csv", tmp_path / "tuned.csv", alpha=None,
                       curve_path=tmp_path / "alpha.csv", grid=GRID)
    expected_alpha, _ = fusion.tune_alpha(s2, gcn, grid=GRID)
    assert tuned == expected_alpha
    chosen, curve = read_alpha_curve(tmp_path / "alpha.csv")
    assert chosen == pytest.approx(tuned) and len(curve) == 21
    with pytest.raises(ValueError, match="curve_path: required when alpha is None"):
        fuse_files(tmp_path / "s2.csv", tmp_path / "gcn.csv", tmp_path / "x.csv", alpha=None)
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]


@pytest.mark.parametrize(("metric", "sk_score"), [
    ("kappa", lambda t, p: skm.cohen_kappa_score(t, p)),
    ("f1_macro", lambda t, p: skm.f1_score(t, p, average="macro", zero_division=0)),
    ("f1_weighted", lambda t, p: skm.f1_score(t, p, average="weighted", zero_division=0)),
])
def test_tune_alpha_other_metrics_match_sklearn(metric, sk_score):
    s2, gcn = two_streams(8, n=100)
    grid = [0.0, 0.3, 0.6, 1.0]
    alpha, curve = fusion.tune_alpha(s2, gcn, grid=grid, metric=metric)
    val = (s2["split"] == "val").to_numpy()
    expected = []
    for a in grid:
        fused = fusion.fuse(s2, gcn, a)
        expected.append(sk_score(fused.loc[val, "y_true"].to_numpy(), fused.loc[val, "y_pred"].to_numpy()))
    np.testing.assert_allclose(curve["score"], expected, atol=1e-12)
    assert alpha == fusion.choose_alpha(np.array(grid), np.array(expected))
