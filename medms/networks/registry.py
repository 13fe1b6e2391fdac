"""Build a network from its name and JSON-serialisable options (how checkpoints store a model)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

from medms.errors import ConfigError
from medms.networks.multiscale import multiscale_resnet50
from medms.networks.resnet import resnet50

__all__ = ["NETWORKS", "build_network"]

NETWORKS: dict[str, Callable[..., nn.Module]] = {
    "resnet50": resnet50,
    "multiscale_resnet50": multiscale_resnet50,
}


def build_network(name: str, **options: Any) -> nn.Module:
    """Build the network ``name`` with ``options``: the inverse of ``(model.factory_name, model.config)``.

    Example:
        >>> from medms.networks import build_network, multiscale_resnet50
        >>> model = multiscale_resnet50(num_classes=3, fusion="gated")
        >>> build_network(model.factory_name, **model.config).config == model.config
        True
    """
    if name not in NETWORKS:
        raise ConfigError(f"unknown network {name!r}; available: {sorted(NETWORKS)}")
    try:
        return NETWORKS[name](**options)
    except TypeError as err:  # unknown or misspelt keyword of the plain factory
        raise ConfigError(f"bad options for network {name!r}: {err}") from err
