"""Binary metrics at a threshold against scikit-learn, and their intervals."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    cohen_kappa_score,
    f1_score,
    matthews_corrcoef,
    precision_score,
    recall_score,
)

from medms.metrics import binary_metrics, likelihood_ratios, rates_from_counts
from medms.metrics.binary import AT_THRESHOLD_METRICS
from tests.metrics.conftest import binormal

cases = st.integers(4, 80).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(0, 1), min_size=n, max_size=n).filter(lambda y: 0 < sum(y) < len(y)),
        st.lists(st.floats(0, 1), min_size=n, max_size=n),
        st.floats(0.05, 0.95),
    )
)


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(cases)
def test_point_values_match_sklearn(data) -> None:
    y, s, thr = np.array(data[0]), np.array(data[1]), data[2]
    pred = (s >= thr).astype(int)
    m = binary_metrics(y, s, thr, n_bootstrap=20)
    assert m["sensitivity"].value == pytest.approx(recall_score(y, pred))
    assert m["specificity"].value == pytest.approx(recall_score(1 - y, 1 - pred))
    assert m["accuracy"].value == pytest.approx(accuracy_score(y, pred))
    assert m["balanced_accuracy"].value == pytest.approx(balanced_accuracy_score(y, pred))
    counts = m["counts"]
    assert sum(counts.values()) == y.size and counts["tp"] == int(np.sum(pred & y))
    if pred.any():
        assert m["ppv"].value == pytest.approx(precision_score(y, pred))
        assert m["f1"].value == pytest.approx(f1_score(y, pred))
    else:
        assert math.isnan(m["ppv"].value) and m["ppv"].note == "no case called positive"
    if 0 < pred.sum() < y.size:
        assert m["mcc"].value == pytest.approx(matthews_corrcoef(y, pred))
        assert m["kappa"].value == pytest.approx(cohen_kappa_score(y, pred))
    for name in AT_THRESHOLD_METRICS:
        est = m[name]
        if est.is_defined and math.isfinite(est.low):
            assert est.low - 1e-9 <= est.value <= est.high + 1e-9, name


def test_interval_methods_and_reproducibility() -> None:
    rng = np.random.default_rng(8)
    y, s = binormal(rng, 120, 80, 1.2)
    m = binary_metrics(y, s, 0.5, n_bootstrap=300, seed=1)
    assert m["sensitivity"].method == "Wilson score"
    assert m["mcc"].method.startswith("stratified bootstrap")
    assert m["lr_positive"].method.startswith("log method")
    assert m == binary_metrics(y, s, 0.5, n_bootstrap=300, seed=1)


def test_bootstrap_interval_coverage_of_balanced_accuracy() -> None:
    # Scores ~ N(0,1) vs N(1,1), threshold 0.5: true sensitivity = specificity = Phi(0.5).
    rng = np.random.default_rng(17)
    truth = norm.cdf(0.5)
    reps, covered = 200, 0
    for rep in range(reps):
        y, s = binormal(rng, 80, 80, 1.0)
        est = binary_metrics(y, s, 0.5, n_bootstrap=400, seed=rep)["balanced_accuracy"]
        covered += est.low <= truth <= est.high
    assert 0.90 <= covered / reps <= 0.985


def test_likelihood_ratios_log_method_published_example() -> None:
    # Simel et al. (1991)-style check: LR+ = (a/n1)/(b/n0), SE(log) = sqrt(1/a - 1/n1 + 1/b - 1/n0).
    lr = likelihood_ratios(tp=45, fp=15, tn=85, fn=5)
    assert lr["lr_positive"].value == pytest.approx(0.9 / 0.15)
    se = math.sqrt(1 / 45 - 1 / 50 + 1 / 15 - 1 / 100)
    assert lr["lr_positive"].low == pytest.approx(6.0 * math.exp(-1.959964 * se), rel=1e-6)
    assert lr["lr_negative"].value == pytest.approx(0.1 / 0.85)


def test_undefined_values_are_nan_with_notes() -> None:
    y = np.array([0, 0, 1, 1])
    m = binary_metrics(y, np.array([0.1, 0.2, 0.3, 0.4]), 0.9, n_bootstrap=50)
    assert m["counts"] == {"tp": 0, "fp": 0, "tn": 2, "fn": 2}
    assert math.isnan(m["ppv"].value) and math.isnan(m["mcc"].value) and m["mcc"].note
    assert math.isnan(m["lr_positive"].value) and "infinite" in m["lr_positive"].note
    single = binary_metrics(np.ones(4, dtype=int), np.array([0.1, 0.6, 0.7, 0.8]), 0.5, n_bootstrap=50)
    assert single["sensitivity"].value == 0.75
    assert math.isnan(single["specificity"].value) and single["specificity"].note == "no negative cases"


def test_rates_from_counts_vectorised_equals_scalar() -> None:
    counts = np.array([[5, 1, 7, 2], [0, 3, 4, 1], [3, 0, 0, 2]])
    vec = rates_from_counts(*counts.T)
    for row, c in enumerate(counts):
        one = rates_from_counts(*c)
        for name, values in vec.items():
            assert np.array_equal(values[row], one[name], equal_nan=True), name
