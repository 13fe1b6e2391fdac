"""Training configuration: a YAML/JSON file → validated, typed dataclasses (errors before any training starts).

The one home of the training defaults: checkpoints, bundles and the engine read them from here.

Example:
    >>> from medms.config import TrainConfig
    >>> cfg = TrainConfig.from_dict({"data": {"npz": "sample_data/medmnist/breastmnist.npz"},
    ...                              "train": {"epochs": 2}})
    >>> cfg.model.name, cfg.train.epochs
    ('multiscale_resnet50', 2)
"""

from __future__ import annotations

import dataclasses
import json
import os
import types
import typing
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from medms.errors import ConfigError

__all__ = ["DataConfig", "LoopConfig", "ModelConfig", "PreprocessingConfig", "TrainConfig"]


@dataclass
class DataConfig:
    """Where the labelled images come from.

    Exactly one of ``npz`` (a MedMNIST-style archive with ``train/val/test_images`` and ``_labels``) or
    ``manifest`` (a CSV with columns ``path,label`` and optionally ``split`` and ``group_column``) is given.
    """

    npz: str | None = None
    manifest: str | None = None
    class_names: list[str] | None = None
    group_column: str | None = None
    val_fraction: float = 0.15
    test_fraction: float = 0.15
    limit: int | None = None  # use only the first N training items (smoke tests, demos)


@dataclass
class PreprocessingConfig:
    """A preset of :mod:`medms.transforms.presets` by name, with its options."""

    preset: str = "medmnist"
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class ModelConfig:
    """A network factory of :mod:`medms.networks` by name, with its options."""

    name: str = "multiscale_resnet50"
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class LoopConfig:
    """Optimiser, schedule and loop settings (the ``train:`` section of a :class:`TrainConfig`)."""

    epochs: int = 30
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.05
    warmup_fraction: float = 0.1
    label_smoothing: float = 0.1
    aux_weight: float = 0.3
    class_balance: str = "weighted_loss"  # "weighted_loss" | "sampler" | "none"
    early_stopping_patience: int = 0  # 0 = off
    temperature_scaling: bool = True
    num_workers: int = 2
    seed: int = 0
    device: str = "auto"  # "auto" | "cpu" | "cuda" | "cuda:N"
    tta_flip: bool = False  # flip test-time augmentation for validation


