"""Denoising transforms: quality on real images with added noise, exactness, metadata, options."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from monai.data import MetaTensor
from skimage.metrics import peak_signal_noise_ratio

from medms.transforms import (
    AnisotropicDiffusion,
    AnisotropicDiffusiond,
    BilateralDenoise,
    BilateralDenoised,
    NLMeansDenoise,
    NLMeansDenoised,
    TVDenoise,
    TVDenoised,
    estimate_noise_sigma,
)

METHODS = {
    "nl_means": NLMeansDenoise,
    "total_variation": TVDenoise,
    "bilateral": BilateralDenoise,
    "anisotropic_diffusion": AnisotropicDiffusion,
}


def add_noise(clean: np.ndarray, sigma: float, kind: str, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if kind == "gaussian":
        return clean + rng.normal(0.0, sigma, clean.shape)
    # Rician: magnitude of a complex signal with Gaussian noise on both parts (MR magnitude images)
    return np.hypot(clean + rng.normal(0.0, sigma, clean.shape), rng.normal(0.0, sigma, clean.shape))


def psnr(clean: np.ndarray, other: np.ndarray) -> float:
    return peak_signal_noise_ratio(clean, np.asarray(other, dtype=np.float64), data_range=1.0)


CASES = [
    *itertools.product(["ct", "mr", "us"], [0.05, 0.1], ["gaussian"]),
    *itertools.product(["mr"], [0.05, 0.1], ["rician"]),
]


@pytest.mark.parametrize("method", list(METHODS))
@pytest.mark.parametrize(("image", "sigma", "kind"), CASES)
def test_every_method_improves_psnr_on_real_images(real_crops, method, image, sigma, kind):
    clean = real_crops[image]
    noisy = add_noise(clean, sigma, kind)
    out = METHODS[method]()(noisy[None].astype(np.float32))[0]
    assert psnr(clean, out) > psnr(clean, noisy) + 1.0


@pytest.mark.parametrize("method", list(METHODS))
def test_every_method_improves_psnr_in_3d(mr_volume, method):
    clean = mr_volume[16:48, 16:48]  # 32×32×10 keeps 3D non-local means quick
    noisy = add_noise(clean, 0.08, "gaussian")
    out = METHODS[method]()(torch.as_tensor(noisy[None], dtype=torch.float32))[0].numpy()
    assert psnr(clean, out) > psnr(clean, noisy) + 1.0


def test_nl_means_slice_wise_filters_each_slice_alone(mr_volume):
    noisy = add_noise(mr_volume, 0.08, "gaussian")[None].astype(np.float32)
    whole = NLMeansDenoise(sigma=0.08, slice_wise=True)(noisy)
    one = NLMeansDenoise(sigma=0.08)(noisy[..., 3])
    np.testing.assert_allclose(whole[..., 3], one, atol=1e-6)


def test_noise_estimate_is_close_to_the_added_noise(real_crops):
    for clean in real_crops.values():
        for sigma in (0.05, 0.1):
            noisy = torch.as_tensor(add_noise(clean, sigma, "gaussian"))[None]
            assert estimate_noise_sigma(noisy) == pytest.approx(sigma, rel=0.25)


def test_estimated_sigma_and_method_are_recorded_in_meta(real_crops):
    noisy = MetaTensor(
        torch.as_tensor(add_noise(real_crops["ct"], 0.1, "gaussian"), dtype=torch.float32)[None]
    )
    out = BilateralDenoise()(noisy)
    assert out.meta["medms_denoise"] == "bilateral"
    assert out.meta["medms_noise_sigma"] == pytest.approx(0.1, rel=0.25)
    assert "medms_noise_sigma" not in noisy.meta  # the input's record is untouched
    given = TVDenoise(sigma=0.2)(noisy)
    assert given.meta["medms_noise_sigma"] == 0.2


def brute_force_bilateral(x: np.ndarray, sigma_spatial: float, sigma_range: float, radius: int) -> np.ndarray:
    padded = np.pad(x, radius, mode="edge")
    out = np.zeros_like(x)
    offsets = [
        o
        for o in itertools.product(range(-radius, radius + 1), repeat=x.ndim)
        if sum(v * v for v in o) <= radius**2
    ]
    for p in itertools.product(*(range(n) for n in x.shape)):
        num = den = 0.0
        for o in offsets:
            v = padded[tuple(pi + oi + radius for pi, oi in zip(p, o, strict=True))]
            w = math.exp(
                -sum(v * v for v in o) / (2 * sigma_spatial**2) - (v - x[p]) ** 2 / (2 * sigma_range**2)
            )
            num, den = num + w * v, den + w
        out[p] = num / den
    return out


@pytest.mark.parametrize("shape", [(9, 7), (6, 5, 4)])
def test_bilateral_matches_the_textbook_definition(shape):
    x = np.random.default_rng(1).random(shape)
    ours = BilateralDenoise(sigma_spatial=1.2, sigma_range=0.3, radius=2)(x[None])[0]
    np.testing.assert_allclose(ours, brute_force_bilateral(x, 1.2, 0.3, 2), atol=1e-12)


def test_anisotropic_diffusion_conserves_the_mean_and_keeps_a_strong_edge():
    # zero-flux borders: diffusion only moves intensity around
    x = torch.zeros(1, 32, 32, dtype=torch.float64)
    x[:, :, 16:] = 1.0
    x += 0.05 * torch.randn(1, 32, 32, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    out = AnisotropicDiffusion(kappa=0.1, iterations=20)(x)
    assert float(out.mean()) == pytest.approx(float(x.mean()), abs=1e-12)
    assert float(out[0, :, 18:].mean() - out[0, :, :14].mean()) > 0.95


@pytest.mark.parametrize("method", list(METHODS))
def test_constant_image_stays_constant(method):
    out = METHODS[method]()(np.full((1, 12, 12), 7.0, np.float32))
    np.testing.assert_allclose(out, 7.0, atol=1e-5)


@pytest.mark.parametrize("method", list(METHODS))
def test_image_smaller_than_the_filter_works(method):
    x = np.array([[[0.0, 1.0], [1.0, 0.5]]], np.float32)
    out = METHODS[method](sigma=0.1)(x)
    assert out.shape == x.shape
    assert np.isfinite(out).all()


def test_dictionary_versions_match_array_versions(real_crops):
    noisy = add_noise(real_crops["us"], 0.1, "gaussian")[None].astype(np.float32)
    pairs = [
        (NLMeansDenoised("image", sigma=0.1), NLMeansDenoise(sigma=0.1)),
        (TVDenoised("image", sigma=0.1), TVDenoise(sigma=0.1)),
        (BilateralDenoised("image", sigma=0.1), BilateralDenoise(sigma=0.1)),
        (AnisotropicDiffusiond("image", sigma=0.1), AnisotropicDiffusion(sigma=0.1)),
    ]
    for d, a in pairs:
        out = d({"image": noisy, "label": 3})
        assert out["label"] == 3
        np.testing.assert_array_equal(out["image"], a(noisy))


@pytest.mark.parametrize(
    ("factory", "match"),
    [
        (lambda: BilateralDenoise(sigma_spatial=0), "sigma_spatial"),
        (lambda: BilateralDenoise(radius=0), "radius"),
        (lambda: NLMeansDenoise(patch_size=0), "patch_size"),
        (lambda: TVDenoise(sigma=-1.0), "sigma"),
        (lambda: AnisotropicDiffusion(option="linear"), "option"),
        (lambda: AnisotropicDiffusion(gamma=0.3), "gamma"),
        (lambda: AnisotropicDiffusion(iterations=0), "iterations"),
    ],
)
def test_bad_options_are_rejected(factory, match):
    with pytest.raises(ValueError, match=match):
        factory()


def test_anisotropic_step_too_large_for_3d_is_rejected():
    with pytest.raises(ValueError, match="1/6"):
        AnisotropicDiffusion(kappa=0.1, gamma=0.2)(np.zeros((1, 4, 4, 4), np.float32))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_torch_filters_give_the_same_result_on_gpu(real_crops):
    x = torch.as_tensor(add_noise(real_crops["ct"], 0.1, "gaussian"), dtype=torch.float32)[None]
    for t in (BilateralDenoise(sigma=0.1), AnisotropicDiffusion(sigma=0.1)):
        gpu = t(x.cuda())
        assert gpu.device.type == "cuda"
        torch.testing.assert_close(gpu.cpu(), t(x), atol=1e-5, rtol=1e-5)
