"""Regression tests for the reliability bugs found while building the messy tree and fuzzing (one per fix)."""

import warnings

import numpy as np
import pydicom
import pytest

from medms.engine import predict
from medms.errors import CorruptPixelDataError, DicomError, UnsupportedTransferSyntaxError
from medms.io import read_series, scan_dicom
from medms.synthetic import write_ct_phantom, write_image_dicom
from medms.testing.messy import _with_nesting

from .conftest import ROOT


@pytest.fixture
def ct_file(tmp_path):
    return write_ct_phantom(tmp_path / "ct", shape=(16, 16, 1))[0]


def _set(path, **values):
    ds = pydicom.dcmread(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for keyword, value in values.items():
            setattr(ds, keyword, value)
    ds.save_as(path, enforce_file_format=True)


@pytest.mark.parametrize(
    ("slope", "intercept"), [("NaN", "0"), ("1", "inf"), ("1e30", "0"), ("1", "-1e39")]
)  # fmt: skip
def test_non_finite_rescale_is_a_typed_error_not_nan_pixels(ct_file, slope, intercept):
    # was: a float32 array full of NaN/Inf returned silently (then a RuntimeError in preprocessing)
    _set(ct_file, RescaleSlope=slope, RescaleIntercept=intercept)
    with pytest.raises(DicomError, match=r"RescaleSlope .* not finite or overflow"):
        read_series(ct_file)


def test_unknown_transfer_syntax_uid_is_typed(ct_file):
    # was: ValueError("UID is not a transfer syntax.") from pydicom
    ds = pydicom.dcmread(ct_file)
    ds.file_meta.TransferSyntaxUID = "1.2.3.4.5"
    ds.save_as(ct_file, enforce_file_format=True)
    with pytest.raises(
        UnsupportedTransferSyntaxError, match=r"'1\.2\.3\.4\.5' is not a known transfer syntax"
    ):
        read_series(ct_file)


@pytest.mark.parametrize(
    ("signature", "kind"), [(b"MZ", "Windows executable"), (b"\x7fELF", "ELF executable")]
)
def test_executable_preamble_is_refused_and_recorded(ct_file, signature, kind):
    data = ct_file.read_bytes()
    ct_file.write_bytes(signature + data[len(signature) :])
    result = scan_dicom(ct_file.parent)
    assert len(result) == 0 and kind in result.skipped[0][1] and "polyglot" in result.skipped[0][1]
    with pytest.raises(DicomError, match="preamble starts with"):
        read_series(ct_file)


def test_deep_nesting_reads_but_runaway_nesting_is_a_skip(ct_file, tmp_path):
    # was: RecursionError escaping scan_dicom (the whole scan crashed on one file)
    _with_nesting(ct_file, 64)
    assert read_series(ct_file).array.shape == (16, 16)
    _with_nesting(ct_file, 5000)
    result = scan_dicom(ct_file.parent)
    assert len(result) == 0 and "RecursionError" in result.skipped[0][1]
    with pytest.raises(DicomError, match="damaged DICOM header"):
        read_series(ct_file)


@pytest.mark.filterwarnings("ignore:Invalid value for VR IS")
def test_damaged_series_number_is_a_skip_not_a_crash(ct_file):
    # was: ValueError from int(SeriesNumber) in scan_dicom's series summary
    data = ct_file.read_bytes()
    tag = b"\x20\x00\x11\x00IS"  # (0020,0011) SeriesNumber, explicit VR
    at = data.index(tag) + 8
    ct_file.write_bytes(data[:at] + b"2\xff" + data[at + 2 :])
    result = scan_dicom(ct_file.parent)
    assert len(result) == 0 and "damaged DICOM header" in result.skipped[0][1]


def test_predict_creates_a_missing_output_folder(checkpoint, tmp_path):
    # was: FileNotFoundError writing the model card when the output folder did not exist yet
    write_image_dicom(np.zeros((8, 8), np.uint8), tmp_path / "a.dcm")
    out = tmp_path / "new" / "nested" / "pred.csv"
    summary = predict(checkpoint, [tmp_path / "a.dcm"], out, num_workers=0, progress=False)
    assert summary.ok == 1 and out.is_file() and out.with_name("pred.meta.json").is_file()


def test_codestream_larger_than_the_header_is_refused_before_decoding(tmp_path):
    # was: a JPEG 2000 SIZ marker declaring 8388608 rows made openjpeg allocate until the OOM killer struck
    source = ROOT / "sample_data" / "dicom" / "pydicom-data" / "US1_J2KR.dcm"
    data = bytearray(source.read_bytes())
    at = data.index(b"\xff\x4f\xff\x51")  # SOC + SIZ
    data[at + 12 : at + 16] = (2**23).to_bytes(4, "big")  # Ysiz
    path = tmp_path / "bomb.dcm"
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptPixelDataError, match=r"declares 8388608x640 pixels .*refused before decoding"):
        read_series(path)
