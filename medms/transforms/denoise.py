"""Denoising transforms: non-local means, total variation, bilateral (torch), anisotropic diffusion (torch).

Each transform takes a channel-first image, numpy or torch, 2D ``(C, X, Y)`` or 3D ``(C, X, Y, Z)``. The
noise level ``sigma`` (standard deviation, image units) drives the filter strength; left as ``None`` it is
estimated per image (:func:`estimate_noise_sigma`) and, for a MetaTensor, recorded in
``meta["medms_noise_sigma"]`` together with ``meta["medms_denoise"]`` (the method name).

The bilateral filter and anisotropic diffusion are pure torch and run on the input's device (CPU or GPU);
non-local means and total variation use scikit-image on the CPU.

Example:
    >>> import torch
    >>> from medms.transforms import BilateralDenoise
    >>> g = torch.Generator().manual_seed(0)
    >>> clean = torch.zeros(1, 32, 32); clean[:, 8:24, 8:24] = 1.0
    >>> noisy = clean + 0.1 * torch.randn(1, 32, 32, generator=g)
    >>> out = BilateralDenoise()(noisy)
    >>> bool((out - clean).abs().mean() < (noisy - clean).abs().mean())
    True
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import torch
from monai.transforms import Transform
from monai.utils import TransformBackends
from skimage.restoration import denoise_nl_means, denoise_tv_chambolle

from medms.errors import ConfigError
from medms.transforms._base import (
    back_to_input_type,
    choice,
    estimate_noise_sigma,
    positive,
    record,
    to_float_tensor,
)
from medms.transforms._filters import bilateral, perona_malik

__all__ = [
    "AnisotropicDiffusion",
    "BilateralDenoise",
    "NLMeansDenoise",
    "TVDenoise",
    "estimate_noise_sigma",
]


class _Denoise(Transform):
    """Shared call path: validate, find sigma, filter every channel, record what was done."""

    backend: ClassVar[list[TransformBackends]] = [TransformBackends.TORCH, TransformBackends.NUMPY]
    method = ""

    def __init__(self, sigma: float | None) -> None:
        positive(sigma, "sigma", allow_none=True)
        self.sigma = sigma

    def _needs_sigma(self) -> bool:
        return self.sigma is None

    def _filter(self, x: torch.Tensor, sigma: float | None) -> torch.Tensor:
        raise NotImplementedError

    def __call__(self, img: Any) -> Any:
        x = to_float_tensor(img, type(self).__name__)
        plain = x.as_subclass(torch.Tensor)  # MetaTensor bookkeeping per op is slow and not needed inside
        sigma = estimate_noise_sigma(plain) if self._needs_sigma() else self.sigma
        # a noise-free (e.g. constant) image has nothing to remove, and sigma 0 would divide by zero
        result = plain.clone() if sigma is not None and sigma <= 0 else self._filter(plain, sigma)
        out = back_to_input_type(result.to(plain.dtype), img)
        record(out, "medms_denoise", self.method)
        if sigma is not None:
            record(out, "medms_noise_sigma", float(sigma))
        return out


def _skimage_channels(x: torch.Tensor, fn: Callable[[np.ndarray], np.ndarray]) -> torch.Tensor:
    arr = x.detach().cpu().numpy().astype(np.float64, copy=False)
    out = np.stack([fn(c) for c in arr]).astype(np.float32)
    return torch.from_numpy(out).to(x.device)


class NLMeansDenoise(_Denoise):
    """Non-local means (scikit-image ``denoise_nl_means``, fast mode).

    Args:
        sigma: noise standard deviation in image units; ``None`` estimates it.
        h_factor: filter strength ``h = h_factor * sigma`` (scikit-image recommends ~0.6–0.8 with sigma).
        patch_size: side of the compared patches (voxels).
        patch_distance: search radius (voxels).
        slice_wise: for 3D, filter each z-slice as 2D (faster, fits anisotropic CT) instead of in 3D.

    Example:
        >>> import numpy as np
        >>> NLMeansDenoise(sigma=0.1)(np.zeros((1, 16, 16))).shape
        (1, 16, 16)
    """

    method = "nl_means"

    def __init__(
        self,
        *,
        sigma: float | None = None,
        h_factor: float = 0.8,
        patch_size: int = 5,
        patch_distance: int = 6,
        slice_wise: bool = False,
    ) -> None:
        super().__init__(sigma)
        positive(h_factor, "h_factor")
        for name, v in (("patch_size", patch_size), ("patch_distance", patch_distance)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ConfigError(f"{name} must be an integer >= 1, got {v!r}")
        self.h_factor, self.patch_size, self.patch_distance = float(h_factor), patch_size, patch_distance
        self.slice_wise = bool(slice_wise)

    def _nlm(self, img: np.ndarray, sigma: float) -> np.ndarray:
        return denoise_nl_means(
            img,
            patch_size=self.patch_size,
            patch_distance=self.patch_distance,
            h=self.h_factor * sigma,
            sigma=sigma,
            fast_mode=True,
            channel_axis=None,
            preserve_range=True,
        )

    def _filter(self, x: torch.Tensor, sigma: float | None) -> torch.Tensor:
        if self.slice_wise and x.ndim == 4:
            return _skimage_channels(
                x, lambda v: np.stack([self._nlm(s, sigma) for s in np.moveaxis(v, -1, 0)], -1)
            )
        return _skimage_channels(x, lambda v: self._nlm(v, sigma))


class TVDenoise(_Denoise):
    """Total-variation denoising (Chambolle's projection, scikit-image ``denoise_tv_chambolle``).

    Args:
        sigma: noise standard deviation in image units; ``None`` estimates it.
        weight_factor: TV weight ``= weight_factor * sigma`` (larger: smoother, flatter regions).
        max_num_iter: iteration cap of Chambolle's algorithm.

    Example:
        >>> import numpy as np
        >>> TVDenoise(sigma=0.1)(np.zeros((1, 16, 16), np.float32)).dtype
        dtype('float32')
    """

    method = "total_variation"

    def __init__(
        self, *, sigma: float | None = None, weight_factor: float = 1.0, max_num_iter: int = 200
    ) -> None:
        super().__init__(sigma)
        positive(weight_factor, "weight_factor")
        if isinstance(max_num_iter, bool) or not isinstance(max_num_iter, int) or max_num_iter < 1:
            raise ConfigError(f"max_num_iter must be an integer >= 1, got {max_num_iter!r}")
        self.weight_factor, self.max_num_iter = float(weight_factor), max_num_iter

    def _filter(self, x: torch.Tensor, sigma: float | None) -> torch.Tensor:
        w = self.weight_factor * sigma
        return _skimage_channels(
            x, lambda v: denoise_tv_chambolle(v, weight=w, max_num_iter=self.max_num_iter)
        )


class BilateralDenoise(_Denoise):
    """Bilateral filter in pure torch (CPU or GPU, 2D or 3D).

    Args:
        sigma: noise standard deviation in image units; ``None`` estimates it. Used only to set
            ``sigma_range`` when that is not given.
        sigma_spatial: spatial Gaussian in voxels.
        sigma_range: intensity Gaussian in image units; ``None`` → ``range_factor * sigma``.
        range_factor: see ``sigma_range``.
        radius: window radius in voxels; ``None`` → ``ceil(2 * sigma_spatial)``.

    Example:
        >>> import torch
        >>> BilateralDenoise(sigma_range=0.1)(torch.zeros(1, 8, 8, 8)).shape
        torch.Size([1, 8, 8, 8])
    """

    method = "bilateral"

    def __init__(
        self,
        *,
        sigma: float | None = None,
        sigma_spatial: float = 1.5,
        sigma_range: float | None = None,
        range_factor: float = 3.0,
        radius: int | None = None,
    ) -> None:
        super().__init__(sigma)
        positive(sigma_spatial, "sigma_spatial")
        positive(sigma_range, "sigma_range", allow_none=True)
        positive(range_factor, "range_factor")
        if radius is not None and (isinstance(radius, bool) or not isinstance(radius, int) or radius < 1):
            raise ConfigError(f"radius must be an integer >= 1 or None, got {radius!r}")
        self.sigma_spatial, self.sigma_range, self.range_factor = (
            float(sigma_spatial),
            sigma_range,
            range_factor,
        )
        self.radius = radius if radius is not None else max(1, math.ceil(2 * sigma_spatial))

    def _needs_sigma(self) -> bool:
        return self.sigma_range is None and self.sigma is None

    def _filter(self, x: torch.Tensor, sigma: float | None) -> torch.Tensor:
        sr = self.sigma_range if self.sigma_range is not None else self.range_factor * sigma
        return bilateral(x, sigma_spatial=self.sigma_spatial, sigma_range=sr, radius=self.radius)


class AnisotropicDiffusion(_Denoise):
    """Perona–Malik anisotropic diffusion in pure torch (CPU or GPU, 2D or 3D).

    Args:
        sigma: noise standard deviation in image units; ``None`` estimates it. Sets ``kappa`` when that is
            not given.
        iterations: number of explicit diffusion steps.
        kappa: edge threshold in image units; ``None`` → ``kappa_factor * sigma``.
        kappa_factor: see ``kappa``.
        gamma: time step; ``None`` → the stable maximum ``1 / (2 * ndim)`` times 0.9.
        option: ``"exponential"`` or ``"quadratic"`` conduction function.

    Example:
        >>> import torch
        >>> AnisotropicDiffusion(kappa=0.1)(torch.ones(1, 8, 8)).unique().tolist()
        [1.0]
    """

    method = "anisotropic_diffusion"

    def __init__(
        self,
        *,
        sigma: float | None = None,
        iterations: int = 7,
        kappa: float | None = None,
        kappa_factor: float = 2.0,
        gamma: float | None = None,
        option: str = "exponential",
    ) -> None:
        super().__init__(sigma)
        if isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 1:
            raise ConfigError(f"iterations must be an integer >= 1, got {iterations!r}")
        positive(kappa, "kappa", allow_none=True)
        positive(kappa_factor, "kappa_factor")
        positive(gamma, "gamma", allow_none=True)
        if gamma is not None and gamma > 0.25:
            raise ConfigError(f"gamma must be <= 0.25 (stability of the explicit scheme in 2D), got {gamma}")
        choice(option, ["exponential", "quadratic"], "option")
        self.iterations, self.kappa, self.kappa_factor = iterations, kappa, float(kappa_factor)
        self.gamma, self.option = gamma, option

    def _needs_sigma(self) -> bool:
        return self.kappa is None and self.sigma is None

    def _filter(self, x: torch.Tensor, sigma: float | None) -> torch.Tensor:
        nd = x.ndim - 1
        if self.gamma is not None and self.gamma > 1.0 / (2 * nd):
            raise ConfigError(f"gamma must be <= 1/{2 * nd} for {nd}D images (stability), got {self.gamma}")
        gamma = self.gamma if self.gamma is not None else 0.9 / (2 * nd)
        kappa = self.kappa if self.kappa is not None else self.kappa_factor * sigma
        return perona_malik(x, iterations=self.iterations, kappa=kappa, gamma=gamma, option=self.option)
