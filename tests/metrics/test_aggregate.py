"""Series to study/patient aggregation."""

from __future__ import annotations

import numpy as np
import pytest

from medms.errors import ConfigError, DataError, LabelError
from medms.metrics import aggregate


def test_binary_max_and_mean_keep_first_appearance_order() -> None:
    ids = ["b", "a", "b", "c", "a"]
    p = np.array([0.1, 0.6, 0.9, 0.3, 0.2])
    out_ids, out_p = aggregate(ids, p, "max")
    assert out_ids.tolist() == ["b", "a", "c"] and out_p.tolist() == [0.9, 0.6, 0.3]
    _, mean_p = aggregate(ids, p, "mean")
    assert mean_p == pytest.approx([0.5, 0.4, 0.3])
    _, two_col = aggregate(ids, np.column_stack([1 - p, p]), "max")
    assert two_col[:, 1] == pytest.approx([0.9, 0.6, 0.3]) and two_col.sum(axis=1) == pytest.approx(1)


def test_multiclass_max_is_renormalised_and_mean_sums_to_one() -> None:
    p = np.array([[0.2, 0.3, 0.5], [0.6, 0.2, 0.2], [0.1, 0.1, 0.8]])
    _, mx = aggregate([1, 1, 2], p, "max")
    assert mx[0] == pytest.approx(np.array([0.6, 0.3, 0.5]) / 1.4)
    _, mean = aggregate([1, 1, 2], p, "mean")
    assert mean.sum(axis=1) == pytest.approx([1, 1])


def test_labels_are_carried_and_conflicts_raise() -> None:
    _, _, labels = aggregate(["x", "x", "y"], np.array([0.2, 0.3, 0.9]), labels=[0, 0, 1])
    assert labels.tolist() == [0, 1]
    with pytest.raises(LabelError, match="1 ids have rows with different labels"):
        aggregate(["x", "x"], np.array([0.2, 0.3]), labels=[0, 1])


def test_bad_input() -> None:
    with pytest.raises(ConfigError, match="'max' or 'mean'"):
        aggregate(["x"], np.array([0.2]), "median")
    with pytest.raises(DataError, match="no id"):
        aggregate(["x", None], np.array([0.2, 0.4]))
    with pytest.raises(DataError, match="2 ids for 3"):
        aggregate(["x", "y"], np.array([0.2, 0.4, 0.5]))
