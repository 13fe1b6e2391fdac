"""The one value type every metric returns: a point estimate with its confidence interval."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

__all__ = ["Estimate", "to_jsonable"]


@dataclass(frozen=True)
class Estimate:
    """A metric value with a confidence interval and the method that produced the interval.

    An undefined metric (for example AUC when only one class is present) has ``value`` NaN and a
    ``note`` that says why; it is never an exception.

    Example:
        >>> Estimate(0.8, 0.7, 0.9, "Wilson score").to_dict()
        {'value': 0.8, 'low': 0.7, 'high': 0.9, 'method': 'Wilson score', 'note': None}
        >>> Estimate.undefined("DeLong", "only one class present").value
        nan
    """

    value: float
    low: float
    high: float
    method: str
    note: str | None = None

    def __post_init__(self) -> None:
        # Plain floats, so numpy scalars never leak into reports or JSON.
        for name in ("value", "low", "high"):
            object.__setattr__(self, name, float(getattr(self, name)))

    @classmethod
    def undefined(cls, method: str, note: str) -> Estimate:
        """An estimate that cannot be computed, with the reason in ``note``."""
        return cls(math.nan, math.nan, math.nan, method, note)

    @property
    def is_defined(self) -> bool:
        """Whether the point value is a number (not NaN)."""
        return not math.isnan(self.value)

    def to_dict(self) -> dict[str, float | str | None]:
        """Plain JSON-ready dict; NaN stays ``float('nan')`` (``json.dumps`` writes it as ``NaN``)."""
        return {
            "value": self.value,
            "low": self.low,
            "high": self.high,
            "method": self.method,
            "note": self.note,
        }


def to_jsonable(obj: object) -> object:
    """Recursively turn Estimates, numpy scalars/arrays and tuples into plain JSON-ready values.

    Example:
        >>> to_jsonable({"auc": Estimate(0.9, 0.8, 1.0, "DeLong"), "n": np.int64(3)})["n"]
        3
    """
    if obj is None or type(obj) in (float, int, str, bool):  # the common case, checked first for speed
        return obj
    if isinstance(obj, Estimate):
        return obj.to_dict()
    if isinstance(obj, Mapping):
        return {str(key): to_jsonable(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(value) for value in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    return obj
