"""Tolerances for comparing floating-point results computed along different paths (kernels, fusion, sum order).

A fixed ``atol=1e-4`` passes on one CPU and fails on another (an AMD EPYC sums in another order). The bound here
follows the floating-point model instead: each reduction of ``n`` terms contributes a rounding error of about
``sqrt(n) * eps`` relative to the magnitudes involved (a random-walk bound; the worst case is ``n * eps``), and a
network chains many of them. ``safety`` covers the constant factors.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn


def reduction_size(model: nn.Module) -> int:
    """The summed fan-in of every convolution and linear layer: the length of the reductions an output goes through."""
    return sum(
        int(m.weight[0].numel()) for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d, nn.Conv3d))
    )


def tolerance(
    expected: torch.Tensor | np.ndarray, *, dtype: torch.dtype, reductions: int, safety: float = 16.0
) -> float:
    """An absolute tolerance for values of ``expected``'s magnitude after ``reductions`` summed terms in ``dtype``."""
    eps = torch.finfo(dtype).eps
    scale = float(np.max(np.abs(np.asarray(expected)))) if np.size(expected) else 1.0
    return safety * eps * math.sqrt(reductions) * max(scale, 1.0)


def assert_close_model(
    actual: torch.Tensor | np.ndarray, expected: torch.Tensor | np.ndarray, model: nn.Module
) -> None:
    """``actual`` equals ``expected`` (both computed by ``model``'s float32 graph) within :func:`tolerance`."""
    a = np.asarray(actual.detach() if isinstance(actual, torch.Tensor) else actual, dtype=np.float64)
    e = np.asarray(expected.detach() if isinstance(expected, torch.Tensor) else expected, dtype=np.float64)
    atol = tolerance(e, dtype=torch.float32, reductions=reduction_size(model))
    np.testing.assert_allclose(a, e, rtol=0, atol=atol)
