"""The predictions and labels CSV readers: the format and every malformed-input error."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from medms.errors import LabelError, PredictionFileError
from medms.tables import (
    model_card_path,
    prediction_columns,
    read_labels,
    read_model_card,
    read_predictions,
)
from tests.report.conftest import CLASSES, write_predictions

HEADER = ",".join(prediction_columns(CLASSES))


def _csv(tmp_path: Path, text: str, name: str = "p.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


class TestReadPredictions:
    def test_round_trip_keeps_ids_probabilities_and_failed_rows(self, tmp_path: Path) -> None:
        probs = np.array([[0.25, 0.75], [0.9, 0.1], [0.5, 0.5]])
        path = write_predictions(tmp_path / "p.csv", ["007", "b", "c"], probs, failed={"c": "bad pixels"})
        table = read_predictions(path)
        assert table.class_names == CLASSES
        assert table.frame["id"].tolist() == ["007", "b", "c"]  # text ids keep their leading zeros
        assert table.frame["status"].tolist() == ["ok", "ok", "failed"]
        assert table.frame["error"].tolist() == ["", "", "bad pixels"]
        np.testing.assert_allclose(table.frame[["prob_benign", "prob_malignant"]].to_numpy()[:2], probs[:2])
        assert np.isnan(table.frame.loc[2, "prob_benign"])

    def test_minimal_file_defaults_status_ok(self, tmp_path: Path) -> None:
        table = read_predictions(_csv(tmp_path, "id,prob_a,prob_b,prob_c\nx,0.2,0.3,0.5\n"))
        assert table.class_names == ["a", "b", "c"]
        assert table.frame["status"].tolist() == ["ok"]

    @pytest.mark.parametrize(
        ("text", "match"),
        [
            ("", "empty"),
            (HEADER + "\n", "no data rows"),
            ("name,prob_a,prob_b\nx,0.5,0.5\n", "missing the 'id' column"),
            ("id,prob_a\nx,1.0\n", "at least two"),
            (
                "id,prob_a,prob_b\nx,0.5,0.5\ny,0.5,0.5\nx,0.1,0.9\n",
                "1 id\\(s\\) appear more than once \\(e.g. x\\)",
            ),
            ("id,prob_a,prob_b\n,0.5,0.5\n", "empty id \\(file lines 2\\)"),
            ("id,prob_a,prob_b,status\nx,0.5,0.5,done\n", "status other than 'ok' or 'failed' \\(ids x\\)"),
            ("id,prob_a,prob_b\nx,1.5,-0.5\n", "outside \\[0, 1\\] \\(ids x\\)"),
            ("id,prob_a,prob_b\nx,nan,0.5\n", "NaN or infinite \\(ids x\\)"),
            ("id,prob_a,prob_b\nx,,\n", "empty, not numbers"),
            ("id,prob_a,prob_b\nx,high,low\n", "not numbers"),
            (
                "id,prob_a,prob_b\nx,0.5,0.6\ny,0.2,0.2\n",
                "2 ok row\\(s\\) have probabilities that do not sum to 1",
            ),
        ],
    )
    def test_malformed_file_raises_naming_the_file(self, tmp_path: Path, text: str, match: str) -> None:
        path = _csv(tmp_path, text)
        with pytest.raises(PredictionFileError, match=match) as info:
            read_predictions(path)
        assert info.value.path == str(path)

    def test_missing_file(self, tmp_path: Path) -> None:
        with pytest.raises(PredictionFileError, match="file not found"):
            read_predictions(tmp_path / "nope.csv")

    def test_failed_rows_may_have_no_probabilities(self, tmp_path: Path) -> None:
        table = read_predictions(
            _csv(tmp_path, "id,prob_a,prob_b,status,error\nx,,,failed,oops\ny,0.4,0.6,ok,\n")
        )
        assert table.frame["status"].tolist() == ["failed", "ok"]

    def test_rounding_within_tolerance_is_accepted(self, tmp_path: Path) -> None:
        table = read_predictions(_csv(tmp_path, "id,prob_a,prob_b,prob_c\nx,0.3333,0.3333,0.3333\n"))
        assert table.frame["prob_a"].tolist() == [0.3333]

    def test_many_bad_ids_are_summarised(self, tmp_path: Path) -> None:
        rows = "".join(f"r{k},0.7,0.7\n" for k in range(8))
        with pytest.raises(PredictionFileError, match=r"8 ok row\(s\).*r0, r1, r2, r3, r4, \.\.\."):
            read_predictions(_csv(tmp_path, "id,prob_a,prob_b\n" + rows))


class TestReadLabels:
    def test_names_and_indices_map_to_class_indices(self, tmp_path: Path) -> None:
        path = _csv(tmp_path, "id,label,site\na,malignant,x\nb,0,y\nc,1.0,x\n", "l.csv")
        frame = read_labels(path, CLASSES)
        assert frame["label"].tolist() == [1, 0, 1]
        assert frame["site"].tolist() == ["x", "y", "x"]

    def test_a_class_name_wins_over_an_index(self, tmp_path: Path) -> None:
        path = _csv(tmp_path, "id,label\na,1\nb,0\n", "l.csv")
        assert read_labels(path, ["1", "0"])["label"].tolist() == [0, 1]

    @pytest.mark.parametrize(
        ("text", "match"),
        [
            (
                "id,label\na,cancer\nb,2\nc,0.5\n",
                r"3 label\(s\) are not in the class list .*values cancer, 2, 0.5; ids a, b, c",
            ),
            ("id,label\na,\n", "not in the class list"),
            ("id,diagnosis\na,0\n", "missing the 'label' column"),
            ("id,label\na,0\na,1\n", "appear more than once"),
            ("id,label\n", "no data rows"),
        ],
    )
    def test_bad_labels(self, tmp_path: Path, text: str, match: str) -> None:
        with pytest.raises(LabelError, match=match):
            read_labels(_csv(tmp_path, text, "l.csv"), CLASSES)


class TestModelCard:
    def test_sidecar_path_and_contents(self, tmp_path: Path) -> None:
        predictions = tmp_path / "run" / "predictions.csv"
        assert model_card_path(predictions) == tmp_path / "run" / "predictions.meta.json"
        assert model_card_path("out/preds") == Path("out/preds.meta.json")
        predictions.parent.mkdir()
        assert read_model_card(predictions) is None
        model_card_path(predictions).write_text(json.dumps({"weights_sha256": "ab" * 32}))
        assert read_model_card(predictions) == {"weights_sha256": "ab" * 32}

    @pytest.mark.parametrize("text", ["{not json", "[1, 2]"])
    def test_unreadable_sidecar_is_an_error(self, tmp_path: Path, text: str) -> None:
        model_card_path(tmp_path / "p.csv").write_text(text)
        with pytest.raises(PredictionFileError, match="model card"):
            read_model_card(tmp_path / "p.csv")
