"""The examples in the transform docstrings run and print what they say."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "medms.transforms",
    "medms.transforms._base",
    "medms.transforms.intensity",
    "medms.transforms.denoise",
    "medms.transforms.crop",
    "medms.transforms.dictionary",
    "medms.transforms.presets",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0
