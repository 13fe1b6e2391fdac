"""The synthetic DICOM writers: standard attributes, values, uniqueness, round trips."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest

from medms.io import read_series
from medms.synthetic import write_ct_phantom, write_image_dicom
from tests.conftest import OBLIQUE_IOP


def test_ct_phantom_headers(ct_series):
    headers = [pydicom.dcmread(f) for f in ct_series]
    first = headers[0]
    assert first.file_meta.TransferSyntaxUID == pydicom.uid.ExplicitVRLittleEndian
    assert first.SOPClassUID == "1.2.840.10008.5.1.4.1.1.2" and first.Modality == "CT"
    assert (first.Rows, first.Columns, first.BitsAllocated, first.PixelRepresentation) == (40, 48, 16, 1)
    assert [float(v) for v in first.PixelSpacing] == [0.7, 0.9]
    assert float(first.SliceThickness) == 2.5 and first.RescaleIntercept == -1024
    assert len({h.SOPInstanceUID for h in headers}) == len(headers)
    assert len({h.SeriesInstanceUID for h in headers}) == 1
    z = [float(h.ImagePositionPatient[2]) for h in headers]
    np.testing.assert_allclose(np.diff(z), 2.5)
    assert first.pixel_array.dtype == np.int16


def test_ct_phantom_is_reproducible_and_has_hu_values(tmp_path):
    a = write_ct_phantom(tmp_path / "a", shape=(64, 64, 9), noise_hu=0.0)
    b = write_ct_phantom(tmp_path / "b", shape=(64, 64, 9), noise_hu=0.0)
    assert [f.read_bytes() for f in a] == [f.read_bytes() for f in b]
    hu = read_series(tmp_path / "a").array
    values = set(np.unique(hu).tolist())
    assert {-1000.0, 40.0, -820.0, 700.0} <= values  # air, soft tissue, lung, bone
    assert {120.0, 90.0, -30.0} & values  # lesions


def test_oblique_phantom_positions_follow_the_normal(oblique_ct_series):
    headers = [pydicom.dcmread(f) for f in oblique_ct_series]
    row, col = np.array(OBLIQUE_IOP[:3]), np.array(OBLIQUE_IOP[3:])
    normal = np.cross(row, col)
    pos = np.array([[float(v) for v in h.ImagePositionPatient] for h in headers])
    steps = np.diff(pos, axis=0)
    np.testing.assert_allclose(
        steps, np.tile(normal / np.linalg.norm(normal) * 3.0, (len(steps), 1)), atol=1e-5
    )


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_write_image_dicom_round_trip(tmp_path, dtype):
    img = np.random.default_rng(0).integers(0, np.iinfo(dtype).max, size=(7, 5)).astype(dtype)
    path = write_image_dicom(img, tmp_path / "x.dcm", modality="CR", pixel_spacing=(0.2, 0.3))
    ds = pydicom.dcmread(path)
    np.testing.assert_array_equal(ds.pixel_array, img)
    assert ds.Modality == "CR" and ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.1"
    series = read_series(path)
    np.testing.assert_array_equal(series.array, img.T.astype(np.float32))
    assert series.spacing == (0.3, 0.2)


def test_write_image_dicom_rgb(tmp_path):
    img = np.random.default_rng(1).integers(0, 255, size=(4, 6, 3)).astype(np.uint8)
    series = read_series(write_image_dicom(img, tmp_path / "c.dcm"))
    np.testing.assert_array_equal(series.array, img.transpose(1, 0, 2))


def test_write_image_dicom_rejects_other_arrays(tmp_path):
    with pytest.raises(ValueError, match="uint8"):
        write_image_dicom(np.zeros((3, 3), np.float32), tmp_path / "f.dcm")


def test_ct_cohort_manifest_labels_and_lesions(tmp_path):
    from medms.engine.data import load_manifest_splits
    from medms.synthetic import write_ct_cohort

    manifest = write_ct_cohort(tmp_path, splits={"train": 4, "test": 2}, shape=(48, 48, 6), seed=3)
    rows = [line.split(",") for line in manifest.read_text().splitlines()[1:]]
    assert [r[2] for r in rows] == ["train"] * 4 + ["test"] * 2
    assert [r[1] for r in rows] == ["no_lesion", "lesion"] * 3
    splits, _ = load_manifest_splits(manifest, class_names=["no_lesion", "lesion"])
    assert [it["label"] for it in splits["train"] + splits["test"]] == [0, 1] * 3
    for path, label, _, row, col, sl, radius, hu in rows:
        volume = read_series(tmp_path / path).array  # (x=columns, y=rows, z=slices)
        assert volume.shape == (48, 48, 6)
        if label == "no_lesion":
            assert (row, col, sl, radius, hu) == ("", "", "", "", "")
            continue
        assert 4.0 <= float(radius) <= 10.0 and 15.0 <= abs(float(hu) - 40.0) <= 70.0
        cx, cy, z = round(float(col) * 47), round(float(row) * 47), round(float(sl) * 5)
        patch = volume[cx - 1 : cx + 2, cy - 1 : cy + 2, z]  # 9 voxels well inside the lesion (radius ≥ 4 mm)
        mean = float(patch.mean())
        assert abs(mean - float(hu)) < 25  # noise ≤ 25 HU: 3 standard errors of a 9-voxel mean
        assert abs(mean - float(hu)) < abs(mean - 40.0)  # the lesion, not the soft tissue around it
    again = write_ct_cohort(tmp_path / "again", splits={"train": 4, "test": 2}, shape=(48, 48, 6), seed=3)
    assert again.read_text() == manifest.read_text()
    first = sorted((tmp_path / "train" / "case001").iterdir())[0].read_bytes()
    assert sorted((tmp_path / "again" / "train" / "case001").iterdir())[0].read_bytes() == first
