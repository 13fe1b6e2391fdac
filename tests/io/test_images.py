"""NIfTI, .npz and numpy sources follow the same conventions as MONAI's readers."""

from __future__ import annotations

import gzip

import nibabel as nib
import numpy as np
import pytest
from monai.transforms import LoadImage

from medms.errors import DataError, InputError
from medms.io import read_array, read_image, read_nifti, read_npz


@pytest.fixture
def nifti_file(tmp_path):
    rng = np.random.default_rng(0)
    data = rng.normal(size=(6, 5, 4)).astype(np.float32)
    affine = np.array([[0, -1.5, 0, 10], [2.0, 0, 0, -3], [0, 0, 2.5, 7], [0, 0, 0, 1]])
    path = tmp_path / "vol.nii.gz"
    nib.save(nib.Nifti1Image(data, affine), path)
    return path


def test_nifti_matches_monai_nibabel_reader(nifti_file):
    ref = LoadImage(reader="NibabelReader", image_only=True)(str(nifti_file))
    series = read_nifti(nifti_file)
    np.testing.assert_array_equal(series.array, ref.numpy())
    np.testing.assert_allclose(series.affine, ref.affine.numpy())
    assert series.spacing == pytest.approx((2.0, 1.5, 2.5))


def test_nifti_scaling_is_applied(tmp_path):
    img = nib.Nifti1Image(np.arange(8, dtype=np.int16).reshape(2, 2, 2), np.eye(4))
    img.header.set_slope_inter(2.0, -1.0)
    nib.save(img, tmp_path / "s.nii")
    assert read_nifti(tmp_path / "s.nii").array.max() == 13.0


def test_bad_nifti(tmp_path):
    (tmp_path / "bad.nii").write_bytes(b"nope")
    with pytest.raises(InputError, match="not a readable NIfTI"):
        read_nifti(tmp_path / "bad.nii")


def test_npz_spec(sample_data):
    npz = sample_data / "medmnist" / "breastmnist.npz"
    with np.load(npz) as data:
        expected = data["test_images"][12]
    series = read_npz(f"{npz}::test_images::12")
    np.testing.assert_array_equal(series.array, expected.T.astype(np.float32))
    np.testing.assert_array_equal(
        read_image(f"{npz}::test_images::-1").array, read_npz(f"{npz}::test_images::155").array
    )


@pytest.mark.parametrize(
    ("suffix", "match"),
    [
        ("", "addressed as"),
        ("::nokey::0", "no array 'nokey'"),
        ("::test_images::156", "out of range"),
        ("::test_images::x", "integer"),
    ],
)
def test_bad_npz_specs(sample_data, suffix, match):
    with pytest.raises(InputError, match=match):
        read_npz(f"{sample_data / 'medmnist' / 'breastmnist.npz'}{suffix}")


def test_npz_rgb_entries(tmp_path):
    images = np.random.default_rng(0).integers(0, 255, size=(2, 4, 5, 3)).astype(np.uint8)
    np.savez(tmp_path / "c.npz", x=images)
    series = read_npz(f"{tmp_path / 'c.npz'}::x::1")
    assert series.is_colour
    np.testing.assert_array_equal(series.array, images[1].transpose(1, 0, 2))


def test_arrays_are_transposed_to_column_row_order():
    vol = np.arange(24).reshape(2, 3, 4)
    np.testing.assert_array_equal(read_array(vol).array, vol.transpose(1, 0, 2))
    assert read_array(vol).affine.tolist() == np.eye(4).tolist()


@pytest.mark.parametrize("bad", [np.zeros(3), np.zeros((2, 2, 2, 2)), np.array([[np.nan, 1.0]])])
def test_bad_arrays(bad):
    with pytest.raises(DataError):
        read_array(bad)


def test_nifti_size_guard(nifti_file):
    from medms.errors import ImageSizeError

    with pytest.raises(ImageSizeError, match="above the limit"):
        read_image(str(nifti_file), max_pixels=100)


def test_truncated_nifti(nifti_file, tmp_path):
    raw = gzip.decompress(nifti_file.read_bytes())
    (tmp_path / "cut.nii").write_bytes(raw[: len(raw) - 40])
    with pytest.raises(InputError, match="cannot be read"):
        read_nifti(tmp_path / "cut.nii")
