"""Everything a training run needs before its first epoch: process group, output folder, data, model, optimiser.

:func:`prepare_training` returns a :class:`TrainSetup`; the loop in :mod:`medms.engine.training` and the finishing
steps in :mod:`medms.engine.finish` only read it (and update its :class:`TrainState`).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from monai.data import DataLoader
from torch import nn

from medms.atomic import write_json_atomic
from medms.checkpoint import CheckpointSpec, load_checkpoint
from medms.config import ModelConfig, TrainConfig
from medms.engine.data import Item, load_manifest_splits, load_npz_splits, write_split_file
from medms.engine.loaders import make_loader
from medms.engine.runtime import DistInfo, init_distributed, resolve_device, seed_everything
from medms.errors import ConfigError, LabelError, OutputError

__all__ = ["TrainSetup", "TrainState", "prepare_training"]

log = logging.getLogger("medms.engine.train")
#: Files of an earlier run that ``overwrite=True`` removes before training again.
_RUN_FILES = ("best.pt", "last.pt", "best.pt.sha256", "last.pt.sha256", "metrics.csv")


@dataclass
class TrainState:
    """Where the loop stands: the last finished epoch, the best validation AUC and epoch, epochs without gain."""

    epoch: int = 0
    best_auc: float = -1.0
    best_epoch: int = 0
    stale: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Plain values for the checkpoint's ``train_state``."""
        return asdict(self)


@dataclass
class TrainSetup:
    """The parts of one training run (built by :func:`prepare_training`)."""

    cfg: TrainConfig
    out: Path
    info: DistInfo
    device: torch.device
    splits: dict[str, list[Item]]
    class_names: list[str]
    spec: CheckpointSpec
    model: nn.Module
    train_model: nn.Module
    train_loader: DataLoader
    val_loader: DataLoader
    criterion: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    state: TrainState = field(default_factory=TrainState)


def prepare_training(cfg: TrainConfig, output: Path, *, resume: bool, overwrite: bool) -> TrainSetup:
    """Join the process group, prepare ``output``, load the splits, build model, loaders and optimiser, and
    restore the loop state from ``last.pt`` when resuming."""
    info = init_distributed(cfg.train.device)
    device = resolve_device(cfg.train.device, info)
    _prepare_output(output, resume=resume, overwrite=overwrite, info=info)
    t = cfg.train
    seed_everything(t.seed)
    splits, class_names = _load_splits(cfg)
    model, spec = _build_model(cfg, splits["train"][0], class_names)
    model.to(device)
    if device.type == "cuda":
        nd = int(spec.model.options["spatial_dims"])
        model.to(memory_format=torch.channels_last if nd == 2 else torch.channels_last_3d)
    train_model: nn.Module = model
    if info.enabled:
        train_model = nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None
        )
    labels = np.array([it["label"] for it in splits["train"]])
    train_loader = make_loader(
        splits["train"],
        spec.transform(augment=True),
        batch_size=t.batch_size,
        shuffle=True,
        num_workers=t.num_workers,
        seed=t.seed,
        dist_info=info,
        balanced_labels=labels if t.class_balance == "sampler" else None,
        drop_last=True,
    )
    val_loader = make_loader(
        splits["val"], spec.transform(), batch_size=t.batch_size, num_workers=t.num_workers
    )
    optimizer = torch.optim.AdamW(train_model.parameters(), lr=t.lr, weight_decay=t.weight_decay)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer,
        max_lr=t.lr,
        total_steps=t.epochs * max(1, len(train_loader)),
        pct_start=max(t.warmup_fraction, 1e-3),
    )
    setup = TrainSetup(
        cfg=cfg,
        out=output,
        info=info,
        device=device,
        splits=splits,
        class_names=class_names,
        spec=spec,
        model=model,
        train_model=train_model,
        train_loader=train_loader,
        val_loader=val_loader,
        criterion=_criterion(cfg, labels, len(class_names), device),
        optimizer=optimizer,
        scheduler=scheduler,
    )
    if resume and (output / "last.pt").is_file():
        _restore(setup)
    if info.is_main:
        write_json_atomic(output / "config.json", cfg.to_dict(), what="run config")
        write_split_file(splits, output / "split.csv")
    return setup


def _restore(setup: TrainSetup) -> None:
    ckpt = load_checkpoint(setup.out / "last.pt")
    setup.model.load_state_dict(ckpt.state_dict)
    train_state = ckpt.train_state or {}
    setup.optimizer.load_state_dict(train_state["optimizer"])
    setup.scheduler.load_state_dict(train_state["scheduler"])
    setup.state = TrainState(**{k: train_state[k] for k in TrainState().to_dict()})
    log.info("resuming after epoch %d", setup.state.epoch)


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
            for name in _RUN_FILES:
                (out / name).unlink(missing_ok=True)
    if info.enabled:
        dist.barrier()


def _load_splits(cfg: TrainConfig) -> tuple[dict[str, list[Item]], list[str]]:
    d = cfg.data
    if d.npz:
        splits, names = load_npz_splits(d.npz)
    else:
        splits, names = load_manifest_splits(
            d.manifest,  # type: ignore[arg-type] - validated: exactly one of npz/manifest
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


def _build_model(
    cfg: TrainConfig, first_item: Item, class_names: list[str]
) -> tuple[nn.Module, CheckpointSpec]:
    """The network and the spec every checkpoint of this run carries; the network's input channels and
    dimensions come from one preprocessed training item."""
    from medms.networks import build_network

    base = CheckpointSpec(
        model=cfg.model, preprocessing=cfg.preprocessing, class_names=class_names, config=cfg
    )
    sample = base.transform()(dict(first_item))["image"]
    options = {
        "spatial_dims": sample.ndim - 1,
        "in_channels": int(sample.shape[0]),
        "num_classes": len(class_names),
        **cfg.model.options,
    }
    model = build_network(cfg.model.name, **options)
    resolved = ModelConfig(cfg.model.name, dict(getattr(model, "config", options)))
    return model, CheckpointSpec(
        model=resolved, preprocessing=cfg.preprocessing, class_names=class_names, config=cfg
    )


def _criterion(cfg: TrainConfig, labels: np.ndarray, n_classes: int, device: torch.device) -> nn.Module:
    weight = None
    if cfg.train.class_balance == "weighted_loss":
        counts = np.bincount(labels, minlength=n_classes).astype(np.float64)
        weight = torch.tensor(
            len(labels) / (n_classes * np.maximum(counts, 1)), dtype=torch.float32, device=device
        )
    return nn.CrossEntropyLoss(weight=weight, label_smoothing=cfg.train.label_smoothing)
