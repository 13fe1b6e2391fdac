"""Ready preprocessing pipelines, one function per modality family, shared by the CLI, the API and bundles.

Each preset returns a MONAI :class:`~monai.transforms.Compose` over dictionary keys (``keys``, default
``"image"``; other keys such as ``"label"`` pass through untouched) whose output image is a float32,
channel-first tensor ready for the network. Every option is JSON-serialisable, so a checkpoint stores
``{"preset": name, "options": {...}}`` and :func:`get_preset` rebuilds the identical pipeline; a MONAI bundle
names the same function by ``_target_`` (e.g. ``"medms.transforms.presets.medmnist"``).

``augment=True`` appends MONAI random augmentation for training: a random affine (rotation, scale jitter,
which matters for a multi-scale model, translation), flips where anatomy allows, and intensity jitter.

Example:
    >>> import numpy as np
    >>> from medms.transforms.presets import get_preset
    >>> pipeline = get_preset("medmnist", spatial_size=32)
    >>> out = pipeline({"image": np.full((28, 28), 255, np.uint8), "label": 1})
    >>> tuple(out["image"].shape), str(out["image"].dtype), float(out["image"].max()), out["label"]
    ((1, 32, 32), 'torch.float32', 1.0, 1)
"""

from __future__ import annotations

import inspect
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from monai.transforms import (
    Compose,
    EnsureTyped,
    MapTransform,
    Orientationd,
    RandAffined,
    RandFlipd,
    RandScaleIntensityd,
    Resized,
    ResizeWithPadOrCropd,
    ScaleIntensityRanged,
    Spacingd,
)

from medms.errors import ConfigError
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
from medms.transforms.intensity import CT_WINDOWS
from medms.transforms.load import LoadSeriesd

__all__ = [
    "PRESETS",
    "Preset",
    "ct_mr_slice",
    "ct_volume",
    "get_preset",
    "medmnist",
    "preset_record",
    "radiograph",
    "ultrasound",
]

DENOISERS = ("none", "bilateral", "anisotropic_diffusion", "nl_means", "total_variation")
Keys = str | Sequence[str]
# explicit LPS→RAS labels: MONAI 1.5+ warns that its default changes; our affines are RAS already
RAS_LABELS = (("L", "R"), ("P", "A"), ("I", "S"))


def _size(spatial_size: int | Sequence[int], nd: int) -> list[int]:
    size = [spatial_size] * nd if isinstance(spatial_size, int) else list(spatial_size)
    if len(size) != nd or any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in size):
        raise ConfigError(f"spatial_size must be a positive integer or {nd} of them, got {spatial_size!r}")
    return size


def _load(keys: Keys, load: bool, lenient: bool) -> list[MapTransform]:
    return [LoadSeriesd(keys, lenient=lenient)] if load else []


def _denoise(keys: Keys, method: str, nd: int) -> list[MapTransform]:
    if method not in DENOISERS:
        raise ConfigError(f"denoise must be one of {list(DENOISERS)}, got {method!r}")
    # in 3D a radius-2 bilateral window (33 voxels) keeps a 512²×300 series within seconds on a CPU
    spatial = 1.0 if nd == 3 else 1.5
    return {
        "none": [],
        "bilateral": [BilateralDenoised(keys, sigma_spatial=spatial)],
        "anisotropic_diffusion": [AnisotropicDiffusiond(keys)],
        "nl_means": [NLMeansDenoised(keys, slice_wise=nd == 3)],
        "total_variation": [TVDenoised(keys)],
    }[method]


def _intensity(keys: Keys, window: str | None) -> list[MapTransform]:
    if window is None:
        return [RobustNormalized(keys, mode="unit")]
    if window == "dicom":
        return [DicomWindowd(keys, missing="minmax")]
    if window not in CT_WINDOWS:
        raise ConfigError(f"window must be None, 'dicom' or one of {sorted(CT_WINDOWS)}, got {window!r}")
    return [Windowd(keys, preset=window)]


def _fit(keys: Keys, size: list[int]) -> list[MapTransform]:
    # keep the aspect ratio: scale the longest side to the target, then pad (or crop) the others
    return [
        Resized(keys, spatial_size=max(size), size_mode="longest", mode="area"),
        ResizeWithPadOrCropd(keys, spatial_size=size, mode="constant"),
    ]


def _augment(keys: Keys, size: list[int], *, flip: bool) -> list[MapTransform]:
    nd = len(size)
    rot = math.radians(15.0)
    rotate = (rot,) if nd == 2 else (rot / 3, rot / 3, rot)  # 3D: mostly in-plane (about z)
    out: list[MapTransform] = []
    if flip:  # axis 0 is x (columns): a left-right flip
        out.append(RandFlipd(keys, prob=0.5, spatial_axis=0))
    out += [
        RandAffined(
            keys,
            prob=1.0,
            spatial_size=size,
            rotate_range=rotate,
            scale_range=(0.15,) * nd,
            translate_range=tuple(0.1 * s for s in size),
            mode="bilinear",
            padding_mode="border",
            cache_grid=True,
        ),
        RandScaleIntensityd(keys, factors=0.1, prob=1.0),
    ]
    return out


