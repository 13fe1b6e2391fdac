"""Same seed on CPU → same weights and same predictions: two full train + predict runs compared byte for byte."""

import numpy as np
import pytest
import torch

from medms.checkpoint import load_checkpoint
from medms.config import TrainConfig
from medms.engine import predict, train
from medms.synthetic import write_image_dicom


def _config(npz) -> TrainConfig:
    return TrainConfig.from_dict(
        {
            "data": {"npz": str(npz), "limit": 16, "class_names": ["malignant", "benign"]},
            "preprocessing": {"preset": "medmnist", "options": {"spatial_size": 32}},
            "model": {"name": "multiscale_resnet50", "options": {}},
            "train": {"epochs": 1, "batch_size": 8, "num_workers": 0, "seed": 11, "device": "cpu"},
        }
    )


@pytest.fixture(scope="module")
def images(tmp_path_factory, breastmnist_npz):
    folder = tmp_path_factory.mktemp("dicom")
    with np.load(breastmnist_npz) as data:
        for i, image in enumerate(data["test_images"][:6]):
            write_image_dicom(image, folder / f"{i}.dcm", series_uid=f"1.2.826.0.1.3680043.10.780.{i + 1}")
    return folder


def test_two_seeded_cpu_runs_give_identical_predictions(breastmnist_npz, images, tmp_path):
    outputs = []
    for name in ("first", "second"):
        run = train(_config(breastmnist_npz), tmp_path / name, progress=False)
        out = tmp_path / f"{name}.csv"
        predict(run.best_checkpoint, [images], out, num_workers=0, device="cpu", progress=False)
        weights = load_checkpoint(run.best_checkpoint)["state_dict"]
        outputs.append((out.read_bytes(), (tmp_path / name / "test_predictions.csv").read_bytes(), weights))
    (pred_a, test_a, w_a), (pred_b, test_b, w_b) = outputs
    assert pred_a.count(b"\n") == 7 and b",ok," in pred_a
    assert pred_a == pred_b and test_a == test_b
    assert w_a.keys() == w_b.keys() and all(torch.equal(w_a[k], w_b[k]) for k in w_a)
