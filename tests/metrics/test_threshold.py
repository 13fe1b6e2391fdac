"""Threshold selection and the threshold table."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medms.errors import ConfigError, LabelError
from medms.metrics import select_threshold, threshold_table
from medms.metrics.binary import rates_from_counts

cases = st.integers(3, 50).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(0, 1), min_size=n, max_size=n).filter(lambda y: 0 < sum(y) < len(y)),
        st.lists(st.integers(0, 20), min_size=n, max_size=n),
    )
)


def sens_spec(y: np.ndarray, s: np.ndarray, t: float) -> tuple[float, float]:
    pred = s >= t
    return pred[y == 1].mean(), (~pred[y == 0]).mean()


@settings(max_examples=80, deadline=None, derandomize=True, database=None)
@given(cases, st.floats(0, 1))
def test_selected_thresholds_are_optimal_by_brute_force(data, target: float) -> None:
    y, s = np.array(data[0]), np.array(data[1]) / 20
    candidates = np.unique(s)
    rates = {t: sens_spec(y, s, t) for t in candidates}

    t = select_threshold(y, s, "youden")
    best_j = max(se + sp - 1 for se, sp in rates.values())
    assert sum(sens_spec(y, s, t)) - 1 == pytest.approx(best_j)

    t = select_threshold(y, s, "sensitivity", target=target)
    assert sens_spec(y, s, t)[0] >= target - 1e-12
    assert all(t >= c for c in candidates if rates[c][0] >= target - 1e-12)

    t = select_threshold(y, s, "specificity", target=target)
    assert sens_spec(y, s, t)[1] >= target - 1e-12
    meeting = [c for c in candidates if rates[c][1] >= target - 1e-12]
    if meeting:
        assert t == min(meeting)
    else:
        assert t > s.max()


def test_fixed_and_errors() -> None:
    y, s = np.array([0, 1, 0, 1]), np.array([0.2, 0.8, 0.3, 0.6])
    assert select_threshold(y, s, "fixed", target=0.42) == 0.42
    with pytest.raises(ConfigError, match="unknown threshold method"):
        select_threshold(y, s, "best")
    with pytest.raises(ConfigError, match="needs a target"):
        select_threshold(y, s, "sensitivity")
    with pytest.raises(ConfigError, match=r"\[0, 1\]"):
        select_threshold(y, s, "specificity", target=1.5)
    with pytest.raises(LabelError, match="only one class"):
        select_threshold(np.ones(4, dtype=int), s, "youden")


def test_threshold_table_rows_match_counts() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    s = rng.uniform(size=200)
    rows = threshold_table(y, s)
    assert [r["threshold"] for r in rows] == pytest.approx([0.1 * k for k in range(1, 10)])
    for row in rows:
        pred = s >= row["threshold"]
        assert row["tp"] == int(np.sum(pred & (y == 1))) and row["n_called_positive"] == int(pred.sum())
        expected = rates_from_counts(row["tp"], row["fp"], row["tn"], row["fn"])
        assert row["mcc"] == pytest.approx(float(expected["mcc"]))
    sens = [r["sensitivity"] for r in rows]
    assert sens == sorted(sens, reverse=True)
