"""Deprecated alias of :mod:`medms.synthetic` (renamed so it no longer shares its name with ``sample_data/``).

Importing ``medms.sample_data`` still works for one release and warns; use ``medms.synthetic``.
"""

import warnings

from medms.synthetic import *  # noqa: F403 - the whole public API of the renamed module
from medms.synthetic import __all__  # noqa: F401

warnings.warn(
    "medms.sample_data was renamed medms.synthetic; the old name will be removed in the next release",
    DeprecationWarning,
    stacklevel=2,
)
