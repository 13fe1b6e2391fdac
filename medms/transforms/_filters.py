"""Pure torch edge-preserving filters behind the denoising transforms (private).

They work on a batch of single-channel images ``(N, X, Y)`` or volumes ``(N, X, Y, Z)`` on any device, with
no compiled extension, so the same code runs on CPU and GPU.
"""

from __future__ import annotations

import itertools

import torch
import torch.nn.functional as F


def _pad_replicate(x: torch.Tensor, radius: int) -> torch.Tensor:
    # replicate padding works for images smaller than the filter, where reflect padding would fail
    nd = x.ndim - 1
    pad = [radius] * (2 * nd)
    return F.pad(x.unsqueeze(1), pad, mode="replicate").squeeze(1)


def bilateral(x: torch.Tensor, *, sigma_spatial: float, sigma_range: float, radius: int) -> torch.Tensor:
    """Bilateral filter: each voxel becomes the mean of its round window of ``radius`` voxels weighted by
    distance and by intensity similarity (Tomasi & Manduchi 1998), with Gaussian kernels of
    ``sigma_spatial`` voxels and ``sigma_range`` intensity units. Borders replicate the edge voxels."""
    nd = x.ndim - 1
    padded = _pad_replicate(x, radius)
    num = padded.clone()  # the centre voxel, weight 1
    den = torch.ones_like(padded)
    inv_range = -0.5 / sigma_range**2
    full = padded.shape[1:]
    for offset in itertools.product(range(-radius, radius + 1), repeat=nd):
        dist2 = sum(o * o for o in offset)
        # the weight of the pair (p, p + o) is symmetric: compute it once for half of the offsets and add
        # it to both ends, which halves the exp() work; the padded border makes every centre pair exist
        if offset <= (0,) * nd or dist2 > radius * radius:
            continue
        lo = (slice(None), *(slice(max(0, -o), n - max(0, o)) for o, n in zip(offset, full, strict=True)))
        hi = (slice(None), *(slice(max(0, o), n - max(0, -o)) for o, n in zip(offset, full, strict=True)))
        a, b = padded[lo], padded[hi]
        # one fused exponent, computed in place: exp(-(b - a)² / 2σr² - |o|² / 2σs²)
        w = torch.sub(b, a)
        w.square_().mul_(inv_range).add_(-0.5 * dist2 / sigma_spatial**2).exp_()
        num[lo].addcmul_(w, b)
        den[lo].add_(w)
        num[hi].addcmul_(w, a)
        den[hi].add_(w)
    centre = (slice(None), *(slice(radius, radius + n) for n in x.shape[1:]))
    return num[centre].div_(den[centre])


def perona_malik(
    x: torch.Tensor, *, iterations: int, kappa: float, gamma: float, option: str
) -> torch.Tensor:
    """Perona–Malik anisotropic diffusion with zero-flux borders.

    ``option="exponential"`` uses ``g = exp(-(d/kappa)^2)`` (favours high-contrast edges), ``"quadratic"``
    uses ``g = 1 / (1 + (d/kappa)^2)`` (favours wide regions). ``gamma`` is the time step; it must stay at or
    below ``1 / (2 * ndim)`` for the explicit scheme to be stable.
    """
    nd = x.ndim - 1
    out = x.clone()
    inv_k2 = 1.0 / kappa**2
    for _ in range(iterations):
        update = torch.zeros_like(out)
        for axis in range(1, nd + 1):
            d = torch.diff(out, dim=axis)  # forward difference between neighbours along this axis
            g = (
                torch.exp(-d.square() * inv_k2)
                if option == "exponential"
                else 1.0 / (1.0 + d.square() * inv_k2)
            )
            flux = g * d
            # each neighbour pair exchanges the same flux in opposite directions; borders get none
            update.narrow(axis, 0, flux.shape[axis]).add_(flux)
            update.narrow(axis, 1, flux.shape[axis]).sub_(flux)
        out.add_(update, alpha=gamma)
    return out
