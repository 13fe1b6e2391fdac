"""Helpers shared by the DICOMweb tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from medms.errors import MedmsError
from medms.io import read_series
from medms.io.dicomweb import RetryPolicy

#: Retries without waiting long: the failures in these tests are injected, not real congestion.
FAST = RetryPolicy(attempts=3, backoff=0.001, timeout=30)


def login(monkeypatch: pytest.MonkeyPatch, server) -> None:
    """Put the server's credentials in the environment variables medms reads."""
    monkeypatch.delenv("MEDMS_DICOMWEB_TOKEN", raising=False)
    monkeypatch.setenv("MEDMS_DICOMWEB_USER", server.user)
    monkeypatch.setenv("MEDMS_DICOMWEB_PASSWORD", server.password)


def same_read(local: Path, remote: Path) -> None:
    """``read_series`` gives the same voxels, geometry and UID for both folders, or the same error type."""
    try:
        expected = read_series(local)
    except MedmsError as err:
        with pytest.raises(type(err)):
            read_series(remote)
        return
    got = read_series(remote)
    np.testing.assert_array_equal(got.array, expected.array)
    np.testing.assert_array_equal(got.affine, expected.affine)
    assert got.spacing == expected.spacing
    assert got.meta["series_uid"] == expected.meta["series_uid"]
