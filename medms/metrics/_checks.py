"""Input validation shared by every metric: one place that turns bad arrays into typed errors."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from medms.errors import DataError, LabelError

ROW_SUM_TOLERANCE = 1e-4


def _examples(indices: np.ndarray, limit: int = 5) -> str:
    shown = ", ".join(str(int(i)) for i in indices[:limit])
    more = f", ... ({indices.size} in all)" if indices.size > limit else ""
    return f"rows {shown}{more}"


def check_probs(probs: object, *, n_classes: int | None = None) -> np.ndarray:
    """Return probabilities as an (n, K) float array or raise :class:`DataError`.

    A 1-D array is read as the positive-class probability of a binary problem and becomes (n, 2).
    """
    try:
        arr = np.asarray(probs, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise DataError(f"probabilities must be numbers: {err}") from err
    if arr.ndim == 1:
        arr = np.column_stack([1.0 - arr, arr])
    if arr.ndim != 2:
        raise DataError(f"probabilities must be an (n, K) array, got shape {arr.shape}")
    if arr.shape[0] == 0:
        raise DataError("no predictions: the probability array is empty")
    if arr.shape[1] < 2:
        raise DataError(f"need at least 2 class columns of probabilities, got {arr.shape[1]}")
    if n_classes is not None and arr.shape[1] != n_classes:
        raise DataError(f"probabilities have {arr.shape[1]} columns but there are {n_classes} classes")
    bad = np.flatnonzero(~np.isfinite(arr).all(axis=1))
    if bad.size:
        raise DataError(f"{bad.size} prediction rows hold NaN or infinite probabilities ({_examples(bad)})")
    bad = np.flatnonzero(((arr < 0) | (arr > 1)).any(axis=1))
    if bad.size:
        raise DataError(f"{bad.size} prediction rows hold probabilities outside [0, 1] ({_examples(bad)})")
    sums = arr.sum(axis=1)
    bad = np.flatnonzero(np.abs(sums - 1.0) > ROW_SUM_TOLERANCE)
    if bad.size:
        raise DataError(
            f"{bad.size} prediction rows do not sum to 1 within {ROW_SUM_TOLERANCE} "
            f"({_examples(bad)}; first sum {sums[bad[0]]:.6g}); pass softmax outputs, not logits"
        )
    return arr


def check_labels(y_true: object, n_classes: int, *, n: int | None = None) -> np.ndarray:
    """Return class indices as an int array in ``[0, n_classes)`` or raise :class:`LabelError`."""
    try:
        arr = np.asarray(y_true, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise LabelError(f"labels must be class indices (integers): {err}") from err
    if arr.ndim != 1:
        raise LabelError(f"labels must be a 1-D array of class indices, got shape {arr.shape}")
    if arr.size == 0:
        raise LabelError("no labels: the label array is empty")
    if n is not None and arr.size != n:
        raise LabelError(f"{arr.size} labels for {n} predictions; each prediction needs exactly one label")
    bad = np.flatnonzero(~np.isfinite(arr) | (arr != np.round(arr)))
    if bad.size:
        raise LabelError(f"{bad.size} labels are not whole class indices ({_examples(bad)})")
    bad = np.flatnonzero((arr < 0) | (arr >= n_classes))
    if bad.size:
        raise LabelError(
            f"{bad.size} labels are outside the class range 0..{n_classes - 1} "
            f"({_examples(bad)}; first value {arr[bad[0]]:g})"
        )
    return arr.astype(np.int64)


def check_binary(y_true: object, score: object, *names: str) -> tuple[np.ndarray, np.ndarray]:
    """Return (bool labels, float scores) for a binary metric; labels must be 0/1."""
    y = check_labels(y_true, 2).astype(bool)
    s = check_score(score, n=y.size, name=names[0] if names else "score")
    return y, s


def check_score(score: object, *, n: int, name: str = "score") -> np.ndarray:
    """Return a finite 1-D float score array of length ``n`` or raise :class:`DataError`."""
    try:
        s = np.asarray(score, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise DataError(f"{name} must be numbers: {err}") from err
    if s.ndim != 1 or s.size != n:
        raise DataError(f"{name} must be a 1-D array of {n} values (one per label), got shape {s.shape}")
    bad = np.flatnonzero(~np.isfinite(s))
    if bad.size:
        raise DataError(f"{bad.size} {name} values are NaN or infinite ({_examples(bad)})")
    return s


def check_class_names(class_names: Sequence[str], n_classes: int) -> list[str]:
    """Return class names as a list of str, one per probability column."""
    names = [str(c) for c in class_names]
    if len(names) != n_classes:
        raise DataError(f"{len(names)} class names for {n_classes} probability columns")
    if len(set(names)) != len(names):
        raise DataError(f"class names must be unique, got {names}")
    return names


def single_class_note(y: np.ndarray) -> str | None:
    """Why a two-class metric is undefined for boolean labels ``y``, or None when both are present."""
    n_pos = int(y.sum())
    if n_pos == 0 or n_pos == y.size:
        return f"only one class present ({n_pos} positive, {y.size - n_pos} negative)"
    return None
