"""DICOM path vs array path: the same BreastMNIST test images, the same checkpoint, the same probabilities?

`medms demo` predicts the test images twice: from the in-memory arrays at the end of training
(`run/test_predictions.csv`) and from the DICOM files it wrote, through `medms predict` (`predictions.csv`).

    python benchmarks/check_consistency.py medms-demo
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd


def main(folder: Path) -> None:
    dicom = pd.read_csv(folder / "predictions.csv")
    array = pd.read_csv(folder / "run" / "test_predictions.csv")
    labels = pd.read_csv(folder / "labels.csv")
    dicom = dicom.merge(labels[["id", "split_index"]], on="id")
    dicom["array_id"] = dicom["split_index"].map(lambda i: f"test-{i:05d}")
    both = dicom.merge(array, left_on="array_id", right_on="id", suffixes=("_dicom", "_array"))
    probs = [c for c in array.columns if c.startswith("prob_")]
    diff = max(float(np.abs(both[f"{c}_dicom"] - both[f"{c}_array"]).max()) for c in probs)
    same = bool((both["predicted_dicom"] == both["predicted_array"]).all())
    print(
        f"{len(both)} images; max |p_dicom - p_array| = {diff:.2e} (CSV precision 1e-6); same predicted class: {same}"
    )
    if len(both) != len(array) or diff > 1e-5 or not same:
        sys.exit(1)


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "medms-demo"))
