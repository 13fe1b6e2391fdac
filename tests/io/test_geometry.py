"""Pure geometry functions: ordering, spacing checks, affine."""

from __future__ import annotations

import numpy as np
import pytest

from medms.errors import GeometryError
from medms.io.geometry import affine_ras, check_orientation, slice_normal, sort_by_position, stack_spacing

AXIAL = (1, 0, 0, 0, 1, 0)


def test_sort_by_position_uses_the_normal_not_input_order():
    iop = (1, 0, 0, 0, 0, -1)  # coronal: normal is -y... row x, col -z → normal = x × -z = +y
    order, offsets = sort_by_position([(0, 3, 0), (0, -1, 0), (0, 1, 0)], iop)
    assert order.tolist() == [1, 2, 0]
    np.testing.assert_allclose(offsets, [-1, 1, 3])
    np.testing.assert_allclose(slice_normal(iop), [0, 1, 0])


def test_stack_spacing_regular():
    spacing, warnings, keep = stack_spacing(np.array([0.0, 2.5, 5.0, 7.5]))
    assert spacing == pytest.approx(2.5) and warnings == [] and keep.all()


def test_stack_spacing_missing_slice_is_an_error_or_a_warning():
    offsets = np.array([0.0, 1.0, 2.0, 4.0, 5.0])
    with pytest.raises(GeometryError, match="missing slice"):
        stack_spacing(offsets)
    spacing, warnings, keep = stack_spacing(offsets, lenient=True)
    assert spacing == 1.0 and keep.all() and "missing slice" in warnings[0]


def test_stack_spacing_uneven_gap():
    with pytest.raises(GeometryError, match="uneven slice gaps"):
        stack_spacing(np.array([0.0, 1.0, 2.0, 3.7]))


def test_stack_spacing_duplicates_dropped_when_lenient():
    offsets = np.array([0.0, 1.0, 1.0, 2.0])
    with pytest.raises(GeometryError, match="duplicates"):
        stack_spacing(offsets)
    spacing, warnings, keep = stack_spacing(offsets, lenient=True)
    assert keep.tolist() == [True, True, False, True] and spacing == 1.0 and len(warnings) == 1


def test_small_jitter_is_accepted():
    # DS strings round positions; a 0.1 % jitter is not an uneven gap.
    spacing, warnings, _ = stack_spacing(np.array([0.0, 1.0005, 1.9995, 3.0]))
    assert warnings == [] and spacing == pytest.approx(1.0, abs=1e-3)


def test_affine_maps_indices_like_the_dicom_formula():
    iop = (0.6, 0.8, 0.0, -0.8, 0.6, 0.0)
    ipp = np.array([10.0, -5.0, 3.0])
    aff = affine_ras(iop, ipp, (0.5, 0.7, 2.0))
    i, j, k = 3, 4, 2
    row, col = np.array(iop[:3]), np.array(iop[3:])
    lps = ipp + i * 0.5 * row + j * 0.7 * col + k * 2.0 * np.cross(row, col)
    world = aff @ [i, j, k, 1]
    np.testing.assert_allclose(world[:3], lps * [-1, -1, 1])


def test_degenerate_orientation_is_rejected():
    with pytest.raises(GeometryError, match="degenerate"):
        slice_normal((1, 0, 0, 1, 0, 0))
    with pytest.raises(GeometryError, match="different ImageOrientationPatient"):
        check_orientation([AXIAL, (0, 1, 0, 0, 0, -1)])
