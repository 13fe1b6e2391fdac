"""Bad input becomes a typed error with a message that says what and where."""

from __future__ import annotations

import numpy as np
import pytest

from medms.errors import DataError, InputError, LabelError
from medms.metrics import evaluate_scores

NAMES2 = ["neg", "pos"]


def probs2(pos: list[float]) -> np.ndarray:
    pos_arr = np.asarray(pos, dtype=float)
    return np.column_stack([1 - pos_arr, pos_arr])


@pytest.mark.parametrize(
    ("y", "probs", "names", "error", "match"),
    [
        ([0, 1], np.array([[0.5, 0.5], [np.nan, 0.5]]), NAMES2, DataError, r"hold NaN .*rows 1"),
        ([0, 1], np.array([[1.2, -0.2], [0.5, 0.5]]), NAMES2, DataError, r"outside \[0, 1\] \(rows 0\)"),
        ([0, 1, 2], np.array([[0.5, 0.3, 0.1]] * 3), "abc", DataError, r"3 prediction rows do not sum to 1"),
        ([0, 1], np.array([[[0.5, 0.5]]]), NAMES2, DataError, "must be an \\(n, K\\) array"),
        ([], np.zeros((0, 2)), NAMES2, DataError, "empty"),
        ([0, 1], probs2([0.2, 0.7]), ["a", "b", "c"], DataError, "3 class names for 2"),
        ([0, 1], probs2([0.2, 0.7]), ["a", "a"], DataError, "unique"),
        ([0, 2, 5], probs2([0.2, 0.7, 0.1]), NAMES2, LabelError, r"2 labels are outside .*rows 1, 2"),
        ([0, 0.5], probs2([0.2, 0.7]), NAMES2, LabelError, "not whole class indices"),
        ([0, 1, 1], probs2([0.2, 0.7]), NAMES2, LabelError, "3 labels for 2 predictions"),
        ([[0, 1]], probs2([0.2, 0.7]), NAMES2, LabelError, "1-D"),
        (["x", "y"], probs2([0.2, 0.7]), NAMES2, LabelError, "class indices"),
    ],
)
def test_bad_input_raises_typed_error(y, probs, names, error, match) -> None:
    with pytest.raises(error, match=match) as info:
        evaluate_scores(np.asarray(y), probs, class_names=names, n_bootstrap=10)
    assert isinstance(info.value, InputError) and isinstance(info.value, ValueError)


def test_many_bad_rows_are_counted_and_a_few_shown() -> None:
    pos = np.full(50, 0.5)
    pos[[3, 7, 11, 20, 30, 40, 45]] = 1.5
    with pytest.raises(DataError, match=r"7 prediction rows .*rows 3, 7, 11, 20, 30, \.\.\. \(7 in all\)"):
        evaluate_scores(np.zeros(50, dtype=int), probs2(pos.tolist()), class_names=NAMES2, n_bootstrap=10)


def test_row_sum_tolerance_and_one_dimensional_scores() -> None:
    p = np.array([[0.2, 0.3, 0.50005], [0.1, 0.1, 0.8]])
    r = evaluate_scores(np.array([2, 2]), p / 1.0, class_names="abc", n_bootstrap=10)
    assert r["n"] == 2
    r = evaluate_scores(np.array([0, 1, 1]), np.array([0.2, 0.7, 0.9]), class_names=NAMES2, n_bootstrap=10)
    assert r["auc"]["value"] == 1.0
