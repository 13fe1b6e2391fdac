"""Wilson intervals and the stratified bootstrap machinery."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medms.errors import ConfigError
from medms.metrics import Estimate, percentile_interval, wilson_interval
from medms.metrics.intervals import bootstrap_estimate, bootstrap_samples, bootstrap_weights


def test_wilson_matches_newcombe_published_example() -> None:
    # Newcombe (1998) Table I: 81/263 -> 0.2553 to 0.3662.
    low, high = wilson_interval(81, 263)
    assert low == pytest.approx(0.2553, abs=5e-5)
    assert high == pytest.approx(0.3662, abs=5e-5)


def test_wilson_edges_stay_in_unit_interval() -> None:
    # Newcombe (1998): 0/10 -> 0 to 0.2775 and 10/10 -> 0.7225 to 1.
    assert wilson_interval(0, 10) == pytest.approx((0.0, 0.2775), abs=5e-5)
    assert wilson_interval(10, 10) == pytest.approx((0.7225, 1.0), abs=5e-5)


def test_wilson_empty_is_nan_and_bad_level_raises() -> None:
    assert all(math.isnan(v) for v in wilson_interval(0, 0))
    with pytest.raises(ConfigError, match="level"):
        wilson_interval(1, 2, level=1.5)


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(n=st.integers(1, 500), frac=st.floats(0, 1), level=st.sampled_from([0.8, 0.9, 0.95, 0.99]))
def test_wilson_contains_point_and_widens_with_level(n: int, frac: float, level: float) -> None:
    k = round(frac * n)
    low, high = wilson_interval(k, n, level)
    assert 0.0 <= low <= k / n <= high <= 1.0
    low99, high99 = wilson_interval(k, n, 0.999)
    assert low99 <= low + 1e-12 and high <= high99 + 1e-12


def test_wilson_coverage_on_simulated_binomials() -> None:
    rng = np.random.default_rng(7)
    for p_true, n in [(0.1, 40), (0.5, 30), (0.85, 120)]:
        hits = rng.binomial(n, p_true, size=4000)
        covered = np.mean([lo <= p_true <= hi for lo, hi in (wilson_interval(k, n) for k in hits)])
        assert 0.92 <= covered <= 0.98, (p_true, n, covered)


def test_bootstrap_weights_keep_class_counts_and_are_seeded() -> None:
    strata = np.array([0] * 7 + [1] * 3 + [2] * 5)
    chunks = list(bootstrap_weights(strata, 250, np.random.default_rng(3)))
    weights = np.vstack(chunks)
    assert weights.shape == (250, strata.size)
    for s, size in [(0, 7), (1, 3), (2, 5)]:
        assert np.all(weights[:, strata == s].sum(axis=1) == size)
    again = np.vstack(list(bootstrap_weights(strata, 250, np.random.default_rng(3))))
    assert np.array_equal(weights, again)
    # Each case is drawn 1 time per resample on average.
    assert weights.mean() == pytest.approx(1.0, abs=0.05)


def test_bootstrap_weights_chunk_large_inputs() -> None:
    strata = np.zeros(300_000, dtype=int)
    sizes = [c.shape[0] for c in bootstrap_weights(strata, 7, np.random.default_rng(0))]
    assert sum(sizes) == 7 and len(sizes) > 1


def test_bootstrap_samples_of_the_mean_match_the_standard_error() -> None:
    rng = np.random.default_rng(11)
    x = rng.normal(size=400)
    strata = np.zeros(x.size, dtype=int)
    samples = bootstrap_samples(lambda w: {"mean": w @ x / x.size}, strata, 4000, seed=0)["mean"]
    assert samples.std() == pytest.approx(x.std() / math.sqrt(x.size), rel=0.08)


def test_percentile_interval_ignores_undefined_and_counts_them() -> None:
    samples = np.r_[np.arange(100.0), [np.nan] * 5]
    low, high, n_undefined = percentile_interval(samples, 0.9)
    assert n_undefined == 5
    assert low == pytest.approx(4.95) and high == pytest.approx(94.05)
    est = bootstrap_estimate(50.0, samples, 0.9)
    assert "5 of 105" in est.note


def test_estimate_undefined_and_to_dict() -> None:
    est = Estimate.undefined("DeLong", "only one class present")
    d = est.to_dict()
    assert math.isnan(d["value"]) and d["note"] == "only one class present" and not est.is_defined
    assert type(Estimate(np.float64(0.5), 0, 1, "x").value) is float
