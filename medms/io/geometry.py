"""Slice ordering, spacing and affine of DICOM image planes. Pure functions on numbers: no file I/O.

Conventions (those of ITK and MONAI's ``ITKReader``):

* array index order is ``(i, j, k) = (column, row, slice)``;
* DICOM patient coordinates are LPS; the returned affine maps an index to **RAS** millimetres, i.e. the LPS
  affine with its first two rows negated;
* slices are ordered by their position projected on the plane normal ``row_cosines × column_cosines``
  (ascending), never by InstanceNumber.

Example:
    >>> import numpy as np
    >>> iop = (1, 0, 0, 0, 1, 0)
    >>> order, offsets = sort_by_position([(0, 0, 5.0), (0, 0, 0.0), (0, 0, 2.5)], iop)
    >>> order.tolist(), offsets.tolist()
    ([1, 2, 0], [0.0, 2.5, 5.0])
    >>> stack_spacing(offsets)[0]
    2.5
    >>> affine_ras(iop, (0, 0, 0), (0.5, 0.5, 2.5)).diagonal().tolist()
    [-0.5, -0.5, 2.5, 1.0]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from medms.errors import GeometryError

__all__ = [
    "LPS_TO_RAS",
    "affine_ras",
    "check_orientation",
    "slice_normal",
    "sort_by_position",
    "stack_spacing",
]

#: Multiply an LPS affine on the left by this to get the RAS affine (and vice versa).
LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])

# Relative tolerance on slice gaps: scanners write positions with limited decimals (DS has 16 characters), so
# exact equality would reject sound series; 1 % of the gap is far below a missing slice (100 %).
GAP_RTOL = 0.01
# Direction cosines read from DS strings agree to about 1e-6; anything beyond 1e-3 is a real difference.
ORIENTATION_ATOL = 1e-3


def _cosines(iop: Sequence[float], path: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    v = np.asarray(iop, dtype=float).reshape(-1)
    if v.size != 6 or not np.all(np.isfinite(v)):
        raise GeometryError(f"ImageOrientationPatient must hold 6 finite numbers, got {v.size}", path=path)
    row, col = v[:3], v[3:]
    nr, nc = np.linalg.norm(row), np.linalg.norm(col)
    if nr < 1e-6 or nc < 1e-6 or abs(row @ col) / (nr * nc) > 1e-2:
        raise GeometryError(
            "ImageOrientationPatient is degenerate (zero or non-orthogonal direction cosines); "
            "the file's geometry cannot be trusted",
            path=path,
        )
    return row / nr, col / nc


def slice_normal(iop: Sequence[float], path: str | None = None) -> np.ndarray:
    """Unit normal ``row_cosines × column_cosines`` of an ImageOrientationPatient (LPS).

    Example:
        >>> slice_normal((1, 0, 0, 0, 1, 0)).tolist()
        [0.0, 0.0, 1.0]
    """
    row, col = _cosines(iop, path)
    n = np.cross(row, col)
    return n / np.linalg.norm(n)


def check_orientation(iops: Sequence[Sequence[float]], path: str | None = None) -> None:
    """Raise :class:`GeometryError` unless all slices share one ImageOrientationPatient.

    Example:
        >>> check_orientation([(1, 0, 0, 0, 1, 0), (1, 0, 0, 0, 1, 0)])
    """
    arr = np.asarray(iops, dtype=float)
    if arr.ndim != 2 or arr.shape[1] != 6:
        raise GeometryError("every slice needs a 6-value ImageOrientationPatient", path=path)
    if np.max(np.abs(arr - arr[0])) > ORIENTATION_ATOL:
        raise GeometryError(
            "slices have different ImageOrientationPatient; they do not form one volume "
            "(select a single stack or split the series)",
            path=path,
        )


def sort_by_position(
    positions: Sequence[Sequence[float]], iop: Sequence[float], path: str | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Order slices along the plane normal.

    Args:
        positions: ImagePositionPatient of each slice, ``(n, 3)`` LPS mm.
        iop: the common ImageOrientationPatient.
        path: the file or folder the slices come from (named in errors).

    Returns:
        ``(order, offsets)``: indices that sort the slices (stable, so duplicates keep their input order), and the
        sorted positions projected on the normal (mm).

    Raises:
        GeometryError: positions are not ``(n, 3)`` finite numbers.

    Example:
        >>> sort_by_position([(0, 0, 1), (0, 0, -1)], (1, 0, 0, 0, 1, 0))[0].tolist()
        [1, 0]
    """
    pos = np.asarray(positions, dtype=float)
    if pos.ndim != 2 or pos.shape[1] != 3 or not np.all(np.isfinite(pos)):
        raise GeometryError("every slice needs a 3-value finite ImagePositionPatient", path=path)
    proj = pos @ slice_normal(iop, path)
    order = np.argsort(proj, kind="stable")
    return order, proj[order]


