"""``medms predict``: classify many series into one predictions CSV, crash-safe and resumable.

Rows are appended as batches complete (flushed and fsynced), so a crash or kill loses at most the rows in
flight; ``resume=True`` skips ids already in the file (and drops a half-written last line). A series that
cannot be read or preprocessed becomes a ``failed`` row with its typed error; the batch goes on.

Example:
    >>> from medms.engine import predict
    >>> summary = predict("medms-demo/run", ["scans/"], "predictions.csv")  # doctest: +SKIP
    >>> summary.ok, summary.failed  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader

from medms.checkpoint import Checkpoint, load_checkpoint
from medms.engine.inference import logits_for_batch
from medms.engine.runtime import resolve_device
from medms.engine.workers import PredictDataset, SeriesBatch, collate_series
from medms.errors import CheckpointError, OutputError
from medms.io.discover import WorkItem, discover
from medms.provenance import environment
from medms.tables import PredictionWriter, model_card_path

__all__ = ["PredictSummary", "open_checkpoint", "predict", "predict_items"]

log = logging.getLogger("medms.engine.predict")

ModelRef = str | os.PathLike[str] | Checkpoint


@dataclass
class PredictSummary:
    """Counts and timings of one ``predict`` call (seconds summed over items; load/preprocess in workers)."""

    output: Path
    ok: int = 0
    failed: int = 0
    skipped: int = 0
    not_series: int = 0
    seconds_load: float = 0.0
    seconds_preprocess: float = 0.0
    seconds_model: float = 0.0
    seconds_total: float = 0.0
    failures: list[tuple[str, str]] = field(default_factory=list)

    def format(self) -> str:
        """One line for the terminal."""
        return (
            f"{self.ok} ok, {self.failed} failed, {self.skipped} skipped (already in the output), "
            f"{self.not_series} file(s) not classifiable; {self.seconds_total:.1f} s "
            f"(load {self.seconds_load:.1f} s, preprocess {self.seconds_preprocess:.1f} s, model {self.seconds_model:.1f} s)"
            f" → {self.output}"
        )


def open_checkpoint(model: ModelRef) -> Checkpoint:
    """A loaded checkpoint from a :class:`~medms.checkpoint.Checkpoint`, a checkpoint file or a ``medms train``
    run folder (its ``best.pt``).

    MONAI bundle folders are opened (and verified) by :func:`medms.bundles.open_model`, which returns a
    checkpoint this function passes through.

    Raises:
        CheckpointError: a folder without ``best.pt`` (or a bundle folder), or an unreadable checkpoint.
    """
    if isinstance(model, Checkpoint):
        return model
    path = Path(model)
    if path.is_dir():
        if (path / "best.pt").is_file():
            return load_checkpoint(path / "best.pt")
        if (path / "configs" / "metadata.json").is_file():
            raise CheckpointError(
                "this folder is a MONAI bundle: open it with medms.bundles.open_model(path) (the medms command "
                "line does this for --model)",
                path=path,
            )
        raise CheckpointError(
            "folder holds no best.pt; give a checkpoint file or a medms train run folder", path=path
        )
    return load_checkpoint(path)


def predict(
    model: ModelRef,
    inputs: Sequence[str | os.PathLike[str]],
    output: str | os.PathLike[str],
    *,
    resume: bool = False,
    overwrite: bool = False,
    batch_size: int = 16,
    num_workers: int = 2,
    tta_flip: bool = False,
    device: str = "auto",
    progress: bool = True,
    network: torch.nn.Module | None = None,
) -> PredictSummary:
    """Classify every series in ``inputs`` with the checkpoint ``model`` and write ``output`` (CSV).

    ``model`` is a checkpoint file, a ``medms train`` run folder or an already loaded
    :class:`~medms.checkpoint.Checkpoint` (e.g. from :func:`medms.bundles.open_model`). ``network``, when given,
    already holds that checkpoint's weights (e.g. ``medms.bundles.open_bundle(...).model``) and is used as it is.
    Preprocessing is the checkpoint's own preset and options. Writes the model card beside the CSV
    (``<output>.meta.json``: architecture, weights sha256, preprocessing, versions).
    """
    started = time.perf_counter()
    out = Path(output)
    _check_output(out, resume=resume, overwrite=overwrite)
    ckpt = open_checkpoint(model)
    net = network if network is not None else ckpt.build_model()
    items, not_series = discover(inputs)
    summary = predict_items(
        net,
        ckpt,
        items,
        ckpt.spec.transform(),
        out,
        not_series=len(not_series),
        resume=resume,
        overwrite=overwrite,
        batch_size=batch_size,
        num_workers=num_workers,
        tta_flip=tta_flip,
        device=device,
        progress=progress,
    )
    summary.seconds_total = (
        time.perf_counter() - started
    )  # with loading the checkpoint and finding the series
    return summary


def predict_items(
    net: torch.nn.Module,
    ckpt: Checkpoint,
    items: Sequence[WorkItem],
    transform: Callable[[dict[str, Any]], dict[str, Any]],
    output: str | os.PathLike[str],
    *,
    not_series: int = 0,
    resume: bool = False,
    overwrite: bool = False,
    batch_size: int = 16,
    num_workers: int = 2,
    tta_flip: bool = False,
    device: str = "auto",
    progress: bool = True,
    inferer: Callable[..., torch.Tensor] | None = None,
) -> PredictSummary:
    """The prediction loop of :func:`predict` with the parts given: a network holding its weights, the loaded
    checkpoint ``ckpt`` (class names, temperature, model card), discovered ``items`` and a preprocessing
    ``transform`` (its first step loads ``{"image": path}``). A bundle's inference workflow calls this with its
    own ``network_def``, ``dataset`` and ``inferer``.
    """
    started = time.perf_counter()
    out = Path(output)
    _check_output(out, resume=resume, overwrite=overwrite)
    dev = resolve_device(device)
    net.eval().to(dev)
    temperature = ckpt.spec.temperature
    from tqdm.auto import tqdm

    with PredictionWriter(out, ckpt.spec.class_names, resume=resume) as writer:
        todo = [it for it in items if it.id not in writer.existing_ids]
        summary = PredictSummary(out, skipped=len(items) - len(todo), not_series=not_series)
        _write_model_card(out, ckpt, tta_flip, temperature)
        loader = DataLoader(
            PredictDataset(todo, transform),
            batch_size=batch_size,
            num_workers=num_workers,
            collate_fn=collate_series,
            shuffle=False,
            persistent_workers=False,
        )
        with tqdm(total=len(todo), disable=None if progress else True, unit="series") as bar:
            for batch in loader:
                _write_batch(batch, net, dev, writer, summary, tta_flip, temperature, inferer)
                bar.update(len(batch.ok_items) + len(batch.failed))
    summary.seconds_total = time.perf_counter() - started
    return summary


def _write_batch(
    batch: SeriesBatch,
    net: torch.nn.Module,
    dev: torch.device,
    writer: PredictionWriter,
    summary: PredictSummary,
    tta_flip: bool,
    temperature: float,
    inferer: Callable[..., torch.Tensor] | None,
) -> None:
    if batch.image is not None:
        t0 = time.perf_counter()
        logits = logits_for_batch(
            net, batch.image, dev, tta_flip=tta_flip, spacing=batch.spacing, inferer=inferer
        )
        summary.seconds_model += time.perf_counter() - t0
        probs = torch.softmax(logits / temperature, dim=1).numpy()
        for item, p in zip(batch.ok_items, probs, strict=True):
            writer.add_ok(item.id, item.source, p)
        summary.ok += len(batch.ok_items)
    for item, error in batch.failed:
        writer.add_failed(item.id, item.source, error)
        summary.failures.append((item.id, error))
        log.warning("failed: %s (%s)", item.source, error)
    summary.failed += len(batch.failed)
    summary.seconds_load += batch.seconds_load
    summary.seconds_preprocess += batch.seconds_preprocess
    writer.flush()


def _check_output(out: Path, *, resume: bool, overwrite: bool) -> None:
    if out.exists() and not (resume or overwrite):
        raise OutputError(
            "the predictions file exists; pass --resume to continue it or --overwrite to replace it", path=out
        )


def _write_model_card(out: Path, ckpt: Checkpoint, tta_flip: bool, temperature: float) -> None:
    from medms.atomic import write_json_atomic

    spec = ckpt.spec
    card = {
        "architecture": spec.model.name,
        "options": spec.model.options,
        "weights_sha256": ckpt.sha256,
        "checkpoint": str(ckpt.path),
        "class_names": spec.class_names,
        "preprocessing": {"preset": spec.preprocessing.preset, "options": spec.preprocessing.options},
        "temperature": temperature,
        "tta_flip": tta_flip,
        "training_config": spec.config.to_dict() if spec.config is not None else None,
        "training_metrics": spec.metrics or None,
        "versions": environment(),
    }
    write_json_atomic(model_card_path(out), card, what="model card")
