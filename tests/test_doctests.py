"""The examples in the docstrings of the low shared modules run and print what they say."""

import doctest
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MODULES = [
    "medms.atomic",
    "medms.checkpoint",
    "medms.config",
    "medms.datasets",
    "medms.errors",
    "medms.provenance",
    "medms.tables",
    "medms._torchfile",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name, monkeypatch):
    monkeypatch.chdir(ROOT)  # examples use paths relative to the repository root
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    assert result.attempted > 0
