"""Small synthetic predictions/labels CSVs written with the format's own constants."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pytest

from medms.tables import STATUS_FAILED, STATUS_OK, prediction_columns

CLASSES = ["benign", "malignant"]


def write_predictions(
    path: Path,
    ids: Sequence[str],
    probs: np.ndarray,
    class_names: Sequence[str] = CLASSES,
    failed: Mapping[str, str] | None = None,
) -> Path:
    """A predictions CSV as ``medms predict`` writes it; ids in ``failed`` get empty probabilities."""
    failed = failed or {}
    lines = [",".join(prediction_columns(class_names))]
    for i, row in zip(ids, np.atleast_2d(probs), strict=True):
        if i in failed:
            lines.append(f"{i},src/{i},{',' * (len(class_names) - 1)},,{STATUS_FAILED},{failed[i]}")
        else:
            values = ",".join(f"{v:.6f}" for v in row)
            lines.append(f"{i},src/{i},{values},{class_names[int(np.argmax(row))]},{STATUS_OK},")
    path.write_text("\n".join(lines) + "\n")
    return path


def write_labels(path: Path, ids: Sequence[str], labels: Sequence[object], **extra: Sequence[object]) -> Path:
    """A labels CSV with ``id``, ``label`` and the ``extra`` columns."""
    header = ",".join(["id", "label", *extra])
    rows = [
        ",".join(map(str, [i, lab, *(col[k] for col in extra.values())]))
        for k, (i, lab) in enumerate(zip(ids, labels, strict=True))
    ]
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def binary_scores(n: int, seed: int, *, signal: float = 0.4) -> tuple[np.ndarray, np.ndarray]:
    """Labels (both classes) and (n, 2) probabilities whose positive column carries some signal."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    rng.shuffle(y)
    p = np.clip(signal * y + rng.uniform(0, 1 - signal, n), 0, 1)
    return y, np.column_stack([1 - p, p])


def make_binary_case(tmp_path: Path) -> dict[str, object]:
    """40 test cases (2 failed), 30 validation cases, one labels file covering both, a site column."""
    y, probs = binary_scores(40, seed=1)
    ids = [f"t{k:02d}" for k in range(40)]
    vy, vprobs = binary_scores(30, seed=2)
    vids = [f"v{k:02d}" for k in range(30)]
    failed = {"t03": "cannot decode pixel data", "t11": "no image"}
    write_predictions(tmp_path / "test.csv", ids, probs, failed=failed)
    write_predictions(tmp_path / "val.csv", vids, vprobs)
    sites = ["A" if k % 3 else "B" for k in range(70)]
    write_labels(tmp_path / "labels.csv", ids + vids, [*y, *vy], site=sites)
    write_labels(tmp_path / "test_labels.csv", ids, y, site=sites[:40])
    return {"dir": tmp_path, "y": y, "probs": probs, "ids": ids, "vy": vy, "vprobs": vprobs, "failed": failed}


@pytest.fixture
def binary_case(tmp_path: Path) -> dict[str, object]:
    """:func:`make_binary_case` in a fresh folder per test."""
    return make_binary_case(tmp_path)
