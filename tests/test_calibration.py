"""ECE/MCE against a loop implementation; temperature scaling against known optima."""

from __future__ import annotations

import math

import numpy as np
import pytest

from df4lcz.config import schema_defaults
from df4lcz.evaluation import calibration

#: The ``evaluate.n_bins`` config default.
N_BINS = schema_defaults("evaluate")["n_bins"]


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def random_case(seed: int, n: int = 500) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(1, 18, size=n)
    z = rng.normal(0.0, 1.0, size=(n, 17))
    z[np.arange(n), y - 1] += rng.uniform(0.0, 4.0, size=n)
    return softmax(z * rng.uniform(0.5, 2.0)), y


def loop_ece_mce(proba: np.ndarray, y: np.ndarray, n_bins: int) -> tuple[float, float, list[int]]:
    """Independent reference: bin m holds m/M < conf <= (m+1)/M (bin 0 also conf = 0)."""
    n = len(y)
    members: list[list[int]] = [[] for _ in range(n_bins)]
    for i in range(n):
        row = list(proba[i])
        conf = max(row)
        for m in range(n_bins):
            lo, hi = m / n_bins, (m + 1) / n_bins
            if (conf > lo or m == 0) and (conf <= hi or m == n_bins - 1):
                members[m].append(i)
                break
    ece, mce = 0.0, 0.0
    for idx in members:
        if not idx:
            continue
        acc = sum(1.0 for i in idx if list(proba[i]).index(max(proba[i])) + 1 == y[i]) / len(idx)
        conf = sum(max(proba[i]) for i in idx) / len(idx)
        ece += len(idx) / n * abs(acc - conf)
        mce = max(mce, abs(acc - conf))
    return ece, mce, [len(idx) for idx in members]


@pytest.mark.parametrize(("seed", "n_bins"), [(0, 20), (1, 20), (2, 7), (3, 1)])
def test_ece_mce_match_loop(seed, n_bins):
    proba, y = random_case(seed)
    ece, mce = calibration.ece_mce(proba, y, n_bins=n_bins)
    ref_ece, ref_mce, ref_counts = loop_ece_mce(proba, y, n_bins)
    assert ece == pytest.approx(ref_ece, abs=1e-12)
    assert mce == pytest.approx(ref_mce, abs=1e-12)
    bins = calibration.reliability_bins(proba, y, n_bins)
    assert bins["count"].tolist() == ref_counts
    assert list(bins.columns) == list(calibration.RELIABILITY_COLUMNS)


def test_bins_are_right_closed_on_exact_edges():
    # max probabilities exactly 0.5 and 0.25 fall into the bin whose upper edge they are
    proba = np.zeros((3, 17))
    proba[0, :2] = 0.5
    proba[1, :4] = 0.25
    proba[2, 16] = 1.0
    bins = calibration.reliability_bins(proba, np.array([1, 2, 17]), n_bins=20)
    assert bins.loc[9, "count"] == 1 and bins.loc[9, "upper"] == 0.5  # (0.45, 0.5]
    assert bins.loc[4, "count"] == 1 and bins.loc[4, "upper"] == 0.25  # (0.2, 0.25]
    assert bins.loc[19, "count"] == 1
    # hand: bin 9 acc 1 conf .5, bin 4 acc 0 conf .25, bin 19 acc 1 conf 1 -> ECE = (.5 + .25 + 0)/3
    ece, mce = calibration.ece_mce(proba, np.array([1, 2, 17]), n_bins=20)
    assert ece == pytest.approx(0.25) and mce == pytest.approx(0.5)
    assert np.isnan(bins.loc[0, "accuracy"]) and np.isnan(bins.loc[0, "confidence"])


def test_empty_input_gives_nan():
    ece, mce = calibration.ece_mce(np.zeros((0, 17)), np.zeros(0, dtype=int), N_BINS)
    assert math.isnan(ece) and math.isnan(mce)


def test_temperature_recovered_exactly_when_labels_follow_the_true_distribution():
    """Each row's labels are replicated in exact proportion to q = softmax(z), and the model
    outputs softmax(k·z). The NLL of softmax(log p / T) is then the cross-entropy to q, minimal
    exactly at T = k (Gibbs' inequality)."""
    rng = np.random.default_rng(7)
    k = 2.7
    total = 40
    proba_rows, labels = [], []
    for _ in range(12):
        counts = 1 + rng.multinomial(total - 17, rng.dirichlet(np.full(17, 0.5)))
        z = np.log(counts / total)
        p = softmax((k * z)[None, :])[0]
        for code in range(1, 18):
            proba_rows += [p] * counts[code - 1]
            labels += [code] * counts[code - 1]
    proba, y = np.array(proba_rows), np.array(labels)
    t = calibration.fit_temperature(proba, y)
    assert t == pytest.approx(k, rel=1e-3)
    scaled = calibration.apply_temperature(proba, t)
    expected_first = np.array(proba_rows[0]) ** (1 / k)
    np.testing.assert_allclose(scaled[0], expected_first / expected_first.sum(), rtol=1e-3)


