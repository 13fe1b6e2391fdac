"""The end of a training run: temperature scaling on validation, test-split predictions and metrics, manifest.

Test predictions and labels are written through :mod:`medms.tables` (the same formats ``medms predict`` and
``medms evaluate`` use); the metrics come from :mod:`medms.metrics`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from monai.data import DataLoader
from torch import nn

from medms.atomic import write_json_atomic
from medms.checkpoint import load_checkpoint
from medms.engine.inference import fit_temperature, logits_for_batch
from medms.engine.loaders import make_loader
from medms.engine.prepare import TrainSetup
from medms.provenance import write_run_manifest
from medms.tables import PredictionWriter, write_labels

__all__ = ["TrainResult", "collect_logits", "finish_training", "macro_auc"]


@dataclass
class TrainResult:
    """Where a training run wrote its outputs, and its headline numbers."""

    output: Path
    best_checkpoint: Path
    last_checkpoint: Path
    best_epoch: int
    val_auc: float
    temperature: float
    test_metrics: dict[str, Any] = field(default_factory=dict)
    sha256: str = ""


def finish_training(setup: TrainSetup) -> TrainResult:
    """Load the best weights, fit the temperature on validation, re-save ``best.pt``, predict the test split
    (``test_predictions.csv``, ``test_labels.csv``, metrics with CIs in ``metrics.json``) and write the manifest."""
    out, t, state = setup.out, setup.cfg.train, setup.state
    best = load_checkpoint(out / "best.pt")
    setup.model.load_state_dict(best.state_dict)
    temperature = 1.0
    if t.temperature_scaling:
        val_logits, val_labels = collect_logits(setup.model, setup.val_loader, setup.device, t.tta_flip)
        temperature = fit_temperature(val_logits, val_labels)
    sha = dataclasses.replace(best.spec, temperature=temperature).save(out / "best.pt", best.state_dict)
    test_metrics = _test_split(setup, temperature) if setup.splits["test"] else {}
    write_json_atomic(
        out / "metrics.json",
        {
            "best_epoch": state.best_epoch,
            "val_auc": state.best_auc,
            "temperature": temperature,
            "test": test_metrics,
        },
        what="run metrics",
    )
    write_run_manifest(
        out,
        command="train",
        config=setup.cfg.to_dict(),
        seed=t.seed,
        device=str(setup.device),
        weights_sha256=sha,
        best_epoch=state.best_epoch,
    )
    return TrainResult(
        out,
        out / "best.pt",
        out / "last.pt",
        state.best_epoch,
        state.best_auc,
        temperature,
        test_metrics,
        sha,
    )


def _test_split(setup: TrainSetup, temperature: float) -> dict[str, Any]:
    """Predict the test split, write its predictions and labels tables, and return the headline metrics."""
    from medms.metrics import evaluate_scores

    t, items = setup.cfg.train, setup.splits["test"]
    loader = make_loader(items, setup.spec.transform(), batch_size=t.batch_size, num_workers=t.num_workers)
    logits, labels = collect_logits(setup.model, loader, setup.device, t.tta_flip)
    probs = torch.softmax(torch.as_tensor(logits) / temperature, dim=1).numpy()
    ids = [str(it["id"]) for it in items]
    with PredictionWriter(setup.out / "test_predictions.csv", setup.class_names) as writer:
        for item_id, p in zip(ids, probs, strict=True):
            writer.add_ok(item_id, item_id, p)
    write_labels(setup.out / "test_labels.csv", ids, labels, setup.class_names)
    if len(np.unique(labels)) < 2:
        return {}
    report = evaluate_scores(labels, probs, class_names=setup.class_names, n_bootstrap=500, seed=t.seed)
    return {"auc": report["auc"], "accuracy": report["at_threshold"]["accuracy"], "n": report["n"]}


def collect_logits(
    model: nn.Module, loader: DataLoader, device: torch.device, tta_flip: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Logits (N, K) and labels (N,) of every item of ``loader``, in order, with the model in eval mode."""
    model.eval()
    logits, labels = [], []
    for batch in loader:
        logits.append(logits_for_batch(model, batch["image"], device, tta_flip=tta_flip))
        labels.append(torch.as_tensor(batch["label"]))
    return torch.cat(logits).numpy(), torch.cat(labels).numpy()


def macro_auc(logits: np.ndarray, labels: np.ndarray) -> float:
    """ROC AUC of the softmax scores (binary: class 1; more classes: one-vs-rest macro); NaN for one class."""
    from sklearn.metrics import roc_auc_score

    probs = torch.softmax(torch.as_tensor(logits), dim=1).numpy()
    if len(np.unique(labels)) < 2:
        return float("nan")
    if probs.shape[1] == 2:
        return float(roc_auc_score(labels, probs[:, 1]))
    return float(
        roc_auc_score(labels, probs, multi_class="ovr", average="macro", labels=list(range(probs.shape[1])))
    )
