"""Metrics checked against scikit-learn and hand computations, including edge cases."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from df4lcz.evaluation import metrics
from df4lcz.io.predictions import PROB_COLUMNS, write_predictions

CODES = np.arange(1, 18)


def make_predictions(seed: int, n_val: int = 150, n_test: int = 400, skill: float = 2.5) -> pd.DataFrame:
    """Seeded predictions with realistic structure: imbalanced classes, confusions between
    neighbouring classes (LCZ 1↔2, 4↔5 ...), softmax probabilities and argmax labels."""
    rng = np.random.default_rng(seed)
    n = n_val + n_test
    freq = rng.dirichlet(np.full(17, 0.8))
    y = rng.choice(CODES, size=n, p=freq)
    logits = rng.normal(0.0, 1.0, size=(n, 17))
    logits[np.arange(n), y - 1] += skill * rng.uniform(0.3, 1.5, size=n)
    neighbour = np.clip(y + rng.choice([-1, 1], size=n), 1, 17)
    logits[np.arange(n), neighbour - 1] += 1.2
    proba = np.exp(logits - logits.max(axis=1, keepdims=True))
    proba /= proba.sum(axis=1, keepdims=True)
    frame = pd.DataFrame(
        {
            "sample_id": rng.permutation(10 * n)[:n],
            "split": np.where(np.arange(n) < n_val, "val", "test"),
            "y_true": y,
            "y_pred": proba.argmax(axis=1) + 1,
        }
    )
    return pd.concat([frame, pd.DataFrame(proba, columns=list(PROB_COLUMNS))], axis=1)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_metrics_match_sklearn_from_a_predictions_file(tmp_path, seed):
    path = tmp_path / "pred.csv"
    write_predictions(make_predictions(seed), path, float_format=None)
    raw = pd.read_csv(path)  # read independently of df4lcz
    test = raw[raw["split"] == "test"]
    t, p = test["y_true"].to_numpy(), test["y_pred"].to_numpy()

    got = metrics.classification_metrics(t, p)
    assert got.n == len(test)
    assert got.oa == pytest.approx(skm.accuracy_score(t, p), abs=1e-12)
    built, natural = t <= 10, t >= 11
    assert got.oa_bu == pytest.approx(skm.accuracy_score(t[built], p[built]), abs=1e-12)
    assert got.oa_n == pytest.approx(skm.accuracy_score(t[natural], p[natural]), abs=1e-12)
    assert got.kappa == pytest.approx(skm.cohen_kappa_score(t, p), abs=1e-12)
    sk_f1 = {avg: skm.f1_score(t, p, average=avg, zero_division=0) for avg in ("weighted", "macro")}
    assert got.f1_weighted == pytest.approx(sk_f1["weighted"], abs=1e-12)
    assert got.f1_macro == pytest.approx(sk_f1["macro"], abs=1e-12)
    np.testing.assert_array_equal(got.confusion, skm.confusion_matrix(t, p, labels=CODES))

    table = got.per_class()
    assert list(table.columns) == list(metrics.PER_CLASS_COLUMNS)
    assert table["class"].tolist() == CODES.tolist()
    ua = skm.precision_score(t, p, labels=CODES, average=None, zero_division=np.nan)
    pa = skm.recall_score(t, p, labels=CODES, average=None, zero_division=np.nan)
    np.testing.assert_allclose(table["UA"], ua, atol=1e-12)
    np.testing.assert_allclose(table["PA"], pa, atol=1e-12)
    np.testing.assert_array_equal(table["support"], np.bincount(t, minlength=18)[1:])


def test_hand_computed_example():
    y_true = [1, 1, 2, 2, 12]
    y_pred = [1, 2, 2, 2, 11]
    got = metrics.classification_metrics(y_true, y_pred)
    assert got.oa == pytest.approx(3 / 5)
    assert got.oa_bu == pytest.approx(3 / 4)
    assert got.oa_n == 0.0
    # rows r = (2, 2, 1 @12), columns c = (1, 3, 1 @11): Σ r·c = 2·1 + 2·3 = 8; κ = (5·3 − 8)/(25 − 8)
    assert got.kappa == pytest.approx(7 / 17)
    table = got.per_class().set_index("class")
    assert table.loc[1, "UA"] == 1.0 and table.loc[1, "PA"] == 0.5
    assert table.loc[2, "UA"] == pytest.approx(2 / 3) and table.loc[2, "PA"] == 1.0
    assert table.loc[2, "F1"] == pytest.approx(0.8)
    assert np.isnan(table.loc[11, "PA"]) and table.loc[11, "UA"] == 0.0 and table.loc[11, "F1"] == 0.0
    assert np.isnan(table.loc[5, "F1"])  # absent from both y_true and y_pred
    # macro over the 4 present classes {1, 2, 11, 12}: F1 = 2/3, 0.8, 0, 0
    assert got.f1_macro == pytest.approx((2 / 3 + 0.8) / 4)
    assert got.f1_weighted == pytest.approx((2 * 2 / 3 + 2 * 0.8) / 5)


def _quiet(fn, *args):
    """Call ``fn`` turning any warning into an error (the metrics must not warn)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return fn(*args)


