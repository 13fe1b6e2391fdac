"""``medms train``: fit a network on labelled images with validation, checkpoints, resume and optional DDP.

Example:
    >>> from medms.engine import train
    >>> result = train("configs/breastmnist.yaml", "runs/bm-ms")  # doctest: +SKIP
    >>> result.best_checkpoint, result.test_metrics["auc"]  # doctest: +SKIP
"""

from __future__ import annotations

import csv
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from medms.engine.checkpoint import load_checkpoint, save_checkpoint
from medms.engine.config import TrainConfig
from medms.engine.data import load_manifest_splits, load_npz_splits, write_split_file
from medms.engine.inference import autocast, batch_spacing, fit_temperature, logits_for_batch, to_model_input
from medms.engine.loaders import make_loader, reseed_loader
from medms.engine.runtime import DistInfo, init_distributed, resolve_device, seed_everything
from medms.errors import ConfigError, LabelError, OutputError
from medms.provenance import write_json_atomic, write_run_manifest

__all__ = ["TrainResult", "train"]

log = logging.getLogger("medms.engine.train")


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
    cfg = config if isinstance(config, TrainConfig) else TrainConfig.from_file(config)
    cfg.check_files()
    info = init_distributed(cfg.train.device)
    device = resolve_device(cfg.train.device, info)
    out = Path(output)
    _prepare_output(out, resume=resume, overwrite=overwrite, info=info)
    t = cfg.train
    seed_everything(t.seed)

    splits, class_names = _load_splits(cfg)
    from medms.transforms.presets import get_preset

    train_tf = get_preset(cfg.preprocessing.preset, **{**cfg.preprocessing.options, "augment": True})
    eval_tf = get_preset(cfg.preprocessing.preset, **{**cfg.preprocessing.options, "augment": False})
    model, model_spec = _build_model(cfg, eval_tf, splits["train"][0], len(class_names))
    model.to(device)
    if device.type == "cuda":
        model.to(
            memory_format=torch.channels_last
            if model_spec["options"]["spatial_dims"] == 2
            else torch.channels_last_3d
        )
    train_model: nn.Module = model
    if info.enabled:
        train_model = nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None
        )

    labels = np.array([it["label"] for it in splits["train"]])
    train_loader = make_loader(
        splits["train"],
        train_tf,
        batch_size=t.batch_size,
        shuffle=True,
        num_workers=t.num_workers,
        seed=t.seed,
        dist_info=info,
        balanced_labels=labels if t.class_balance == "sampler" else None,
        drop_last=True,
    )
    val_loader = make_loader(splits["val"], eval_tf, batch_size=t.batch_size, num_workers=t.num_workers)
    criterion = _criterion(cfg, labels, len(class_names), device)
    opt = torch.optim.AdamW(train_model.parameters(), lr=t.lr, weight_decay=t.weight_decay)
    steps = t.epochs * max(1, len(train_loader))
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=t.lr, total_steps=steps, pct_start=max(t.warmup_fraction, 1e-3)
    )

    state = {"epoch": 0, "best_auc": -1.0, "best_epoch": 0, "stale": 0}
    if resume and (out / "last.pt").is_file():
        ckpt = load_checkpoint(out / "last.pt")
        model.load_state_dict(ckpt["state_dict"])
        opt.load_state_dict(ckpt["train_state"]["optimizer"])
        sched.load_state_dict(ckpt["train_state"]["scheduler"])
        state.update({k: ckpt["train_state"][k] for k in state})
        log.info("resuming after epoch %d", state["epoch"])

    payload_base = {
        "model": model_spec,
        "preprocessing": {"preset": cfg.preprocessing.preset, "options": dict(cfg.preprocessing.options)},
        "class_names": class_names,
        "config": cfg.to_dict(),
        "temperature": 1.0,
    }
    if info.is_main:
        write_json_atomic(out / "config.json", cfg.to_dict())
        write_split_file(splits, out / "split.csv")

    last_epoch = t.epochs if epochs_this_call is None else min(t.epochs, state["epoch"] + epochs_this_call)
    for epoch in range(state["epoch"] + 1, last_epoch + 1):
        seed_everything(t.seed * 100_003 + epoch)  # dropout etc.: reproducible per epoch, also after a resume
        reseed_loader(train_loader, t.seed * 100_003 + epoch)
        if hasattr(train_loader.sampler, "set_epoch"):
            train_loader.sampler.set_epoch(epoch)
        started = time.perf_counter()
        loss = _train_one_epoch(
            train_model,
            train_loader,
            criterion,
            opt,
            sched,
            device,
            t.aux_weight,
            progress and info.is_main,
            epoch,
            t.epochs,
        )
        if info.enabled:
            # BatchNorm running statistics are updated per rank; take rank 0's so every rank holds the saved model
            for buffer in model.buffers():
                dist.broadcast(buffer, src=0)
        stop = False
        if info.is_main:
            val_logits, val_labels = _collect_logits(model, val_loader, device, t.tta_flip)
            val_auc = _auc(val_logits, val_labels)
            improved = val_auc > state["best_auc"]
            state.update(epoch=epoch, stale=0 if improved else state["stale"] + 1)
            if improved:
                state.update(best_auc=val_auc, best_epoch=epoch)
            row = {
                "epoch": epoch,
                "train_loss": loss,
                "val_auc": val_auc,
                "lr": sched.get_last_lr()[0],
                "seconds": time.perf_counter() - started,
            }
            _append_metrics(out / "metrics.csv", row)
            log.info("epoch %d/%d loss %.4f val AUC %.4f", epoch, t.epochs, loss, val_auc)
            payload = {**payload_base, "state_dict": model.state_dict(), "epoch": epoch, "metrics": row}
            if improved:
                save_checkpoint(payload, out / "best.pt")
            save_checkpoint(
                {
                    **payload,
                    "train_state": {"optimizer": opt.state_dict(), "scheduler": sched.state_dict(), **state},
                },
                out / "last.pt",
            )
            stop = bool(t.early_stopping_patience and state["stale"] >= t.early_stopping_patience)
        else:
            state["epoch"] = epoch
        if info.enabled:
            flag = torch.tensor([int(stop)], device=device if device.type == "cuda" else "cpu")
            dist.broadcast(flag, src=0)
            stop = bool(flag.item())
        if stop:
            log.info("early stopping after epoch %d (best %d)", epoch, state["best_epoch"])
            break

    _log_weight_hash(model, info)
    if not info.is_main:
        dist.barrier()
        return TrainResult(out, out / "best.pt", out / "last.pt", state["best_epoch"], state["best_auc"], 1.0)
    result = _finish(out, cfg, model, val_loader, splits, eval_tf, class_names, device, state)
    if info.enabled:
        dist.barrier()
    return result


