"""Paired comparison of two models."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from sklearn.metrics import recall_score, roc_auc_score

from medms.errors import DataError
from medms.metrics import compare, delong_test
from tests.metrics.conftest import binormal, softmax_probs


def to_prob(score: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-score))


def test_binary_compare_uses_delong_and_paired_bootstrap() -> None:
    rng = np.random.default_rng(10)
    y, base = binormal(rng, 150, 100, 1.5)
    a, b = to_prob(base), to_prob(base + rng.normal(0, 1.5, base.size))
    r = compare(y, a, b, n_bootstrap=500, seed=0)
    json.dumps(r)
    expected = delong_test(y, a, b)
    assert r["p_value"] == pytest.approx(expected["p_value"])
    assert r["auc_a"]["value"] == pytest.approx(roc_auc_score(y, a))
    assert r["difference"]["value"] == pytest.approx(roc_auc_score(y, a) - roc_auc_score(y, b))
    sens = r["at_threshold"]["sensitivity"]
    assert sens["a"]["value"] == pytest.approx(recall_score(y, a >= 0.5))
    assert sens["difference"]["value"] == pytest.approx(sens["a"]["value"] - sens["b"]["value"])
    assert sens["difference"]["low"] <= sens["difference"]["value"] <= sens["difference"]["high"]


def test_paired_bootstrap_is_narrower_than_unpaired_for_correlated_models() -> None:
    # The paired design is the point: two near-identical models differ little in every resample.
    rng = np.random.default_rng(12)
    y, base = binormal(rng, 200, 200, 1.0)
    a, b = to_prob(base), to_prob(base + rng.normal(0, 0.2, base.size))
    r = compare(y, a, b, n_bootstrap=500)
    acc = r["at_threshold"]["accuracy"]
    paired_width = acc["difference"]["high"] - acc["difference"]["low"]
    unpaired_width = math.hypot(acc["a"]["high"] - acc["a"]["low"], acc["b"]["high"] - acc["b"]["low"])
    assert paired_width < 0.5 * unpaired_width


def test_same_model_gives_zero_difference() -> None:
    rng = np.random.default_rng(1)
    y, s = binormal(rng, 30, 30, 1.0)
    r = compare(y, to_prob(s), to_prob(s), n_bootstrap=100)
    assert r["difference"]["value"] == 0.0 and math.isnan(r["p_value"])
    spec = r["at_threshold"]["specificity"]["difference"]
    assert (spec["value"], spec["low"], spec["high"]) == (0.0, 0.0, 0.0)


def test_multiclass_compare_bootstraps_macro_auc() -> None:
    rng = np.random.default_rng(2)
    y = rng.integers(0, 3, 150)
    a, b = softmax_probs(rng, y, 3, 2.0), softmax_probs(rng, y, 3, 0.5)
    r = compare(y, a, b, n_bootstrap=200)
    json.dumps(r)
    assert r["auc_a"]["value"] == pytest.approx(roc_auc_score(y, a, multi_class="ovr"))
    assert r["difference"]["low"] > 0 and math.isnan(r["p_value"])
    assert set(r["at_threshold"]) == {"accuracy", "balanced_accuracy", "macro_f1", "kappa"}


def test_shape_mismatch_raises() -> None:
    with pytest.raises(DataError, match="different prediction shapes"):
        compare(np.array([0, 1]), np.array([0.2, 0.8]), np.eye(3)[:2], n_bootstrap=10)
