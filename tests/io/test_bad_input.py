"""Every malformed input gives a typed error naming the file (or a recorded skip), never a crash or a guess."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.encaps import encapsulate
from pydicom.uid import UID, JPEG2000Lossless, JPEGLSLossless, generate_uid

from medms.errors import (
    CorruptPixelDataError,
    DicomError,
    GeometryError,
    ImageSizeError,
    InputError,
    NotAnImageError,
    SeriesSelectionError,
    UnsupportedTransferSyntaxError,
)
from medms.io import read_series, scan_dicom
from medms.io.pixels import _plugin_hint
from medms.synthetic import write_ct_phantom


@pytest.fixture
def one_slice(tmp_path) -> Path:
    return write_ct_phantom(tmp_path / "one", shape=(16, 16, 1))[0]


def test_truncated_pixel_data(one_slice):
    one_slice.write_bytes(one_slice.read_bytes()[:-100])
    with pytest.raises(CorruptPixelDataError, match="truncated") as err:
        read_series(one_slice)
    assert str(one_slice) in str(err.value)


def test_truncated_header(one_slice):
    one_slice.write_bytes(one_slice.read_bytes()[:300])
    with pytest.raises(NotAnImageError, match="may be truncated"):
        read_series(one_slice)


def test_missing_pixel_data(one_slice):
    ds = pydicom.dcmread(one_slice)
    del ds.PixelData
    ds.save_as(one_slice)
    with pytest.raises(NotAnImageError, match="no Pixel Data"):
        read_series(one_slice)


def test_non_dicom_file(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    with pytest.raises(DicomError, match="not a DICOM file") as err:
        read_series(path)
    assert err.value.path == str(path)


def test_unsupported_transfer_syntax_names_it(one_slice):
    ds = pydicom.dcmread(one_slice)
    ds.file_meta.TransferSyntaxUID = UID("1.2.840.10008.1.2.4.100")  # MPEG2 video: no decoder exists
    ds.PixelData = encapsulate([ds.PixelData])
    ds.save_as(one_slice)
    with pytest.raises(UnsupportedTransferSyntaxError, match="MPEG2 Main Profile") as err:
        read_series(one_slice)
    assert "install" in str(err.value)


@pytest.mark.parametrize(
    ("syntax", "plugin"), [(JPEG2000Lossless, "pylibjpeg-openjpeg"), (JPEGLSLossless, "pylibjpeg-libjpeg")]
)
def test_plugin_hints(syntax, plugin):
    assert plugin in _plugin_hint(syntax)


def test_mixed_series_in_one_folder(tmp_path, ct_series, oblique_ct_series):
    for f in [*ct_series[:3], *oblique_ct_series[:2]]:
        shutil.copy(f, tmp_path / f"{f.parent.name}_{f.name}")
    with pytest.raises(
        SeriesSelectionError, match=r"2 series found.*\(CT, 3 instance\(s\).*\(CT, 2 instance\(s\)"
    ):
        read_series(tmp_path)


def test_inconsistent_slice_sizes(tmp_path):
    uid = generate_uid()
    write_ct_phantom(tmp_path, shape=(16, 16, 3), series_uid=uid, prefix="a")
    write_ct_phantom(tmp_path, shape=(20, 16, 2), series_uid=uid, prefix="b", origin=(0, 0, 50))
    with pytest.raises(GeometryError, match="inconsistent slice sizes"):
        read_series(tmp_path)


def test_empty_folder(tmp_path):
    with pytest.raises(SeriesSelectionError, match="no DICOM image series"):
        read_series(tmp_path)
    assert scan_dicom(tmp_path) == [] and scan_dicom(tmp_path).skipped == []


def test_missing_path(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        scan_dicom(tmp_path / "nope")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_file(one_slice):
    one_slice.chmod(0)
    try:
        with pytest.raises(DicomError, match="permission denied"):
            read_series(one_slice)
    finally:
        one_slice.chmod(0o644)


def test_dicom_that_is_not_an_image(pydicom_test_files):
    with pytest.raises(NotAnImageError, match="SR Storage"):
        read_series(pydicom_test_files / "reportsi.dcm")


def test_size_guard_refuses_before_allocating(one_slice):
    ds = pydicom.dcmread(one_slice)
    ds.Rows, ds.Columns, ds.NumberOfFrames = 60000, 60000, 1000  # 3.6e12 voxels declared, 512 bytes present
    ds.save_as(one_slice)
    with pytest.raises(ImageSizeError, match="above the limit"):
        read_series(one_slice)


def test_size_guard_counts_the_whole_series(ct_series):
    with pytest.raises(ImageSizeError):
        read_series(ct_series[0].parent, max_pixels=40 * 48 * 10 - 1)
    assert read_series(ct_series[0].parent, max_pixels=40 * 48 * 10).array.size == 40 * 48 * 10


def test_stack_without_orientation_is_an_error(tmp_path):
    for f in write_ct_phantom(tmp_path, shape=(8, 8, 3)):
        ds = pydicom.dcmread(f)
        del ds.ImageOrientationPatient
        ds.save_as(f)
    with pytest.raises(GeometryError, match="does not invent a geometry"):
        read_series(tmp_path)


def test_duplicate_slices(tmp_path):
    files = write_ct_phantom(tmp_path, shape=(8, 8, 4))
    ds = pydicom.dcmread(files[2])
    ds.SOPInstanceUID = generate_uid()
    ds.save_as(tmp_path / "dup.dcm")
    with pytest.raises(GeometryError, match="duplicates"):
        read_series(tmp_path)
    series = read_series(tmp_path, lenient=True)
    assert series.array.shape == (8, 8, 4) and "duplicates" in series.warnings[0]


def test_missing_slice(tmp_path):
    files = write_ct_phantom(tmp_path, shape=(8, 8, 6))
    files[3].unlink()
    with pytest.raises(GeometryError, match="missing slice"):
        read_series(tmp_path)
    assert read_series(tmp_path, lenient=True).array.shape == (8, 8, 5)


def test_scan_records_skips_and_keeps_going(tmp_path, pydicom_test_files, ct_series):
    (tmp_path / "readme.txt").write_text("not dicom")
    shutil.copy(pydicom_test_files / "reportsi.dcm", tmp_path / "sr.dcm")
    shutil.copy(ct_series[0], tmp_path / "ct.dcm")
    (tmp_path / "empty.dcm").write_bytes(b"")
    result = scan_dicom(tmp_path)
    assert [s.n_instances for s in result] == [1]
    reasons = dict(result.skipped)
    assert "not a DICOM file" in reasons[str(tmp_path / "readme.txt")]
    assert "SR Storage" in reasons[str(tmp_path / "sr.dcm")]
    assert str(tmp_path / "empty.dcm") in reasons
    assert np.all([Path(p).exists() for p in reasons])


def test_lenient_warnings_are_logged(tmp_path, caplog):
    files = write_ct_phantom(tmp_path, shape=(8, 8, 5))
    files[2].unlink()
    with caplog.at_level("WARNING", logger="medms.io"):
        read_series(tmp_path, lenient=True)
    assert "missing slice" in caplog.text and "MEDMS-PHANTOM" not in caplog.text
