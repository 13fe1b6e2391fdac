"""Files → arrays with geometry: DICOM scanning and reading, NIfTI, MedMNIST-style ``.npz``, numpy arrays.

``medms.io`` knows nothing of models. Everything it returns is free of patient attributes.

Example:
    >>> from medms.io import read_image
    >>> import numpy as np
    >>> read_image(np.zeros((4, 6), np.uint8)).array.shape  # numpy (rows, cols) → (columns, rows)
    (6, 4)
"""

from medms.io.dicom import read_series
from medms.io.discover import WorkItem, discover
from medms.io.geometry import affine_ras, sort_by_position, stack_spacing
from medms.io.images import is_nifti, read_array, read_image, read_nifti, read_npz
from medms.io.pixels import DEFAULT_MAX_PIXELS
from medms.io.records import ScanResult, Series, SeriesInfo
from medms.io.scan import scan_dicom

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "ScanResult",
    "Series",
    "SeriesInfo",
    "WorkItem",
    "affine_ras",
    "discover",
    "is_nifti",
    "read_array",
    "read_image",
    "read_nifti",
    "read_npz",
    "read_series",
    "scan_dicom",
    "sort_by_position",
    "stack_spacing",
]
