"""Dictionary ("d") versions of the medms transforms, for data dictionaries in MONAI pipelines.

Each takes ``keys`` (the entries to transform; the others pass through unchanged), the same keyword options
as its array transform, and ``allow_missing_keys``. They are what bundle configs and the presets name.

Example:
    >>> import numpy as np
    >>> from medms.transforms import Windowd
    >>> out = Windowd("image", preset="brain")({"image": np.full((1, 2, 2), 40.0), "label": 1})
    >>> out["image"].round(3).tolist(), out["label"]
    ([[[0.506, 0.506], [0.506, 0.506]]], 1)
"""

from __future__ import annotations

from collections.abc import Sequence

from monai.config import KeysCollection

from medms.transforms._mapped import Mapped
from medms.transforms.crop import BodyCrop
from medms.transforms.denoise import AnisotropicDiffusion, BilateralDenoise, NLMeansDenoise, TVDenoise
from medms.transforms.intensity import DicomWindow, Grayscale, RobustNormalize, Window

__all__ = [
    "AnisotropicDiffusiond",
    "BilateralDenoised",
    "BodyCropd",
    "DicomWindowd",
    "Grayscaled",
    "NLMeansDenoised",
    "RobustNormalized",
    "TVDenoised",
    "Windowd",
]


class Windowd(Mapped):
    """Dictionary version of :class:`Window`."""

    def __init__(
        self,
        keys: KeysCollection,
        *,
        preset: str | None = None,
        center: float | None = None,
        width: float | None = None,
        out_min: float = 0.0,
        out_max: float = 1.0,
        allow_missing_keys: bool = False,
    ) -> None:
        t = Window(preset=preset, center=center, width=width, out_min=out_min, out_max=out_max)
        super().__init__(keys, t, allow_missing_keys)


class DicomWindowd(Mapped):
    """Dictionary version of :class:`DicomWindow`."""

    def __init__(
        self,
        keys: KeysCollection,
        *,
        index: int = 0,
        missing: str = "error",
        out_min: float = 0.0,
        out_max: float = 1.0,
        allow_missing_keys: bool = False,
    ) -> None:
        t = DicomWindow(index=index, missing=missing, out_min=out_min, out_max=out_max)
        super().__init__(keys, t, allow_missing_keys)


class RobustNormalized(Mapped):
    """Dictionary version of :class:`RobustNormalize`."""

    def __init__(
        self,
        keys: KeysCollection,
        *,
        lower: float = 0.5,
        upper: float = 99.5,
        mode: str = "zscore",
        channel_wise: bool = True,
        allow_missing_keys: bool = False,
    ) -> None:
        t = RobustNormalize(lower=lower, upper=upper, mode=mode, channel_wise=channel_wise)
        super().__init__(keys, t, allow_missing_keys)


class Grayscaled(Mapped):
    """Dictionary version of :class:`Grayscale`."""

    def __init__(self, keys: KeysCollection, *, allow_missing_keys: bool = False) -> None:
        super().__init__(keys, Grayscale(), allow_missing_keys)


class NLMeansDenoised(Mapped):
    """Dictionary version of :class:`NLMeansDenoise`."""

    def __init__(
        self,
        keys: KeysCollection,
        *,
        sigma: float | None = None,
        h_factor: float = 0.8,
        patch_size: int = 5,
        patch_distance: int = 6,
        slice_wise: bool = False,
        allow_missing_keys: bool = False,
    ) -> None:
        t = NLMeansDenoise(
            sigma=sigma,
            h_factor=h_factor,
            patch_size=patch_size,
            patch_distance=patch_distance,
            slice_wise=slice_wise,
        )
        super().__init__(keys, t, allow_missing_keys)


class TVDenoised(Mapped):
    """Dictionary version of :class:`TVDenoise`."""

    def __init__(
        self,
        keys: KeysCollection,
        *,
        sigma: float | None = None,
        weight_factor: float = 1.0,
        max_num_iter: int = 200,
        allow_missing_keys: bool = False,
    ) -> None:
        t = TVDenoise(sigma=sigma, weight_factor=weight_factor, max_num_iter=max_num_iter)
        super().__init__(keys, t, allow_missing_keys)


class BilateralDenoised(Mapped):
    """Dictionary version of :class:`BilateralDenoise`."""

    def __init__(
        self,
        keys: KeysCollection,
        *,
        sigma: float | None = None,
        sigma_spatial: float = 1.5,
        sigma_range: float | None = None,
        range_factor: float = 3.0,
        radius: int | None = None,
        allow_missing_keys: bool = False,
    ) -> None:
        t = BilateralDenoise(
            sigma=sigma,
            sigma_spatial=sigma_spatial,
            sigma_range=sigma_range,
            range_factor=range_factor,
            radius=radius,
        )
        super().__init__(keys, t, allow_missing_keys)


class AnisotropicDiffusiond(Mapped):
    """Dictionary version of :class:`AnisotropicDiffusion`."""

    def __init__(
        self,
        keys: KeysCollection,
        *,
        sigma: float | None = None,
        iterations: int = 7,
        kappa: float | None = None,
        kappa_factor: float = 2.0,
        gamma: float | None = None,
        option: str = "exponential",
        allow_missing_keys: bool = False,
    ) -> None:
        t = AnisotropicDiffusion(
            sigma=sigma,
            iterations=iterations,
            kappa=kappa,
            kappa_factor=kappa_factor,
            gamma=gamma,
            option=option,
        )
        super().__init__(keys, t, allow_missing_keys)


class BodyCropd(Mapped):
    """Dictionary version of :class:`BodyCrop`."""

    def __init__(
        self,
        keys: KeysCollection,
        *,
        threshold: float | None = None,
        margin: int | Sequence[int] = 5,
        remove_table: bool = False,
        table_radius: int = 3,
        mask_outside: bool = False,
        background: float | None = None,
        allow_missing_keys: bool = False,
    ) -> None:
        t = BodyCrop(
            threshold=threshold,
            margin=margin,
            remove_table=remove_table,
            table_radius=table_radius,
            mask_outside=mask_outside,
            background=background,
        )
        super().__init__(keys, t, allow_missing_keys)
