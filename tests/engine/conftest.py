from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def breastmnist_npz() -> Path:
    return ROOT / "sample_data" / "medmnist" / "breastmnist.npz"
