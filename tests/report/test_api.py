"""``medms.report.evaluate`` end to end: the numbers, the three files, and what bad input does."""

from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest

from medms.errors import ConfigError, LabelError, OutputError, PredictionFileError
from medms.metrics import evaluate_scores, select_threshold
from medms.report import INTENDED_USE, REPORT_SCHEMA_VERSION, evaluate
from medms.tables import model_card_path

from .conftest import binary_scores, make_binary_case, write_labels, write_predictions

FAST = {"n_bootstrap": 50, "seed": 3}


def _strict_json(path: Path) -> dict:
    def refuse(token: str) -> None:
        raise AssertionError(f"non-standard JSON token {token}")

    return json.loads(path.read_text(), parse_constant=refuse)


def _images(html: str) -> list[np.ndarray]:
    uris = re.findall(r"src='data:image/png;base64,([A-Za-z0-9+/=]+)'", html)
    return [matplotlib.image.imread(io.BytesIO(base64.b64decode(u)), format="png") for u in uris]


@pytest.fixture(scope="module")
def binary_report(tmp_path_factory):
    """One full binary report (threshold from validation, subgroups, model card), shared by read-only tests."""
    case = make_binary_case(tmp_path_factory.mktemp("binary"))
    folder = case["dir"]
    card = {"architecture": "multiscale_resnet50", "weights_sha256": "0123abcd" * 8, "options": {"dims": 2}}
    model_card_path(folder / "test.csv").write_text(json.dumps(card))
    result = evaluate(
        folder / "test.csv",
        folder / "labels.csv",
        folder / "out",
        threshold_from=folder / "val.csv",
        subgroup=["site"],
        **FAST,
    )
    return case, result


class TestBinaryReport:
    def test_numbers_match_the_metrics_package_on_the_ok_rows(self, binary_report) -> None:
        binary_case, result = binary_report
        keep = [k for k, i in enumerate(binary_case["ids"]) if i not in binary_case["failed"]]
        y, probs = binary_case["y"][keep], binary_case["probs"][keep]
        vy, vprobs = binary_case["vy"], binary_case["vprobs"]
        expected = evaluate_scores(
            y,
            probs,
            class_names=["benign", "malignant"],
            threshold_from=(vy, vprobs),
            threshold_method="youden",
            **FAST,
        )
        metrics = _strict_json(result.json)["metrics"]
        assert metrics["n"] == 38
        assert metrics["auc"]["value"] == pytest.approx(expected["auc"]["value"], abs=1e-6)
        assert metrics["auc"]["low"] == pytest.approx(expected["auc"]["low"], abs=1e-6)
        chosen = select_threshold(vy, vprobs[:, 1], "youden")
        assert metrics["threshold"]["value"] == pytest.approx(chosen, abs=1e-6)
        assert metrics["threshold"]["method"] == "youden"
        assert metrics["at_threshold"]["counts"] == expected["at_threshold"]["counts"]

    def test_summary_counts_failed_rows_and_records_inputs(self, binary_report) -> None:
        _, result = binary_report
        data = _strict_json(result.json)
        assert data["schema_version"] == REPORT_SCHEMA_VERSION
        assert data["summary"]["n_rows"] == 40
        assert data["summary"]["n_failed"] == 2
        assert data["summary"]["n_evaluated"] == 38
        assert {f["id"] for f in data["summary"]["failed"]} == {"t03", "t11"}
        assert data["threshold_selection"]["n_evaluated"] == 30
        assert data["model_card"]["weights_sha256"] == "0123abcd" * 8
        assert set(data["versions"]) >= {"medms", "monai", "torch", "pydicom"}
        groups = data["metrics"]["subgroups"]["site"]
        assert [g["group"] for g in groups] == ["A", "B"]
        assert sum(g["n"] for g in groups) == 38

    def test_html_is_self_contained_with_decodable_figures(self, binary_report) -> None:
        _, result = binary_report
        html = result.html.read_text()
        images = _images(html)
        assert len(images) == 5  # ROC, PR, reliability, confusion matrix, score distributions
        for image in images:
            assert image.shape[0] > 100 and image.shape[1] > 100
            assert image[..., :3].std() > 0.01  # a drawing, not a blank canvas
        assert not re.search(r"(src|href)=['\"](https?:|//)", html)
        assert INTENDED_USE in html.replace("&#x27;", "'")
        assert "0123abcd" * 8 in html
        for title in (
            "Summary",
            "Diagnostic performance",
            "Calibration",
            "Confusion matrix",
            "Metrics at several thresholds",
            "Subgroups",
            "Excluded rows",
            "Model card",
            "Software",
        ):
            assert f">{title}</h2>" in html
        assert "cannot decode pixel data" in html

    def test_markdown_holds_the_same_auc_as_the_json(self, binary_report) -> None:
        _, result = binary_report
        auc = _strict_json(result.json)["metrics"]["auc"]
        text = result.markdown.read_text()
        assert f"| ROC AUC | {auc['value']:.3f} | {auc['low']:.3f} – {auc['high']:.3f} | DeLong |" in text
        assert INTENDED_USE in text
        assert "![" not in text


