"""Dictionary wrapper shared by every medms "d" transform (private).

A dictionary transform only names its keys and builds its array transform in ``__init__``; applying it to
each key lives here once.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

from monai.config import KeysCollection
from monai.transforms import MapTransform, Transform


class Mapped(MapTransform):
    """Apply ``self.transform`` (an array transform) to every selected key of a data dictionary."""

    transform: Transform

    def __init__(self, keys: KeysCollection, transform: Transform, allow_missing_keys: bool = False) -> None:
        super().__init__(keys, allow_missing_keys)
        self.transform = transform
        self.backend = transform.backend

    def __call__(self, data: Mapping[Hashable, Any]) -> dict[Hashable, Any]:
        d = dict(data)
        for key in self.key_iterator(d):
            d[key] = self.transform(d[key])
        return d
