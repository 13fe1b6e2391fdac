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

import csv
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from medms.engine.checkpoint import build_model, load_checkpoint
from medms.engine.inference import batch_spacing, logits_for_batch
from medms.engine.runtime import resolve_device
from medms.engine.sources import WorkItem, discover
from medms.errors import CheckpointError, MedmsError, OutputError
from medms.provenance import environment, write_json_atomic
from medms.report.predictions import STATUS_FAILED, STATUS_OK, model_card_path, prediction_columns

__all__ = ["PredictSummary", "predict", "predict_items", "resolve_checkpoint", "write_prediction_rows"]

log = logging.getLogger("medms.engine.predict")


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


def resolve_checkpoint(model: str | os.PathLike[str]) -> Path:
    """A checkpoint file, a ``medms train`` run folder (its ``best.pt``) or a medms MONAI bundle folder.

    A bundle (a folder with ``configs/metadata.json``) is verified first — files, metadata, the sha256 of
    ``models/model.pt`` against the metadata, and the declared input shape — and its weights are returned.
    """
    path = Path(model)
    from medms.bundles.verify import is_bundle, verify_bundle  # bundles build on the engine: import late

    if is_bundle(path):
        return verify_bundle(path).weights
    if path.is_dir():
        if (path / "best.pt").is_file():
            return path / "best.pt"
        raise CheckpointError(
            "folder holds no best.pt; give a checkpoint file or a medms train run folder", path=path
        )
    return path


