"""``medms train``: fit a network on labelled images with validation, checkpoints, resume and optional DDP.

The run is three steps: :func:`medms.engine.prepare.prepare_training` (process group, output folder, data,
model, optimiser), the epoch loop here, and :func:`medms.engine.finish.finish_training` (temperature scaling,
test-split predictions and metrics, run manifest).

Example:
    >>> from medms.engine import train
    >>> result = train("configs/breastmnist.yaml", "runs/bm-ms")  # doctest: +SKIP
    >>> result.best_checkpoint, result.test_metrics["auc"]  # doctest: +SKIP
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import logging
import os
import time
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from medms.config import TrainConfig
from medms.engine.finish import TrainResult, collect_logits, finish_training, macro_auc
from medms.engine.inference import autocast, batch_spacing, to_model_input
from medms.engine.loaders import reseed_loader
from medms.engine.prepare import TrainSetup, prepare_training
from medms.engine.runtime import DistInfo, seed_everything

__all__ = ["TrainResult", "train"]

log = logging.getLogger("medms.engine.train")


def train(
    config: TrainConfig | str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = True,
    epochs_this_call: int | None = None,
) -> TrainResult:
    """Train per ``config`` into the folder ``output`` (see docs/training.md for the config keys).

    Writes ``best.pt``/``last.pt`` (+ ``.sha256``), ``metrics.csv`` (one row per epoch), ``split.csv``,
    ``config.json`` (resolved), ``test_predictions.csv``/``test_labels.csv`` and ``run_manifest.json``.
    ``resume=True`` continues from ``last.pt``; an existing non-empty folder is refused unless ``resume`` or
    ``overwrite``. Under ``torchrun`` it trains with DDP; only rank 0 writes. ``epochs_this_call`` stops after
    that many epochs (time-boxed jobs): a later ``resume=True`` call continues exactly where it stopped.
    """
    if isinstance(config, TrainConfig):
        cfg = config
        cfg.check_files()
    else:
        cfg = TrainConfig.from_file(config)  # checks the data files
    setup = prepare_training(cfg, Path(output), resume=resume, overwrite=overwrite)
    epochs = cfg.train.epochs
    last = epochs if epochs_this_call is None else min(epochs, setup.state.epoch + epochs_this_call)
    for epoch in range(setup.state.epoch + 1, last + 1):
        if _run_epoch(setup, epoch, progress=progress):
            log.info("early stopping after epoch %d (best %d)", epoch, setup.state.best_epoch)
            break
    _log_weight_hash(setup.model, setup.info)
    state = setup.state
    if not setup.info.is_main:
        dist.barrier()
        out = setup.out
        return TrainResult(out, out / "best.pt", out / "last.pt", state.best_epoch, state.best_auc, 1.0)
    result = finish_training(setup)
    if setup.info.enabled:
        dist.barrier()
    return result


def _run_epoch(setup: TrainSetup, epoch: int, *, progress: bool) -> bool:
    """Train one epoch, then (rank 0) validate and checkpoint; return whether to stop early (all ranks agree)."""
    t = setup.cfg.train
    seed_everything(t.seed * 100_003 + epoch)  # dropout etc.: reproducible per epoch, also after a resume
    reseed_loader(setup.train_loader, t.seed * 100_003 + epoch)
    if hasattr(setup.train_loader.sampler, "set_epoch"):
        setup.train_loader.sampler.set_epoch(epoch)
    started = time.perf_counter()
    loss = _train_one_epoch(setup, epoch, show=progress and setup.info.is_main)
    if setup.info.enabled:
        # BatchNorm running statistics are updated per rank; take rank 0's so every rank holds the saved model
        for buffer in setup.model.buffers():
            dist.broadcast(buffer, src=0)
    stop = False
    if setup.info.is_main:
        stop = _validate_and_save(setup, epoch, loss, time.perf_counter() - started)
    else:
        setup.state.epoch = epoch
    if setup.info.enabled:
        flag = torch.tensor([int(stop)], device=setup.device if setup.device.type == "cuda" else "cpu")
        dist.broadcast(flag, src=0)
        stop = bool(flag.item())
    return stop


def _validate_and_save(setup: TrainSetup, epoch: int, loss: float, seconds: float) -> bool:
    t, state = setup.cfg.train, setup.state
    val_logits, val_labels = collect_logits(setup.model, setup.val_loader, setup.device, t.tta_flip)
    val_auc = macro_auc(val_logits, val_labels)
    improved = val_auc > state.best_auc
    state.epoch, state.stale = epoch, 0 if improved else state.stale + 1
    if improved:
        state.best_auc, state.best_epoch = val_auc, epoch
    row = {
        "epoch": epoch,
        "train_loss": loss,
        "val_auc": val_auc,
        "lr": setup.scheduler.get_last_lr()[0],
        "seconds": seconds,
    }
    _append_metrics(setup.out / "metrics.csv", row)
    log.info("epoch %d/%d loss %.4f val AUC %.4f", epoch, t.epochs, loss, val_auc)
    spec = dataclasses.replace(setup.spec, epoch=epoch, metrics=row)
    weights = setup.model.state_dict()
    if improved:
        spec.save(setup.out / "best.pt", weights)
    train_state = {
        "optimizer": setup.optimizer.state_dict(),
        "scheduler": setup.scheduler.state_dict(),
        **state.to_dict(),
    }
    spec.save(setup.out / "last.pt", weights, train_state=train_state)
    return bool(t.early_stopping_patience and state.stale >= t.early_stopping_patience)


def _train_one_epoch(setup: TrainSetup, epoch: int, *, show: bool) -> float:
    from tqdm.auto import tqdm

    model, loader, device = setup.train_model, setup.train_loader, setup.device
    epochs, aux_weight = setup.cfg.train.epochs, setup.cfg.train.aux_weight
    model.train()
    total, count = 0.0, 0
    # disable=None: off when not a terminal
    bar = tqdm(
        loader, desc=f"epoch {epoch}/{epochs}", leave=False, disable=None if show else True, unit="batch"
    )
    for batch in bar:
        x = to_model_input(batch["image"], device)
        y = torch.as_tensor(batch["label"], device=device).long()
        with autocast(device):
            out = model(x, spacing=batch_spacing(batch["image"], device), return_all=True)
            loss = _loss(setup.criterion, out, y, aux_weight)
        setup.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        setup.optimizer.step()
        setup.scheduler.step()
        total += float(loss.detach()) * len(y)
        count += len(y)
        bar.set_postfix(loss=f"{total / max(count, 1):.4f}")
    return total / max(count, 1)


def _loss(
    criterion: nn.Module, out: dict[str, torch.Tensor], y: torch.Tensor, aux_weight: float
) -> torch.Tensor:
    """The fused logits' loss plus ``aux_weight`` × the per-level/scale heads' loss (deep supervision)."""
    loss = criterion(out["logits"].float(), y)
    if aux_weight > 0 and "aux_logits" in out and out["aux_logits"].shape[1] > 1:
        aux = out["aux_logits"].float()
        loss = loss + aux_weight * criterion(aux.flatten(0, 1), y.repeat_interleave(aux.shape[1]))
    return loss


def _append_metrics(path: Path, row: dict[str, Any]) -> None:
    new = not path.exists()
    with open(path, "a", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(row))
        if new:
            w.writeheader()
        w.writerow(row)
        fh.flush()
        os.fsync(fh.fileno())


def _log_weight_hash(model: nn.Module, info: DistInfo) -> None:
    """Log a hash of the final weights on every rank (the DDP test compares them across ranks)."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    log.info("rank %d final weights sha256 %s", info.rank, digest.hexdigest())
