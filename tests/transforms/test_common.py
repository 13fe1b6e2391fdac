"""What every medms transform promises: input checks, container types, Compose, pickling, bundle configs."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from monai.bundle import ConfigParser
from monai.data import MetaTensor
from monai.transforms import Compose, RandFlipd, ScaleIntensityd

from medms.errors import DataError
from medms.transforms import (
    AnisotropicDiffusion,
    BilateralDenoise,
    BodyCrop,
    DicomWindow,
    Grayscale,
    NLMeansDenoise,
    RobustNormalize,
    TVDenoise,
    Window,
    Windowd,
)

TRANSFORMS = {
    "window": lambda: Window(preset="soft_tissue"),
    "dicom_window": lambda: DicomWindow(missing="minmax"),
    "robust_normalize": lambda: RobustNormalize(),
    "grayscale": lambda: Grayscale(),
    "nl_means": lambda: NLMeansDenoise(),
    "total_variation": lambda: TVDenoise(),
    "bilateral": lambda: BilateralDenoise(),
    "anisotropic_diffusion": lambda: AnisotropicDiffusion(),
    "body_crop": lambda: BodyCrop(),
}
ALL = pytest.mark.parametrize("name", list(TRANSFORMS))


@ALL
def test_nan_and_inf_are_rejected(name):
    for bad in (np.nan, np.inf):
        x = np.ones((1, 6, 6), np.float32)
        x[0, 2, 3] = bad
        with pytest.raises(DataError, match="NaN or Inf"):
            TRANSFORMS[name]()(x)


@ALL
def test_wrong_number_of_dimensions_is_rejected(name):
    for shape in [(6, 6), (1, 2, 3, 4, 5)]:
        with pytest.raises(DataError, match="channel-first"):
            TRANSFORMS[name]()(np.ones(shape, np.float32))


@ALL
def test_channel_last_arrays_are_rejected(name):
    with pytest.raises(DataError, match="channel-last"):
        TRANSFORMS[name]()(np.ones((28, 28, 3), np.float32))


@ALL
def test_non_arrays_and_empty_arrays_are_rejected(name):
    with pytest.raises(DataError, match="numpy array or torch tensor"):
        TRANSFORMS[name]()([[[1.0]]])
    with pytest.raises(DataError, match="empty"):
        TRANSFORMS[name]()(np.ones((1, 0, 4), np.float32))


@ALL
@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.float64])
def test_integer_and_float_inputs_give_float_output(name, dtype):
    x = np.zeros((1, 10, 12), dtype)
    x[0, 3:7, 4:9] = 100
    out = TRANSFORMS[name]()(x)
    assert isinstance(out, np.ndarray)
    assert np.issubdtype(out.dtype, np.floating)
    assert np.isfinite(out).all()


@ALL
def test_constant_images_give_finite_output(name):
    for shape in [(1, 7, 7), (1, 5, 5, 5)]:
        out = TRANSFORMS[name]()(torch.full(shape, 3.0))
        assert torch.isfinite(torch.as_tensor(out)).all()


@ALL
def test_tiny_images_work_in_2d_and_3d(name):
    for x in (torch.tensor([[[0.0, 1.0], [2.0, 3.0]]]), torch.arange(8.0).reshape(1, 2, 2, 2)):
        out = TRANSFORMS[name]()(x)
        assert out.ndim == x.ndim
        assert torch.isfinite(out).all()


@ALL
def test_metatensor_in_metatensor_out_with_affine_and_meta(name):
    affine = torch.tensor(
        [[0.5, 0, 0, 3.0], [0, 0.5, 0, -2.0], [0, 0, 2.0, 1.0], [0, 0, 0, 1]], dtype=torch.float64
    )
    x = torch.zeros(1, 12, 12, 4)
    x[:, 3:9, 2:10, :] = 50.0
    img = MetaTensor(x, affine=affine, meta={"modality": "CT"})
    out = TRANSFORMS[name]()(img)
    assert isinstance(out, MetaTensor)
    assert out.meta["modality"] == "CT"
    if name != "body_crop":  # the crop moves the origin; tested in test_crop
        torch.testing.assert_close(out.affine, affine)


@ALL
def test_torch_in_torch_out_same_dtype_and_device(name):
    x = torch.rand(1, 9, 9, dtype=torch.float64)
    out = TRANSFORMS[name]()(x)
    assert isinstance(out, torch.Tensor)
    assert out.dtype == torch.float64
    assert out.device == x.device


@ALL
def test_transforms_survive_pickling_for_dataloader_workers(name):
    t = TRANSFORMS[name]()
    x = np.random.default_rng(0).random((1, 10, 10)).astype(np.float32)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(t))(x), t(x))


def test_composes_with_monai_transforms():
    pipeline = Compose(
        [
            ScaleIntensityd("image", minv=-1000.0, maxv=1000.0),
            Windowd("image", preset="lung"),
            RandFlipd("image", prob=1.0, spatial_axis=0),
        ]
    )
    x = np.linspace(0, 1, 20, dtype=np.float32).reshape(1, 4, 5)
    out = pipeline({"image": x})["image"]
    assert out.shape == (1, 4, 5)
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0


def test_dictionary_transforms_build_from_a_bundle_config():
    config = {
        "preprocessing": {
            "_target_": "Compose",
            "transforms": [
                {"_target_": "medms.transforms.Windowd", "keys": "image", "preset": "brain"},
                {"_target_": "medms.transforms.BilateralDenoised", "keys": "image", "sigma_range": 0.1},
                {
                    "_target_": "medms.transforms.BodyCropd",
                    "keys": "image",
                    "threshold": 0.2,
                    "margin": [1, 1],
                },
                {"_target_": "medms.transforms.RobustNormalized", "keys": "image", "mode": "unit"},
            ],
        }
    }
    parser = ConfigParser(config)
    pipeline = parser.get_parsed_content("preprocessing")
    x = np.full((1, 16, 16), -50.0, np.float32)
    x[0, 4:12, 6:10] = 40.0
    out = pipeline({"image": x})["image"]
    assert out.shape == (1, 10, 6)
    assert float(out.max()) == 1.0