def test_files_are_not_overwritten_without_consent(binary_case) -> None:
    folder = binary_case["dir"]
    first = evaluate(folder / "test.csv", folder / "test_labels.csv", folder / "out", threshold=0.3, **FAST)
    before = first.json.read_text()
    with pytest.raises(OutputError, match="already exist"):
        evaluate(folder / "test.csv", folder / "test_labels.csv", folder / "out", **FAST)
    assert first.json.read_text() == before
    again = evaluate(folder / "test.csv", folder / "test_labels.csv", folder / "out", overwrite=True, **FAST)
    assert _strict_json(again.json)["metrics"]["threshold"]["source"] == "default"
    # Atomic writes leave no temporary files behind.
    assert sorted(p.name for p in (folder / "out").iterdir()) == ["report.html", "report.json", "report.md"]


def test_same_seed_gives_the_same_numbers(binary_case) -> None:
    folder = binary_case["dir"]
    runs = [
        evaluate(folder / "test.csv", folder / "test_labels.csv", folder / f"o{k}", **FAST) for k in range(2)
    ]
    assert runs[0].data["metrics"] == runs[1].data["metrics"]


def test_fixed_threshold_is_applied(binary_case) -> None:
    folder = binary_case["dir"]
    data = evaluate(folder / "test.csv", folder / "test_labels.csv", folder / "o", threshold=0.7, **FAST).data
    assert data["metrics"]["threshold"] == {**data["metrics"]["threshold"], "value": 0.7, "source": "user"}


def test_single_class_reports_auc_undefined_with_reason(tmp_path: Path) -> None:
    _, probs = binary_scores(12, seed=4)
    ids = [f"c{k}" for k in range(12)]
    write_predictions(tmp_path / "p.csv", ids, probs)
    write_labels(tmp_path / "l.csv", ids, ["benign"] * 12)
    result = evaluate(tmp_path / "p.csv", tmp_path / "l.csv", tmp_path / "out", **FAST)
    metrics = _strict_json(result.json)["metrics"]
    assert metrics["auc"]["value"] is None
    assert "only one class" in metrics["auc"]["note"]
    assert metrics["at_threshold"]["specificity"]["value"] == pytest.approx(np.mean(probs[:, 1] < 0.5))
    assert "undefined" in result.html.read_text()
    assert "ROC AUC" in result.summary() and "only one class" in result.summary()


