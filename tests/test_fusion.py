"""Prediction-file validation, late fusion arithmetic and the α search."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from df4lcz.config import schema_defaults
from df4lcz.evaluation import fusion
from df4lcz.io.alpha_curve import read_alpha_curve, read_fusion_table
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
    s2 = frame(
        [1, 2, 3],
        ["val", "test", "test"],
        [1, 2, 17],
        one_hot_rows([{1: 0.6, 2: 0.4}, {1: 0.9, 2: 0.1}, {17: 0.5, 16: 0.5}]),
    )
    gcn = frame(
        [3, 2, 1],
        ["test", "test", "val"],
        [17, 2, 1],
        one_hot_rows([{16: 1.0}, {2: 0.8, 3: 0.2}, {1: 0.2, 2: 0.8}]),
    )
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


def paper_outputs(tmp_path, names=("df4lcz", "df4lcz_tuned")):
    return {m: tmp_path / f"{m}.csv" for m in names}


def test_fuse_files_fixed_and_tuned(tmp_path):
    s2, gcn = two_streams(6, n=80)
    write_predictions(s2, tmp_path / "s2.csv", float_format=None)
    write_predictions(gcn, tmp_path / "gcn.csv", float_format=None)
    table = fuse_files(
        tmp_path / "s2.csv",
        tmp_path / "gcn.csv",
        paper_outputs(tmp_path),
        tmp_path / "alpha.csv",
        tmp_path / "fusion.csv",
        alpha=0.6,
        grid=GRID,
        calibrate=False,
    )
    assert table["model"].tolist() == ["df4lcz", "df4lcz_tuned"]
    np.testing.assert_allclose(
        probabilities(read_predictions(tmp_path / "df4lcz.csv")),
        0.6 * probabilities(s2) + 0.4 * probabilities(gcn),
        atol=1e-12,
    )
    expected_alpha, _ = fusion.tune_alpha(s2, gcn, grid=GRID)
    chosen, curve = read_alpha_curve(tmp_path / "alpha.csv")
    assert chosen == {"df4lcz_tuned": pytest.approx(expected_alpha)} and len(curve) == 21
    np.testing.assert_allclose(
        probabilities(read_predictions(tmp_path / "df4lcz_tuned.csv")),
        expected_alpha * probabilities(s2) + (1 - expected_alpha) * probabilities(gcn),
    )
    back = read_fusion_table(tmp_path / "fusion.csv")
    assert back["alpha"].tolist() == pytest.approx([0.6, expected_alpha])
    assert back["alpha_tuned"].tolist() == [False, True] and not back["calibrated"].any()
    assert back[["T_s2", "T_gcn"]].isna().all().all()
    with pytest.raises(
        ValueError,
        match=r"with calibrate=True the fuse rule makes \['df4lcz', 'df4lcz_tuned', "
        r"'df4lcz_cal', 'df4lcz_cal_tuned'\]",
    ):
        fuse_files(
            tmp_path / "s2.csv",
            tmp_path / "gcn.csv",
            paper_outputs(tmp_path),
            tmp_path / "alpha.csv",
            tmp_path / "fusion.csv",
            alpha=0.6,
            grid=GRID,
            calibrate=True,
        )
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]


def scaled_stream(seed: int, ids, y, splits, skill: float, sharp: float) -> pd.DataFrame:
    """A stream whose logits are multiplied by ``sharp`` (< 1 under-confident, > 1 over-confident)."""
    rng = np.random.default_rng(seed)
    n = ids.size
    logits = rng.normal(0.0, 1.0, size=(n, 17))
    logits[np.arange(n), y - 1] += skill
    logits *= sharp
    return frame(ids, splits, y, np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True))


def plain_temperature(proba: np.ndarray, y: np.ndarray) -> float:
    """Independent fit: the T of a fine log-spaced grid with the least mean NLL of softmax(log p / T)."""
    best_t, best_nll = None, np.inf
    for t in np.exp(np.linspace(np.log(0.05), np.log(20.0), 2001)):
        z = np.log(proba) / t
        z = z - z.max(axis=1, keepdims=True)
        nll = np.mean(np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(y)), y - 1])
        if nll < best_nll:
            best_t, best_nll = t, nll
    return best_t


def plain_softmax_t(proba: np.ndarray, t: float) -> np.ndarray:
    z = np.log(proba) / t
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_calibrated_fusion_files_and_table(tmp_path):
    rng = np.random.default_rng(77)
    n = 600
    ids, y = np.arange(n), rng.integers(1, 18, size=n)
    splits = np.where(np.arange(n) % 2 == 0, "val", "test")
    # the better stream is under-confident, the weaker one over-confident: the raw mix follows the weaker one
    s2 = scaled_stream(1, ids, y, splits, skill=3.0, sharp=0.25)
    gcn = scaled_stream(2, ids, y, splits, skill=1.2, sharp=4.0)
    write_predictions(s2, tmp_path / "s2.csv", float_format=None)
    write_predictions(gcn, tmp_path / "gcn.csv", float_format=None)
    outputs = paper_outputs(tmp_path, ("df4lcz", "df4lcz_tuned", "df4lcz_cal", "df4lcz_cal_tuned"))
    fuse_files(
        tmp_path / "s2.csv",
        tmp_path / "gcn.csv",
        outputs,
        tmp_path / "alpha.csv",
        tmp_path / "fusion.csv",
        alpha=0.6,
        grid=GRID,
        calibrate=True,
    )
    table = read_fusion_table(tmp_path / "fusion.csv").set_index("model")
    assert table.index.tolist() == ["df4lcz", "df4lcz_tuned", "df4lcz_cal", "df4lcz_cal_tuned"]
    assert table["calibrated"].tolist() == [False, False, True, True]
    val = splits == "val"
    t_s2 = plain_temperature(probabilities(s2)[val], y[val])
    t_gcn = plain_temperature(probabilities(gcn)[val], y[val])
    assert t_s2 < 0.5 < 2.0 < t_gcn  # the streams' sharpening is undone
    for model in ("df4lcz_cal", "df4lcz_cal_tuned"):
        assert table.loc[model, "T_s2"] == pytest.approx(t_s2, rel=2e-3)
        assert table.loc[model, "T_gcn"] == pytest.approx(t_gcn, rel=2e-3)
    cal_s2 = plain_softmax_t(probabilities(s2), table.loc["df4lcz_cal", "T_s2"])
    cal_gcn = plain_softmax_t(probabilities(gcn), table.loc["df4lcz_cal", "T_gcn"])
    chosen, curve = read_alpha_curve(tmp_path / "alpha.csv")
    assert sorted(chosen) == ["df4lcz_cal_tuned", "df4lcz_tuned"] and len(curve) == 2 * len(GRID)
    expected = {
        "df4lcz": 0.6 * probabilities(s2) + 0.4 * probabilities(gcn),
        "df4lcz_cal": 0.6 * cal_s2 + 0.4 * cal_gcn,
        "df4lcz_tuned": chosen["df4lcz_tuned"] * probabilities(s2)
        + (1 - chosen["df4lcz_tuned"]) * probabilities(gcn),
        "df4lcz_cal_tuned": chosen["df4lcz_cal_tuned"] * cal_s2 + (1 - chosen["df4lcz_cal_tuned"]) * cal_gcn,
    }
    for model, proba in expected.items():
        fused = read_predictions(outputs[model])
        np.testing.assert_allclose(probabilities(fused), proba, atol=1e-9)
        np.testing.assert_array_equal(fused["y_pred"], proba.argmax(axis=1) + 1)
        assert table.loc[model, "val_accuracy"] == pytest.approx(
            np.mean(proba[val].argmax(axis=1) + 1 == y[val])
        )
        assert table.loc[model, "n_val"] == val.sum()
    # the tuned α is the best of the calibrated curve, scored independently
    cal_curve = curve[curve["model"] == "df4lcz_cal_tuned"]
    for a, score in zip(cal_curve["alpha"], cal_curve["score"]):
        mix = a * cal_s2[val] + (1 - a) * cal_gcn[val]
        assert score == pytest.approx(np.mean(mix.argmax(axis=1) + 1 == y[val]))
    assert table.loc["df4lcz_cal", "val_accuracy"] > table.loc["df4lcz", "val_accuracy"] + 0.03


def test_calibrate_stream_needs_val_rows():
    s2, _ = two_streams(0, n=30)
    with pytest.raises(ValueError, match=r"S2: no validation samples .* \(fusion.calibrate\)"):
        fusion.calibrate_stream(s2.assign(split="test"), "S2")


def test_fusion_files_reject_broken_contents(tmp_path):
    curve = pd.DataFrame(
        {
            "model": ["df4lcz_tuned"] * 2,
            "alpha": [0.0, 1.0],
            "score": [0.5, 0.6],
            "metric": "accuracy",
            "chosen": [True, True],
        }
    )
    curve.to_csv(tmp_path / "alpha.csv", index=False)
    with pytest.raises(
        ValueError,
        match=r"alpha.csv: expected exactly one row with chosen = True for model "
        r"'df4lcz_tuned', found 2",
    ):
        read_alpha_curve(tmp_path / "alpha.csv")
    table = pd.DataFrame(
        {
            "model": ["df4lcz_cal"],
            "calibrated": [True],
            "alpha": [0.6],
            "alpha_tuned": [False],
            "T_s2": [np.nan],
            "T_gcn": [1.0],
            "val_accuracy": [0.9],
            "n_val": [10],
        }
    )
    table.to_csv(tmp_path / "fusion.csv", index=False)
    with pytest.raises(ValueError, match="fusion.csv: T_s2/T_gcn must be positive on calibrated rows"):
        read_fusion_table(tmp_path / "fusion.csv")
    with pytest.raises(FileNotFoundError, match="nope.csv: fusion table not found"):
        read_fusion_table(tmp_path / "nope.csv")


@pytest.mark.parametrize(
    ("metric", "sk_score"),
    [
        ("kappa", lambda t, p: skm.cohen_kappa_score(t, p)),
        ("f1_macro", lambda t, p: skm.f1_score(t, p, average="macro", zero_division=0)),
        ("f1_weighted", lambda t, p: skm.f1_score(t, p, average="weighted", zero_division=0)),
    ],
)
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


def test_fusion_setting_reproduces_each_fused_model_from_its_fusion_table(tmp_path):
    """map.fusion: the α and temperatures read back from fusion.csv fuse the stream probabilities into
    exactly the evaluation's fused probabilities of that model; ``recommended`` = highest val accuracy."""
    from df4lcz.evaluation.fusion import recommend_fusion
    from df4lcz.io.alpha_curve import write_fusion_table

    s2, gcn = two_streams(seed=4)
    outputs = fusion.fusion_outputs(s2, gcn, alpha=0.6, grid=GRID, calibrate=True)
    write_fusion_table(fusion.fusion_table(outputs), tmp_path / "fusion.csv")
    table = read_fusion_table(tmp_path / "fusion.csv")
    p_s2, p_gcn = probabilities(s2), probabilities(gcn)
    for out in outputs:
        setting = fusion.fusion_setting(table, out.model, "fusion.csv")
        assert setting.model == out.model and setting.alpha == out.alpha
        assert (setting.temperatures is None) == (out.temperatures is None)
        np.testing.assert_allclose(setting.fuse(p_s2, p_gcn), probabilities(out.predictions), rtol=1e-12)
    # df4lcz_cal by hand: softmax(log p / T) per stream, then α·P_S2 + (1 − α)·P_GCN
    cal = fusion.fusion_setting(table, "df4lcz_cal")
    t_s2, t_gcn = cal.temperatures
    assert cal.alpha == 0.6 and t_s2 > 0 and t_gcn > 0 and (t_s2, t_gcn) != (1.0, 1.0)

    def scaled(p: np.ndarray, t: float) -> np.ndarray:
        z = np.exp(np.log(np.maximum(p, 1e-12)) / t)
        return z / z.sum(axis=1, keepdims=True)

    np.testing.assert_allclose(
        cal.fuse(p_s2, p_gcn), 0.6 * scaled(p_s2, t_s2) + 0.4 * scaled(p_gcn, t_gcn), rtol=1e-10
    )
    best = table.loc[table["val_accuracy"].idxmax(), "model"]
    assert fusion.fusion_setting(table, "recommended").model == best
    assert recommend_fusion(table, table["model"].tolist())[0] == best
    with pytest.raises(ValueError, match=r"no row for fused model 'df4lcz_cal'"):
        fusion.fusion_setting(table[~table["model"].str.contains("cal")], "df4lcz_cal", "f.csv")
