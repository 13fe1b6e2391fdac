"""Training (single process or torchrun DDP) and batch prediction.

``import medms.engine`` is light: the submodules (and with them torch and MONAI — which itself imports
matplotlib and pandas when they are installed) load on first use of a name, e.g. ``from medms.engine import
train``. No engine module imports plotting, pandas or the report itself.

Example:
    >>> from medms.engine import predict, train
    >>> run = train("breastmnist.yaml", "runs/ms")  # doctest: +SKIP
    >>> predict(run.best_checkpoint, ["scans/"], "predictions.csv")  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from medms.engine.prediction import PredictSummary, open_checkpoint, predict, predict_items
    from medms.engine.training import TrainResult, train

__all__ = ["PredictSummary", "TrainResult", "open_checkpoint", "predict", "predict_items", "train"]

_HOMES = {
    "PredictSummary": "medms.engine.prediction",
    "open_checkpoint": "medms.engine.prediction",
    "predict": "medms.engine.prediction",
    "predict_items": "medms.engine.prediction",
    "TrainResult": "medms.engine.training",
    "train": "medms.engine.training",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'medms.engine' has no attribute {name!r}")
    value = getattr(importlib.import_module(_HOMES[name]), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
