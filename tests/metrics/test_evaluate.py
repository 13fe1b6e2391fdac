"""The top-level evaluate_scores(): structure, threshold provenance and agreement with the building blocks."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from medms.errors import ConfigError
from medms.metrics import evaluate_scores, select_threshold
from medms.metrics.binary import AT_THRESHOLD_METRICS
from tests.metrics.conftest import binormal, softmax_probs

ESTIMATE_KEYS = {"value", "low", "high", "method", "note"}
TOP_KEYS = {
    "schema_version", "n", "class_names", "class_counts", "level", "n_bootstrap", "seed", "prevalence",
    "threshold", "auc", "average_precision", "at_threshold", "roc", "pr", "calibration", "confusion_matrix",
    "threshold_table", "per_class", "averages", "subgroups", "notes",
}  # fmt: skip


def binary_data(seed: int = 0, n_neg: int = 90, n_pos: int = 60) -> tuple[np.ndarray, np.ndarray]:
    y, s = binormal(np.random.default_rng(seed), n_neg, n_pos, 1.2)
    pos = 1 / (1 + np.exp(-(s - 0.6)))
    return y, np.column_stack([1 - pos, pos])


def test_binary_structure_is_json_and_matches_sklearn() -> None:
    y, p = binary_data()
    site = np.array(["A", "B", "C"] * 50)
    r = evaluate_scores(y, p, class_names=["benign", "malignant"], n_bootstrap=200, groups={"site": site})
    assert set(r) == TOP_KEYS
    text = json.dumps(r)  # NaN allowed (Python writes NaN), nothing else exotic
    assert json.loads(text)["n"] == 150
    assert r["auc"]["value"] == pytest.approx(roc_auc_score(y, p[:, 1])) and set(r["auc"]) == ESTIMATE_KEYS
    assert r["average_precision"]["value"] == pytest.approx(average_precision_score(y, p[:, 1]))
    assert set(r["at_threshold"]) == {*AT_THRESHOLD_METRICS, "counts"}
    assert r["threshold"] == {"value": 0.5, "method": "fixed", "target": None, "source": "default",
                              "n_selection": None}  # fmt: skip
    assert r["prevalence"] == pytest.approx(0.4)
    assert r["class_counts"] == {"benign": 90, "malignant": 60}
    counts = r["at_threshold"]["counts"]
    assert r["confusion_matrix"]["counts"] == [[counts["tn"], counts["fp"]], [counts["fn"], counts["tp"]]]
    assert 0.5 in [row["threshold"] for row in r["threshold_table"]]
    assert [g["group"] for g in r["subgroups"]["site"]] == ["A", "B", "C"]
    assert r["per_class"] is None and r["averages"] is None and r["notes"] == []
    assert len(r["calibration"]["bins"]) == 10 and set(r["calibration"]["brier"]) == ESTIMATE_KEYS


def test_threshold_from_selection_set_is_applied_and_recorded() -> None:
    y, p = binary_data(seed=1)
    y_val, p_val = binary_data(seed=2)
    r = evaluate_scores(y, p, class_names=["neg", "pos"], threshold_from=(y_val, p_val),
                 threshold_method="sensitivity", target=0.9, n_bootstrap=50)  # fmt: skip
    expected = select_threshold(y_val, p_val[:, 1], "sensitivity", target=0.9)
    assert r["threshold"] == {"value": expected, "method": "sensitivity", "target": 0.9,
                              "source": "selection set", "n_selection": 150}  # fmt: skip
    assert r["at_threshold"]["counts"]["tp"] == int(np.sum((p[:, 1] >= expected) & (y == 1)))
    fixed = evaluate_scores(y, p, class_names=["neg", "pos"], threshold=0.3, n_bootstrap=50)
    assert fixed["threshold"]["source"] == "user" and fixed["threshold"]["value"] == 0.3


def test_threshold_is_never_tuned_on_the_test_set_silently() -> None:
    y, p = binary_data()
    with pytest.raises(ConfigError, match="threshold_from"):
        evaluate_scores(y, p, class_names=["n", "p"], threshold_method="youden", n_bootstrap=10)
    with pytest.raises(ConfigError, match="not both"):
        evaluate_scores(y, p, class_names=["n", "p"], threshold=0.4, threshold_from=(y, p),
                 threshold_method="youden", n_bootstrap=10)  # fmt: skip
    with pytest.raises(ConfigError, match="for a fixed value pass threshold"):
        evaluate_scores(y, p, class_names=["n", "p"], threshold_from=(y, p), n_bootstrap=10)
    with pytest.raises(ConfigError, match="a target applies"):
        evaluate_scores(y, p, class_names=["n", "p"], target=0.9, n_bootstrap=10)


def test_single_class_reports_undefined_auc_but_other_metrics() -> None:
    y = np.zeros(20, dtype=int)
    pos = np.linspace(0.05, 0.7, 20)
    r = evaluate_scores(y, np.column_stack([1 - pos, pos]), class_names=["n", "p"], n_bootstrap=50)
    json.dumps(r)
    assert math.isnan(r["auc"]["value"]) and "only one class" in r["auc"]["note"]
    assert r["at_threshold"]["specificity"]["value"] == pytest.approx(np.mean(pos < 0.5))
    assert math.isnan(r["at_threshold"]["sensitivity"]["value"])
    assert r["notes"] and r["roc"]["fpr"] == []


def test_multiclass_structure() -> None:
    rng = np.random.default_rng(5)
    y = rng.integers(0, 3, 150)
    p = softmax_probs(rng, y, 3, 1.5)
    r = evaluate_scores(
        y, p, class_names=["a", "b", "c"], n_bootstrap=100, groups={"g": rng.integers(0, 2, 150)}
    )
    json.dumps(r)
    assert set(r) == TOP_KEYS
    assert r["threshold"]["method"] == "argmax" and r["threshold"]["value"] is None
    assert r["auc"] == r["averages"]["macro"]
    assert r["auc"]["value"] == pytest.approx(roc_auc_score(y, p, multi_class="ovr"))
    assert [c["class"] for c in r["per_class"]] == ["a", "b", "c"]
    first = r["per_class"][0]
    assert first["auc"]["value"] == pytest.approx(roc_auc_score(y == 0, p[:, 0]))
    assert first["at_threshold"]["sensitivity"]["value"] == pytest.approx(np.mean(p[y == 0].argmax(1) == 0))
    assert np.array(r["confusion_matrix"]["counts"]).sum() == 150
    assert r["calibration"]["kind"] == "top-label" and r["threshold_table"] == []
    assert set(r["prevalence"]) == {"a", "b", "c"}
    with pytest.raises(ConfigError, match="binary problems only"):
        evaluate_scores(y, p, class_names=["a", "b", "c"], threshold=0.5, n_bootstrap=10)


def test_same_seed_same_numbers() -> None:
    y, p = binary_data()
    a = evaluate_scores(y, p, class_names=["n", "p"], n_bootstrap=100, seed=7)
    b = evaluate_scores(y, p, class_names=["n", "p"], n_bootstrap=100, seed=7)
    assert json.dumps(a) == json.dumps(b)
