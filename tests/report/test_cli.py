"""``medms evaluate``: arguments reach the API, errors become one line and exit status 2."""

from __future__ import annotations

import json

from medms.cli import main


def test_evaluate_command_writes_the_report(binary_case, capsys) -> None:
    folder = binary_case["dir"]
    argv = [
        "evaluate",
        "--predictions",
        str(folder / "test.csv"),
        "--labels",
        str(folder / "labels.csv"),
        "--output",
        str(folder / "out"),
        "--threshold-from",
        str(folder / "val.csv"),
        "--threshold-method",
        "sensitivity",
        "--target",
        "0.9",
        "--subgroup",
        "site",
        "--n-bootstrap",
        "40",
        "--seed",
        "1",
    ]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "evaluated 38 cases (series); 2 failed rows excluded" in printed
    data = json.loads((folder / "out" / "report.json").read_text())
    assert data["metrics"]["threshold"]["method"] == "sensitivity"
    assert data["metrics"]["threshold"]["target"] == 0.9
    assert data["inputs"]["n_bootstrap"] == 40
    assert list(data["metrics"]["subgroups"]) == ["site"]


def test_evaluate_command_refuses_to_overwrite(binary_case, capsys) -> None:
    folder = binary_case["dir"]
    argv = [
        "evaluate",
        "--predictions",
        str(folder / "test.csv"),
        "--labels",
        str(folder / "test_labels.csv"),
        "--output",
        str(folder / "out"),
        "--n-bootstrap",
        "20",
    ]
    assert main(argv) == 0
    capsys.readouterr()
    assert main(argv) == 2
    assert "medms evaluate: error:" in capsys.readouterr().err
    assert main([*argv, "--overwrite"]) == 0


def test_bad_input_is_one_line_with_the_file(binary_case, capsys) -> None:
    folder = binary_case["dir"]
    (folder / "bad.csv").write_text("id,prob_a,prob_b\nx,0.9,0.9\n")
    argv = [
        "evaluate",
        "--predictions",
        str(folder / "bad.csv"),
        "--labels",
        str(folder / "labels.csv"),
        "--output",
        str(folder / "out"),
    ]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("medms evaluate: error: ") and "bad.csv" in err and "do not sum to 1" in err
    assert "\n" not in err
