"""DeLong AUC, the paired DeLong test, ROC/PR points and average precision."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm, rankdata
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score, roc_curve

from medms.errors import DataError, LabelError
from medms.metrics import average_precision, delong_auc, delong_test, pr_points, roc_points
from medms.metrics.roc import weighted_auc_ap
from tests.metrics.conftest import binormal

labels_and_scores = st.integers(2, 60).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(0, 1), min_size=n, max_size=n).filter(lambda y: 0 < sum(y) < len(y)),
        # Few distinct values so ties are common.
        st.lists(st.integers(0, 6), min_size=n, max_size=n),
    )
)


def naive_delong_variance(y: np.ndarray, s: np.ndarray) -> float:
    """DeLong (1988) from the O(n^2) pairwise kernel, independent of the midrank shortcut."""
    pos, neg = s[y == 1], s[y == 0]
    psi = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    v10, v01 = psi.mean(axis=1), psi.mean(axis=0)
    return v10.var(ddof=1) / pos.size + v01.var(ddof=1) / neg.size


@settings(max_examples=80, deadline=None, derandomize=True, database=None)
@given(labels_and_scores)
def test_delong_auc_matches_sklearn_and_naive_variance(data: tuple[list[int], list[int]]) -> None:
    y, s = np.array(data[0]), np.array(data[1], dtype=float) / 6
    est = delong_auc(y, s)
    assert est.value == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    if min(y.sum(), (1 - y).sum()) >= 2:
        half = norm.ppf(0.975) * math.sqrt(naive_delong_variance(y, s))
        assert est.low == pytest.approx(max(0.0, est.value - half), abs=1e-9)
        assert est.high == pytest.approx(min(1.0, est.value + half), abs=1e-9)


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(labels_and_scores, st.lists(st.integers(0, 4), min_size=60, max_size=60))
def test_weighted_auc_ap_match_sklearn_sample_weight(data, weights) -> None:
    y, s = np.array(data[0]), np.array(data[1], dtype=float)
    w = np.array(weights[: y.size], dtype=float)
    if not (w[y == 1].sum() > 0 and w[y == 0].sum() > 0):
        return
    auc, ap = weighted_auc_ap(y.astype(bool), s, np.vstack([w, np.ones_like(w)]))
    assert auc[0] == pytest.approx(roc_auc_score(y, s, sample_weight=w), abs=1e-12)
    assert ap[0] == pytest.approx(average_precision_score(y, s, sample_weight=w), abs=1e-12)
    assert ap[1] == pytest.approx(average_precision_score(y, s), abs=1e-12)


def test_delong_variance_agrees_with_a_large_bootstrap() -> None:
    rng = np.random.default_rng(2024)
    y, s = binormal(rng, 150, 100, 1.0)
    est = delong_auc(y, s)
    delong_se = (est.high - est.low) / (2 * norm.ppf(0.975))
    pos, neg = s[y == 1], s[y == 0]
    # Stratified bootstrap (class sizes fixed, as DeLong conditions on them), Mann-Whitney AUC per resample.
    b = 20000
    bp = pos[rng.integers(0, pos.size, (b, pos.size))]
    bn = neg[rng.integers(0, neg.size, (b, neg.size))]
    ranks = rankdata(np.hstack([bp, bn]), axis=1)[:, : pos.size]
    aucs = (ranks.sum(axis=1) - pos.size * (pos.size + 1) / 2) / (pos.size * neg.size)
    assert delong_se == pytest.approx(aucs.std(), rel=0.05)


def test_delong_interval_covers_true_auc_about_95_percent() -> None:
    rng = np.random.default_rng(99)
    shift = 1.0
    true_auc = norm.cdf(shift / math.sqrt(2))
    reps = 600
    covered = 0
    for _ in range(reps):
        y, s = binormal(rng, 80, 60, shift)
        est = delong_auc(y, s)
        covered += est.low <= true_auc <= est.high
    assert 0.925 <= covered / reps <= 0.975


def test_delong_auc_single_class_is_nan_with_note() -> None:
    est = delong_auc(np.zeros(5, dtype=int), np.linspace(0, 1, 5))
    assert math.isnan(est.value) and "only one class" in est.note


def test_delong_auc_perfect_separation_has_a_note() -> None:
    est = delong_auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.2, 0.8, 0.9]))
    assert (est.value, est.low, est.high) == (1.0, 1.0, 1.0) and "perfectly separated" in est.note


def test_delong_auc_rejects_bad_labels_and_scores() -> None:
    with pytest.raises(LabelError, match="outside the class range"):
        delong_auc(np.array([0, 1, 2]), np.array([0.1, 0.2, 0.3]))
    with pytest.raises(DataError, match="NaN"):
        delong_auc(np.array([0, 1, 1]), np.array([0.1, np.nan, 0.3]))
    with pytest.raises(DataError, match="3 values"):
        delong_auc(np.array([0, 1, 1]), np.array([0.1, 0.3]))


def test_delong_test_matches_pairwise_kernel_covariance() -> None:
    rng = np.random.default_rng(5)
    y, a = binormal(rng, 70, 50, 1.2)
    b = a + rng.normal(0, 1.0, a.size)
    result = delong_test(y, a, b)
    pos, neg = y == 1, y == 0

    def components(s):
        psi = (s[pos][:, None] > s[neg][None, :]) + 0.5 * (s[pos][:, None] == s[neg][None, :])
        return psi.mean(axis=1), psi.mean(axis=0)

    (xa, ya), (xb, yb) = components(a), components(b)
    var = (np.var(xa - xb, ddof=1) / pos.sum()) + (np.var(ya - yb, ddof=1) / neg.sum())
    diff = roc_auc_score(y, a) - roc_auc_score(y, b)
    assert result["difference"].value == pytest.approx(diff)
    assert result["z"] == pytest.approx(diff / math.sqrt(var))
    assert result["p_value"] == pytest.approx(2 * norm.sf(abs(diff) / math.sqrt(var)))
    assert result["auc_a"].value == pytest.approx(roc_auc_score(y, a))


def test_delong_test_type_one_error_near_nominal() -> None:
    # Two equally good, correlated models: the test should reject about 5 % of the time.
    rng = np.random.default_rng(31)
    reps, rejections = 500, 0
    for _ in range(reps):
        y, base = binormal(rng, 60, 60, 1.0)
        a = base + rng.normal(0, 0.7, base.size)
        b = base + rng.normal(0, 0.7, base.size)
        rejections += delong_test(y, a, b)["p_value"] < 0.05
    assert 0.025 <= rejections / reps <= 0.08


def test_delong_test_identical_scores_is_undefined_not_an_error() -> None:
    y, s = np.array([0, 1, 0, 1, 1]), np.array([0.1, 0.9, 0.4, 0.3, 0.8])
    result = delong_test(y, s, s)
    assert result["difference"].value == 0.0 and math.isnan(result["p_value"]) and result["note"]


def test_roc_and_pr_points_match_sklearn() -> None:
    rng = np.random.default_rng(1)
    y, s = binormal(rng, 40, 30, 1.0)
    roc = roc_points(y, s)
    fpr, tpr, thr = roc_curve(y, s)
    assert roc["fpr"] == fpr.tolist() and roc["tpr"] == tpr.tolist()
    assert math.isnan(roc["thresholds"][0]) and roc["thresholds"][1:] == thr[1:].tolist()
    pr = pr_points(y, s)
    precision, recall, pthr = precision_recall_curve(y, s, drop_intermediate=True)
    assert pr["precision"] == precision.tolist() and pr["recall"] == recall.tolist()
    assert len(pr["thresholds"]) == len(pr["precision"]) and pr["thresholds"][:-1] == pthr.tolist()


def test_curves_empty_when_one_class() -> None:
    y, s = np.zeros(4, dtype=int), np.linspace(0, 1, 4)
    assert roc_points(y, s) == {"fpr": [], "tpr": [], "thresholds": []}
    assert pr_points(y, s)["precision"] == []


def test_average_precision_value_interval_and_seed() -> None:
    rng = np.random.default_rng(4)
    y, s = binormal(rng, 100, 50, 1.0)
    est = average_precision(y, s, n_bootstrap=500, seed=3)
    assert est.value == pytest.approx(average_precision_score(y, s))
    assert est.low < est.value < est.high
    assert est == average_precision(y, s, n_bootstrap=500, seed=3)
    assert est != average_precision(y, s, n_bootstrap=500, seed=4)
    assert math.isnan(average_precision(np.zeros(3, dtype=int), np.ones(3), n_bootstrap=10).value)
