"""Shared machinery of the medms transforms: input checks, meta bookkeeping, noise estimation.

Private module: the public transforms import from here so that every one of them rejects bad arrays with
the same :class:`~medms.errors.DataError` messages.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from monai.data import MetaTensor
from monai.utils import convert_to_dst_type

from medms.errors import ConfigError, DataError

logger = logging.getLogger("medms.transforms")

# A channel-first medical image has few channels (grey, RGB, a handful of MR contrasts). A first axis longer
# than this is almost always a missing channel axis or a channel-last array, which we refuse loudly.
MAX_CHANNELS = 16
WARNINGS_KEY = "medms_warnings"


def check_image(img: Any, name: str) -> None:
    """Raise :class:`DataError` unless ``img`` is a channel-first 2D/3D array of finite numbers."""
    if not isinstance(img, (np.ndarray, torch.Tensor)):
        raise DataError(f"{name}: expected a numpy array or torch tensor, got {type(img).__name__}")
    shape = tuple(img.shape)
    if len(shape) not in (3, 4):
        raise DataError(
            f"{name}: expected a channel-first image (C, X, Y) or (C, X, Y, Z), got shape {shape}; "
            "add the channel axis first (e.g. monai.transforms.EnsureChannelFirst or img[None])"
        )
    if shape[0] > MAX_CHANNELS:
        hint = " (it looks channel-last)" if shape[-1] <= 4 else ""
        raise DataError(
            f"{name}: first axis has {shape[0]} entries, more than {MAX_CHANNELS} channels{hint}; "
            "expected channel-first (C, X, Y[, Z]); move or add the channel axis first"
        )
    if min(shape) == 0:
        raise DataError(f"{name}: empty image of shape {shape}")
    is_bool = img.dtype == torch.bool if isinstance(img, torch.Tensor) else img.dtype == np.bool_
    is_complex = img.is_complex() if isinstance(img, torch.Tensor) else np.iscomplexobj(img)
    if is_bool or is_complex:
        raise DataError(f"{name}: expected real numbers, got dtype {img.dtype}")
    finite = torch.isfinite(img).all() if isinstance(img, torch.Tensor) else np.isfinite(img).all()
    if not bool(finite):
        raise DataError(
            f"{name}: image contains NaN or Inf values; replace them first "
            "(e.g. torch.nan_to_num) or fix the source file"
        )


def to_float_tensor(img: Any, name: str) -> torch.Tensor:
    """Validate ``img`` and return it as a floating torch tensor (MetaTensor kept, integers → float32)."""
    check_image(img, name)
    out = img if isinstance(img, torch.Tensor) else torch.as_tensor(np.ascontiguousarray(img))
    if not out.is_floating_point():
        out = out.to(torch.float32)
    return out


def back_to_input_type(result: torch.Tensor, img: Any) -> Any:
    """Return ``result`` as the container type of ``img`` (numpy stays numpy, MetaTensor keeps its meta)."""
    if isinstance(img, torch.Tensor):
        if isinstance(img, MetaTensor) and not isinstance(result, MetaTensor):
            # meta already holds the affine; copies keep the input's record untouched
            return MetaTensor(result, meta=dict(img.meta), applied_operations=list(img.applied_operations))
        return result
    out, *_ = convert_to_dst_type(result, img, dtype=result.dtype)
    return out


def record(img: Any, key: str, value: Any) -> None:
    """Store ``value`` under ``key`` in ``img.meta`` when ``img`` carries metadata."""
    if isinstance(img, MetaTensor):
        img.meta[key] = value


def warn(img: Any, message: str) -> None:
    """Log ``message`` and append it to ``img.meta["medms_warnings"]`` (a MetaTensor's own copy)."""
    logger.warning(message)
    if isinstance(img, MetaTensor):
        img.meta[WARNINGS_KEY] = [*img.meta.get(WARNINGS_KEY, []), message]


def positive(value: float, name: str, *, allow_none: bool = False) -> None:
    """Raise ``ValueError`` unless ``value`` is a finite number > 0 (or None when allowed)."""
    if value is None and allow_none:
        return
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ConfigError(f"{name} must be a finite number > 0, got {value!r}")


def choice(value: str, allowed: Sequence[str], name: str) -> None:
    """Raise ``ValueError`` unless ``value`` is one of ``allowed``."""
    if value not in allowed:
        raise ConfigError(f"{name} must be one of {sorted(allowed)}, got {value!r}")


def estimate_noise_sigma(img: torch.Tensor) -> float:
    """Gaussian noise standard deviation of a channel-first image, by the wavelet MAD rule.

    Donoho's estimator ``median(|d|) / 0.6745`` on the finest Haar detail coefficients along every spatial
    axis (the diagonal band), averaged over channels; coefficients that are exactly zero are left out. The detail band of a smooth image is near zero, so
    it measures the noise and not the anatomy; the same rule drives ``skimage.restoration.estimate_sigma``
    (which needs PyWavelets, not a medms dependency).

    Example:
        >>> import torch
        >>> g = torch.Generator().manual_seed(0)
        >>> noisy = torch.zeros(1, 64, 64) + 0.1 * torch.randn(1, 64, 64, generator=g)
        >>> round(estimate_noise_sigma(noisy), 1)
        0.1
    """
    x = img.detach().to(torch.float64)
    nd = x.ndim - 1
    for axis in range(1, nd + 1):
        if x.shape[axis] < 2:
            return 0.0
        n = x.shape[axis] // 2 * 2
        even = x.narrow(axis, 0, n).unflatten(axis, (n // 2, 2))
        x = (even.select(axis + 1, 0) - even.select(axis + 1, 1)) / math.sqrt(2.0)
    sigmas = []
    for c in x.abs():
        # exact zeros come from constant or clipped regions (air after CT windowing, padding); they say
        # nothing about the noise and would drag the median to 0 when they cover half the image
        informative = c[c != 0]
        sigmas.append(float(informative.median()) / 0.6745 if informative.numel() else 0.0)
    return float(sum(sigmas) / len(sigmas))
