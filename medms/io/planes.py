"""Image planes of a DICOM series and their geometry: one plane per single-frame file or per frame.

Reads positions, orientation, pixel spacing and rescale from the top-level attributes or, for Enhanced
multi-frame objects, from the per-frame and shared functional groups; builds the affine of a 2D image or of a
sorted, checked stack (see :mod:`medms.io.geometry`).

Example:
    >>> plane = Plane(0, 0, (0.0, 0.0, 0.0), (1, 0, 0, 0, 1, 0), (0.5, 0.4), 2.0, 1.0, 0.0)
    >>> affine, spacing = geometry_2d(plane)
    >>> spacing, affine.diagonal()[:2].tolist()
    ((0.4, 0.5), [-0.4, -0.5])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydicom.dataset import Dataset

from medms.errors import GeometryError
from medms.io.geometry import (
    LPS_TO_RAS,
    affine_ras,
    check_orientation,
    slice_normal,
    sort_by_position,
    stack_spacing,
)

__all__ = ["Plane", "functional_item", "geometry_2d", "geometry_3d", "planes_of"]


@dataclass
class Plane:
    """One 2D image plane: a single-frame file or one frame of a multi-frame file."""

    file: int
    frame: int
    ipp: tuple[float, float, float] | None
    iop: tuple[float, ...] | None
    pixel_spacing: tuple[float, float] | None
    thickness: float | None
    slope: float
    intercept: float


def functional_item(ds: Dataset, frame: int, sequence: str) -> Dataset | None:
    """The functional-group item ``sequence`` of a frame: per-frame first, then shared (Enhanced IODs)."""
    for groups, index in (("PerFrameFunctionalGroupsSequence", frame), ("SharedFunctionalGroupsSequence", 0)):
        seq = ds.get(groups)
        inner = seq[index].get(sequence) if seq is not None and len(seq) > index else None
        if inner:
            return inner[0]
    return None


def _floats(value: Any) -> tuple[float, ...] | None:
    if value is None or value == "":
        return None
    return (
        tuple(float(v) for v in value)
        if isinstance(value, Sequence) and not isinstance(value, str)
        else (float(value),)
    )


def planes_of(ds: Dataset, file_index: int) -> list[Plane]:
    """The planes of one file (one per frame), with geometry and rescale from wherever the header keeps them.

    Missing positions/orientations/spacings are ``None``: whether that is acceptable is decided by the caller.
    """
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    # Classic single-frame files have no functional groups: skip eight sequence look-ups per file.
    enhanced = "PerFrameFunctionalGroupsSequence" in ds or "SharedFunctionalGroupsSequence" in ds
    planes = []
    for f in range(frames):
        pos, ori, meas, pvt = (
            (functional_item(ds, f, name) if enhanced else None)
            for name in (
                "PlanePositionSequence",
                "PlaneOrientationSequence",
                "PixelMeasuresSequence",
                "PixelValueTransformationSequence",
            )
        )
        ipp = _floats((pos or ds).get("ImagePositionPatient"))
        iop = _floats((ori or ds).get("ImageOrientationPatient"))
        spacing = _floats((meas or ds).get("PixelSpacing")) or _floats(ds.get("ImagerPixelSpacing"))
        thickness = _floats((meas or ds).get("SliceThickness"))
        slope = _floats((pvt or ds).get("RescaleSlope"))
        intercept = _floats((pvt or ds).get("RescaleIntercept"))
        planes.append(
            Plane(
                file=file_index,
                frame=f,
                ipp=ipp if ipp is not None and len(ipp) == 3 else None,
                iop=iop if iop is not None and len(iop) == 6 else None,
                pixel_spacing=(spacing[0], spacing[1]) if spacing and len(spacing) == 2 else None,
                thickness=thickness[0] if thickness else None,
                slope=slope[0] if slope else 1.0,
                intercept=intercept[0] if intercept else 0.0,
            )
        )
    return planes


def geometry_2d(plane: Plane) -> tuple[np.ndarray, tuple[float, ...]]:
    """RAS affine and ``(column, row)`` spacing of a single 2D image (patient frame if the header has one)."""
    row_sp, col_sp = plane.pixel_spacing or (1.0, 1.0)
    if plane.ipp is not None and plane.iop is not None:
        return affine_ras(plane.iop, plane.ipp, (col_sp, row_sp, plane.thickness or 1.0)), (col_sp, row_sp)
    # Projection/secondary images without a patient frame: the image frame ITK uses (origin 0, identity
    # direction in LPS), converted to RAS like every other affine.
    return LPS_TO_RAS @ np.diag([col_sp, row_sp, 1.0, 1.0]), (col_sp, row_sp)


def geometry_3d(
    planes: list[Plane], lenient: bool, where: str, warnings: list[str]
) -> tuple[np.ndarray, tuple[float, ...], list[int]]:
    """Sort and check a stack of planes: ``(affine, (column, row, slice) spacing, plane indices in slice order)``.

    Problems accepted under ``lenient`` are appended to ``warnings``.

    Raises:
        GeometryError: missing positions/orientation/spacing, mixed orientations, or (strict) irregular slices.
    """
    if any(p.ipp is None or p.iop is None for p in planes):
        raise GeometryError(
            f"{len(planes)} image planes but ImagePositionPatient/ImageOrientationPatient are missing, so the "
            "planes cannot be placed in space (medms does not invent a geometry); read a single file as 2D or "
            "fix the headers",
            path=where,
        )
    iops = [p.iop for p in planes]
    check_orientation(iops, where)
    iop = planes[0].iop
    order, offsets = sort_by_position([p.ipp for p in planes], iop, where)
    slice_sp, gap_warnings, keep = stack_spacing(offsets, lenient=lenient, path=where)
    warnings.extend(gap_warnings)
    kept = [int(i) for i in order[keep]]
    pos = np.asarray([planes[i].ipp for i in kept])
    normal = slice_normal(iop, where)
    rel = pos - pos[0]
    off_axis = np.linalg.norm(rel - np.outer(rel @ normal, normal), axis=1).max()
    if off_axis > 0.01 * slice_sp + 1e-3:
        msg = f"slice positions drift {off_axis:.3g} mm off the plane normal (gantry tilt or a sheared stack)"
        if not lenient:
            raise GeometryError(msg + "; read with lenient=True to place slices along the normal", path=where)
        warnings.append(msg + "; slices placed along the normal")
    spacings = {planes[i].pixel_spacing for i in kept}
    if len(spacings) > 1:
        msg = f"PixelSpacing differs between slices: {sorted(map(str, spacings))}"
        if not lenient:
            raise GeometryError(msg, path=where)
        warnings.append(msg + "; used the first slice's")
    row_sp, col_sp = planes[kept[0]].pixel_spacing or (None, None)
    if row_sp is None:
        raise GeometryError("PixelSpacing is missing for a 3D stack; the voxel size is unknown", path=where)
    spacing = (col_sp, row_sp, slice_sp)
    if len({p.file for p in planes}) == 1 and kept == list(range(len(planes)))[::-1]:
        # A multi-frame file stored against the normal: keep the stored frame order with a reversed slice axis,
        # as ITK/GDCM do, so that arrays and affines match MONAI's ITKReader exactly.
        kept = kept[::-1]
        affine = affine_ras(iop, planes[kept[0]].ipp, spacing, where)
        affine[:3, 2] *= -1
        return affine, spacing, kept
    return affine_ras(iop, planes[kept[0]].ipp, spacing, where), spacing, kept
