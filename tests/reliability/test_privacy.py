"""No PHI anywhere: patient markers in the headers never reach a log line, CSV, JSON, HTML, Markdown, printed
table or exception message; output file names never come from DICOM attribute values."""

import csv
import logging
from pathlib import Path

import numpy as np
import pydicom
import pytest

from medms.cli import main
from medms.engine import predict
from medms.errors import MedmsError
from medms.io import read_series, scan_dicom
from medms.report import evaluate
from medms.synthetic import write_ct_phantom, write_image_dicom
from medms.transforms import LoadSeries

NAME, PID, BIRTH = "Zqxmarkername^Wvyfirst", "ZQXPID-4471", "19010203"
MARKERS = (NAME, "Zqxmarkername", "Wvyfirst", PID, BIRTH, "1901-02-03")
UID = "1.2.826.0.1.3680043.10.779.{}"
N_OK = 8


def _mark(path: Path, **changes) -> None:
    ds = pydicom.dcmread(path)
    ds.PatientName, ds.PatientID, ds.PatientBirthDate = NAME, PID, BIRTH
    for keyword, value in changes.items():
        setattr(ds, keyword, value)
    ds.save_as(path, enforce_file_format=True)


@pytest.fixture(scope="module")
def marked(tmp_path_factory):
    """Good and broken series whose patient attributes all hold the markers; one SeriesDescription '../../x'."""
    folder = tmp_path_factory.mktemp("phi") / "in"
    folder.mkdir()
    rng = np.random.default_rng(3)
    for i in range(N_OK):
        path = write_image_dicom(
            rng.integers(0, 255, (28, 28), dtype=np.uint8),
            folder / f"img{i}.dcm",
            series_uid=UID.format(i + 1),
        )
        _mark(path, SeriesDescription="../../x" if i == 0 else "plain")
    broken = folder / "broken"
    for j, change in enumerate(({"RescaleSlope": "1e39"}, {"Rows": 60000, "Columns": 60000})):
        path = write_ct_phantom(broken / f"b{j}", shape=(16, 16, 1), series_uid=UID.format(100 + j), seed=j)[
            0
        ]
        _mark(path, **change)
    stack = write_ct_phantom(broken / "gap", shape=(16, 16, 4), series_uid=UID.format(200), seed=5)
    for path in stack:
        _mark(path)
    stack[1].unlink()  # a missing slice: GeometryError
    path = write_image_dicom(np.zeros((8, 8), np.uint8), broken / "trunc.dcm", series_uid=UID.format(300))
    _mark(path)
    path.write_bytes(path.read_bytes()[:-20])
    path = write_image_dicom(np.zeros((8, 8), np.uint8), broken / "nopix.dcm", series_uid=UID.format(301))
    ds = pydicom.dcmread(path)
    del ds.PixelData
    ds.save_as(path)
    _mark(path)
    return folder


def _texts_under(folder: Path) -> dict[str, str]:
    return {str(p): p.read_text(encoding="utf-8", errors="replace") for p in folder.rglob("*") if p.is_file()}


def test_no_marker_in_any_output(marked, checkpoint, tmp_path, caplog, capsys):
    assert all(
        m.encode() in (marked / "img0.dcm").read_bytes() for m in (NAME, PID, BIRTH)
    )  # markers are there
    caplog.set_level(logging.DEBUG)
    texts: dict[str, str] = {}
    result = scan_dicom(marked)
    texts["scan table"] = result.format_table(show_skipped=True)
    assert len(result) == N_OK + 4 and len(result.skipped) == 1
    errors = []
    for info in result:
        try:
            series = read_series(info)
            texts[f"meta {info.uid}"] = repr(series.meta)
            texts[f"load {info.uid}"] = repr(dict(LoadSeries()(info.files[0]).meta))
        except MedmsError as err:
            errors.append(err)
    for path in sorted(marked.rglob("*.dcm")):
        try:
            read_series(path)
        except MedmsError as err:
            errors.append(err)
    assert {type(e).__name__ for e in errors} >= {
        "DicomError", "ImageSizeError", "GeometryError", "CorruptPixelDataError", "NotAnImageError",
    }  # fmt: skip
    texts["errors"] = "\n".join(f"{e!s} {e!r} {e.message} {e.path}" for e in errors)

    out = tmp_path / "out" / "a" / "b"
    summary = predict(checkpoint, [marked], out / "pred.csv", batch_size=4, num_workers=0, progress=False)
    assert (summary.ok, summary.failed, summary.not_series) == (N_OK, 4, 1)
    texts["summary"] = summary.format() + repr(summary.failures)
    with open(out / "pred.csv", newline="", encoding="utf-8") as fh:
        ids = [r["id"] for r in csv.DictReader(fh)]
    labels = tmp_path / "labels.csv"
    labels.write_text("id,label\n" + "".join(f"{i},{k % 2}\n" for k, i in enumerate(ids)), encoding="utf-8")
    evaluate(out / "pred.csv", labels, out / "report", n_bootstrap=50)
    assert main(["scan", str(marked), "--show-skipped"]) == 0
    captured = capsys.readouterr()
    texts["cli"] = captured.out + captured.err
    texts["logs"] = caplog.text + "\n".join(r.getMessage() for r in caplog.records)
    texts.update(_texts_under(tmp_path / "out"))

    assert {Path(p).name for p in texts if p.startswith("/")} >= {
        "pred.csv", "pred.meta.json", "report.html", "report.json", "report.md",
    }  # fmt: skip
    assert "failed" in texts["logs"] and len(texts["errors"]) > 200  # the captures are not empty
    for where, text in texts.items():
        for marker in MARKERS:
            assert marker.lower() not in text.lower(), f"patient marker leaked into {where}"


def test_output_names_never_come_from_dicom_values(marked, checkpoint, tmp_path):
    """SeriesDescription '../../x' is kept as metadata and never used to build a path."""
    assert read_series(marked / "img0.dcm").meta["series_description"] == "../../x"
    work = tmp_path / "w" / "p" / "q"
    predict(checkpoint, [marked], work / "pred.csv", batch_size=4, num_workers=0, progress=False)
    evaluate(work / "pred.csv", _labels(work / "pred.csv", tmp_path), work / "report", n_bootstrap=20)
    created = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    assert created == [
        "labels.csv", "w", "w/p", "w/p/q", "w/p/q/pred.csv", "w/p/q/pred.meta.json", "w/p/q/report",
        "w/p/q/report/report.html", "w/p/q/report/report.json", "w/p/q/report/report.md",
    ]  # fmt: skip
    assert not any(p.name == "x" for p in marked.parent.rglob("*"))


def _labels(predictions: Path, folder: Path) -> Path:
    with open(predictions, newline="", encoding="utf-8") as fh:
        ids = [r["id"] for r in csv.DictReader(fh)]
    path = folder / "labels.csv"
    path.write_text("id,label\n" + "".join(f"{i},{k % 2}\n" for k, i in enumerate(ids)), encoding="utf-8")
    return path
