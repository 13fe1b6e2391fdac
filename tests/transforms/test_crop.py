"""Body crop: mask, table removal, crop box and affine bookkeeping, empty masks."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from monai.data import MetaTensor
from monai.transforms import Compose, Orientationd, Spacingd

from medms.transforms import BodyCrop, BodyCropd, LoadSeries, body_mask

from .conftest import CT_FILE


def ct_phantom_slice() -> np.ndarray:
    """(X, Y) HU slice: air, an elliptic body with a lung-like air hole, a thin table below it."""
    x, y = np.meshgrid(np.arange(96), np.arange(80), indexing="ij")
    hu = np.full((96, 80), -1000.0)
    body = ((x - 48) / 30.0) ** 2 + ((y - 34) / 22.0) ** 2 <= 1
    hu[body] = 40.0
    hu[((x - 40) / 6.0) ** 2 + ((y - 32) / 6.0) ** 2 <= 1] = -850.0  # air inside the body
    hu[4:92, 62:64] = 200.0  # the table: 2 voxels thick, wider than the body, below it
    hu[40:42, 55:62] = 40.0  # a thin strap joining table and body
    return hu


def test_crop_box_is_the_body_bounding_box_plus_margin():
    img = MetaTensor(torch.as_tensor(ct_phantom_slice())[None])
    out = BodyCrop(threshold=-500.0, margin=2)(img)
    # body + strap + table span x 4..91, y 12..63
    assert out.meta["medms_crop_start"] == [2, 10]
    assert out.meta["medms_crop_end"] == [94, 66]
    assert tuple(out.shape) == (1, 92, 56)


def test_remove_table_cuts_the_thin_table_off():
    img = torch.as_tensor(ct_phantom_slice())[None]
    out = BodyCrop(threshold=-500.0, margin=0, remove_table=True, table_radius=2)(img)
    start, end = out.meta["medms_crop_start"], out.meta["medms_crop_end"]
    # the box is the body's (x 18..78, y 12..56), not the wider table's
    assert (start, end) == ([18, 12], [79, 57])


def test_mask_outside_fills_background_but_keeps_air_inside_the_body():
    hu = ct_phantom_slice()
    crop = BodyCrop(threshold=-500.0, margin=8, remove_table=True, table_radius=2, mask_outside=True)
    out = crop(MetaTensor(torch.as_tensor(hu)[None]))
    start = out.meta["medms_crop_start"]
    arr = out.numpy()[0]
    assert arr[40 - start[0], 32 - start[1]] == -850.0  # air inside the body is kept (holes filled)
    assert arr[48 - start[0], 34 - start[1]] == 40.0
    assert np.all(arr[:, 62 - start[1]] == -1000.0)  # the table row is masked out


def test_affine_is_updated_so_world_positions_are_unchanged():
    affine = torch.tensor(
        [[-0.7, 0, 0, 10.0], [0, -0.7, 0, 20.0], [0, 0, 2.0, -30.0], [0, 0, 0, 1]], dtype=torch.float64
    )
    vol = np.repeat(ct_phantom_slice()[:, :, None], 6, axis=2)
    vol[..., :1] = -1000.0  # first slice: air only
    img = MetaTensor(torch.as_tensor(vol)[None], affine=affine)
    out = BodyCrop(threshold=-500.0, margin=1)(img)
    start = out.meta["medms_crop_start"]
    assert start[2] == 0  # slice 1 has body, margin 1 reaches slice 0
    expected = affine @ torch.tensor([*start, 1.0], dtype=torch.float64)
    torch.testing.assert_close(out.affine[:, 3], expected)
    assert out.applied_operations[-1]["class"] == "SpatialCrop"


def test_otsu_threshold_is_used_without_a_threshold():
    img = np.zeros((1, 40, 40), np.float32)
    img[0, 10:30, 5:20] = 100.0
    img[0, 2, 38] = 100.0  # a speck, not connected: ignored by the largest component
    out = BodyCrop(margin=0)(img)
    assert out.shape == (1, 20, 15)


def test_empty_mask_leaves_the_image_uncropped_with_a_warning():
    img = MetaTensor(torch.full((1, 8, 8), -1000.0))
    out = BodyCrop(threshold=-500.0)(img)
    assert out.shape == img.shape
    assert out.meta["medms_crop_start"] == [0, 0]
    assert out.meta["medms_crop_end"] == [8, 8]
    assert any("empty body mask" in m for m in out.meta["medms_warnings"])
    assert "medms_warnings" not in img.meta


def test_constant_image_with_otsu_is_an_empty_mask_not_a_crash():
    out = BodyCrop()(MetaTensor(torch.full((1, 6, 6, 6), 5.0)))
    assert out.shape == (1, 6, 6, 6)
    assert out.meta["medms_warnings"]


def test_margin_larger_than_the_image_is_clipped():
    img = np.zeros((1, 5, 5))
    img[0, 2, 2] = 1.0
    out = BodyCrop(threshold=0.5, margin=[10, 1])(img)
    assert out.shape == (1, 5, 3)


def test_body_mask_fills_holes_slice_by_slice():
    vol = np.zeros((12, 12, 3))
    vol[2:10, 2:10, :] = 1.0
    vol[4:8, 4:8, :] = 0.0  # a tube open at both ends along z: a hole in every slice, not in 3D
    mask = body_mask(vol, threshold=0.5)
    assert mask[5, 5, 1]
    assert mask.sum() == 8 * 8 * 3


def test_real_ct_slice_is_cropped_around_the_head():
    img = LoadSeries()(str(CT_FILE))  # padding outside the field of view is -2000 + rescale
    out = BodyCropd("image", threshold=-500.0, margin=3, remove_table=True)({"image": img})["image"]
    start, end = out.meta["medms_crop_start"], out.meta["medms_crop_end"]
    assert all(s > 0 for s in start) and all(e < n for e, n in zip(end, img.shape[1:], strict=True))
    assert out.shape[1] * out.shape[2] < 0.8 * img.shape[1] * img.shape[2]
    assert float(out.float().mean()) > float(img.float().mean())  # less air


def test_composes_with_monai_spatial_transforms():
    affine = torch.diag(torch.tensor([0.5, 0.5, 1.0, 1.0], dtype=torch.float64))
    vol = MetaTensor(
        torch.as_tensor(np.repeat(ct_phantom_slice()[:, :, None], 4, axis=2))[None], affine=affine
    )
    pipeline = Compose(
        [
            Orientationd("image", axcodes="RAS", labels=(("L", "R"), ("P", "A"), ("I", "S"))),
            Spacingd("image", pixdim=(1.0, 1.0, 1.0)),
            BodyCropd("image", threshold=-500.0, margin=0),
        ]
    )
    out = pipeline({"image": vol})["image"]
    assert out.shape[1] <= 46 and out.shape[2] <= 26


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"margin": -1}, "margin"),
        ({"margin": [1, "a"]}, "margin"),
        ({"table_radius": 0}, "table_radius"),
        ({"threshold": float("inf")}, "threshold"),
    ],
)
def test_bad_options_are_rejected(kwargs, match):
    with pytest.raises(ValueError, match=match):
        BodyCrop(**kwargs)


def test_margin_of_the_wrong_length_is_rejected_at_call():
    with pytest.raises(ValueError, match="margin has 2 entries"):
        BodyCrop(margin=[1, 2])(np.ones((1, 4, 4, 4)))
