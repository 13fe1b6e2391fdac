"""Multi-class: confusion matrix, one-vs-rest averages and argmax metrics against scikit-learn."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    balanced_accuracy_score,
    cohen_kappa_score,
    f1_score,
    matthews_corrcoef,
    roc_auc_score,
)
from sklearn.metrics import confusion_matrix as sk_confusion_matrix

from medms.errors import ConfigError, LabelError
from medms.metrics import auc_averages, confusion_matrix, multiclass_metrics
from tests.metrics.conftest import softmax_probs


@settings(max_examples=30, deadline=None, derandomize=True, database=None)
@given(st.integers(3, 6), st.integers(0, 10_000))
def test_auc_averages_match_sklearn(k: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = np.r_[np.arange(k), rng.integers(0, k, 40)]  # every class present
    p = softmax_probs(rng, y, k, signal=rng.uniform(0, 2))
    avg = auc_averages(y, p, n_bootstrap=30)
    assert avg["macro"].value == pytest.approx(roc_auc_score(y, p, multi_class="ovr", average="macro"))
    assert avg["weighted"].value == pytest.approx(roc_auc_score(y, p, multi_class="ovr", average="weighted"))
    assert avg["micro"].value == pytest.approx(roc_auc_score(np.eye(k)[y], p, average="micro"))
    ap = auc_averages(y, p, metric="average_precision", n_bootstrap=30)
    assert ap["macro"].value == pytest.approx(average_precision_score(np.eye(k)[y], p, average="macro"))
    assert ap["micro"].value == pytest.approx(average_precision_score(np.eye(k)[y], p, average="micro"))


@settings(max_examples=30, deadline=None, derandomize=True, database=None)
@given(st.integers(3, 5), st.integers(0, 10_000))
def test_argmax_metrics_and_confusion_matrix_match_sklearn(k: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = np.r_[np.arange(k), rng.integers(0, k, 50)]
    p = softmax_probs(rng, y, k, signal=1.0)
    pred = p.argmax(axis=1)
    m = multiclass_metrics(y, p, n_bootstrap=30)
    assert m["accuracy"].value == pytest.approx(accuracy_score(y, pred))
    assert m["balanced_accuracy"].value == pytest.approx(balanced_accuracy_score(y, pred))
    assert m["macro_f1"].value == pytest.approx(f1_score(y, pred, average="macro", labels=range(k)))
    assert m["mcc"].value == pytest.approx(matthews_corrcoef(y, pred))
    assert m["kappa"].value == pytest.approx(cohen_kappa_score(y, pred))
    cm = confusion_matrix(y, pred, labels=[f"c{j}" for j in range(k)])
    assert cm["counts"] == sk_confusion_matrix(y, pred, labels=range(k)).tolist()
    assert np.allclose(np.array(cm["normalized"]).sum(axis=1), 1.0)


def test_macro_auc_bootstrap_interval_is_sensible_and_seeded() -> None:
    rng = np.random.default_rng(6)
    y = rng.integers(0, 3, 240)
    p = softmax_probs(rng, y, 3, signal=1.0)
    avg = auc_averages(y, p, n_bootstrap=400, seed=2)
    for est in avg.values():
        assert est.low < est.value < est.high and est.high - est.low < 0.2
    assert avg == auc_averages(y, p, n_bootstrap=400, seed=2)


def test_absent_class_is_left_out_with_a_note() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 60)  # class 2 never occurs
    p = softmax_probs(rng, y, 3)
    avg = auc_averages(y, p, class_names=["a", "b", "c"], n_bootstrap=50)
    assert "c" in avg["macro"].note
    with np.errstate(all="ignore"):
        expected = np.mean([roc_auc_score(y == j, p[:, j]) for j in (0, 1)])
    assert avg["macro"].value == pytest.approx(expected)
    cm = confusion_matrix(y, p.argmax(axis=1), labels=["a", "b", "c"])
    assert all(math.isnan(v) for v in cm["normalized"][2])


def test_errors() -> None:
    with pytest.raises(LabelError, match="outside the class range"):
        confusion_matrix(np.array([0, 3]), np.array([0, 1]), labels=["a", "b", "c"])
    with pytest.raises(ConfigError, match="metric"):
        auc_averages(np.array([0, 1, 2]), np.eye(3), metric="f1")
