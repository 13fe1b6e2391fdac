"""Joining predictions to labels: failed rows set aside, missing ids reported, aggregation and pairing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from medms.errors import LabelError, PredictionFileError
from medms.report.cohort import aggregate_cohort, check_label_coverage, join_labels, pair_cohorts
from medms.tables import read_labels, read_predictions

from .conftest import write_labels, write_predictions

PROBS = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
IDS = ["a", "b", "c", "d"]


def _cohort(tmp_path: Path, failed=None, labels=(0, 1, 0, 1), **extra):
    p = write_predictions(tmp_path / "p.csv", IDS, PROBS, failed=failed)
    lab = write_labels(tmp_path / "l.csv", IDS, list(labels), **extra)
    table = read_predictions(p)
    return join_labels(table, read_labels(lab, table.class_names), p, lab)


def test_join_orders_by_predictions_and_sets_failed_rows_aside(tmp_path: Path) -> None:
    cohort = _cohort(tmp_path, failed={"c": "unreadable"}, site=["x", "y", "x", "y"])
    assert cohort.ids.tolist() == ["a", "b", "d"]
    assert cohort.y.tolist() == [0, 1, 1]
    np.testing.assert_allclose(cohort.probs, PROBS[[0, 1, 3]])
    assert cohort.extra["site"].tolist() == ["x", "y", "y"]
    assert cohort.n_rows == 4
    assert cohort.failed == [{"id": "c", "error": "unreadable"}]


def test_prediction_ids_without_label_give_counts_and_examples(tmp_path: Path) -> None:
    p = write_predictions(tmp_path / "p.csv", IDS, PROBS)
    lab = write_labels(tmp_path / "l.csv", ["a", "b"], [0, 1])
    table = read_predictions(p)
    with pytest.raises(LabelError, match=r"2 of 4 ids in .*p\.csv have no label \(e\.g\. c, d\)"):
        join_labels(table, read_labels(lab, table.class_names), p, lab)


def test_all_failed_is_nothing_to_evaluate(tmp_path: Path) -> None:
    with pytest.raises(PredictionFileError, match=r"no row has status 'ok' \(4 failed\)"):
        _cohort(tmp_path, failed=dict.fromkeys(IDS, "x"))


def test_labels_without_prediction_are_reported(tmp_path: Path) -> None:
    p = write_predictions(tmp_path / "p.csv", IDS[:2], PROBS[:2])
    lab = write_labels(tmp_path / "l.csv", IDS, [0, 1, 0, 1])
    labels = read_labels(lab, ["benign", "malignant"])
    with pytest.raises(LabelError, match=r"2 of 4 labelled ids have no prediction \(e\.g\. c, d\)"):
        check_label_coverage(labels, lab, [read_predictions(p)])


def test_aggregate_by_study_takes_the_max_and_keeps_constant_subgroups(tmp_path: Path) -> None:
    cohort = _cohort(tmp_path, labels=(1, 1, 0, 0), study=["s1", "s1", "s2", "s2"], site=["x", "x", "y", "y"])
    study = aggregate_cohort(cohort, "study", "max", ["site"], tmp_path / "l.csv")
    assert study.ids.tolist() == ["s1", "s2"]
    assert study.y.tolist() == [1, 0]
    np.testing.assert_allclose(study.probs[:, 1], [0.8, 0.7])
    assert study.extra["site"].tolist() == ["x", "y"]
    assert study.unit.startswith("study")


def test_aggregate_refuses_a_subgroup_that_varies_within_a_study(tmp_path: Path) -> None:
    cohort = _cohort(tmp_path, labels=(1, 1, 0, 0), study=["s1", "s1", "s2", "s2"], site=["x", "y", "y", "y"])
    with pytest.raises(LabelError, match=r"'site' differs within 1 'study' value\(s\) \(e\.g\. s1\)"):
        aggregate_cohort(cohort, "study", "max", ["site"], tmp_path / "l.csv")


def test_aggregate_refuses_conflicting_labels(tmp_path: Path) -> None:
    cohort = _cohort(tmp_path, labels=(1, 0, 0, 0), study=["s1", "s1", "s2", "s2"])
    with pytest.raises(LabelError, match="different labels"):
        aggregate_cohort(cohort, "study", "mean", [], tmp_path / "l.csv")


def test_pairing_keeps_cases_both_models_predicted(tmp_path: Path) -> None:
    a = _cohort(tmp_path, failed={"b": "x"})
    (tmp_path / "other").mkdir()
    b = _cohort(tmp_path / "other", failed={"d": "y"})
    pa, pb, excluded = pair_cohorts(a, b, "other.csv")
    assert pa.ids.tolist() == pb.ids.tolist() == ["a", "c"]
    assert excluded == 2


def test_pairing_needs_the_same_cases(tmp_path: Path) -> None:
    a = _cohort(tmp_path)
    (tmp_path / "other").mkdir()
    p = write_predictions(tmp_path / "other" / "p.csv", ["a", "b", "c", "z"], PROBS)
    lab = write_labels(tmp_path / "other" / "l.csv", ["a", "b", "c", "z"], [0, 1, 0, 1])
    table = read_predictions(p)
    b = join_labels(table, read_labels(lab, table.class_names), p, lab)
    with pytest.raises(
        PredictionFileError, match=r"1 id\(s\) missing here \(e\.g\. d\), 1 extra \(e\.g\. z\)"
    ):
        pair_cohorts(a, b, "other.csv")