def _sk_quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


EDGE_CASES = {
    "class_absent_from_test": (
        np.array([1, 1, 2, 3, 3, 3, 12, 12, 17]),
        np.array([1, 5, 2, 3, 2, 3, 12, 11, 17]),  # 5 predicted but never true; 6 absent in both
    ),
    "all_predictions_one_class": (np.array([1, 2, 3, 4, 11, 11, 17]), np.full(7, 11)),
    "single_class_present": (np.full(6, 3), np.full(6, 3)),
    "single_true_class_other_prediction": (np.full(4, 3), np.full(4, 9)),
    "no_natural_classes": (np.array([1, 2, 2, 10]), np.array([1, 2, 3, 10])),
}


@pytest.mark.parametrize("case", sorted(EDGE_CASES))
def test_edge_cases_match_sklearn_without_warnings(case):
    t, p = EDGE_CASES[case]
    got = _quiet(metrics.classification_metrics, t, p)
    assert got.oa == pytest.approx(skm.accuracy_score(t, p))
    sk_kappa = _sk_quiet(skm.cohen_kappa_score, t, p)
    if np.isnan(sk_kappa):
        assert np.isnan(got.kappa)
    else:
        assert got.kappa == pytest.approx(sk_kappa, abs=1e-12)
    sk_macro = _sk_quiet(skm.f1_score, t, p, average="macro", zero_division=0)
    assert got.f1_macro == pytest.approx(sk_macro, abs=1e-12)
    assert got.f1_weighted == pytest.approx(
        _sk_quiet(skm.f1_score, t, p, average="weighted", zero_division=0), abs=1e-12
    )
    table = _quiet(got.per_class)
    ua = _sk_quiet(skm.precision_score, t, p, labels=CODES, average=None, zero_division=np.nan)
    pa = _sk_quiet(skm.recall_score, t, p, labels=CODES, average=None, zero_division=np.nan)
    np.testing.assert_allclose(table["UA"], ua, atol=1e-12)
    np.testing.assert_allclose(table["PA"], pa, atol=1e-12)


def test_edge_case_specific_values():
    no_nat = metrics.classification_metrics(*EDGE_CASES["no_natural_classes"])
    assert np.isnan(no_nat.oa_n) and no_nat.oa_bu == pytest.approx(3 / 4)
    no_built = metrics.classification_metrics([11, 12, 17], [11, 11, 17])
    assert np.isnan(no_built.oa_bu) and no_built.oa_n == pytest.approx(2 / 3)
    assert np.isnan(metrics.classification_metrics(*EDGE_CASES["single_class_present"]).kappa)
    assert metrics.classification_metrics(*EDGE_CASES["single_true_class_other_prediction"]).kappa == 0.0
    empty = _quiet(metrics.classification_metrics, np.array([], dtype=int), np.array([], dtype=int))
    assert empty.n == 0
    for value in (empty.oa, empty.oa_bu, empty.oa_n, empty.kappa, empty.f1_macro, empty.f1_weighted):
        assert np.isnan(value)


