import doctest
import importlib

import pytest


@pytest.mark.parametrize("name", ["medms.testing.fuzz", "medms.testing.messy"])
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0
