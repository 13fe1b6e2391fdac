"""DataLoaders over item dicts with a MONAI preset: seeded, optionally class-balanced or distributed."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from monai.data import DataLoader, Dataset
from torch.utils.data import DistributedSampler, WeightedRandomSampler

from medms.engine.runtime import DistInfo
from medms.errors import ConfigError

__all__ = ["make_loader"]


def make_loader(
    items: Sequence[dict],
    transform: Callable,
    *,
    batch_size: int,
    shuffle: bool = False,
    num_workers: int = 0,
    seed: int = 0,
    dist_info: DistInfo | None = None,
    balanced_labels: np.ndarray | None = None,
    drop_last: bool = False,
) -> DataLoader:
    """A MONAI DataLoader whose random augmentation and order depend only on ``seed`` (and the epoch).

    ``balanced_labels`` draws samples with weights inverse to class frequency; ``dist_info`` shards the items
    over the ranks with a ``DistributedSampler`` (call ``loader.sampler.set_epoch(epoch)`` each epoch).
    """
    dataset = Dataset(list(items), transform=transform)
    generator = torch.Generator().manual_seed(seed)
    sampler = None
    if dist_info is not None and dist_info.enabled:
        if balanced_labels is not None:
            raise ConfigError("class_balance 'sampler' is not supported with DDP; use 'weighted_loss'")
        sampler = DistributedSampler(
            dataset,
            num_replicas=dist_info.world_size,
            rank=dist_info.rank,
            shuffle=shuffle,
            seed=seed,
            drop_last=drop_last,
        )
        shuffle = False
    elif balanced_labels is not None:
        counts = np.bincount(balanced_labels)
        weights = 1.0 / counts[balanced_labels]
        sampler = WeightedRandomSampler(
            torch.as_tensor(weights, dtype=torch.double), len(weights), generator=generator
        )
        shuffle = False
    drop = drop_last and len(dataset) > batch_size * max(1, dist_info.world_size if dist_info else 1)
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=shuffle,
        sampler=sampler,
        num_workers=num_workers,
        generator=generator,
        drop_last=drop,
        persistent_workers=num_workers > 0,  # no worker start-up cost per epoch
    )


def reseed_loader(loader: DataLoader, seed: int) -> None:
    """Make the next pass over ``loader`` depend only on ``seed`` (order and augmentation), e.g. per epoch.

    The sample order always follows ``seed``. Without worker processes the transforms are seeded here too, so an
    interrupted run resumed at epoch k repeats epoch k exactly. Persistent workers draw their transform seeds once,
    when first started: a resumed run is then reproducible but its augmentation differs from the uninterrupted run.
    """
    from monai.data.utils import set_rnd

    loader.generator.manual_seed(seed)
    if isinstance(loader.sampler, WeightedRandomSampler):
        loader.sampler.generator.manual_seed(seed)
    if loader.num_workers == 0:
        set_rnd(loader.dataset, seed % (2**32))
