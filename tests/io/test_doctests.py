"""The examples in the I/O docstrings run and print what they say."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "medms.io",
    "medms.io.geometry",
    "medms.io.pixels",
    "medms.io.records",
    "medms.io.scan",
    "medms.io.dicom",
    "medms.io.planes",
    "medms.io.images",
    "medms.synthetic",
    "medms.transforms.load",
    "medms.io.dicomweb",
    "medms.io.dicomweb.auth",
    "medms.io.dicomweb.cache",
    "medms.io.dicomweb.fetch",
    "medms.io.dicomweb.query",
    "medms.io.dicomweb.source",
    "medms.io.dicomweb.transport",
    "medms.io.sr",
    "medms.io.sr.build",
    "medms.io.sr.files",
    "medms.testing.orthanc",
    "medms.testing.flaky_proxy",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