def predict(
    model: str | os.PathLike[str],
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
) -> PredictSummary:
    """Classify every series in ``inputs`` with the checkpoint ``model`` and write ``output`` (CSV).

    Preprocessing is the checkpoint's own preset and options. Writes the model card beside the CSV
    (``<output>.meta.json``: architecture, weights sha256, preprocessing, versions).
    """
    started = time.perf_counter()
    out = Path(output)
    _check_output(out, resume=resume, overwrite=overwrite)
    ckpt = load_checkpoint(resolve_checkpoint(model))
    net = build_model(ckpt)
    items, not_series = discover(inputs)

    from medms.transforms.presets import get_preset

    transform = get_preset(
        ckpt["preprocessing"]["preset"], **{**ckpt["preprocessing"]["options"], "augment": False}
    )
    summary = predict_items(
        net,
        ckpt,
        items,
        transform,
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


def _check_output(out: Path, *, resume: bool, overwrite: bool) -> None:
    if out.exists() and not (resume or overwrite):
        raise OutputError(
            "the predictions file exists; pass --resume to continue it or --overwrite to replace it", path=out
        )


def predict_items(
    net: torch.nn.Module,
    ckpt: dict[str, Any],
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
    class_names: list[str] = list(ckpt["class_names"])
    temperature = float(ckpt.get("temperature", 1.0))
    done = _existing_ids(out, class_names) if (resume and out.exists()) else set()
    if overwrite and not resume:
        out.unlink(missing_ok=True)
    todo = [it for it in items if it.id not in done]
    summary = PredictSummary(out, skipped=len(items) - len(todo), not_series=not_series)
    _write_model_card(out, ckpt, tta_flip, temperature)
    loader = DataLoader(
        _SafeDataset(todo, transform),
        batch_size=batch_size,
        num_workers=num_workers,
        collate_fn=_collate,
        shuffle=False,
        persistent_workers=False,
    )
    from tqdm.auto import tqdm

    with (
        _open_rows(out, class_names) as writer,
        tqdm(total=len(todo), disable=None if progress else True, unit="series") as bar,
    ):
        for batch in loader:
            rows: list[list[Any]] = []
            if batch["image"] is not None:
                t0 = time.perf_counter()
                logits = logits_for_batch(
                    net, batch["image"], dev, tta_flip=tta_flip, spacing=batch["spacing"], inferer=inferer
                )
                summary.seconds_model += time.perf_counter() - t0
                probs = torch.softmax(logits / temperature, dim=1).numpy()
                rows += _ok_rows(batch["ok_items"], probs, class_names)
                summary.ok += len(batch["ok_items"])
            for item, error in batch["failed"]:
                rows.append([item.id, item.source, *[""] * len(class_names), "", STATUS_FAILED, error])
                summary.failures.append((item.id, error))
                log.warning("failed: %s (%s)", item.source, error)
            summary.failed += len(batch["failed"])
            summary.seconds_load += batch["seconds_load"]
            summary.seconds_preprocess += batch["seconds_preprocess"]
            writer(rows)
            bar.update(len(rows))
    summary.seconds_total = time.perf_counter() - started
    return summary


def write_prediction_rows(
    path: str | os.PathLike[str],
    class_names: Sequence[str],
    ids: Sequence[str],
    sources: Sequence[str],
    probs: np.ndarray,
) -> None:
    """Write a complete predictions CSV for rows that all succeeded (used for the test split after training)."""
    items = [WorkItem(i, s, s) for i, s in zip(ids, sources, strict=True)]
    Path(path).unlink(missing_ok=True)
    with _open_rows(Path(path), class_names) as writer:
        writer(_ok_rows(items, probs, class_names))


class _SafeDataset(Dataset):
    """Applies the preset; a failure becomes a record (the batch goes on), with load/preprocess timings."""

    def __init__(self, items: Sequence[WorkItem], transform) -> None:
        self.items = list(items)
        steps = list(getattr(transform, "transforms", [transform]))
        self.load, self.rest = steps[0], steps[1:]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict[str, Any]:
        item = self.items[index]
        record: dict[str, Any] = {
            "item": item,
            "image": None,
            "spacing": None,
            "error": None,
            "t_load": 0.0,
            "t_pre": 0.0,
        }
        try:
            t0 = time.perf_counter()
            data = self.load({"image": item.loader_input()})
            t1 = time.perf_counter()
            for step in self.rest:
                data = step(data)
            record["t_load"], record["t_pre"] = t1 - t0, time.perf_counter() - t1
            image = data["image"]
            record["image"] = image.as_tensor() if hasattr(image, "as_tensor") else torch.as_tensor(image)
            # plain tensors cross the worker boundary; the spacing the scale embedding reads travels beside them
            record["spacing"] = batch_spacing(image.unsqueeze(0), torch.device("cpu"))
        except MedmsError as err:
            record["error"] = f"{type(err).__name__}: {err}"
        except Exception as err:
            record["error"] = f"internal error {type(err).__name__}: {err}"
        return record


def _collate(records: list[dict[str, Any]]) -> dict[str, Any]:
    ok = [r for r in records if r["error"] is None]
    shapes = {tuple(r["image"].shape) for r in ok}
    failed = [(r["item"], r["error"]) for r in records if r["error"] is not None]
    if (
        len(shapes) > 1
    ):  # a preset without a fixed output size: classify one at a time is not possible in a batch
        ref = tuple(ok[0]["image"].shape)
        failed += [
            (r["item"], f"DataError: preprocessed shape {tuple(r['image'].shape)} differs from {ref}")
            for r in ok[1:]
            if tuple(r["image"].shape) != ref
        ]
        ok = [r for r in ok if tuple(r["image"].shape) == ref]
    return {
        "image": torch.stack([r["image"] for r in ok]) if ok else None,
        "spacing": None
        if not ok or any(r["spacing"] is None for r in ok)
        else torch.cat([r["spacing"] for r in ok]),
        "ok_items": [r["item"] for r in ok],
        "failed": failed,
        "seconds_load": sum(r["t_load"] for r in records),
        "seconds_preprocess": sum(r["t_pre"] for r in records),
    }


def _ok_rows(items: Sequence[WorkItem], probs: np.ndarray, class_names: Sequence[str]) -> list[list[Any]]:
    rows = []
    for item, p in zip(items, probs, strict=True):
        rows.append(
            [item.id, item.source, *(f"{v:.6f}" for v in p), class_names[int(np.argmax(p))], STATUS_OK, ""]
        )
    return rows


class _open_rows:
    """Append rows to a predictions CSV, header first if new; every call flushed and fsynced."""

    def __init__(self, path: Path, class_names: Sequence[str]) -> None:
        self.path, self.header = path, prediction_columns(class_names)

    def __enter__(self):
        new = not self.path.exists() or self.path.stat().st_size == 0
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.fh = open(self.path, "a", newline="", encoding="utf-8")
        except OSError as err:
            raise OutputError(
                f"cannot write the predictions file ({err.strerror or err})", path=self.path
            ) from err
        self.csv = csv.writer(self.fh)
        if new:
            self._write([self.header])
        return self._write

    def _write(self, rows: list[list[Any]]) -> None:
        try:
            self.csv.writerows(rows)
            self.fh.flush()
            os.fsync(self.fh.fileno())
        except OSError as err:
            raise OutputError(
                f"cannot write the predictions file ({err.strerror or err})", path=self.path
            ) from err

    def __exit__(self, *exc) -> None:
        self.fh.close()


def _existing_ids(path: Path, class_names: Sequence[str]) -> set[str]:
    """Ids already in a predictions file; a half-written last line (killed mid-write) is cut off first."""
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        cut = data.rfind(b"\n") + 1
        with open(path, "r+b") as fh:
            fh.truncate(cut)
        log.warning("dropped a half-written last line of %s", path)
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None:
            return set()
        if header != prediction_columns(class_names):
            raise OutputError(
                "the existing predictions file has other columns (another model?); not resuming it", path=path
            )
        return {row[0] for row in reader if row}


def _write_model_card(out: Path, ckpt: dict[str, Any], tta_flip: bool, temperature: float) -> None:
    card = {
        "architecture": ckpt["model"]["name"],
        "options": ckpt["model"]["options"],
        "weights_sha256": ckpt["sha256"],
        "checkpoint": ckpt["path"],
        "class_names": ckpt["class_names"],
        "preprocessing": ckpt["preprocessing"],
        "temperature": temperature,
        "tta_flip": tta_flip,
        "training_config": ckpt.get("config"),
        "training_metrics": ckpt.get("metrics"),
        "versions": environment(),
    }
    try:  # the card is the first output written: create the folder here, as the rows writer does
        out.parent.mkdir(parents=True, exist_ok=True)
        write_json_atomic(model_card_path(out), card)
    except OSError as err:
        raise OutputError(f"cannot write the model card ({err.strerror or err})", path=out) from err
