"""Tiny medms bundles (32² 2D, 32³ 3D) built by pipelines/build.py's own specs, and DICOM inputs for them."""

from __future__ import annotations

import csv
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
PIPELINES = ROOT / "pipelines"
NPZ = ROOT / "sample_data" / "medmnist" / "breastmnist.npz"


def load_build():
    """pipelines/build.py as a module (pipelines/ is not a package)."""
    spec = importlib.util.spec_from_file_location("medms_pipelines_build", PIPELINES / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def monai_bundle(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """``python -m monai.bundle ARGS`` in a subprocess; fails the test with its output on a non-zero exit."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run(
        [sys.executable, "-m", "monai.bundle", *args], capture_output=True, text=True, cwd=cwd, env=env
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def copy_bundle(src: Path, dst: Path) -> Path:
    """A copy of a bundle that shares the (large, read-only) weights file by hard link."""
    shutil.copytree(src, dst, copy_function=os.link, ignore=shutil.ignore_patterns("runs", "eval"))
    for path in (dst / "configs").iterdir():  # configs are edited by some tests: real copies
        data = path.read_bytes()
        path.unlink()
        path.write_bytes(data)
    return dst


@pytest.fixture(scope="session")
def build_module():
    return load_build()


@pytest.fixture(scope="session")
def scans2d(tmp_path_factory) -> tuple[Path, Path]:
    """Six real BreastMNIST test images as one-file DICOM series, and their labels CSV."""
    from medms.demo import DEMO_CLASS_NAMES
    from medms.synthetic import write_image_dicom

    folder = tmp_path_factory.mktemp("scans2d")
    with np.load(NPZ) as data:
        images, labels = data["test_images"][:6], data["test_labels"].reshape(-1)[:6]
    (folder / "dicom").mkdir()
    with open(folder / "labels.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "label"])
        for i, (image, label) in enumerate(zip(images, labels, strict=True)):
            uid = f"1.2.826.0.1.3680043.10.997.{i + 1}"
            write_image_dicom(image, folder / "dicom" / f"img{i}.dcm", series_uid=uid, seed=i)
            writer.writerow([uid, DEMO_CLASS_NAMES[int(label)]])
    return folder / "dicom", folder / "labels.csv"


@pytest.fixture(scope="session")
def trained_bundle2d(tmp_path_factory, build_module) -> Path:
    """The 2D BreastMNIST bundle at 32², trained for one epoch on 16 images by its own configs/train.json."""
    root = tmp_path_factory.mktemp("bundle2d") / "breastmnist_msresnet50"
    spec = build_module.breastmnist_spec(spatial_size=32)
    spec.config.data.npz = str(NPZ)
    build_module.build("breastmnist_msresnet50", root, spec)
    monai_bundle(
        "run",
        "--config_file",
        str(root / "configs" / "train.json"),
        "--bundle_root",
        str(root),
        "--epochs",
        "1",
        "--limit",
        "16",
        "--batch_size",
        "8",
        "--num_workers",
        "0",
    )
    return root
