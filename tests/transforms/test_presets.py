"""Presets: output contract, option handling, array/DICOM agreement, augmentation, bundle use."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from monai.bundle import ConfigParser
from monai.transforms import Compose

from medms.errors import ConfigError
from medms.synthetic import write_ct_phantom, write_image_dicom
from medms.transforms.presets import PRESETS, ct_volume, get_preset, medmnist

from .conftest import CT_FILE, MR_FILE, SAMPLE, US_FILE

BREAST = np.load(SAMPLE.parent / "medmnist" / "breastmnist.npz")["train_images"][:4]
COLOUR_US = SAMPLE / "pydicom-data" / "US1_J2KR.dcm"
RADIOGRAPH = SAMPLE / "pydicom-data" / "RG3_J2KR.dcm"


@pytest.fixture(scope="module")
def breast_dicom(tmp_path_factory) -> str:
    return str(write_image_dicom(BREAST[0], tmp_path_factory.mktemp("us") / "breast.dcm"))


@pytest.fixture(scope="module")
def ct_series(tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("ct")
    write_ct_phantom(folder, shape=(48, 48, 12), spacing=(4.0, 4.0, 5.0))
    return str(folder)


def check_network_ready(img: torch.Tensor, size: tuple[int, ...]) -> None:
    assert isinstance(img, torch.Tensor)
    assert img.dtype == torch.float32
    assert tuple(img.shape) == (1, *size)
    assert torch.isfinite(img).all()


@pytest.mark.parametrize(
    ("name", "source", "options", "augment"),
    [
        ("ct_mr_slice", CT_FILE, {"window": "dicom", "body_crop": True}, True),
        ("ct_mr_slice", CT_FILE, {"window": "brain", "denoise": "bilateral"}, False),
        ("ct_mr_slice", MR_FILE, {"denoise": "anisotropic_diffusion"}, False),
        ("radiograph", RADIOGRAPH, {"window": "dicom"}, True),
        ("ultrasound", COLOUR_US, {"denoise": "total_variation"}, False),
        ("ultrasound", US_FILE, {}, True),
    ],
)
def test_2d_presets_give_network_ready_tensors_from_real_files(name, source, options, augment):
    pipeline = get_preset(name, spatial_size=[48, 40], augment=augment, **options)
    out = pipeline({"image": str(source), "label": 1})
    check_network_ready(out["image"], (48, 40))
    assert out["label"] == 1
    if not augment:
        assert float(out["image"].min()) >= 0.0 and float(out["image"].max()) <= 1.0


@pytest.mark.parametrize("denoise", ["bilateral", "nl_means", "none"])
def test_ct_volume_preset_on_a_generated_series(ct_series, denoise):
    out = ct_volume(spatial_size=[24, 24, 16], pixdim=6.0, denoise=denoise)({"image": ct_series})["image"]
    check_network_ready(out, (24, 24, 16))
    assert float(out.min()) == 0.0 and 0.9 < float(out.max()) <= 1.0
    start, end = out.meta["medms_crop_start"], out.meta["medms_crop_end"]
    assert len(start) == len(end) == 3
    assert out.meta["medms_window"] == [50.0, 400.0]


def test_ct_volume_with_augmentation_is_reproducible_with_a_seed(ct_series):
    a = ct_volume(spatial_size=16, pixdim=8.0, augment=True).set_random_state(seed=5)
    b = ct_volume(spatial_size=16, pixdim=8.0, augment=True).set_random_state(seed=5)
    torch.testing.assert_close(a({"image": ct_series})["image"], b({"image": ct_series})["image"])


def test_medmnist_same_picture_from_array_and_dicom_is_identical(breast_dicom):
    for augment in (False, True):
        a = medmnist(augment=augment).set_random_state(seed=0)
        b = medmnist(augment=augment).set_random_state(seed=0)
        from_array = a({"image": BREAST[0], "label": 0})["image"]
        from_file = b({"image": breast_dicom, "label": 0})["image"]
        check_network_ready(from_array, (64, 64))
        torch.testing.assert_close(from_array, from_file, atol=1e-5, rtol=0)


def test_medmnist_scales_8_bit_to_minus_one_one_and_resizes_bilinearly():
    img = np.zeros((28, 28), np.uint8)
    img[:, 14:] = 255
    out = medmnist(spatial_size=56)({"image": img})["image"]
    check_network_ready(out, (56, 56))
    # numpy (rows, cols) → (x = column, y = row): the bright right half is the second half of axis 0
    assert float(out[0, :20].max()) == -1.0 and float(out[0, 36:].min()) == 1.0
    np.testing.assert_allclose(out[0, 27:29, 0].numpy(), [-0.5, 0.5])  # bilinear, half-pixel centres


def test_medmnist_augmentation_varies_per_draw_and_stays_in_range():
    pipeline = medmnist(augment=True).set_random_state(seed=1)
    draws = [pipeline({"image": BREAST[1]})["image"] for _ in range(4)]
    assert all(not torch.equal(draws[0], d) for d in draws[1:])
    assert all(float(d.abs().max()) <= 1.1 + 1e-6 for d in draws)  # [-1, 1] times the ±10 % jitter


def test_get_preset_rebuilds_the_pipeline_from_stored_json():
    stored = json.loads(
        json.dumps({"preset": "medmnist", "options": {"spatial_size": [32, 32], "augment": False}})
    )
    a = get_preset(stored["preset"], **stored["options"])
    b = medmnist(spatial_size=(32, 32))
    assert isinstance(a, Compose)
    torch.testing.assert_close(a({"image": BREAST[2]})["image"], b({"image": BREAST[2]})["image"])


def test_registry_lists_every_family():
    assert set(PRESETS) == {"ct_volume", "ct_mr_slice", "radiograph", "ultrasound", "medmnist"}


@pytest.mark.parametrize(
    ("name", "options", "match"),
    [
        ("mammo", {}, "unknown preset"),
        ("medmnist", {"sizes": 3}, "no option"),
        ("medmnist", {"spatial_size": 0}, "spatial_size"),
        ("medmnist", {"spatial_size": [8, 8, 8]}, "spatial_size"),
        ("ct_volume", {"denoise": "wavelet"}, "denoise"),
        ("ct_mr_slice", {"window": "kidney"}, "window"),
        ("radiograph", {"window": "lung"}, "radiograph window"),
        ("ultrasound", {"spatial_size": np.int64(8)}, "JSON"),
        ("ct_volume", {"pixdim": float("nan")}, "JSON"),
        ("ct_volume", {"pixdim": [1.0, 0.0, 1.0]}, "pixdim"),
    ],
)
def test_bad_presets_and_options_raise_config_errors(name, options, match):
    with pytest.raises(ConfigError, match=match):
        get_preset(name, **options)


def test_presets_build_from_a_bundle_config():
    parser = ConfigParser(
        {
            "preprocessing": {
                "_target_": "medms.transforms.presets.medmnist",
                "spatial_size": 32,
                "augment": False,
            }
        }
    )
    pipeline = parser.get_parsed_content("preprocessing")
    check_network_ready(pipeline({"image": BREAST[3]})["image"], (32, 32))


def test_presets_without_loading_take_channel_first_tensors():
    x = torch.rand(1, 30, 20) * 1000
    out = get_preset("ct_mr_slice", load=False, spatial_size=16)({"image": x})["image"]
    check_network_ready(out, (16, 16))
