"""MONAI transforms for medical scans: loading, intensity, denoising, cropping, and modality presets.

Every transform has an array version and a dictionary ("d") version and works inside
``monai.transforms.Compose`` next to MONAI's own transforms.

Example:
    >>> import torch
    >>> from medms.transforms import Window
    >>> Window(preset="lung")(torch.full((1, 2, 2), -600.0)).mean().item()
    0.5003335475921631
"""

from medms.transforms.crop import BodyCrop, body_mask
from medms.transforms.denoise import (
    AnisotropicDiffusion,
    BilateralDenoise,
    NLMeansDenoise,
    TVDenoise,
    estimate_noise_sigma,
)
from medms.transforms.dictionary import (
    AnisotropicDiffusiond,
    BilateralDenoised,
    BodyCropd,
    DicomWindowd,
    Grayscaled,
    NLMeansDenoised,
    RobustNormalized,
    TVDenoised,
    Windowd,
)
from medms.transforms.intensity import CT_WINDOWS, DicomWindow, Grayscale, RobustNormalize, Window
from medms.transforms.load import LoadSeries, LoadSeriesd, SeriesReader

__all__ = [
    "CT_WINDOWS",
    "AnisotropicDiffusion",
    "AnisotropicDiffusiond",
    "BilateralDenoise",
    "BilateralDenoised",
    "BodyCrop",
    "BodyCropd",
    "DicomWindow",
    "DicomWindowd",
    "Grayscale",
    "Grayscaled",
    "LoadSeries",
    "LoadSeriesd",
    "NLMeansDenoise",
    "NLMeansDenoised",
    "RobustNormalize",
    "RobustNormalized",
    "SeriesReader",
    "TVDenoise",
    "TVDenoised",
    "Window",
    "Windowd",
    "body_mask",
    "estimate_noise_sigma",
]