@pytest.mark.parametrize("k", [0.5, 2.5])
def test_temperature_recovered_from_sampled_labels(k):
    rng = np.random.default_rng(11)
    n = 20000
    z = rng.normal(0.0, 1.5, size=(n, 17))
    q = softmax(z)
    y = (q.cumsum(axis=1) > rng.uniform(size=(n, 1))).argmax(axis=1) + 1
    t = calibration.fit_temperature(softmax(k * z), y)
    assert t == pytest.approx(k, rel=0.02)


def test_fitted_temperature_minimises_nll():
    proba, y = random_case(5, n=400)
    t = calibration.fit_temperature(proba, y)
    best = calibration.temperature_nll(proba, y, t)
    for other in (1.0, t * 0.9, t * 1.1, t * 0.99, t * 1.01):
        assert best <= calibration.temperature_nll(proba, y, other) + 1e-12


def test_apply_temperature_dense_formula():
    p = np.full((2, 17), 0.01)
    p[0, 0] = 0.84
    p[1, 5] = 0.54
    p[1, 6] = 0.30
    for t in (0.5, 1.0, 3.0):
        expected = p ** (1 / t)
        expected /= expected.sum(axis=1, keepdims=True)
        np.testing.assert_allclose(calibration.apply_temperature(p, t), expected, rtol=1e-12)
    flat = calibration.apply_temperature(p, 1e6)
    np.testing.assert_allclose(flat, 1 / 17, rtol=1e-4)


def test_calibration_errors():
    with pytest.raises(ValueError, match=r"temperature: 0.0 is not a positive finite number"):
        calibration.apply_temperature(np.full((1, 17), 1 / 17), 0.0)
    with pytest.raises(ValueError, match=r"proba: expected an \(N, 17\) probability array, got shape \(2, 3"):
        calibration.ece_mce(np.full((2, 3), 1 / 3), np.array([1, 2]), N_BINS)
    with pytest.raises(ValueError, match="y_true has 1 labels but proba has 2 rows"):
        calibration.ece_mce(np.full((2, 17), 1 / 17), np.array([1]), N_BINS)
    with pytest.raises(ValueError, match="n_bins: 0 is not a positive integer"):
        calibration.ece_mce(np.full((2, 17), 1 / 17), np.array([1, 2]), n_bins=0)
    with pytest.raises(ValueError, match="no validation samples"):
        calibration.fit_temperature(np.zeros((0, 17)), np.zeros(0, dtype=int))
    with pytest.raises(ValueError, match="bounds"):
        calibration.fit_temperature(np.full((2, 17), 1 / 17), np.array([1, 2]), bounds=(2.0, 1.0))


def test_weighted_bin_sums_equal_the_repeated_samples():
    """ECE/MCE from bin sums with integer weights (a bootstrap resampling) = ECE/MCE of the repeated rows."""
    proba, y = random_case(9, n=300)
    rng = np.random.default_rng(1)
    weights = rng.integers(0, 4, size=(5, 300)).astype(float)
    idx, conf, correct = calibration.confidence_bins(proba, y, N_BINS)
    onehot = np.eye(N_BINS)[idx]
    ece, mce = calibration.ece_mce_from_sums(
        weights @ onehot, weights @ (onehot * correct[:, None]), weights @ (onehot * conf[:, None])
    )
    assert ece.shape == mce.shape == (5,)
    for b in range(5):
        rows = np.repeat(np.arange(300), weights[b].astype(int))
        expected = calibration.ece_mce(proba[rows], y[rows], N_BINS)
        assert (ece[b], mce[b]) == pytest.approx(expected)
        loop_ece, loop_mce, _ = loop_ece_mce(proba[rows], y[rows], N_BINS)
        assert (ece[b], mce[b]) == pytest.approx((loop_ece, loop_mce))
    empty = calibration.ece_mce_from_sums(np.zeros(N_BINS), np.zeros(N_BINS), np.zeros(N_BINS))
    assert np.isnan(empty[0]) and np.isnan(empty[1])
