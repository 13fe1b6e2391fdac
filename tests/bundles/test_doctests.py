import doctest
import importlib

import pytest

from tests.bundles.conftest import ROOT

MODULES = ["medms.bundles.layout", "medms.bundles.components", "medms.bundles.verify"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name, monkeypatch):
    monkeypatch.chdir(ROOT)
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    assert result.attempted > 0