def test_invalid_labels_raise_clear_errors():
    with pytest.raises(ValueError, match=r"y_pred: values \[18\] are outside the LCZ codes 1–17"):
        metrics.confusion_matrix([1, 2], [1, 18])
    with pytest.raises(ValueError, match="y_true: values \\[0\\]"):
        metrics.overall_accuracy([0, 2], [1, 2])
    with pytest.raises(ValueError, match="differ in length: 2 vs 3"):
        metrics.classification_metrics([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="must be integers"):
        metrics.confusion_matrix([1.5], [1])
    with pytest.raises(ValueError, match=r"expected a \(17, 17\) confusion matrix"):
        metrics.cohen_kappa(np.zeros((3, 3)))


def test_stacked_confusion_matrices_score_like_sklearn():
    """A (B, 17, 17) stack (the bootstrap's batch) gives each matrix's sklearn scores, edge cases included."""
    rng = np.random.default_rng(5)
    cases = []
    for k in range(6):
        n = 0 if k == 0 else int(rng.integers(5, 80))
        t = rng.integers(1, 11 if k == 1 else 18, size=n)  # k = 1: built classes only (OA_N undefined)
        p = np.where(rng.uniform(size=n) < 0.6, t, rng.integers(1, 18, size=n))
        if k == 2:
            t, p = np.full(n, 4), np.full(n, 4)  # kappa undefined
        cases.append((t, p))
    stack = np.stack([metrics.confusion_matrix(t, p) for t, p in cases])
    got = {
        "OA": metrics.overall_accuracy_cm(stack),
        "OA_BU": metrics.group_accuracy(stack, metrics.BUILT_CODES),
        "OA_N": metrics.group_accuracy(stack, metrics.NATURAL_CODES),
        "kappa": metrics.cohen_kappa(stack),
        "F1_weighted": metrics.f1_weighted(stack),
        "F1_macro": metrics.f1_macro(stack),
    }
    assert all(v.shape == (len(cases),) for v in got.values())
    for b, (t, p) in enumerate(cases):
        natural = t > 10
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = {
                "OA": skm.accuracy_score(t, p) if t.size else np.nan,
                "OA_BU": skm.accuracy_score(t[~natural], p[~natural]) if (~natural).any() else np.nan,
                "OA_N": skm.accuracy_score(t[natural], p[natural]) if natural.any() else np.nan,
                "kappa": np.nan if b in (0, 2) else skm.cohen_kappa_score(t, p),
                "F1_weighted": skm.f1_score(t, p, average="weighted", zero_division=0) if t.size else np.nan,
                "F1_macro": skm.f1_score(t, p, average="macro", zero_division=0) if t.size else np.nan,
            }
        for name, value in expected.items():
            if np.isnan(value):
                assert np.isnan(got[name][b]), (name, b)
            else:
                assert got[name][b] == pytest.approx(value), (name, b)
            single = {
                "OA": metrics.overall_accuracy_cm,
                "kappa": metrics.cohen_kappa,
                "F1_weighted": metrics.f1_weighted,
                "F1_macro": metrics.f1_macro,
            }.get(name)
            if single is not None:
                assert isinstance(single(stack[b]), float)


def test_weighted_accuracy_equals_its_definition_on_a_hand_made_matrix():
    """Σ w_ij cm_ij / N (the form of the LCZ Generator's OA_w), written out cell by cell on a small
    hand-made confusion matrix with hand-made weights."""
    cm = np.zeros((17, 17), dtype=np.int64)
    cm[0, 0], cm[0, 1] = 6, 2  # LCZ 1: 6 right, 2 as LCZ 2
    cm[5, 5], cm[5, 13] = 3, 1  # LCZ 6: 3 right, 1 as D
    cm[10, 10], cm[10, 11] = 4, 3  # A: 4 right, 3 as B
    cm[16, 16] = 5  # G: all right
    n = 6 + 2 + 3 + 1 + 4 + 3 + 5
    w = np.eye(17)
    w[0, 1], w[5, 13], w[10, 11] = 0.5, 0.0, 0.25
    expected = (6 * 1.0 + 2 * 0.5 + 3 * 1.0 + 1 * 0.0 + 4 * 1.0 + 3 * 0.25 + 5 * 1.0) / n
    assert metrics.weighted_accuracy(cm, w) == pytest.approx(expected)
    assert expected == pytest.approx(19.75 / 24)
    # any weight matrix: the definition summed with loops
    w = np.random.default_rng(0).uniform(size=(17, 17))
    looped = sum(w[i, j] * cm[i, j] for i in range(17) for j in range(17)) / n
    assert metrics.weighted_accuracy(cm, w) == pytest.approx(looped, rel=1e-12)
    # identity weights give OA
    assert metrics.weighted_accuracy(cm, np.eye(17)) == pytest.approx(metrics.overall_accuracy_cm(cm))
    # stacks, the empty matrix, bad weights
    stack = np.stack([cm, np.zeros_like(cm), 2 * cm])
    out = metrics.weighted_accuracy(stack, w)
    assert out.shape == (3,) and out[0] == out[2] == pytest.approx(looped) and np.isnan(out[1])
    with pytest.raises(ValueError, match=r"weights: expected a \(17, 17\) matrix"):
        metrics.weighted_accuracy(cm, np.eye(3))


def test_per_class_table_with_intervals():
    cm = metrics.confusion_matrix([1, 1, 2, 12], [1, 2, 2, 12])
    lohi = {s: np.column_stack([np.arange(17) / 100, np.arange(17) / 50]) for s in ("UA", "PA", "F1")}
    table = metrics.per_class_table(cm, lohi)
    assert list(table.columns) == [*metrics.PER_CLASS_COLUMNS, *metrics.PER_CLASS_CI_COLUMNS]
    assert metrics.PER_CLASS_CI_COLUMNS == ("UA_lo", "UA_hi", "PA_lo", "PA_hi", "F1_lo", "F1_hi")
    np.testing.assert_array_equal(table["F1_hi"], np.arange(17) / 50)
    assert list(metrics.per_class_table(cm).columns) == list(metrics.PER_CLASS_COLUMNS)