def stack_spacing(
    offsets: np.ndarray, *, lenient: bool = False, path: str | None = None
) -> tuple[float, list[str], np.ndarray]:
    """Slice spacing of a sorted stack, detecting duplicates, uneven gaps and missing slices.

    Args:
        offsets: sorted slice positions along the normal (mm), as from :func:`sort_by_position`.
        lenient: record problems as warnings instead of raising. Duplicated positions are then dropped (the first
            slice at a position is kept) and the spacing is the median gap.
        path: named in errors.

    Returns:
        ``(spacing, warnings, keep)``: spacing in mm (1.0 for a single slice), warning strings, and a boolean mask
        over ``offsets`` of the slices to keep.

    Raises:
        GeometryError: (strict mode) duplicated positions, uneven gaps or missing slices.

    Example:
        >>> import numpy as np
        >>> spacing, warnings, keep = stack_spacing(np.array([0.0, 1.0, 2.0, 4.0]), lenient=True)
        >>> spacing, len(warnings)
        (1.0, 1)
    """
    offsets = np.asarray(offsets, dtype=float)
    keep = np.ones(offsets.size, dtype=bool)
    warnings: list[str] = []
    if offsets.size < 2:
        return 1.0, warnings, keep
    gaps = np.diff(offsets)
    extent = max(offsets[-1] - offsets[0], 1e-6)
    dup = gaps <= 1e-4 * extent
    if np.any(dup):
        msg = f"{int(dup.sum())} slice(s) share a position with another slice (duplicates)"
        if not lenient:
            raise GeometryError(
                msg + "; remove the duplicates or read with lenient=True to keep the first", path=path
            )
        warnings.append(msg + "; kept the first at each position")
        keep[1:][dup] = False
        gaps = np.diff(offsets[keep])
        if gaps.size == 0:
            return 1.0, warnings, keep
    spacing = float(np.median(gaps))
    bad = np.abs(gaps - spacing) > GAP_RTOL * spacing
    if np.any(bad):
        ratios = gaps[bad] / spacing
        missing = np.all(np.abs(ratios - np.rint(ratios)) < GAP_RTOL) and np.all(ratios > 1.5)
        kind = "missing slice(s)" if missing else "uneven slice gaps"
        listed = ", ".join(f"{g:.4g}" for g in gaps[bad][:5])
        msg = f"{kind}: {int(bad.sum())} gap(s) of {listed} mm where the usual gap is {spacing:.4g} mm"
        if not lenient:
            raise GeometryError(
                msg + "; read with lenient=True to accept it (spacing = median gap)", path=path
            )
        warnings.append(msg + "; used the median gap as spacing")
    return spacing, warnings, keep


def affine_ras(
    iop: Sequence[float],
    position: Sequence[float],
    spacing: Sequence[float],
    path: str | None = None,
) -> np.ndarray:
    """4×4 affine from ``(column, row, slice)`` indices to RAS mm.

    Args:
        iop: ImageOrientationPatient (LPS).
        position: ImagePositionPatient of the first voxel (LPS mm).
        spacing: ``(column spacing, row spacing, slice spacing)`` — note: index order, i.e. PixelSpacing reversed.
        path: named in errors.

    Example:
        >>> affine_ras((0, 1, 0, 0, 0, -1), (10, 20, 30), (1, 2, 3))[:3, 3].tolist()
        [-10.0, -20.0, 30.0]
    """
    row, col = _cosines(iop, path)
    normal = np.cross(row, col)
    lps = np.eye(4)
    lps[:3, 0] = row * float(spacing[0])
    lps[:3, 1] = col * float(spacing[1])
    lps[:3, 2] = normal * float(spacing[2])
    lps[:3, 3] = np.asarray(position, dtype=float)
    return LPS_TO_RAS @ lps
