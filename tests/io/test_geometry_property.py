"""Property test: for random orientations, spacings and origins, read_series agrees with SimpleITK."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medms.io import read_series
from medms.synthetic import write_ct_phantom
from tests.io._sitk import read_series_sitk

unit = st.floats(-1.0, 1.0, allow_nan=False)


def _orientation(a: tuple[float, float, float], b: tuple[float, float, float]) -> tuple[float, ...] | None:
    row, col = np.asarray(a), np.asarray(b)
    if np.linalg.norm(row) < 0.2:
        return None
    row = row / np.linalg.norm(row)
    col = col - row * (row @ col)
    if np.linalg.norm(col) < 0.2:
        return None
    return (*row, *(col / np.linalg.norm(col)))


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(
    a=st.tuples(unit, unit, unit),
    b=st.tuples(unit, unit, unit),
    spacing=st.tuples(st.floats(0.3, 2.0), st.floats(0.3, 2.0), st.floats(0.5, 5.0)),
    origin=st.tuples(*[st.floats(-200, 200)] * 3),
)
def test_random_geometry_matches_simpleitk(a, b, spacing, origin):
    iop = _orientation(a, b)
    if iop is None:
        return
    with tempfile.TemporaryDirectory() as tmp:
        files = write_ct_phantom(
            Path(tmp), shape=(6, 5, 4), spacing=spacing, orientation=iop, origin=origin, noise_hu=0.0
        )
        series = read_series(tmp)
        ref, ref_affine = read_series_sitk(files)
    np.testing.assert_array_equal(series.array, ref)
    np.testing.assert_allclose(series.affine, ref_affine, atol=1e-3)
