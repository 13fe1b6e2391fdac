"""Intensity transforms: CT windowing (named HU presets), DICOM VOI windowing, robust normalisation.

Every transform takes a channel-first image, numpy or torch, 2D ``(C, X, Y)`` or 3D ``(C, X, Y, Z)``, and
returns the same container type as float; a MetaTensor keeps its ``.affine`` and ``.meta``.

Example:
    >>> import numpy as np
    >>> from medms.transforms import Window
    >>> hu = np.array([[[-1000.0, 50.0, 1000.0]]])
    >>> Window(preset="soft_tissue")(hu).round(3).tolist()
    [[[0.0, 0.501, 1.0]]]
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import torch
from monai.transforms import Transform
from monai.utils import TransformBackends

from medms.errors import ConfigError, DataError
from medms.transforms._base import back_to_input_type, choice, positive, record, to_float_tensor, warn

__all__ = [
    "CT_WINDOWS",
    "DicomWindow",
    "Grayscale",
    "RobustNormalize",
    "Window",
]

#: Named CT windows in Hounsfield units, ``name: (center, width)`` (common radiology reading settings).
CT_WINDOWS: dict[str, tuple[float, float]] = {
    "soft_tissue": (50.0, 400.0),
    "abdomen": (50.0, 400.0),
    "mediastinum": (50.0, 350.0),
    "lung": (-600.0, 1500.0),
    "bone": (400.0, 1800.0),
    "brain": (40.0, 80.0),
    "liver": (30.0, 150.0),
}

# Metadata keys written by medms.transforms.load for the header's VOI window (DICOM WindowCenter/Width).
WINDOW_CENTER_KEY = "window_center"
WINDOW_WIDTH_KEY = "window_width"


def apply_window(
    img: torch.Tensor, center: float, width: float, out_min: float, out_max: float
) -> torch.Tensor:
    """DICOM PS3.3 C.11.2.1.2 LINEAR VOI function: ``center``/``width`` → ``[out_min, out_max]``."""
    # DICOM defines the ramp over (center - 0.5) with width - 1 so integer-valued windows map exactly as
    # every viewer shows them; a width of 1 is a hard threshold.
    lo = center - 0.5 - (width - 1.0) / 2.0
    span = max(width - 1.0, 1e-6)
    unit = ((img - lo) / span).clamp_(0.0, 1.0)
    return unit * (out_max - out_min) + out_min


def _check_output_range(out_min: float, out_max: float) -> None:
    if not (math.isfinite(out_min) and math.isfinite(out_max) and out_min < out_max):
        raise ConfigError(f"output range must be finite with out_min < out_max, got ({out_min}, {out_max})")


class Window(Transform):
    """Window CT values (HU) by a named preset or an explicit center/width, scaled to ``[out_min, out_max]``.

    Args:
        preset: one of :data:`CT_WINDOWS` (``soft_tissue``, ``abdomen``, ``mediastinum``, ``lung``, ``bone``,
            ``brain``, ``liver``). Give either ``preset`` or both ``center`` and ``width``.
        center: window center in the image's units (HU for CT).
        width: window width (>= 1).
        out_min: value of everything at or below the window's lower end.
        out_max: value of everything at or above the window's upper end.

    Example:
        >>> import torch
        >>> Window(center=40, width=80)(torch.tensor([[[0.0, 40.0, 80.0]]]))
        tensor([[[0.0000, 0.5063, 1.0000]]])
    """

    backend: ClassVar[list[TransformBackends]] = [TransformBackends.TORCH, TransformBackends.NUMPY]

    def __init__(
        self,
        *,
        preset: str | None = None,
        center: float | None = None,
        width: float | None = None,
        out_min: float = 0.0,
        out_max: float = 1.0,
    ) -> None:
        if preset is not None:
            if center is not None or width is not None:
                raise ConfigError("give either preset or center/width, not both")
            choice(preset, list(CT_WINDOWS), "preset")
            center, width = CT_WINDOWS[preset]
        elif center is None or width is None:
            raise ConfigError(f"give a preset ({sorted(CT_WINDOWS)}) or both center and width")
        if isinstance(center, bool) or not isinstance(center, (int, float)) or not math.isfinite(center):
            raise ConfigError(f"center must be a finite number, got {center!r}")
        positive(width, "width")
        if width < 1:
            raise ConfigError(f"width must be >= 1 (DICOM VOI), got {width}")
        _check_output_range(out_min, out_max)
        self.preset = preset
        self.center, self.width = float(center), float(width)
        self.out_min, self.out_max = float(out_min), float(out_max)

    def __call__(self, img: Any) -> Any:
        x = to_float_tensor(img, type(self).__name__)
        out = back_to_input_type(apply_window(x, self.center, self.width, self.out_min, self.out_max), img)
        record(out, "medms_window", [self.center, self.width])
        return out


def _header_value(meta: dict, key: str, index: int) -> float | None:
    value = meta.get(key)
    if value is None:
        return None
    if isinstance(value, torch.Tensor):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        if not value:
            return None
        if index >= len(value):
            raise DataError(f"DicomWindow: window index {index} requested, the header has {len(value)}")
        value = value[index]
    elif index > 0:
        raise DataError(f"DicomWindow: window index {index} requested, the header has 1")
    return float(value)


class DicomWindow(Transform):
    """Apply the VOI window stored in the DICOM header (WindowCenter/WindowWidth) of a MetaTensor.

    The loader puts the header's windows in ``meta["window_center"]`` / ``meta["window_width"]`` (a number
    or a list when the header has several). ``index`` picks one.

    Args:
        index: which of the header's windows to use (0 = first).
        missing: what to do when the image has no header window: ``"error"`` raises
            :class:`~medms.errors.DataError`; ``"minmax"`` scales the image's own min..max and records a
            warning in ``meta["medms_warnings"]``.
        out_min: output value at and below the window.
        out_max: output value at and above the window.

    Example:
        >>> import torch
        >>> from monai.data import MetaTensor
        >>> img = MetaTensor(torch.tensor([[[0.0, 40.0, 80.0]]]), meta={"window_center": [40], "window_width": [80]})
        >>> DicomWindow()(img).tolist()
        [[[0.0, 0.5063291192054749, 1.0]]]
    """

    backend: ClassVar[list[TransformBackends]] = [TransformBackends.TORCH, TransformBackends.NUMPY]

    def __init__(
        self, *, index: int = 0, missing: str = "error", out_min: float = 0.0, out_max: float = 1.0
    ) -> None:
        if isinstance(index, bool) or not isinstance(index, int) or index < 0:
            raise ConfigError(f"index must be an integer >= 0, got {index!r}")
        choice(missing, ["error", "minmax"], "missing")
        _check_output_range(out_min, out_max)
        self.index, self.missing = index, missing
        self.out_min, self.out_max = float(out_min), float(out_max)

    def __call__(self, img: Any) -> Any:
        x = to_float_tensor(img, type(self).__name__)
        meta = getattr(img, "meta", {})
        center = _header_value(meta, WINDOW_CENTER_KEY, self.index)
        width = _header_value(meta, WINDOW_WIDTH_KEY, self.index)
        if center is None or width is None or not width >= 1:
            if self.missing == "error":
                raise DataError(
                    "DicomWindow: the image has no usable WindowCenter/WindowWidth in its header; "
                    "use Window(preset=...) or DicomWindow(missing='minmax')"
                )
            lo, hi = float(x.min()), float(x.max())
            center, width = (lo + hi) / 2.0 + 0.5, max(hi - lo + 1.0, 1.0)
            out = back_to_input_type(apply_window(x, center, width, self.out_min, self.out_max), img)
            warn(out, "DicomWindow: no VOI window in the header; scaled the image's min..max instead")
        else:
            out = back_to_input_type(apply_window(x, center, width, self.out_min, self.out_max), img)
        record(out, "medms_window", [center, width])
        return out


def _quantile(x: torch.Tensor, q: float) -> torch.Tensor:
    # torch.quantile refuses inputs above 2**24 elements; kthvalue has no such limit (nearest rank).
    flat = x.reshape(-1)
    k = min(max(round(q * (flat.numel() - 1)) + 1, 1), flat.numel())
    return flat.kthvalue(k).values


class RobustNormalize(Transform):
    """Clip to percentiles, then z-score or scale to ``[0, 1]`` (MR, ultrasound, radiographs).

    Args:
        lower: lower clipping percentile in [0, 100).
        upper: upper clipping percentile in (lower, 100].
        mode: ``"zscore"`` (mean 0, std 1 after clipping) or ``"unit"`` (clip range → [0, 1]).
        channel_wise: statistics per channel (True) or over the whole image.

    A constant image (or channel) becomes all zeros with a recorded warning rather than a division by zero.

    Example:
        >>> import torch
        >>> x = torch.arange(101.0).reshape(1, 1, 101)
        >>> y = RobustNormalize(lower=10, upper=90, mode="unit")(x)
        >>> float(y.min()), float(y.max()), float(y[0, 0, 50])
        (0.0, 1.0, 0.5)
    """

    backend: ClassVar[list[TransformBackends]] = [TransformBackends.TORCH, TransformBackends.NUMPY]

    def __init__(
        self, *, lower: float = 0.5, upper: float = 99.5, mode: str = "zscore", channel_wise: bool = True
    ) -> None:
        if not (0.0 <= lower < upper <= 100.0):
            raise ConfigError(f"percentiles must satisfy 0 <= lower < upper <= 100, got ({lower}, {upper})")
        choice(mode, ["zscore", "unit"], "mode")
        self.lower, self.upper, self.mode, self.channel_wise = float(lower), float(upper), mode, channel_wise

    def __call__(self, img: Any) -> Any:
        x = to_float_tensor(img, type(self).__name__)
        groups = list(x) if self.channel_wise else [x]
        outs, constant = [], False
        for g in groups:
            lo, hi = _quantile(g, self.lower / 100.0), _quantile(g, self.upper / 100.0)
            c = g.clamp(lo, hi)
            if self.mode == "unit":
                scale = hi - lo
                constant |= bool(scale <= 0)
                outs.append((c - lo) / scale if scale > 0 else torch.zeros_like(c))
            else:
                std = c.std(unbiased=False)
                constant |= bool(std <= 0)
                outs.append((c - c.mean()) / std if std > 0 else torch.zeros_like(c))
        res = torch.stack(outs) if self.channel_wise else outs[0]
        out = back_to_input_type(res.as_subclass(torch.Tensor), img)
        if constant:
            warn(out, "RobustNormalize: constant image (or channel) after clipping; set it to 0")
        return out


class Grayscale(Transform):
    """Average the channels into one (colour ultrasound or RGB screenshots → single-channel grey).

    Example:
        >>> import torch
        >>> Grayscale()(torch.ones(3, 4, 4)).shape
        torch.Size([1, 4, 4])
    """

    backend: ClassVar[list[TransformBackends]] = [TransformBackends.TORCH, TransformBackends.NUMPY]

    def __call__(self, img: Any) -> Any:
        x = to_float_tensor(img, type(self).__name__)
        return back_to_input_type(x.mean(dim=0, keepdim=True), img)
