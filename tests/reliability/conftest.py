from pathlib import Path

import pytest
import torch

from medms.checkpoint import save_checkpoint
from medms.networks import build_network

ROOT = Path(__file__).resolve().parents[2]
CLASSES = ["negative", "positive"]


def write_checkpoint(path: Path, seed: int = 0) -> Path:
    """An untrained 2D classifier with the CT/MR slice preset at 32² (the numbers do not matter here)."""
    torch.manual_seed(seed)
    model = build_network("multiscale_resnet50", spatial_dims=2, in_channels=1, num_classes=2)
    save_checkpoint(
        {
            "model": {"name": "multiscale_resnet50", "options": model.config},
            "preprocessing": {"preset": "ct_mr_slice", "options": {"spatial_size": 32}},
            "class_names": CLASSES,
            "state_dict": model.state_dict(),
        },
        path,
    )
    return path


@pytest.fixture(scope="session")
def checkpoint(tmp_path_factory) -> Path:
    return write_checkpoint(tmp_path_factory.mktemp("ckpt") / "model.pt")


@pytest.fixture(scope="session")
def breastmnist_npz() -> Path:
    return ROOT / "sample_data" / "medmnist" / "breastmnist.npz"
