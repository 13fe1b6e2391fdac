"""The runnable examples in the metrics docstrings must stay true."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import medms.metrics

MODULES = ["medms.metrics"] + [
    f"medms.metrics.{m.name}" for m in pkgutil.iter_modules(medms.metrics.__path__)
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
