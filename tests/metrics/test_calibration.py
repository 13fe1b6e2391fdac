"""Brier score, expected calibration error and the reliability curve."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import brier_score_loss

from medms.errors import ConfigError
from medms.metrics import calibration, reliability_bins
from tests.metrics.conftest import softmax_probs


@settings(max_examples=40, deadline=None, derandomize=True, database=None)
@given(st.lists(st.tuples(st.floats(0, 1), st.integers(0, 1)), min_size=1, max_size=60), st.integers(1, 15))
def test_ece_matches_brute_force(pairs, n_bins: int) -> None:
    p = np.array([a for a, _ in pairs])
    y = np.array([b for _, b in pairs])
    ece, bins = reliability_bins(p, y, n_bins)
    assert sum(b["count"] for b in bins) == p.size
    expected = 0.0
    for b in bins:
        inside = (p >= b["lower"]) & ((p < b["upper"]) | (b["upper"] == 1.0))
        assert inside.sum() == b["count"]
        if inside.any():
            assert b["mean_predicted"] == pytest.approx(p[inside].mean())
            expected += inside.sum() / p.size * abs(p[inside].mean() - y[inside].mean())
    assert ece == pytest.approx(expected, abs=1e-12)


def test_binary_brier_matches_sklearn_and_ece_small_when_calibrated() -> None:
    rng = np.random.default_rng(2)
    p = rng.uniform(size=5000)
    y = (rng.uniform(size=5000) < p).astype(int)  # calibrated by construction
    c = calibration(y, p, n_bootstrap=200)
    assert c["kind"] == "binary"
    assert c["brier"].value == pytest.approx(brier_score_loss(y, p))
    assert c["brier"].low < c["brier"].value < c["brier"].high
    assert c["ece"] < 0.03
    over = calibration(y, np.clip(p + 0.2, 0, 1), n_bootstrap=50)  # overconfident in the positive class
    assert over["ece"] > 0.1


def test_multiclass_brier_and_top_label_curve() -> None:
    rng = np.random.default_rng(3)
    y = rng.integers(0, 4, 300)
    p = softmax_probs(rng, y, 4)
    c = calibration(y, p, n_bootstrap=100)
    assert c["kind"] == "top-label"
    assert c["brier"].value == pytest.approx(brier_score_loss(y, p, labels=[0, 1, 2, 3]))
    top = p.max(axis=1)
    assert sum(b["count"] for b in c["bins"]) == 300
    ece, _ = reliability_bins(top, p.argmax(axis=1) == y)
    assert c["ece"] == pytest.approx(ece)


def test_empty_bins_are_listed_with_nan_and_bad_bins_raise() -> None:
    _, bins = reliability_bins(np.array([0.05, 0.95]), np.array([0, 1]), n_bins=10)
    assert len(bins) == 10 and bins[5]["count"] == 0 and np.isnan(bins[5]["mean_predicted"])
    with pytest.raises(ConfigError):
        reliability_bins(np.array([0.5]), np.array([1]), n_bins=0)