def _finish(out, cfg, model, val_loader, splits, eval_tf, class_names, device, state) -> TrainResult:
    """Temperature scaling on the validation split, test-split predictions, run manifest."""
    from medms.engine.predict import write_prediction_rows
    from medms.metrics import evaluate

    t = cfg.train
    best = load_checkpoint(out / "best.pt")
    model.load_state_dict(best["state_dict"])
    temperature = 1.0
    if t.temperature_scaling:
        val_logits, val_labels = _collect_logits(model, val_loader, device, t.tta_flip)
        temperature = fit_temperature(val_logits, val_labels)
    best["temperature"] = temperature
    sha = save_checkpoint(
        {
            k: v
            for k, v in best.items()
            if k not in ("sha256", "path", "format", "format_version", "medms_version")
        },
        out / "best.pt",
    )
    test_metrics: dict[str, Any] = {}
    if splits["test"]:
        test_loader = make_loader(splits["test"], eval_tf, batch_size=t.batch_size, num_workers=t.num_workers)
        logits, labels = _collect_logits(model, test_loader, device, t.tta_flip)
        probs = torch.softmax(torch.as_tensor(logits) / temperature, dim=1).numpy()
        ids = [it["id"] for it in splits["test"]]
        write_prediction_rows(
            out / "test_predictions.csv", class_names, ids, [str(it["id"]) for it in splits["test"]], probs
        )
        with open(out / "test_labels.csv", "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["id", "label"])
            w.writerows([i, class_names[y]] for i, y in zip(ids, labels, strict=True))
        if len(np.unique(labels)) > 1:
            report = evaluate(labels, probs, class_names=class_names, n_bootstrap=500, seed=t.seed)
            test_metrics = {
                "auc": report["auc"],
                "accuracy": report["at_threshold"]["accuracy"],
                "n": report["n"],
            }
    write_json_atomic(
        out / "metrics.json",
        {
            "best_epoch": state["best_epoch"],
            "val_auc": state["best_auc"],
            "temperature": temperature,
            "test": test_metrics,
        },
    )
    write_run_manifest(
        out,
        command="train",
        config=cfg.to_dict(),
        seed=t.seed,
        device=str(device),
        weights_sha256=sha,
        best_epoch=state["best_epoch"],
    )
    return TrainResult(
        out,
        out / "best.pt",
        out / "last.pt",
        state["best_epoch"],
        state["best_auc"],
        temperature,
        test_metrics,
        sha,
    )


def _prepare_output(out: Path, *, resume: bool, overwrite: bool, info: DistInfo) -> None:
    if info.is_main:
        if out.exists() and any(out.iterdir()) and not (resume or overwrite):
            raise OutputError(
                "the output folder is not empty; pass --resume to continue or --overwrite to replace",
                path=out,
            )
        try:
            out.mkdir(parents=True, exist_ok=True)
            probe = out / ".write-test"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as err:
            raise OutputError(f"cannot write to the output folder ({err.strerror or err})", path=out) from err
        if overwrite and not resume:
            for name in ("best.pt", "last.pt", "best.pt.sha256", "last.pt.sha256", "metrics.csv"):
                (out / name).unlink(missing_ok=True)
    if info.enabled:
        dist.barrier()


def _load_splits(cfg: TrainConfig) -> tuple[dict[str, list[dict]], list[str]]:
    d = cfg.data
    if d.npz:
        splits, names = load_npz_splits(d.npz)
    else:
        splits, names = load_manifest_splits(
            d.manifest,
            class_names=d.class_names,
            group_column=d.group_column,
            val_fraction=d.val_fraction,
            test_fraction=d.test_fraction,
            seed=cfg.train.seed,
        )
    if d.class_names:
        if len(d.class_names) != len(names):
            raise ConfigError(
                f"data.class_names has {len(d.class_names)} names but the data have {len(names)} classes"
            )
        names = list(d.class_names)
    if d.limit:
        splits = {k: v[: d.limit] for k, v in splits.items()}
    for split in ("train", "val"):
        present = {it["label"] for it in splits[split]}
        if len(present) < 2:
            raise LabelError(
                f"the {split} split holds a single class ({len(splits[split])} items); at least two are needed"
            )
    return splits, names


def _build_model(cfg: TrainConfig, eval_tf, first_item: dict, num_classes: int) -> tuple[nn.Module, dict]:
    from medms.networks import build_network

    sample = eval_tf(dict(first_item))["image"]
    options = {
        "spatial_dims": sample.ndim - 1,
        "in_channels": int(sample.shape[0]),
        "num_classes": num_classes,
        **cfg.model.options,
    }
    model = build_network(cfg.model.name, **options)
    return model, {"name": cfg.model.name, "options": dict(getattr(model, "config", options))}


def _criterion(cfg: TrainConfig, labels: np.ndarray, n_classes: int, device: torch.device) -> nn.Module:
    weight = None
    if cfg.train.class_balance == "weighted_loss":
        counts = np.bincount(labels, minlength=n_classes).astype(np.float64)
        weight = torch.tensor(
            len(labels) / (n_classes * np.maximum(counts, 1)), dtype=torch.float32, device=device
        )
    return nn.CrossEntropyLoss(weight=weight, label_smoothing=cfg.train.label_smoothing)


def _train_one_epoch(model, loader, criterion, opt, sched, device, aux_weight, show, epoch, epochs) -> float:
    from tqdm.auto import tqdm

    model.train()
    total, count = 0.0, 0
    bar = tqdm(
        loader, desc=f"epoch {epoch}/{epochs}", leave=False, disable=None if show else True, unit="batch"
    )  # None: off when not a terminal
    for batch in bar:
        x = to_model_input(batch["image"], device)
        y = torch.as_tensor(batch["label"], device=device).long()
        with autocast(device):
            out = model(x, spacing=batch_spacing(batch["image"], device), return_all=True)
            loss = criterion(out["logits"].float(), y)
            if aux_weight > 0 and "aux_logits" in out and out["aux_logits"].shape[1] > 1:
                aux = out["aux_logits"].float()
                aux_loss = criterion(aux.flatten(0, 1), y.repeat_interleave(aux.shape[1]))
                loss = loss + aux_weight * aux_loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        total += float(loss.detach()) * len(y)
        count += len(y)
        bar.set_postfix(loss=f"{total / max(count, 1):.4f}")
    return total / max(count, 1)


def _collect_logits(model, loader, device, tta_flip: bool) -> tuple[np.ndarray, np.ndarray]:
    model.eval()
    logits, labels = [], []
    for batch in loader:
        logits.append(logits_for_batch(model, batch["image"], device, tta_flip=tta_flip))
        labels.append(torch.as_tensor(batch["label"]))
    return torch.cat(logits).numpy(), torch.cat(labels).numpy()


def _auc(logits: np.ndarray, labels: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    probs = torch.softmax(torch.as_tensor(logits), dim=1).numpy()
    if len(np.unique(labels)) < 2:
        return float("nan")
    if probs.shape[1] == 2:
        return float(roc_auc_score(labels, probs[:, 1]))
    return float(
        roc_auc_score(labels, probs, multi_class="ovr", average="macro", labels=list(range(probs.shape[1])))
    )


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
    import hashlib

    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    log.info("rank %d final weights sha256 %s", info.rank, digest.hexdigest())
