"""scan_dicom: grouping, header-only reading, table output, CLI."""

from __future__ import annotations

import shutil

import pydicom
import pytest

from medms.cli import main
from medms.io import SeriesInfo, scan_dicom


def test_scan_groups_the_sample_data(sample_data):
    result = scan_dicom(sample_data / "dicom")
    by_uid = {s.uid: s for s in result}
    gap = by_uid["1.3.6.1.4.1.5962.1.1.0.0.0.1196530851.28319.0.2"]
    assert (gap.modality, gap.n_instances, gap.rows, gap.columns) == ("CT", 4, 16, 16)
    enhanced = next(s for s in result if s.sop_class == "Enhanced CT Image Storage")
    assert enhanced.n_instances == 1 and enhanced.n_frames == 2
    assert sum(s.n_instances for s in result) == 21 and result.skipped == []
    assert all(isinstance(s, SeriesInfo) for s in result)


def test_scan_never_reads_pixel_data(tmp_path, ct_series):
    # Pixel data cut off after the header: a header-only scan does not notice, a pixel read would.
    for f in ct_series[:3]:
        data = f.read_bytes()
        (tmp_path / f.name).write_bytes(data[: len(data) - 2000])
    result = scan_dicom(tmp_path)
    assert len(result) == 1 and result[0].n_instances == 3 and result.skipped == []


def test_same_series_uid_in_two_studies_are_two_series(tmp_path, ct_series):
    for i, f in enumerate(ct_series[:4]):
        ds = pydicom.dcmread(f)
        if i % 2:
            ds.StudyInstanceUID = "1.2.3.4"
        ds.save_as(tmp_path / f.name)
    assert sorted(s.n_instances for s in scan_dicom(tmp_path)) == [2, 2]


def test_format_table_lists_series_and_skips(tmp_path, ct_series):
    shutil.copy(ct_series[0], tmp_path / "a.dcm")
    (tmp_path / "b.txt").write_text("x")
    result = scan_dicom(tmp_path)
    table = result.format_table()
    assert result[0].uid in table and "CT" in table and "1 skipped" in table and "b.txt" not in table
    assert "b.txt: not a DICOM file" in result.format_table(show_skipped=True)
    assert "MEDMS-PHANTOM" not in table  # the PatientID never shows


def test_cli_scan(capsys, sample_data):
    assert main(["scan", str(sample_data / "dicom" / "ct_uneven_gap")]) == 0
    out = capsys.readouterr().out
    assert "1.3.6.1.4.1.5962.1.1.0.0.0.1196530851.28319.0.2" in out and "MONAI" not in out


def test_cli_scan_missing_path(capsys, tmp_path):
    assert main(["scan", str(tmp_path / "missing")]) == 2
    assert "no such file" in capsys.readouterr().err


@pytest.mark.slow
def test_scan_many_small_files(tmp_path, ct_series):
    # 300 copies: the scan keeps one record per series and reads every file's header.
    for i in range(300):
        ds = pydicom.dcmread(ct_series[i % len(ct_series)])
        ds.SOPInstanceUID = f"1.2.3.{i}"
        ds.save_as(tmp_path / f"{i:04d}.dcm")
    result = scan_dicom(tmp_path)
    assert len(result) == 1 and result[0].n_instances == 300


def test_dicomdir_and_broken_links_are_skipped(tmp_path, pydicom_test_files, ct_series):
    shutil.copy(pydicom_test_files / "dicomdirtests" / "DICOMDIR", tmp_path / "DICOMDIR")
    shutil.copy(ct_series[0], tmp_path / "ct.dcm")
    (tmp_path / "gone.dcm").symlink_to(tmp_path / "does-not-exist.dcm")
    result = scan_dicom(tmp_path)
    reasons = dict(result.skipped)
    assert len(result) == 1
    assert "Media Storage Directory" in reasons[str(tmp_path / "DICOMDIR")]
    assert "cannot be read" in reasons[str(tmp_path / "gone.dcm")]
