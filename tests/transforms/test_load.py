"""LoadSeries / LoadSeriesd: MetaTensors with MONAI conventions from every supported source."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from monai.data import MetaTensor
from monai.transforms import Compose, LoadImage, Orientationd, Spacingd

from medms.errors import GeometryError
from medms.synthetic import write_image_dicom
from medms.transforms import LoadSeries, LoadSeriesd
from tests.io._sitk import read_series_sitk


def test_dicom_file_and_array_give_the_same_tensor(tmp_path):
    img = np.random.default_rng(0).integers(0, 256, size=(28, 20)).astype(np.uint8)
    path = write_image_dicom(img, tmp_path / "x.dcm")
    from_file, from_array = LoadSeries()(str(path)), LoadSeries()(img)
    assert from_file.shape == from_array.shape == (1, 20, 28)
    assert from_file.dtype == from_array.dtype == torch.float32
    assert torch.equal(from_file.as_tensor(), from_array.as_tensor())
    assert from_file.meta["filename_or_obj"] == str(path) and from_array.meta["filename_or_obj"] == "<array>"


def test_ct_series_metatensor_affine_matches_simpleitk(ct_series):
    out = LoadSeries()(ct_series[0].parent)
    ref, ref_affine = read_series_sitk(ct_series)
    assert isinstance(out, MetaTensor) and out.shape == (1, *ref.shape)
    np.testing.assert_array_equal(out[0].numpy(), ref)
    np.testing.assert_allclose(out.affine.numpy(), ref_affine, atol=1e-4)
    assert out.meta["space"] == "RAS" and out.meta["modality"] == "CT"


def test_composes_with_monai_orientation_and_spacing(oblique_ct_series):
    pipeline = Compose(
        [
            LoadSeriesd("image"),
            Orientationd("image", axcodes="RAS"),
            Spacingd("image", pixdim=(2.0, 2.0, 3.0)),
        ]
    )
    out = pipeline({"image": oblique_ct_series[0].parent})["image"]
    np.testing.assert_allclose(np.linalg.norm(out.affine.numpy()[:3, :3], axis=0), (2.0, 2.0, 3.0), rtol=1e-5)
    # World position of the volume centre is preserved by the resampling.
    before = LoadSeries()(oblique_ct_series[0].parent)
    centre = lambda t: (t.affine.numpy() @ np.r_[(np.array(t.shape[1:]) - 1) / 2, 1])[:3]  # noqa: E731
    np.testing.assert_allclose(centre(out), centre(before), atol=2.0)


def test_nifti_matches_monai_loadimage(tmp_path):
    import nibabel as nib

    data = np.random.default_rng(0).normal(size=(5, 4, 3)).astype(np.float32)
    nib.save(nib.Nifti1Image(data, np.diag([1.5, 2.0, 3.0, 1.0])), tmp_path / "v.nii.gz")
    ref = LoadImage(image_only=True, ensure_channel_first=True)(str(tmp_path / "v.nii.gz"))
    out = LoadSeries()(str(tmp_path / "v.nii.gz"))
    assert torch.equal(out.as_tensor(), ref.as_tensor())
    np.testing.assert_allclose(out.affine.numpy(), ref.affine.numpy())


def test_npz_and_tensor_inputs(sample_data):
    npz = sample_data / "medmnist" / "breastmnist.npz"
    with np.load(npz) as data:
        image = data["train_images"][5]
    out = LoadSeries()(f"{npz}::train_images::5")
    assert torch.equal(out.as_tensor(), LoadSeries()(torch.as_tensor(image)).as_tensor())
    assert out.shape == (1, 28, 28)


def test_metatensor_passes_through():
    t = MetaTensor(torch.zeros(1, 2, 2))
    assert LoadSeries()(t) is t


def test_colour_dicom_is_channel_first(sample_data):
    out = LoadSeries()(sample_data / "dicom" / "pydicom-data" / "US1_J2KR.dcm")
    assert out.shape == (3, 640, 480) and out.meta["original_channel_dim"] == -1


def test_options_reach_the_reader(sample_data):
    folder = sample_data / "dicom" / "ct_uneven_gap"
    with pytest.raises(GeometryError):
        LoadSeries()(folder)
    out = LoadSeriesd("image", lenient=True)({"image": folder, "label": 0})
    assert out["label"] == 0 and len(out["image"].meta["medms_warnings"]) == 1


def test_dictionary_version_keeps_other_keys_and_allows_missing():
    out = LoadSeriesd(["a", "b"], allow_missing_keys=True)({"a": np.zeros((2, 3)), "id": "x"})
    assert out["a"].shape == (1, 3, 2) and out["id"] == "x" and "b" not in out


def test_outputs_collate_into_a_batch(tmp_path):
    from monai.data import list_data_collate

    rng = np.random.default_rng(2)
    paths = [
        write_image_dicom(rng.integers(0, 255, (6, 5)).astype(np.uint8), tmp_path / f"{i}.dcm")
        for i in range(2)
    ]
    for sources in (paths, [rng.random((6, 5)) for _ in range(2)]):
        batch = list_data_collate([LoadSeriesd("image")({"image": s}) for s in sources])
        assert batch["image"].shape == (2, 1, 5, 6)


def test_series_reader_in_monai_loadimage_matches_loadseries(oblique_ct_series, sample_data):
    from medms.transforms import SeriesReader

    for source in (oblique_ct_series[0].parent, sample_data / "dicom" / "pydicom-data" / "US1_J2KR.dcm"):
        ref = LoadSeries()(source)
        out = LoadImage(reader=SeriesReader(), image_only=True, ensure_channel_first=True)(source)
        assert torch.equal(out.as_tensor(), ref.as_tensor())
        np.testing.assert_allclose(out.affine.numpy(), ref.affine.numpy())
        assert out.meta["filename_or_obj"] == str(source)
