"""Running a trained network over batches: logits, flip test-time augmentation, temperature scaling.

Shared by validation during training, the test-split evaluation at the end of training and ``medms predict``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

__all__ = ["autocast", "batch_spacing", "fit_temperature", "logits_for_batch", "to_model_input"]

log = logging.getLogger("medms.engine.inference")
_T_RANGE = (0.05, 20.0)


def autocast(device: torch.device) -> contextlib.AbstractContextManager:
    """bf16 autocast on CUDA; a no-op on CPU (CPU autocast changes numbers and is rarely faster there)."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def to_model_input(images: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Plain float tensor on ``device``; channels-last memory layout on CUDA (faster convolutions)."""
    x = images.as_tensor() if hasattr(images, "as_tensor") else images
    x = x.to(device=device, dtype=torch.float32, non_blocking=True)
    if device.type == "cuda":
        fmt = torch.channels_last if x.ndim == 4 else torch.channels_last_3d
        x = x.contiguous(memory_format=fmt)
    return x


def batch_spacing(images: torch.Tensor, device: torch.device) -> torch.Tensor | None:
    """Pixel/voxel spacing (B, spatial_dims) in mm from a collated MetaTensor's affine; ``None`` for plain tensors.

    The multi-scale network's scale embedding reads it; the same value reaches it in training and prediction.
    """
    affine = getattr(images, "affine", None)
    if not isinstance(affine, torch.Tensor):
        return None
    from medms.networks._inputs import spacing_from_affine

    return spacing_from_affine(
        affine.as_tensor() if hasattr(affine, "as_tensor") else affine, spatial_dims=images.ndim - 2
    ).to(device)


@torch.no_grad()
def logits_for_batch(
    model: nn.Module,
    images: torch.Tensor,
    device: torch.device,
    *,
    tta_flip: bool = False,
    spacing: torch.Tensor | None = None,
    inferer: Callable[..., torch.Tensor] | None = None,
) -> torch.Tensor:
    """Float32 logits (B, K) on the CPU; with ``tta_flip`` the mean of the logits of the image and its
    left-right mirror (the first spatial axis, x, in MONAI layout). ``spacing`` (B, spatial_dims) in mm defaults to
    the one of the MetaTensor ``images``. ``inferer`` (a MONAI ``Inferer``, e.g. a bundle's) is called as
    ``inferer(x, model, spacing=spacing)``; without one, ``model(x, spacing=spacing)``."""
    x = to_model_input(images, device)
    spacing = batch_spacing(images, device) if spacing is None else spacing.to(device)

    def forward(t: torch.Tensor) -> torch.Tensor:
        out = model(t, spacing=spacing) if inferer is None else inferer(t, model, spacing=spacing)
        return out.float()

    with autocast(device):
        logits = forward(x)
        if tta_flip:
            logits = (logits + forward(torch.flip(x, dims=(2,)))) / 2
    return logits.cpu()


def fit_temperature(logits: np.ndarray, labels: np.ndarray, *, max_iter: int = 200) -> float:
    """Temperature T > 0 minimising the negative log-likelihood of ``softmax(logits / T)`` (Guo et al., 2017).

    Fitted on the validation split only; T > 1 softens over-confident predictions. Accuracy is unchanged.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> y = rng.integers(0, 2, 500)
        >>> z = np.stack([np.zeros(500), 6.0 * (2 * y - 1) + rng.normal(0, 6, 500)], axis=1)
        >>> fit_temperature(z, y) > 1.0
        True
    """
    z = torch.as_tensor(logits, dtype=torch.float64)
    y = torch.as_tensor(labels, dtype=torch.long)
    log_t = torch.zeros((), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([log_t], lr=0.1, max_iter=max_iter, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = nn.functional.cross_entropy(z / log_t.exp(), y)
        loss.backward()
        return loss

    opt.step(closure)
    t = float(log_t.detach().exp())
    if not np.isfinite(t) or not _T_RANGE[0] <= t <= _T_RANGE[1]:
        # e.g. a perfectly separated validation split drives T towards 0: keep the scaling bounded and say so
        clamped = float(np.clip(np.nan_to_num(t, nan=1.0, posinf=_T_RANGE[1]), *_T_RANGE))
        log.warning(
            "temperature scaling gave T=%s; using %s (validation split too small or separable?)", t, clamped
        )
        t = clamped
    return t
