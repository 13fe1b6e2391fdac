"""Intensity transforms: CT windows, DICOM VOI windows, robust normalisation, grey conversion."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from monai.data import MetaTensor

from medms.errors import DataError
from medms.transforms import (
    CT_WINDOWS,
    DicomWindow,
    DicomWindowd,
    Grayscale,
    Grayscaled,
    LoadSeries,
    RobustNormalize,
    RobustNormalized,
    Window,
    Windowd,
)

from .conftest import CT_FILE


def dicom_linear(x: np.ndarray, c: float, w: float) -> np.ndarray:
    """DICOM PS3.3 C.11.2.1.2.1 written out case by case, scaled to [0, 1]."""
    out = ((x - (c - 0.5)) / (w - 1) + 0.5).astype(np.float64)
    out[x <= c - 0.5 - (w - 1) / 2] = 0.0
    out[x > c - 0.5 + (w - 1) / 2] = 1.0
    return out


@pytest.mark.parametrize("name", sorted(CT_WINDOWS))
def test_named_windows_follow_the_dicom_linear_function(name):
    c, w = CT_WINDOWS[name]
    hu = np.linspace(-1200, 2000, 321).reshape(1, 321, 1)
    np.testing.assert_allclose(Window(preset=name)(hu), dicom_linear(hu, c, w), atol=1e-6)


def test_window_table_has_the_usual_reading_settings():
    assert CT_WINDOWS["lung"] == (-600.0, 1500.0)
    assert CT_WINDOWS["brain"] == (40.0, 80.0)
    assert CT_WINDOWS["bone"] == (400.0, 1800.0)
    assert {"soft_tissue", "abdomen", "mediastinum"} <= set(CT_WINDOWS)


def test_explicit_window_and_output_range_in_3d_torch():
    hu = torch.tensor([-101.0, 40.0, 180.0]).reshape(1, 1, 1, 3)
    out = Window(center=40, width=281, out_min=-1.0, out_max=1.0)(hu)
    torch.testing.assert_close(out.flatten(), torch.tensor([-1.0, 0.0035714, 1.0]), atol=1e-6, rtol=0)


def test_window_keeps_metatensor_affine_and_records_the_window():
    affine = torch.diag(torch.tensor([0.5, 0.5, 1.0, 1.0], dtype=torch.float64))
    img = MetaTensor(torch.zeros(1, 4, 4), affine=affine)
    out = Window(preset="bone")(img)
    assert isinstance(out, MetaTensor)
    torch.testing.assert_close(out.affine, affine)
    assert out.meta["medms_window"] == [400.0, 1800.0]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({}, "preset"),
        ({"preset": "kidney"}, "preset must be one of"),
        ({"preset": "lung", "center": 1.0}, "not both"),
        ({"center": 40.0, "width": 0.5}, "width"),
        ({"center": float("nan"), "width": 100.0}, "center"),
        ({"preset": "lung", "out_min": 1.0, "out_max": 0.0}, "out_min < out_max"),
    ],
)
def test_window_rejects_bad_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Window(**kwargs)


def test_dicom_window_uses_the_header_of_a_real_ct():
    img = LoadSeries()(str(CT_FILE))
    c, w = img.meta["window_center"], img.meta["window_width"]
    assert (c, w) == (40.0, 100.0)
    out = DicomWindow()(img)
    np.testing.assert_allclose(out.numpy(), dicom_linear(img.numpy(), c, w), atol=1e-6)
    assert out.meta["medms_window"] == [40.0, 100.0]


def test_dicom_window_picks_the_chosen_window_of_several():
    img = MetaTensor(
        torch.tensor([[[0.0, 100.0, 200.0]]]), meta={"window_center": [100, 50], "window_width": [101, 51]}
    )
    second = DicomWindow(index=1)(img)
    np.testing.assert_allclose(second.numpy().ravel(), [0.0, 1.0, 1.0])
    with pytest.raises(DataError, match="index 2"):
        DicomWindow(index=2)(img)


def test_dicom_window_without_header_window_errors_or_scales_with_a_warning():
    img = MetaTensor(torch.tensor([[[10.0, 20.0, 30.0]]]))
    with pytest.raises(DataError, match="no usable WindowCenter"):
        DicomWindow()(img)
    out = DicomWindow(missing="minmax")(img)
    np.testing.assert_allclose(out.numpy().ravel(), [0.0, 0.5, 1.0], atol=1e-6)
    assert any("no VOI window" in m for m in out.meta["medms_warnings"])
    assert "medms_warnings" not in img.meta


def test_robust_normalize_zscore_and_unit():
    x = np.concatenate([np.linspace(0.0, 1.0, 998), [50.0, -50.0]]).reshape(1, 10, 100)
    z = RobustNormalize(lower=1, upper=99)(x)
    assert z.mean() == pytest.approx(0.0, abs=1e-6)
    assert z.std() == pytest.approx(1.0, abs=1e-6)
    u = RobustNormalize(lower=1, upper=99, mode="unit")(x)
    assert (u.min(), u.max()) == (0.0, 1.0)
    assert u.ravel()[-2] == 1.0  # the outlier is clipped, not stretching the range


def test_robust_normalize_channel_wise_and_global():
    x = torch.stack([torch.linspace(0, 1, 64), torch.linspace(0, 100, 64)]).reshape(2, 8, 8)
    per = RobustNormalize(lower=0, upper=100, mode="unit")(x)
    torch.testing.assert_close(per[0], per[1])
    glob = RobustNormalize(lower=0, upper=100, mode="unit", channel_wise=False)(x)
    assert float(glob[0].max()) == pytest.approx(0.01)


def test_robust_normalize_constant_image_gives_zeros_and_a_warning():
    for mode in ("zscore", "unit"):
        out = RobustNormalize(mode=mode)(MetaTensor(torch.full((1, 5, 5, 5), 3.0)))
        assert torch.count_nonzero(out) == 0
        assert any("constant" in m for m in out.meta["medms_warnings"])


def test_robust_normalize_rejects_bad_percentiles():
    with pytest.raises(ValueError, match="percentiles"):
        RobustNormalize(lower=60, upper=40)
    with pytest.raises(ValueError, match="mode"):
        RobustNormalize(mode="minmax")


def test_grayscale_averages_colour_channels():
    rgb = np.stack([np.full((3, 3), v, np.uint8) for v in (30, 60, 90)])
    out = Grayscale()(rgb)
    assert out.shape == (1, 3, 3)
    np.testing.assert_allclose(out, 60.0)


def test_dictionary_versions_touch_only_their_keys():
    data = {"image": np.full((1, 2, 2), 40.0), "other": np.full((1, 2, 2), 40.0)}
    for t in (
        Windowd("image", preset="brain"),
        RobustNormalized("image"),
        Grayscaled("image"),
        DicomWindowd("image", missing="minmax"),
    ):
        out = t(data)
        assert out["other"] is data["other"]
        assert out["image"] is not data["image"]
