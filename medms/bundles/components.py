"""The callables a medms bundle config names by ``_target_``: thin faces of the package's own builders.

They take the preset/network *name and options* as two plain config values (what a checkpoint stores), so a
config never re-lists transforms or layers and MONAI's ``ConfigParser`` can instantiate them.

Example:
    >>> from monai.bundle import ConfigParser
    >>> parser = ConfigParser({"network_def": {"_target_": "medms.bundles.components.network",
    ...     "name": "resnet50", "options": {"spatial_dims": 2, "num_classes": 3}}})
    >>> parser.get_parsed_content("network_def").config["num_classes"]
    3
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from monai.transforms import Compose
from torch import nn

__all__ = ["network", "preprocessing", "train_config", "train_into_bundle"]


def network(name: str, options: dict[str, Any] | None = None) -> nn.Module:
    """``medms.networks.build_network(name, **options)`` in eval mode (the bundle's ``network_def``)."""
    from medms.networks import build_network

    return build_network(name, **dict(options or {})).eval()


def preprocessing(preset: str, options: dict[str, Any] | None = None, *, augment: bool = False) -> Compose:
    """``medms.transforms.presets.get_preset(preset, **options)`` (the bundle's ``preprocessing``).

    Example:
        >>> preprocessing("medmnist", {"spatial_size": 32}).transforms[-1].__class__.__name__
        'EnsureTyped'
    """
    from medms.transforms.presets import get_preset

    return get_preset(preset, **{**dict(options or {}), "augment": augment})


def train_config(
    *,
    data: dict[str, Any],
    preset: str,
    preset_options: dict[str, Any],
    network: str,
    network_options: dict[str, Any],
    class_names: list[str] | None,
    train: dict[str, Any],
    limit: int | None = None,
):
    """A validated :class:`medms.engine.TrainConfig` from a bundle's train.json values."""
    from medms.engine.config import TrainConfig

    raw_data = {**data, "class_names": class_names}
    if limit is not None:
        raw_data["limit"] = int(limit)
    cfg = TrainConfig.from_dict(
        {
            "data": raw_data,
            "preprocessing": {"preset": preset, "options": dict(preset_options)},
            "model": {"name": network, "options": dict(network_options)},
            "train": dict(train),
        },
        source="configs/train.json",
    )
    cfg.check_files(source="configs/train.json")
    return cfg


def train_into_bundle(config, run_dir: str | os.PathLike[str], bundle_root: str | os.PathLike[str]) -> str:
    """Train with :func:`medms.engine.train` into ``run_dir`` and install the best weights as the bundle's
    ``models/model.pt`` (sha256 and measured test metrics recorded in ``configs/metadata.json``).

    Returns a one-line summary.
    """
    from medms.bundles.export import install_weights
    from medms.engine import train

    result = train(config, run_dir, overwrite=True, progress=False)
    digest = install_weights(result.output, bundle_root)
    return f"trained {Path(run_dir)} (best epoch {result.best_epoch}); models/model.pt sha256 {digest}"
