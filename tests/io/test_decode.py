"""Pixel decoding: transfer syntaxes agree bit for bit, rescale, MONOCHROME1, colour."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk

from medms.io import read_series
from medms.synthetic import write_ct_phantom
from tests.io._sitk import read_file_sitk

TS_FILES = ["1.dcm", "2.dcm", "4.dcm", "5.dcm", "7.dcm", "9.dcm"]


def test_dcm_qa_ts_six_syntaxes_decode_identically(sample_data):
    folder = sample_data / "dicom" / "dcm_qa_ts"
    arrays = [read_series(folder / name).array for name in TS_FILES]
    syntaxes = {
        pydicom.dcmread(folder / n, stop_before_pixels=True).file_meta.TransferSyntaxUID for n in TS_FILES
    }
    assert len(syntaxes) == 6
    reference = pydicom.dcmread(folder / "1.dcm").pixel_array.T.astype(np.float32)
    for arr in arrays:
        np.testing.assert_array_equal(arr, reference)


def test_j2k_matches_uncompressed_ct(sample_data):
    folder = sample_data / "dicom" / "pydicom-data"
    j2k, raw = read_series(folder / "693_J2KR.dcm"), read_series(folder / "693_UNCR.dcm")
    np.testing.assert_array_equal(j2k.array, raw.array)
    assert raw.array.min() == -3024.0  # RescaleIntercept applied: HU


def test_rle_and_j2k_multiframe_match_native(sample_data):
    folder = sample_data / "dicom" / "pydicom-data"
    frames = [
        pydicom.dcmread(folder / f"emri_small{suffix}.dcm").pixel_array
        for suffix in ("", "_RLE", "_jpeg_2k_lossless")
    ]
    np.testing.assert_array_equal(frames[0], frames[1])
    np.testing.assert_array_equal(frames[0], frames[2])


def test_rescale_is_applied_per_slice(tmp_path):
    files = write_ct_phantom(tmp_path, shape=(8, 8, 3), noise_hu=0.0)
    stored = [pydicom.dcmread(f).pixel_array.astype(np.float64) for f in files]
    ds = pydicom.dcmread(files[1])
    ds.RescaleSlope, ds.RescaleIntercept = 2, -100  # slices of one series may differ
    ds.save_as(files[1])
    arr = read_series(tmp_path).array
    np.testing.assert_array_equal(arr[:, :, 0], (stored[0] - 1024).T)
    np.testing.assert_array_equal(arr[:, :, 1], (stored[1] * 2 - 100).T)


def test_monochrome1_is_inverted(sample_data):
    path = sample_data / "dicom" / "pydicom-data" / "RG3_J2KR.dcm"
    ds = pydicom.dcmread(path)
    series = read_series(path)
    assert ds.PhotometricInterpretation == "MONOCHROME1" and series.meta["monochrome1_inverted"]
    expected = (2**ds.BitsStored - 1) - ds.pixel_array.astype(np.float64)
    np.testing.assert_array_equal(series.array, expected.T)
    # The header window (centre 550 on the stored MONOCHROME1 values) follows the inversion: 1023 - 550.
    assert (series.meta["window_center"], series.meta["window_width"]) == (473.0, 1024.0)


def test_colour_ybr_rct_gives_trailing_rgb_axis(sample_data):
    path = sample_data / "dicom" / "pydicom-data" / "US1_J2KR.dcm"
    series = read_series(path)
    assert series.array.shape == (640, 480, 3) and series.is_colour
    ref = sitk.GetArrayFromImage(sitk.ReadImage(str(path)))  # (z=1, y, x, rgb)
    np.testing.assert_array_equal(series.array, ref[0].transpose(1, 0, 2))


@pytest.mark.parametrize("name", ["MR2_J2KR.dcm", "JPGLosslessP14SV1_1s_1f_8b.dcm"])
def test_compressed_2d_matches_simpleitk(sample_data, name):
    path = sample_data / "dicom" / "pydicom-data" / name
    ref, _ = read_file_sitk(path)
    np.testing.assert_allclose(read_series(path).array, ref[..., 0], rtol=1e-6)


def test_ybr_full_422_becomes_rgb_like_simpleitk(pydicom_test_files):
    path = pydicom_test_files / "SC_ybr_full_422_uncompressed.dcm"
    ref = sitk.GetArrayFromImage(sitk.ReadImage(str(path)))[0]
    np.testing.assert_array_equal(read_series(path).array, ref.transpose(1, 0, 2))


def test_jpeg_frame_size_reads_every_shipped_jpeg_and_jpeg_ls_file(sample_data):
    from pydicom.encaps import generate_frames

    from medms.io.pixels import jpeg_frame_size

    seen = set()
    for path in sorted((sample_data / "dicom").rglob("*.dcm")):
        ds = pydicom.dcmread(path)
        ts = ds.file_meta.TransferSyntaxUID
        if not ts.is_compressed or "JPEG" not in ts.name or "2000" in ts.name:
            continue
        frames = int(ds.get("NumberOfFrames", 1) or 1)
        for frame in generate_frames(ds.PixelData, number_of_frames=frames):
            assert jpeg_frame_size(frame) == (ds.Rows, ds.Columns), path.name
        seen.add(ts.name.split()[0])
    assert {"JPEG", "JPEG-LS"} <= seen


def test_jpeg_frame_size_on_hand_made_marker_streams():
    from medms.io.pixels import jpeg_frame_size

    sof = bytes.fromhex("ffc0 000b 08 0100 0280 01 011100")  # 256 rows x 640 columns
    app = bytes.fromhex("ffe0 0006 4a46 4946")
    assert jpeg_frame_size(b"\xff\xd8" + app + sof + b"\xff\xda") == (256, 640)
    assert jpeg_frame_size(b"\xff\xd8\xff\xff" + app + b"\x00\x13" + sof) == (256, 640)  # fill + stray bytes
    ls = bytes.fromhex("fff7 000b 10 0200 0100 01 011100")  # JPEG-LS SOF55
    assert jpeg_frame_size(b"\xff\xd8" + ls) == (512, 256)
    deferred = bytes.fromhex("ffc0 000b 08 0000 0280 01 011100")  # height given later by DNL
    assert jpeg_frame_size(b"\xff\xd8" + deferred) is None
    assert jpeg_frame_size(b"\xff\xd8" + app + b"\xff\xda\x00\x08") is None  # a scan before any frame header
    assert jpeg_frame_size(b"\xff\xd8" + sof[:6]) is None  # truncated
    assert jpeg_frame_size(b"\x00\x00" + sof) is None  # no SOI