def _finish(keys: Keys) -> list[MapTransform]:
    return [EnsureTyped(keys, data_type="tensor", dtype=torch.float32)]


def ct_volume(
    *,
    keys: Keys = "image",
    spatial_size: int | Sequence[int] = 128,
    pixdim: float | Sequence[float] = 1.5,
    window: str = "soft_tissue",
    denoise: str = "bilateral",
    body_crop: bool = True,
    remove_table: bool = True,
    augment: bool = False,
    load: bool = True,
    lenient: bool = False,
) -> Compose:
    """CT volume: load → RAS → spacing ``pixdim`` mm → body crop (HU) → HU window → denoise → resize.

    The body crop runs on Hounsfield units before windowing (threshold -500 HU separates air from the body
    for every window) and before denoising, so the filter only sees the body.

    Example:
        >>> import torch
        >>> from monai.data import MetaTensor
        >>> hu = torch.full((1, 40, 40, 20), -1000.0); hu[:, 10:30, 8:32, :] = 40.0
        >>> out = ct_volume(spatial_size=16, pixdim=2.0, load=False)({"image": MetaTensor(hu)})
        >>> tuple(out["image"].shape)
        (1, 16, 16, 16)
    """
    size = _size(spatial_size, 3)
    dims = [pixdim] * 3 if isinstance(pixdim, (int, float)) else list(pixdim)
    if len(dims) != 3 or not all(isinstance(d, (int, float)) and math.isfinite(d) and d > 0 for d in dims):
        raise ConfigError(f"pixdim must be a positive spacing in mm or 3 of them, got {pixdim!r}")
    steps: list = [*_load(keys, load, lenient), Orientationd(keys, axcodes="RAS", labels=RAS_LABELS)]
    steps.append(Spacingd(keys, pixdim=dims, mode="bilinear"))
    if body_crop:
        steps.append(BodyCropd(keys, threshold=-500.0, margin=2, remove_table=remove_table))
    steps += _intensity(keys, window) + _denoise(keys, denoise, 3) + _fit(keys, size)
    steps += _augment(keys, size, flip=True) if augment else []
    return Compose([*steps, *_finish(keys)])


def ct_mr_slice(
    *,
    keys: Keys = "image",
    spatial_size: int | Sequence[int] = 224,
    window: str | None = None,
    denoise: str = "none",
    body_crop: bool = False,
    augment: bool = False,
    load: bool = True,
    lenient: bool = False,
) -> Compose:
    """CT or MR 2D slice: load → [body crop] → intensity → denoise → resize (aspect kept) → [augment].

    ``window``: ``None`` (robust 0.5–99.5 percentile scaling to [0, 1], right for MR), ``"dicom"`` (the
    header's VOI window) or a CT window name from :data:`~medms.transforms.CT_WINDOWS`. The body crop uses
    -500 HU with a CT window and Otsu's threshold otherwise.
    """
    size = _size(spatial_size, 2)
    steps: list = _load(keys, load, lenient)
    if body_crop:
        steps.append(BodyCropd(keys, threshold=-500.0 if window in CT_WINDOWS else None, margin=4))
    steps += _intensity(keys, window) + _denoise(keys, denoise, 2) + _fit(keys, size)
    steps += _augment(keys, size, flip=True) if augment else []
    return Compose([*steps, *_finish(keys)])


def radiograph(
    *,
    keys: Keys = "image",
    spatial_size: int | Sequence[int] = 224,
    window: str | None = None,
    augment: bool = False,
    load: bool = True,
    lenient: bool = False,
) -> Compose:
    """Radiograph (CR/DX): load (MONOCHROME1 inverted by the loader) → intensity → resize → [augment].

    ``window``: ``None`` (robust percentile scaling to [0, 1]) or ``"dicom"`` (header VOI window). The
    augmentation has no left-right flip: laterality is part of a radiograph's meaning.
    """
    if window not in (None, "dicom"):
        raise ConfigError(f"radiograph window must be None or 'dicom', got {window!r}")
    size = _size(spatial_size, 2)
    steps: list = [*_load(keys, load, lenient), *_intensity(keys, window), *_fit(keys, size)]
    steps += _augment(keys, size, flip=False) if augment else []
    return Compose([*steps, *_finish(keys)])


def ultrasound(
    *,
    keys: Keys = "image",
    spatial_size: int | Sequence[int] = 224,
    denoise: str = "none",
    augment: bool = False,
    load: bool = True,
    lenient: bool = False,
) -> Compose:
    """Ultrasound 2D: load → grey (colour frames averaged) → robust [0, 1] → denoise → resize → [augment]."""
    size = _size(spatial_size, 2)
    steps: list = [
        *_load(keys, load, lenient),
        Grayscaled(keys),
        RobustNormalized(keys, lower=1, upper=99, mode="unit"),
    ]
    steps += _denoise(keys, denoise, 2) + _fit(keys, size)
    steps += _augment(keys, size, flip=True) if augment else []
    return Compose([*steps, *_finish(keys)])


