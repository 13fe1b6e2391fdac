"""Fixtures for the transform tests: small crops of real images from sample_data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data" / "dicom"
CT_FILE = SAMPLE / "pydicom-data" / "693_UNCR.dcm"  # 512² CT, HU after rescale
MR_FILE = SAMPLE / "pydicom-data" / "MR-SIEMENS-DICOM-WithOverlays.dcm"  # 484² MR
US_FILE = SAMPLE / "pydicom-data" / "JPGLosslessP14SV1_1s_1f_8b.dcm"  # 768×1024 grey ultrasound
MR_VOLUME_FILE = SAMPLE / "pydicom-data" / "emri_small.dcm"  # 10 frames of 64² MR


def unit_crop(path: Path, rows: slice, cols: slice) -> np.ndarray:
    """A crop of a real image scaled to [0, 1] (float64, numpy order)."""
    a = pydicom.dcmread(path).pixel_array.astype(np.float64)[rows, cols]
    return (a - a.min()) / (a.max() - a.min())


@pytest.fixture(scope="session")
def real_crops() -> dict[str, np.ndarray]:
    """64×64 crops with anatomy (edges and flat regions) of a real CT, MR and ultrasound image."""
    return {
        "ct": unit_crop(CT_FILE, slice(120, 184), slice(180, 244)),
        "mr": unit_crop(MR_FILE, slice(200, 264), slice(200, 264)),
        "us": unit_crop(US_FILE, slice(300, 364), slice(450, 514)),
    }


@pytest.fixture(scope="session")
def mr_volume() -> np.ndarray:
    """The real 10-frame 64² MR volume as (X, Y, Z) in [0, 1]."""
    a = pydicom.dcmread(MR_VOLUME_FILE).pixel_array.astype(np.float64)  # (frames, rows, cols)
    a = (a - a.min()) / (a.max() - a.min())
    return np.moveaxis(a, 0, -1).transpose(1, 0, 2)
