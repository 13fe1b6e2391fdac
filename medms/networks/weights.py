"""Safe loading of weights files into medms networks, with adapters for torchvision and MedicalNet.

Only ``torch.load`` with ``weights_only=True`` is used: a file that needs any other unpickling is refused.
Key checking is strict by default; an adapter makes the classifier head optional (pretrained trunks come
without our heads) but never the trunk.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

import torch
from torch import nn

from medms._torchfile import list_keys, load_torch_file, sha256_file
from medms.errors import CheckpointError
from medms.networks.resnet import TRUNK_PREFIXES

__all__ = ["ADAPTERS", "load_weights", "sha256_file"]

logger = logging.getLogger("medms.networks.weights")

ADAPTERS = ("torchvision", "medicalnet")
_WRAPPER_KEYS = ("state_dict", "model")
_STRIP_PREFIXES = ("module.", "_orig_mod.")  # DistributedDataParallel / torch.compile wrappers


def load_weights(
    model: nn.Module, path: str | os.PathLike[str], *, adapter: str | None = None, strict: bool = True
) -> str:
    """Load a weights file into ``model`` and return the file's sha256.

    Args:
        model: a medms network (``resnet50`` or ``multiscale_resnet50``).
        path: a file written by ``torch.save``: a state dict, or a dict holding one under "state_dict" or
            "model". "module." / "_orig_mod." prefixes (DDP, torch.compile) are removed.
        adapter: ``None`` (a medms state dict), ``"torchvision"`` (a 2D torchvision ResNet-50: its ImageNet
            ``fc`` is dropped) or ``"medicalnet"`` (a 3D MedicalNet ResNet-50: ``conv_seg`` is dropped).
            Adapters average the stem's input channels and spread them over ``model.in_channels``
            (×C_src/C so an image repeated on all channels gives the same response) and leave the heads at
            their fresh initialisation.
        strict: raise on any missing, unexpected or shape-mismatched key. With ``strict=False`` the
            matching keys are loaded and the rest is logged as a warning.

    Returns:
        The sha256 hex digest of the file (record it with the run).

    Raises:
        CheckpointError: the file is missing, needs unsafe unpickling, is not a state dict, or does not
            match the architecture (the message lists the keys).

    Example:
        >>> import tempfile, torch
        >>> from medms.networks import load_weights, resnet50
        >>> model = resnet50()
        >>> path = tempfile.mktemp(suffix=".pt")
        >>> torch.save(model.state_dict(), path)
        >>> len(load_weights(resnet50(), path))
        64
    """
    if adapter is not None and adapter not in ADAPTERS:
        raise CheckpointError(f"unknown adapter {adapter!r}; use None or one of {ADAPTERS}", path=path)
    digest = sha256_file(path)
    obj = load_torch_file(path)
    state = _state_dict(obj, path)
    if adapter == "torchvision":
        state = _adapt(model, state, drop=("fc.",), spatial_dims=2, name="torchvision", path=path)
    elif adapter == "medicalnet":
        state = _adapt(model, state, drop=("conv_seg.", "fc."), spatial_dims=3, name="MedicalNet", path=path)
    _load_checked(model, state, strict=strict, trunk_only=adapter is not None, path=path)
    return digest


def _state_dict(obj: object, path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    if isinstance(obj, Mapping):
        for key in _WRAPPER_KEYS:
            if isinstance(obj.get(key), Mapping):
                obj = obj[key]
                break
    if not isinstance(obj, Mapping) or not obj:
        raise CheckpointError(f"not a state dict (got {type(obj).__name__})", path=path)
    bad = [k for k, v in obj.items() if not isinstance(k, str) or not isinstance(v, torch.Tensor)]
    if bad:
        raise CheckpointError(f"not a state dict: non-tensor entries {list_keys(map(str, bad))}", path=path)
    state = dict(obj)
    for prefix in _STRIP_PREFIXES:
        if all(k.startswith(prefix) for k in state):
            state = {k[len(prefix) :]: v for k, v in state.items()}
    return state


def _adapt(
    model: nn.Module,
    state: dict[str, torch.Tensor],
    *,
    drop: tuple[str, ...],
    spatial_dims: int,
    name: str,
    path: str | os.PathLike[str],
) -> dict[str, torch.Tensor]:
    if getattr(model, "spatial_dims", None) != spatial_dims:
        raise CheckpointError(
            f"{name} weights are {spatial_dims}D but the model has spatial_dims={getattr(model, 'spatial_dims', None)}",
            path=path,
        )
    state = {k: v for k, v in state.items() if not k.startswith(drop)}
    stem = state.get("conv1.weight")
    target = getattr(model, "in_channels", None)
    if stem is not None and target is not None and stem.shape[1] != target:
        # Preserve the response to an image repeated on every channel (e.g. grey → RGB-trained stem).
        mean = stem.float().mean(dim=1, keepdim=True) * (stem.shape[1] / target)
        state["conv1.weight"] = mean.repeat(1, target, *([1] * (stem.ndim - 2))).to(stem.dtype)
    return state


def _load_checked(
    model: nn.Module,
    state: dict[str, torch.Tensor],
    *,
    strict: bool,
    trunk_only: bool,
    path: str | os.PathLike[str],
) -> None:
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    if trunk_only:
        missing = [k for k in missing if k.startswith(TRUNK_PREFIXES)]
    unexpected = [k for k in state if k not in expected]
    mismatched = [
        f"{k} {tuple(v.shape)}≠{tuple(expected[k].shape)}"
        for k, v in state.items()
        if k in expected and v.shape != expected[k].shape
    ]
    problems = []
    for label, keys in (("missing", missing), ("unexpected", unexpected), ("shape mismatch", mismatched)):
        if keys:
            problems.append(f"{len(keys)} {label}: {list_keys(keys)}")
    if problems and strict:
        arch = getattr(model, "factory_name", type(model).__name__)
        raise CheckpointError(
            f"weights do not match {arch}{getattr(model, 'config', '')}: "
            + "; ".join(problems)
            + " — was the file saved from a different architecture or options?",
            path=path,
        )
    if problems:
        logger.warning("%s: loaded non-strictly, skipped %s", os.fspath(path), "; ".join(problems))
    keep = {k: v for k, v in state.items() if k in expected and v.shape == expected[k].shape}
    model.load_state_dict(keep, strict=False)
