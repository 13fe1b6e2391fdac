"""What a prediction worker does with one series: load, preprocess, time it, and turn any failure into a record.

The dataset never raises: a series that cannot be read or preprocessed comes back with its one-line typed error,
so a batch carries both the images to classify and the failures to write (the run goes on).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch.utils.data import Dataset

from medms.engine.inference import batch_spacing
from medms.errors import MedmsError
from medms.io.discover import WorkItem
from medms.transforms.load import LoadSeriesd

__all__ = ["PredictDataset", "SeriesBatch", "collate_series", "split_loader"]

Transform = Callable[[dict[str, Any]], dict[str, Any]]


def split_loader(transform: Transform) -> tuple[Transform | None, list[Transform]]:
    """The loading step of a preprocessing pipeline (timed as "load") and the steps after it."""
    steps = list(getattr(transform, "transforms", [transform]))
    if steps and isinstance(steps[0], LoadSeriesd):
        return steps[0], steps[1:]
    return None, steps


@dataclass
class SeriesRecord:
    """One series after the worker: its image (or its error) and the seconds spent loading and preprocessing."""

    item: WorkItem
    image: torch.Tensor | None = None
    spacing: torch.Tensor | None = None
    error: str | None = None
    seconds_load: float = 0.0
    seconds_preprocess: float = 0.0


@dataclass
class SeriesBatch:
    """A collated batch: the stacked images of the series that worked, and the failures with their errors."""

    image: torch.Tensor | None
    spacing: torch.Tensor | None
    ok_items: list[WorkItem] = field(default_factory=list)
    failed: list[tuple[WorkItem, str]] = field(default_factory=list)
    seconds_load: float = 0.0
    seconds_preprocess: float = 0.0


class PredictDataset(Dataset):
    """Applies the preprocessing to each work item; a failure becomes a record (the batch goes on)."""

    def __init__(self, items: Sequence[WorkItem], transform: Transform) -> None:
        self.items = list(items)
        self.load, self.rest = split_loader(transform)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> SeriesRecord:
        item = self.items[index]
        record = SeriesRecord(item)
        try:
            t0 = time.perf_counter()
            data: dict[str, Any] = {"image": item.loader_input()}
            if self.load is not None:
                data = self.load(data)
            t1 = time.perf_counter()
            for step in self.rest:
                data = step(data)
            record.seconds_load, record.seconds_preprocess = t1 - t0, time.perf_counter() - t1
            image = data["image"]
            record.image = image.as_tensor() if hasattr(image, "as_tensor") else torch.as_tensor(image)
            # plain tensors cross the worker boundary; the spacing the scale embedding reads travels beside them
            record.spacing = batch_spacing(image.unsqueeze(0), torch.device("cpu"))
        except MedmsError as err:
            record.error = f"{type(err).__name__}: {err}"
        except Exception as err:
            record.error = f"internal error {type(err).__name__}: {err}"
        return record


def collate_series(records: list[SeriesRecord]) -> SeriesBatch:
    """Stack the images that worked; an image whose shape differs from the batch's first is a failure."""
    ok = [r for r in records if r.error is None and r.image is not None]
    failed = [(r.item, r.error or "internal error: no image") for r in records if r.error is not None]
    if ok:
        ref = tuple(ok[0].image.shape)  # type: ignore[union-attr]
        for r in ok[1:]:
            shape = tuple(r.image.shape)  # type: ignore[union-attr]
            if shape != ref:  # a preset without a fixed output size cannot be batched
                failed.append((r.item, f"DataError: preprocessed shape {shape} differs from {ref}"))
        ok = [r for r in ok if tuple(r.image.shape) == ref]  # type: ignore[union-attr]
    spacing = None
    if ok and all(r.spacing is not None for r in ok):
        spacing = torch.cat([r.spacing for r in ok])  # type: ignore[misc]
    return SeriesBatch(
        image=torch.stack([r.image for r in ok]) if ok else None,  # type: ignore[misc]
        spacing=spacing,
        ok_items=[r.item for r in ok],
        failed=failed,
        seconds_load=sum(r.seconds_load for r in records),
        seconds_preprocess=sum(r.seconds_preprocess for r in records),
    )
