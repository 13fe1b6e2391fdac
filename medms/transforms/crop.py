"""Body (foreground) crop: threshold → largest connected component → bounding box + margin.

Pad-or-crop to a fixed size and resampling to a spacing come from MONAI (``ResizeWithPadOrCrop``,
``Spacing``); this module adds what MONAI's ``CropForeground`` lacks for scans: the largest connected
component (drops noise specks and detached objects), optional CT table removal, optional masking of
everything outside the body, and a record of the crop box in ``.meta`` so predictions can be traced back to
the original voxel coordinates.

Example:
    >>> import torch
    >>> img = torch.zeros(1, 20, 20); img[0, 5:10, 8:15] = 1.0
    >>> out = BodyCrop(threshold=0.5, margin=1)(img)
    >>> tuple(out.shape), out.meta["medms_crop_start"], out.meta["medms_crop_end"]
    ((1, 7, 9), [4, 7], [11, 16])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import torch
from monai.transforms import SpatialCrop, Transform
from monai.utils import TransformBackends
from scipy import ndimage
from skimage.filters import threshold_otsu

from medms.errors import ConfigError
from medms.transforms._base import back_to_input_type, record, to_float_tensor, warn

__all__ = ["BodyCrop", "body_mask"]


def _planar_structure(nd: int, radius: int) -> np.ndarray:
    # a disk in the (x, y) plane, one slice thick: the CT table is thin within the axial plane, and
    # opening across slices would also eat thin anatomy along z
    r = np.arange(-radius, radius + 1)
    disk = (r[:, None] ** 2 + r[None, :] ** 2) <= radius * radius
    return disk if nd == 2 else disk[:, :, None]


def _fill_holes_slicewise(mask: np.ndarray) -> np.ndarray:
    # lungs and bowel gas are enclosed within each axial slice but connect to outside air in 3D (trachea)
    if mask.ndim == 2:
        return ndimage.binary_fill_holes(mask)
    return np.stack([ndimage.binary_fill_holes(mask[..., k]) for k in range(mask.shape[-1])], axis=-1)


def body_mask(
    image: np.ndarray,
    *,
    threshold: float | None = None,
    remove_table: bool = False,
    table_radius: int = 3,
    fill_holes: bool = True,
) -> np.ndarray:
    """Boolean body mask of one 2D/3D image (no channel axis): largest component above ``threshold``.

    ``threshold=None`` uses Otsu's threshold. Holes are filled slice by slice (``fill_holes``; the bounding
    box does not depend on it). Returns an all-False mask when nothing is above the threshold.

    Example:
        >>> import numpy as np
        >>> a = np.zeros((9, 9)); a[2:7, 2:7] = 1; a[4, 4] = 0; a[0, 8] = 1
        >>> int(body_mask(a, threshold=0.5).sum())
        25
    """
    t = float(threshold_otsu(image.reshape(-1))) if threshold is None else threshold  # 1D: no RGB guess
    mask = image > t
    if remove_table and mask.any():
        mask = ndimage.binary_opening(mask, structure=_planar_structure(image.ndim, table_radius))
    labels, n = ndimage.label(mask)
    if n == 0:
        return np.zeros(image.shape, dtype=bool)
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    largest = labels == int(sizes.argmax())
    return _fill_holes_slicewise(largest) if fill_holes else largest


def _bounding_box(mask: np.ndarray) -> tuple[list[int], list[int]]:
    # projections onto each axis are cheaper than listing every foreground voxel with np.nonzero
    start, end = [], []
    for axis in range(mask.ndim):
        hit = np.flatnonzero(mask.any(axis=tuple(a for a in range(mask.ndim) if a != axis)))
        start.append(int(hit[0]))
        end.append(int(hit[-1]) + 1)
    return start, end


class BodyCrop(Transform):
    """Crop a channel-first image to the bounding box (+ margin) of the body mask.

    Args:
        threshold: foreground threshold in image units (e.g. ``-500`` HU for CT: air is about -1000, fat
            -100); ``None`` uses Otsu's threshold (MR, ultrasound, radiographs).
        margin: voxels kept around the box, one number or one per spatial axis.
        remove_table: open the mask with a disk of ``table_radius`` voxels in each axial slice first, which
            cuts the thin CT table (and cables, sheets) from the body.
        table_radius: radius of that disk in voxels.
        mask_outside: also set everything outside the (hole-filled) body mask to ``background``.
        background: value outside the body when ``mask_outside``; ``None`` uses the image minimum.

    The mask is computed on the mean over channels. The crop box in the input's voxel coordinates goes to
    ``meta["medms_crop_start"]`` / ``meta["medms_crop_end"]`` (end exclusive) and the affine is updated
    (MONAI ``SpatialCrop``, invertible). If nothing is above the threshold the image is returned uncropped
    with a warning in ``meta["medms_warnings"]``.
    """

    backend: ClassVar[list[TransformBackends]] = [TransformBackends.TORCH, TransformBackends.NUMPY]

    def __init__(
        self,
        *,
        threshold: float | None = None,
        margin: int | Sequence[int] = 5,
        remove_table: bool = False,
        table_radius: int = 3,
        mask_outside: bool = False,
        background: float | None = None,
    ) -> None:
        margins = [margin] if isinstance(margin, int) else list(margin)
        if not margins or any(isinstance(m, bool) or not isinstance(m, int) or m < 0 for m in margins):
            raise ConfigError(f"margin must be an integer >= 0 or a sequence of them, got {margin!r}")
        if isinstance(table_radius, bool) or not isinstance(table_radius, int) or table_radius < 1:
            raise ConfigError(f"table_radius must be an integer >= 1, got {table_radius!r}")
        for name, v in (("threshold", threshold), ("background", background)):
            if v is not None and (
                isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v)
            ):
                raise ConfigError(f"{name} must be a finite number or None, got {v!r}")
        self.threshold, self.margins = threshold, margins
        self.remove_table, self.table_radius = bool(remove_table), table_radius
        self.mask_outside, self.background = bool(mask_outside), background

    def __call__(self, img: Any) -> Any:
        x = to_float_tensor(img, type(self).__name__)
        nd = x.ndim - 1
        if len(self.margins) not in (1, nd):
            raise ConfigError(f"margin has {len(self.margins)} entries for a {nd}D image; give 1 or {nd}")
        margins = self.margins * nd if len(self.margins) == 1 else self.margins
        grey = x.detach().as_subclass(torch.Tensor).mean(dim=0).cpu().numpy()
        mask = body_mask(
            grey, threshold=self.threshold, remove_table=self.remove_table, table_radius=self.table_radius
        )
        if not mask.any():
            out = back_to_input_type(x, img)
            out = out.clone() if isinstance(out, torch.Tensor) else out.copy()
            warn(out, "BodyCrop: no voxel above the threshold (empty body mask); image left uncropped")
            start, end = [0] * nd, list(grey.shape)
        else:
            if self.mask_outside:
                bg = float(x.min()) if self.background is None else self.background
                x = x.masked_fill(~torch.as_tensor(mask, device=x.device)[None], bg)
            lo, hi = _bounding_box(mask)
            start = [max(i - m, 0) for i, m in zip(lo, margins, strict=True)]
            end = [min(i + m, n) for i, m, n in zip(hi, margins, grey.shape, strict=True)]
            out = back_to_input_type(SpatialCrop(roi_start=start, roi_end=end)(x), img)
        record(out, "medms_crop_start", start)
        record(out, "medms_crop_end", end)
        return out
