"""The runnable example of docs/bundles.md runs (on the tiny trained bundle) and agrees with medms predict."""

from __future__ import annotations

import ast
import csv
import re

import pytest

from tests.bundles.conftest import ROOT


def _example() -> str:
    text = (ROOT / "docs" / "bundles.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) == 1
    return blocks[0]


def test_bundles_md_example_runs(trained_bundle2d, scans2d, tmp_path, capsys, monkeypatch):
    dicom, _ = scans2d
    code = _example()
    for name, value in (("BUNDLE", trained_bundle2d), ("SCANS", dicom), ("OUT", tmp_path / "out")):
        code, count = re.subn(rf"^{name} = Path\(.*$", f"{name} = Path({str(value)!r})", code, flags=re.M)
        assert count == 1
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "docs/bundles.md", "exec"), {"__name__": "docs_example"})
    with open(tmp_path / "out" / "predictions.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 6 and all(r["status"] == "ok" for r in rows)
    printed = ast.literal_eval(capsys.readouterr().out.strip().splitlines()[-1])  # {class: probability}
    # the first file is img0.dcm, series ...997.1 (conftest): MONAI-loop numbers equal medms predict's
    row = next(r for r in rows if r["id"] == "1.2.826.0.1.3680043.10.997.1")
    assert sorted(dicom.glob("*.dcm"))[0].name == "img0.dcm"
    for name in ("malignant", "normal_or_benign"):
        assert printed[name] == pytest.approx(float(row[f"prob_{name}"]), abs=2e-6)