def medmnist(
    *,
    keys: Keys = "image",
    spatial_size: int | Sequence[int] = 64,
    augment: bool = False,
    load: bool = True,
) -> Compose:
    """MedMNIST-style 8-bit pictures: load → ``[0, 255]`` → ``[-1, 1]`` → bilinear resize → [augment].

    The fixed 8-bit scaling (MedMNIST's ``Normalize(mean=0.5, std=0.5)``) keeps the same picture from an
    array and from a DICOM file identical. Augmentation: random affine (rotation ±15°, scale ±15 %,
    translation ±10 %), left-right flip (p = 0.5), intensity × (1 ± 0.1).
    """
    size = _size(spatial_size, 2)
    steps: list = [
        *_load(keys, load, False),
        ScaleIntensityRanged(keys, a_min=0.0, a_max=255.0, b_min=-1.0, b_max=1.0),
        Resized(keys, spatial_size=size, mode="bilinear", align_corners=False),
    ]
    steps += _augment(keys, size, flip=True) if augment else []
    return Compose([*steps, *_finish(keys)])


@dataclass(frozen=True)
class Preset:
    """A preset as a record: its builder and the facts that checkpoints, bundles and reports read from it.

    Attributes:
        name: the registry name (what a checkpoint stores).
        build: the preset function (keyword options → ``Compose``).
        spatial_dims: 2 or 3 (the network's ``spatial_dims``), unless the options give ``spatial_dims``.
        modalities: DICOM modality codes the preset is made for (the first is the default in bundle metadata).
        value_range: the range of the output intensities (before augmentation).
        intensity: what the input intensities are (``"hounsfield"`` for CT windows, else ``"magnitude"``).

    Example:
        >>> record = PRESETS["medmnist"]
        >>> record.spatial_dims, record.value_range, record.spatial_shape({"spatial_size": 32})
        (2, (-1.0, 1.0), [32, 32])
        >>> type(record.loader()).__name__, type(record.pipeline(load=False).transforms[0]).__name__
        ('LoadSeriesd', 'ScaleIntensityRanged')
    """

    name: str
    build: Callable[..., Compose]
    spatial_dims: int
    modalities: tuple[str, ...]
    value_range: tuple[float, float]
    intensity: str = "magnitude"

    @property
    def option_names(self) -> list[str]:
        """The keyword options the builder takes."""
        return list(inspect.signature(self.build).parameters)

    def dims(self, options: Mapping[str, Any] | None = None) -> int:
        """The spatial dimensions of the output for these options."""
        return int((options or {}).get("spatial_dims", self.spatial_dims))

    def spatial_shape(self, options: Mapping[str, Any] | None = None) -> list[int]:
        """The output's spatial shape for these options (``spatial_size`` or the builder's default)."""
        options = dict(options or {})
        size = options.get("spatial_size", inspect.signature(self.build).parameters["spatial_size"].default)
        return _size(size, self.dims(options))

    def pipeline(self, **options: Any) -> Compose:
        """Build the pipeline with JSON-serialisable, checked ``options`` (see :func:`get_preset`)."""
        unknown = sorted(set(options) - set(self.option_names))
        if unknown:
            raise ConfigError(
                f"preset {self.name!r} has no option(s) {unknown}; its options are {self.option_names}"
            )
        try:
            json.dumps(options, allow_nan=False)
        except (TypeError, ValueError) as err:
            raise ConfigError(f"preset {self.name!r}: options must be JSON-serialisable ({err})") from err
        try:
            return self.build(**options)
        except ConfigError:
            raise
        except (TypeError, ValueError) as err:
            raise ConfigError(f"preset {self.name!r}: invalid option value: {err}") from err

    def loader(self, **options: Any) -> MapTransform:
        """The loading step alone (what a prediction worker runs first, and times separately)."""
        return _load(options.get("keys", "image"), True, bool(options.get("lenient", False)))[0]


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset("ct_volume", ct_volume, 3, ("CT",), (0.0, 1.0), "hounsfield"),
        Preset("ct_mr_slice", ct_mr_slice, 2, ("CT", "MR"), (0.0, 1.0)),
        Preset("radiograph", radiograph, 2, ("CR", "DX"), (0.0, 1.0)),
        Preset("ultrasound", ultrasound, 2, ("US",), (0.0, 1.0)),
        Preset("medmnist", medmnist, 2, ("OT",), (-1.0, 1.0)),
    )
}


def get_preset(name: str, **options: Any) -> Compose:
    """Build the preset ``name`` with JSON-serialisable ``options`` (what a checkpoint stores).

    Raises:
        ConfigError: unknown preset, unknown option, non-serialisable or invalid option value.

    Example:
        >>> get_preset("ultrasound", spatial_size=[128, 128]).transforms[-1].__class__.__name__
        'EnsureTyped'
    """
    return preset_record(name).pipeline(**options)


def preset_record(name: str) -> Preset:
    """The :class:`Preset` record registered as ``name``.

    Raises:
        ConfigError: unknown preset.
    """
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}")
    return PRESETS[name]
