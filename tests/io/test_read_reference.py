"""read_series against SimpleITK (independent reader) on generated and real series."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pydicom
import pytest

from medms.errors import GeometryError
from medms.io import read_series, scan_dicom
from tests.io._sitk import read_file_sitk, read_series_sitk


def _assert_same(series, ref_array, ref_affine):
    assert series.array.shape == ref_array.shape
    np.testing.assert_array_equal(series.array, ref_array)
    np.testing.assert_allclose(series.affine, ref_affine, atol=1e-4)


@pytest.mark.parametrize("fixture", ["ct_series", "oblique_ct_series"])
def test_generated_series_matches_simpleitk(request, fixture):
    files = request.getfixturevalue(fixture)
    series = read_series(files[0].parent)
    _assert_same(series, *read_series_sitk(files))
    assert series.array.dtype == np.float32


def test_generated_geometry_matches_the_writer(ct_series):
    series = read_series(ct_series[0].parent)
    assert series.array.shape == (48, 40, 10)  # (columns, rows, slices)
    assert series.spacing == pytest.approx((0.9, 0.7, 2.5))
    assert series.meta["modality"] == "CT" and series.meta["n_instances"] == 10


def test_order_comes_from_positions_not_instance_numbers(tmp_path, oblique_ct_series):
    expected = read_series(oblique_ct_series[0].parent).array
    for n, f in enumerate(oblique_ct_series):  # reversed, scrambled numbers and file names
        ds = pydicom.dcmread(f)
        ds.InstanceNumber = (n * 7) % 5 + 1
        ds.save_as(tmp_path / f"z{(n * 4) % 9}_{n}.dcm")
    np.testing.assert_array_equal(read_series(tmp_path).array, expected)


def test_real_ct_series_matches_simpleitk(pydicom_test_files):
    folder = pydicom_test_files / "dicomdirtests" / "98892001" / "CT5N"
    _assert_same(read_series(folder), *read_series_sitk(sorted(folder.iterdir())))


def test_enhanced_ct_multiframe_matches_simpleitk(sample_data):
    path = sample_data / "dicom" / "pydicom-data" / "eCT_Supplemental.dcm"
    series = read_series(path)
    _assert_same(series, *read_file_sitk(path))
    assert series.spacing == pytest.approx((0.388672, 0.388672, 10.0))
    assert series.meta["window_center"] == 49.0


@pytest.mark.parametrize(
    "name",
    ["dcm_qa_ts/1.dcm", "pydicom-data/MR-SIEMENS-DICOM-WithOverlays.dcm", "pydicom-data/693_UNCR.dcm"],
)
def test_single_2d_image_matches_simpleitk(sample_data, name):
    path = sample_data / "dicom" / name
    series = read_series(path)
    ref, ref_affine = read_file_sitk(path)
    assert series.array.ndim == 2
    np.testing.assert_array_equal(series.array, ref[..., 0])
    # In-plane axes and origin; the third column of a single slice is a convention (slice thickness).
    np.testing.assert_allclose(series.affine[:, [0, 1, 3]], ref_affine[:, [0, 1, 3]], atol=1e-4)


def test_uneven_gap_series_is_ordered_and_reported(sample_data):
    folder = sample_data / "dicom" / "ct_uneven_gap"
    with pytest.raises(GeometryError, match=r"gap\(s\) of 202.5 mm"):
        read_series(folder)
    series = read_series(folder, lenient=True)
    assert len(series.warnings) == 1 and series.warnings == series.meta["medms_warnings"]
    ref, _ = read_series_sitk(sorted(folder.iterdir()))
    np.testing.assert_array_equal(series.array, ref)  # GDCM also sorts by position
    z = [float(pydicom.dcmread(f).ImagePositionPatient[2]) for f in sorted(folder.iterdir())]
    assert series.affine[2, 3] == pytest.approx(min(z))


def test_multi_series_folder_lists_all_three(pydicom_test_files):
    folder = pydicom_test_files / "dicomdirtests" / "98892003" / "MR2"
    uids = [s.uid for s in scan_dicom(folder)]
    assert len(uids) == 3
    from medms.errors import SeriesSelectionError

    with pytest.raises(SeriesSelectionError, match="3 series found") as err:
        read_series(folder)
    assert all(uid in str(err.value) for uid in uids)


def test_emri_without_plane_geometry_is_a_typed_error(sample_data):
    with pytest.raises(GeometryError, match="ImagePositionPatient/ImageOrientationPatient are missing"):
        read_series(sample_data / "dicom" / "pydicom-data" / "emri_small.dcm")


def test_select_by_uid_and_largest(tmp_path, ct_series, oblique_ct_series):
    for f in [*ct_series, *oblique_ct_series]:
        shutil.copy(f, tmp_path / f"{f.parent.name}_{f.name}")
    uid = pydicom.dcmread(oblique_ct_series[0]).SeriesInstanceUID
    assert read_series(tmp_path, series_uid=uid).array.shape == (44, 36, 9)
    assert read_series(tmp_path, select="largest").array.shape == (48, 40, 10)
    assert read_series(scan_dicom(tmp_path)[0]).array.shape == (48, 40, 10)


def test_source_as_file_list(ct_series):
    series = read_series([str(p) for p in reversed(ct_series)])
    np.testing.assert_array_equal(series.array, read_series(Path(ct_series[0]).parent).array)


@pytest.mark.parametrize(
    "name",
    ["dicomdirtests/98892003/MR1/4919", "dicomdirtests/98892003/MR1/5641", "MR_small.dcm", "CT_small.dcm"],
)
def test_real_mr_and_ct_slices_match_simpleitk(pydicom_test_files, name):
    path = pydicom_test_files / name
    series = read_series(path)
    ref, ref_affine = read_file_sitk(path)
    np.testing.assert_array_equal(series.array, ref[..., 0])
    np.testing.assert_allclose(series.affine[:, [0, 1, 3]], ref_affine[:, [0, 1, 3]], atol=1e-4)
    assert series.meta["geometry"] == "patient"
