"""Subgroup tables."""

from __future__ import annotations

import numpy as np
import pytest

from medms.errors import DataError
from medms.metrics import binary_metrics, delong_auc, subgroup_table
from tests.metrics.conftest import binormal, softmax_probs


def test_binary_rows_equal_metrics_on_the_subset() -> None:
    rng = np.random.default_rng(3)
    y, s = binormal(rng, 60, 60, 1.0)
    p = 1 / (1 + np.exp(-s))
    site = np.array(["B", "A", None, "A"] * 30, dtype=object)
    table = subgroup_table(y, p, {"site": site}, threshold=0.6, n_bootstrap=100)
    rows = table["site"]
    assert [r["group"] for r in rows] == ["(missing)", "A", "B"]
    assert sum(r["n"] for r in rows) == y.size
    a = site == "A"
    row = rows[1]
    assert row["auc"] == delong_auc(y[a], p[a])
    assert row["sensitivity"] == binary_metrics(y[a], p[a], 0.6, n_bootstrap=100)["sensitivity"]
    assert row["prevalence"] == pytest.approx(y[a].mean())


def test_multiclass_rows_and_length_mismatch() -> None:
    rng = np.random.default_rng(4)
    y = rng.integers(0, 3, 90)
    p = softmax_probs(rng, y, 3)
    table = subgroup_table(y, p, {"sex": np.array(["F", "M", "M"] * 30)}, class_names="abc", n_bootstrap=50)
    assert set(table["sex"][0]["prevalence"]) == {"a", "b", "c"}
    with pytest.raises(DataError, match="3 values for 90 cases"):
        subgroup_table(y, p, {"sex": ["F", "M", "M"]}, n_bootstrap=10)
