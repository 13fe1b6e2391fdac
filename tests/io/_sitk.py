"""SimpleITK as the independent reference reader: arrays and RAS affines in medms/MONAI conventions."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import SimpleITK as sitk


def _to_medms(image: sitk.Image) -> tuple[np.ndarray, np.ndarray]:
    # SimpleITK arrays are (z, y, x) and its geometry is LPS: reverse the axes, flip x/y rows of the affine.
    arr = sitk.GetArrayFromImage(image).astype(np.float64)
    arr = arr.transpose(tuple(range(arr.ndim))[::-1])
    dim = image.GetDimension()
    direction = np.asarray(image.GetDirection()).reshape(dim, dim)
    lps = np.eye(4)
    lps[:dim, :dim] = direction * np.asarray(image.GetSpacing())
    lps[:dim, 3] = image.GetOrigin()
    return arr, np.diag([-1.0, -1.0, 1.0, 1.0]) @ lps


def read_series_sitk(files: Sequence[Path]) -> tuple[np.ndarray, np.ndarray]:
    """Array (x, y, z) and RAS affine of a single-frame series, slices sorted by GDCM."""
    folder = str(Path(files[0]).parent)
    names = sitk.ImageSeriesReader.GetGDCMSeriesFileNames(folder)
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(names)
    return _to_medms(reader.Execute())


def read_file_sitk(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Array (x, y, z) and RAS affine of one (possibly multi-frame) file."""
    return _to_medms(sitk.ReadImage(str(path)))