def test_multiclass_report_has_per_class_rows(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    y = np.arange(30) % 3
    probs = rng.dirichlet([1, 1, 1], 30) + 1.5 * np.eye(3)[y]
    probs /= probs.sum(axis=1, keepdims=True)
    ids = [f"m{k}" for k in range(30)]
    names = ["normal", "benign", "malignant"]
    write_predictions(tmp_path / "p.csv", ids, probs, class_names=names)
    write_labels(tmp_path / "l.csv", ids, [names[k] for k in y])
    data = evaluate(tmp_path / "p.csv", tmp_path / "l.csv", tmp_path / "out", **FAST).data
    assert [row["class"] for row in data["metrics"]["per_class"]] == names
    assert np.trace(np.array(data["metrics"]["confusion_matrix"]["counts"])) == np.sum(probs.argmax(1) == y)
    assert "Per class (one-vs-rest)" in (tmp_path / "out" / "report.html").read_text()
    with pytest.raises(ConfigError, match="binary problems only"):
        evaluate(tmp_path / "p.csv", tmp_path / "l.csv", tmp_path / "o2", threshold=0.3, **FAST)
    for name in ("benign", "malignant"):
        with pytest.raises(ConfigError, match=r"p\.csv: a positive class applies to binary tasks only"):
            evaluate(tmp_path / "p.csv", tmp_path / "l.csv", tmp_path / "o3", positive_class=name, **FAST)


def test_comparison_section(binary_case) -> None:
    folder = binary_case["dir"]
    _, other = binary_scores(40, seed=9, signal=0.1)
    write_predictions(folder / "other.csv", binary_case["ids"], other, failed={"t20": "timeout"})
    result = evaluate(
        folder / "test.csv", folder / "test_labels.csv", folder / "out", compare=folder / "other.csv", **FAST
    )
    comparison = result.data["comparison"]
    assert comparison["n"] == 37 and comparison["n_excluded"] == 3
    diff = comparison["difference"]
    assert diff["value"] == pytest.approx(comparison["auc_a"]["value"] - comparison["auc_b"]["value"])
    assert 0.0 <= comparison["p_value"] <= 1.0
    assert len(_images(result.html.read_text())) == 6  # plus the ROC overlay of both models


def test_aggregation_by_study(tmp_path: Path) -> None:
    ids = [f"s{k}" for k in range(8)]
    probs = np.array(
        [[0.9, 0.1], [0.4, 0.6], [0.8, 0.2], [0.7, 0.3], [0.2, 0.8], [0.6, 0.4], [0.95, 0.05], [0.5, 0.5]]
    )
    write_predictions(tmp_path / "p.csv", ids, probs)
    write_labels(
        tmp_path / "l.csv", ids, [1, 1, 0, 0, 1, 1, 0, 0], study=["a", "a", "b", "b", "c", "c", "d", "d"]
    )
    data = evaluate(
        tmp_path / "p.csv", tmp_path / "l.csv", tmp_path / "out", aggregate_by="study", **FAST
    ).data
    assert data["metrics"]["n"] == 4
    assert data["metrics"]["at_threshold"]["counts"] == {"tp": 2, "fp": 1, "tn": 1, "fn": 0}
    assert data["summary"]["unit"].startswith("study")


class TestBadInput:
    def test_threshold_set_sharing_ids_with_the_test_set(self, binary_case) -> None:
        folder = binary_case["dir"]
        with pytest.raises(PredictionFileError, match=r"40 id\(s\) are also in the evaluated predictions"):
            evaluate(
                folder / "test.csv", folder / "labels.csv", folder / "out", threshold_from=folder / "test.csv"
            )

    def test_labels_for_cases_nobody_predicted(self, binary_case) -> None:
        folder = binary_case["dir"]
        with pytest.raises(LabelError, match=r"30 of 70 labelled ids have no prediction \(e\.g\. v00, v01"):
            evaluate(folder / "test.csv", folder / "labels.csv", folder / "out")
        assert not (folder / "out").exists()  # nothing written on bad input

    def test_unknown_subgroup_column_names_the_labels_file(self, binary_case) -> None:
        folder = binary_case["dir"]
        with pytest.raises(LabelError, match=r"test_labels\.csv: no column 'sex'.*\['site'\]"):
            evaluate(folder / "test.csv", folder / "test_labels.csv", folder / "out", subgroup=["sex"])

    def test_text_from_the_inputs_is_escaped(self, tmp_path: Path) -> None:
        _, probs = binary_scores(10, seed=6)
        ids = [f"c{k}" for k in range(10)]
        write_predictions(tmp_path / "p.csv", ids, probs, failed={"c1": "<script>alert(1)</script>"})
        write_labels(tmp_path / "l.csv", ids, [k % 2 for k in range(10)])
        html = evaluate(tmp_path / "p.csv", tmp_path / "l.csv", tmp_path / "out", **FAST).html.read_text()
        assert "<script" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html

    def test_output_that_is_a_file(self, binary_case) -> None:
        folder = binary_case["dir"]
        with pytest.raises(OutputError, match="must be a folder"):
            evaluate(folder / "test.csv", folder / "test_labels.csv", folder / "test.csv")


def test_comparison_at_study_level_pairs_series_first(tmp_path: Path) -> None:
    ids = [f"s{k}" for k in range(8)]
    probs = np.array(
        [[0.9, 0.1], [0.4, 0.6], [0.8, 0.2], [0.7, 0.3], [0.2, 0.8], [0.6, 0.4], [0.95, 0.05], [0.5, 0.5]]
    )
    write_predictions(tmp_path / "a.csv", ids, probs, failed={"s1": "x"})
    write_predictions(tmp_path / "b.csv", ids, probs[::-1], failed={"s4": "y"})
    write_labels(
        tmp_path / "l.csv", ids, [1, 1, 0, 0, 1, 1, 0, 0], study=["a", "a", "b", "b", "c", "c", "d", "d"]
    )
    data = evaluate(
        tmp_path / "a.csv",
        tmp_path / "l.csv",
        tmp_path / "out",
        compare=tmp_path / "b.csv",
        aggregate_by="study",
        **FAST,
    ).data
    assert data["metrics"]["n"] == 4
    assert data["comparison"]["n"] == 4  # studies a and c keep one series each
    assert data["comparison"]["n_excluded"] == 2  # series s1 and s4


def test_positive_class_swaps_the_score_and_the_labels(binary_case) -> None:
    from sklearn.metrics import roc_auc_score

    folder = binary_case["dir"]
    default = evaluate(folder / "test.csv", folder / "test_labels.csv", folder / "d", **FAST).data
    swapped = evaluate(
        folder / "test.csv", folder / "test_labels.csv", folder / "s", positive_class="benign", **FAST
    ).data
    m, d = swapped["metrics"], default["metrics"]
    assert m["class_names"] == ["malignant", "benign"] and swapped["inputs"]["positive_class"] == "benign"
    assert default["inputs"]["positive_class"] == "malignant"
    keep = [i for i, k in enumerate(binary_case["ids"]) if k not in binary_case["failed"]]
    y, probs = np.asarray(binary_case["y"])[keep], np.asarray(binary_case["probs"])[keep]
    assert m["auc"]["value"] == pytest.approx(roc_auc_score(y == 0, probs[:, 0]), abs=1e-6)
    at, at_default = m["at_threshold"], d["at_threshold"]
    assert at["sensitivity"]["value"] == pytest.approx(at_default["specificity"]["value"])
    assert at["ppv"]["value"] == pytest.approx(at_default["npv"]["value"])
    assert m["prevalence"] == pytest.approx(1 - d["prevalence"])
    report_md = (folder / "s" / "report.md").read_text()
    assert "| Positive class (score) | benign (P(benign)) |" in report_md


def test_positive_class_not_in_the_predictions_is_refused(binary_case) -> None:
    folder = binary_case["dir"]
    with pytest.raises(ConfigError, match=r"test\.csv: positive class 'cyst' is not one of"):
        evaluate(folder / "test.csv", folder / "test_labels.csv", folder / "o", positive_class="cyst", **FAST)
    assert not (folder / "o" / "report.json").exists()