@dataclass
class TrainConfig:
    """The whole training configuration (sections ``data``, ``preprocessing``, ``model``, ``train``).

    :meth:`from_file` checks that the data files exist; a config built with :meth:`from_dict` is checked by
    :func:`medms.engine.train` (or explicitly with :meth:`check_files`) — once, before anything is trained.
    """

    data: DataConfig = field(default_factory=DataConfig)
    preprocessing: PreprocessingConfig = field(default_factory=PreprocessingConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: LoopConfig = field(default_factory=LoopConfig)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> TrainConfig:
        """Read and validate a YAML or JSON config file; relative data paths resolve against its folder."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as err:
            raise ConfigError(f"cannot read the config file ({err.strerror})", path=path) from err
        try:
            raw = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
        except (json.JSONDecodeError, yaml.YAMLError) as err:
            raise ConfigError(
                f"not valid {'JSON' if path.suffix == '.json' else 'YAML'}: {err}", path=path
            ) from err
        cfg = cls.from_dict(raw or {}, source=str(path))
        for name in ("npz", "manifest"):
            value = getattr(cfg.data, name)
            if value is not None and not Path(value).is_absolute():
                setattr(cfg.data, name, str((path.parent / value).resolve()))
        cfg.check_files(source=str(path))
        return cfg

    @classmethod
    def from_dict(cls, raw: dict[str, Any], *, source: str = "config") -> TrainConfig:
        """Build from a plain dict, rejecting unknown keys and wrong types with the key's dotted name."""
        cfg = _build(cls, raw, prefix="", source=source)
        cfg.validate(source=source)
        return cfg

    def validate(self, *, source: str = "config") -> None:
        """Check values (ranges, exclusive options); raises :class:`ConfigError`."""
        d, t = self.data, self.train
        if (d.npz is None) == (d.manifest is None):
            raise ConfigError("give exactly one of data.npz or data.manifest", path=source)
        for name, value in (("val_fraction", d.val_fraction), ("test_fraction", d.test_fraction)):
            if not 0.0 <= value < 0.5:
                raise ConfigError(f"data.{name} must be in [0, 0.5), got {value}", path=source)
        checks = [
            ("train.epochs", t.epochs >= 1, t.epochs),
            ("train.batch_size", t.batch_size >= 1, t.batch_size),
            ("train.lr", t.lr > 0, t.lr),
            ("train.weight_decay", t.weight_decay >= 0, t.weight_decay),
            ("train.warmup_fraction", 0 <= t.warmup_fraction < 1, t.warmup_fraction),
            ("train.label_smoothing", 0 <= t.label_smoothing < 1, t.label_smoothing),
            ("train.aux_weight", t.aux_weight >= 0, t.aux_weight),
            ("train.early_stopping_patience", t.early_stopping_patience >= 0, t.early_stopping_patience),
            ("train.num_workers", t.num_workers >= 0, t.num_workers),
        ]
        for key, ok, value in checks:
            if not ok:
                raise ConfigError(f"{key} has an invalid value {value!r}", path=source)
        if t.class_balance not in ("weighted_loss", "sampler", "none"):
            raise ConfigError(
                f"train.class_balance must be weighted_loss, sampler or none, got {t.class_balance!r}",
                path=source,
            )
        if not (t.device in ("auto", "cpu", "cuda") or t.device.startswith("cuda:")):
            raise ConfigError(
                f"train.device must be auto, cpu, cuda or cuda:N, got {t.device!r}", path=source
            )

    def check_files(self, *, source: str = "config") -> None:
        """Check that the data files exist (before anything is trained)."""
        for name in ("npz", "manifest"):
            value = getattr(self.data, name)
            if value is not None and not Path(value).is_file():
                raise ConfigError(f"data.{name} file not found: {value}", path=source)

    def to_dict(self) -> dict[str, Any]:
        """The resolved configuration as plain JSON-serialisable values."""
        return asdict(self)


def _build(cls: type, raw: Any, *, prefix: str, source: str) -> Any:
    if not isinstance(raw, dict):
        raise ConfigError(
            f"section {prefix or '<top>'} must be a mapping, got {type(raw).__name__}", path=source
        )
    hints = typing.get_type_hints(cls)
    fields = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - fields)
    if unknown:
        raise ConfigError(
            f"unknown key(s) {', '.join(prefix + k for k in unknown)}; allowed: {', '.join(sorted(fields))}",
            path=source,
        )
    kwargs = {}
    for key, value in raw.items():
        hint = hints[key]
        name = prefix + key
        if dataclasses.is_dataclass(hint):
            kwargs[key] = _build(hint, value, prefix=name + ".", source=source)
        else:
            kwargs[key] = _coerce(value, hint, name, source)
    return cls(**kwargs)


def _coerce(value: Any, hint: Any, name: str, source: str) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(hint)
        if value is None and type(None) in args:
            return None
        hint = next(a for a in args if a is not type(None))
        origin = typing.get_origin(hint)
    expected = origin or hint
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if expected is float and isinstance(value, str):  # YAML reads "1e-3" as a string
        try:
            return float(value)
        except ValueError:
            pass
    ok = isinstance(value, expected) and not (expected is int and isinstance(value, bool))
    if expected is list and ok:
        item = typing.get_args(hint)[0] if typing.get_args(hint) else object
        ok = all(isinstance(v, item) for v in value)
    if not ok:
        raise ConfigError(f"{name} must be {_describe(hint)}, got {value!r}", path=source)
    return value


def _describe(hint: Any) -> str:
    return getattr(hint, "__name__", None) or str(hint).replace("typing.", "")
