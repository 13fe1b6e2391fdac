"""Training (single process or torchrun DDP), batch prediction and the end-to-end demo.

Example:
    >>> from medms.engine import predict, train
    >>> run = train("breastmnist.yaml", "runs/ms")  # doctest: +SKIP
    >>> predict(run.best_checkpoint, ["scans/"], "predictions.csv")  # doctest: +SKIP
"""

from medms.engine.checkpoint import build_model, load_checkpoint, save_checkpoint
from medms.engine.config import TrainConfig
from medms.engine.demo import run_demo
from medms.engine.predict import PredictSummary, predict
from medms.engine.train import TrainResult, train

__all__ = [
    "PredictSummary",
    "TrainConfig",
    "TrainResult",
    "build_model",
    "load_checkpoint",
    "predict",
    "run_demo",
    "save_checkpoint",
    "train",
]
