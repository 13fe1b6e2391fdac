"""Fixtures shared by every test area: paths to the shipped real data and small generated DICOM series."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pydicom
import pytest

from medms.synthetic import write_ct_phantom
from medms.testing.orthanc import INSTALL_HINT, OrthancServer, find_orthanc, running_orthanc

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DATA = ROOT / "sample_data"
PYDICOM_TEST_FILES = Path(pydicom.__file__).parent / "data" / "test_files"

#: An oblique orientation (rotated about two axes) for geometry tests.
OBLIQUE_IOP = (0.9659258, 0.2588190, 0.0, -0.0669873, 0.2500000, -0.9659258)


@pytest.fixture(scope="session")
def sample_data() -> Path:
    """The repository's ``sample_data/`` folder (real files, see PROVENANCE.md)."""
    return SAMPLE_DATA


@pytest.fixture(scope="session")
def pydicom_test_files() -> Path:
    """pydicom's bundled test files (``CT_small.dcm``, ``dicomdirtests/`` ...)."""
    return PYDICOM_TEST_FILES


@pytest.fixture(scope="session")
def ct_series(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """A small axial CT phantom series: 40 rows × 48 columns × 10 slices, spacing (0.7, 0.9, 2.5) mm."""
    return write_ct_phantom(tmp_path_factory.mktemp("ct_axial"), shape=(40, 48, 10), spacing=(0.7, 0.9, 2.5))


@pytest.fixture(scope="session")
def oblique_ct_series(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """A small oblique CT phantom series (non-square, anisotropic, off-centre origin)."""
    return write_ct_phantom(
        tmp_path_factory.mktemp("ct_oblique"),
        shape=(36, 44, 9),
        spacing=(0.8, 0.6, 3.0),
        orientation=OBLIQUE_IOP,
        origin=(12.5, -40.0, 7.25),
        seed=3,
    )


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OrthancServer]:
    """A real Orthanc with its DICOMweb plugin on 127.0.0.1 (free ports, own storage, basic auth with a
    generated password), one per test module; the test is skipped when the Debian packages are absent."""
    if find_orthanc() is None:
        pytest.skip(f"Orthanc with its DICOMweb plugin is not installed; {INSTALL_HINT}")
    with running_orthanc(tmp_path_factory.mktemp("orthanc")) as server:
        yield server
