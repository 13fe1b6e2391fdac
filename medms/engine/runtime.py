"""Process-level setup shared by training and prediction: device, seeding, torch.distributed.

Under ``torchrun`` (``WORLD_SIZE`` > 1) :func:`init_distributed` starts a process group (NCCL on GPU, gloo on
CPU); only rank 0 writes files.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as dist

from medms.errors import ConfigError

__all__ = ["DistInfo", "init_distributed", "resolve_device", "seed_everything"]


@dataclass(frozen=True)
class DistInfo:
    """Rank and world size of this process (``world_size == 1`` when not distributed)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        """True on the process that writes outputs."""
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        """True when running under torch.distributed with more than one process."""
        return self.world_size > 1


def resolve_device(name: str = "auto", dist_info: DistInfo | None = None) -> torch.device:
    """``"auto"`` → the local GPU when there is one, else CPU; explicit names are checked."""
    local = dist_info.local_rank if dist_info else 0
    if name == "auto":
        return torch.device(f"cuda:{local}") if torch.cuda.is_available() else torch.device("cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device {name!r} was asked for but no CUDA GPU is available; use 'cpu' or 'auto'")
    if name == "cuda":
        return torch.device(f"cuda:{local}")
    return torch.device(name)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA) for reproducible runs."""
    random.seed(seed)
    np.random.seed(seed % (2**32))  # noqa: NPY002 - third-party code still draws from the legacy global RNG
    torch.manual_seed(seed)


def init_distributed(device_name: str = "auto") -> DistInfo:
    """Join the process group torchrun set up (env ``WORLD_SIZE``/``RANK``/``LOCAL_RANK``); no-op otherwise."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    info = DistInfo(int(os.environ["RANK"]), world, int(os.environ.get("LOCAL_RANK", "0")))
    if not dist.is_initialized():
        use_cuda = torch.cuda.is_available() and device_name != "cpu"
        if use_cuda:
            torch.cuda.set_device(info.local_rank)
        dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    return info
