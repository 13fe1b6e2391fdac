"""``medms demo``: the whole product on the shipped BreastMNIST, end to end, in a few minutes on a CPU.

1. train the default multi-scale ResNet-50 briefly on the training split (validation split for model choice and
   temperature scaling);
2. write the 156 test images as DICOM files (real pixels, generated PHI-free headers), one series each;
3. ``medms predict`` on that folder through the DICOM path;
4. ``medms evaluate`` against the labels → ``report.html`` / ``report.json`` / ``report.md``.

Everything goes under ``output`` (default ``./medms-demo``); the trained checkpoint there is what
``medms predict --model`` accepts.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from medms.config import TrainConfig
from medms.datasets import BREASTMNIST_CLASS_NAMES, breastmnist_path
from medms.engine import PredictSummary, TrainResult, predict, train
from medms.errors import ConfigError, OutputError
from medms.report import EvaluationReport

__all__ = ["DEMO_CLASS_NAMES", "DemoResult", "find_breastmnist", "run_demo", "write_dicom_test_set"]

DEMO_CLASS_NAMES = BREASTMNIST_CLASS_NAMES


@dataclass
class DemoResult:
    """Where the demo wrote its outputs."""

    output: Path
    train: TrainResult
    predict: PredictSummary
    report: EvaluationReport


def find_breastmnist(data: str | os.PathLike[str] | None = None) -> Path:
    """The BreastMNIST archive: ``data`` if given, else the copy packaged with medms (:mod:`medms.datasets`)."""
    if data is None:
        return breastmnist_path()
    path = Path(data)
    if not path.is_file():
        raise ConfigError("BreastMNIST archive not found", path=path)
    return path


def write_dicom_test_set(npz: Path, folder: Path, *, seed: int = 0) -> Path:
    """Write the test split as one DICOM file (series) per image; return the labels CSV (id = SeriesInstanceUID)."""
    from medms.synthetic import write_image_dicom

    with np.load(npz, allow_pickle=False) as data:
        images, labels = data["test_images"], data["test_labels"].reshape(-1)
    folder.mkdir(parents=True, exist_ok=True)
    labels_csv = folder.parent / "labels.csv"
    with open(labels_csv, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "label", "split_index"])
        for i, (image, label) in enumerate(zip(images, labels, strict=True)):
            uid = f"2.25.{_uid_number(seed, i)}"
            write_image_dicom(
                image, folder / f"test-{i:05d}.dcm", modality="US", series_uid=uid, seed=seed + i
            )
            writer.writerow([uid, DEMO_CLASS_NAMES[int(label)], i])
    return labels_csv


def run_demo(
    output: str | os.PathLike[str] = "medms-demo",
    *,
    data: str | os.PathLike[str] | None = None,
    epochs: int = 10,
    spatial_size: int = 64,
    seed: int = 0,
    num_workers: int = 2,
    overwrite: bool = False,
    progress: bool = True,
) -> DemoResult:
    """Run the demo (see the module docstring); returns where everything went."""
    from medms.report import evaluate

    out = Path(output)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise OutputError(
            "the demo output folder is not empty; pass --overwrite or choose another --output", path=out
        )
    npz = find_breastmnist(data)
    cfg = TrainConfig.from_dict(
        {
            "data": {"npz": str(npz), "class_names": DEMO_CLASS_NAMES},
            "preprocessing": {"preset": "medmnist", "options": {"spatial_size": spatial_size}},
            "model": {"name": "multiscale_resnet50", "options": {}},
            "train": {"epochs": epochs, "batch_size": 32, "seed": seed, "num_workers": num_workers},
        }
    )
    trained = train(cfg, out / "run", overwrite=overwrite, progress=progress)
    labels_csv = write_dicom_test_set(npz, out / "dicom", seed=seed)
    predictions = out / "predictions.csv"
    summary = predict(
        trained.best_checkpoint,
        [out / "dicom"],
        predictions,
        overwrite=overwrite,
        num_workers=num_workers,
        progress=progress,
    )
    report = evaluate(predictions, labels_csv, out / "report", overwrite=overwrite, seed=seed)
    return DemoResult(out, trained, summary, report)


def _uid_number(seed: int, index: int) -> int:
    # 2.25.<integer> UIDs (ISO/IEC 9834-8): deterministic per seed and image, unique within the demo
    import hashlib

    return int(hashlib.sha256(f"medms-demo/{seed}/{index}".encode()).hexdigest()[:30], 16)
