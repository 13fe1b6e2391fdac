"""Small real datasets shipped inside the medms package (so an installed wheel has them too).

- ``breastmnist.npz``: BreastMNIST (MedMNIST v2, CC BY 4.0), 28×28 breast ultrasound, 546/78/156
  train/val/test; label 0 = malignant, 1 = normal or benign. Provenance: ``sample_data/PROVENANCE.md`` of the
  source tree (``sample_data/medmnist/breastmnist.npz`` there is a link to this file).

Example:
    >>> import numpy as np
    >>> with np.load(breastmnist_path()) as data:
    ...     data["test_images"].shape
    (156, 28, 28)
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from medms.errors import ConfigError

__all__ = ["BREASTMNIST_CLASS_NAMES", "breastmnist_path"]

#: BreastMNIST labels: 0 = malignant, 1 = normal or benign (MedMNIST's AUC uses the class-1 score).
BREASTMNIST_CLASS_NAMES = ["malignant", "normal_or_benign"]


def breastmnist_path() -> Path:
    """The path of the packaged BreastMNIST archive (a real file inside the installed package).

    Raises:
        ConfigError: the package was installed without its data files.
    """
    path = Path(str(resources.files("medms.datasets").joinpath("breastmnist.npz")))
    if not path.is_file():
        raise ConfigError(
            "the medms package was installed without datasets/breastmnist.npz; reinstall it", path=path
        )
    return path
