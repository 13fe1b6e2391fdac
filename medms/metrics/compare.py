"""Paired comparison of two models scored on the same cases."""

from __future__ import annotations

import numpy as np

from medms.errors import DataError
from medms.metrics._checks import check_labels, check_probs
from medms.metrics.binary import rates_from_counts
from medms.metrics.estimate import Estimate, to_jsonable
from medms.metrics.intervals import bootstrap_estimate, bootstrap_samples
from medms.metrics.multiclass import rates_from_confusion
from medms.metrics.roc import RankedCases, delong_test

__all__ = ["compare"]

_BINARY_RATES = ("sensitivity", "specificity", "ppv", "npv", "accuracy", "balanced_accuracy", "f1")
_MULTI_RATES = ("accuracy", "balanced_accuracy", "macro_f1", "kappa")


def _paired(
    point_a: dict[str, float],
    point_b: dict[str, float],
    samples: dict[str, np.ndarray],
    names: tuple[str, ...],
    level: float,
) -> dict[str, dict[str, Estimate]]:
    out = {}
    for name in names:
        diff = float(point_a[name] - point_b[name])
        out[name] = {
            "a": bootstrap_estimate(float(point_a[name]), samples[f"a_{name}"], level),
            "b": bootstrap_estimate(float(point_b[name]), samples[f"b_{name}"], level),
            "difference": bootstrap_estimate(diff, samples[f"a_{name}"] - samples[f"b_{name}"], level),
        }
    return out


def compare(
    y_true: np.ndarray,
    probs_a: np.ndarray,
    probs_b: np.ndarray,
    *,
    threshold: float = 0.5,
    level: float = 0.95,
    n_bootstrap: int = 2000,
    seed: int = 0,
) -> dict[str, object]:
    """Compare model A with model B on the same cases; differences are A - B. JSON-ready dict.

    Binary (K = 2): ``auc_a``, ``auc_b``, ``difference`` (Estimates as dicts), ``z`` and two-sided
    ``p_value`` from the paired DeLong test; ``at_threshold`` holds, for sensitivity, specificity,
    ppv, npv, accuracy, balanced_accuracy and f1 at ``threshold``, ``{"a", "b", "difference"}``
    with paired stratified bootstrap intervals (both models scored on the same resamples).
    Multi-class: the AUC entries are macro one-vs-rest AUCs with a paired bootstrap (``z`` and
    ``p_value`` NaN), and ``at_threshold`` compares the argmax predictions.

    Example:
        >>> rng = np.random.default_rng(1)
        >>> y = rng.integers(0, 2, 200)
        >>> a = np.clip(0.3 * y + rng.uniform(0, 0.7, 200), 0, 1)
        >>> b = rng.uniform(0, 1, 200)
        >>> r = compare(y, a, b, n_bootstrap=200)
        >>> r["p_value"] < 0.05, r["difference"]["value"] > 0
        (True, True)
    """
    pa, pb = check_probs(probs_a), check_probs(probs_b)
    if pa.shape != pb.shape:
        raise DataError(f"models A and B have different prediction shapes: {pa.shape} and {pb.shape}")
    k = pa.shape[1]
    y = check_labels(y_true, k, n=pa.shape[0])
    if k == 2:
        result = _compare_binary(y, pa[:, 1], pb[:, 1], threshold, level, n_bootstrap, seed)
    else:
        result = _compare_multiclass(y, pa, pb, level, n_bootstrap, seed)
    result.update({"n": int(y.size), "level": level, "n_bootstrap": n_bootstrap, "seed": seed})
    return to_jsonable(result)  # type: ignore[return-value]


def _compare_binary(
    y: np.ndarray, a: np.ndarray, b: np.ndarray, threshold: float, level: float, n_bootstrap: int, seed: int
) -> dict[str, object]:
    result: dict[str, object] = dict(delong_test(y, a, b, level=level))
    result["method"] = "paired DeLong test"
    result["threshold"] = float(threshold)
    yb = y.astype(bool)

    def cells(score: np.ndarray) -> np.ndarray:
        pred = score >= threshold
        return np.stack([pred & yb, pred & ~yb, ~pred & ~yb, ~pred & yb], axis=1).astype(np.float64)

    cells_a, cells_b = cells(a), cells(b)

    def statistic(weights: np.ndarray) -> dict[str, np.ndarray]:
        ra, rb = rates_from_counts(*(weights @ cells_a).T), rates_from_counts(*(weights @ cells_b).T)
        return {f"{tag}_{n}": r[n] for tag, r in (("a", ra), ("b", rb)) for n in _BINARY_RATES}

    samples = bootstrap_samples(statistic, y, n_bootstrap, seed)
    point_a = rates_from_counts(*cells_a.sum(axis=0))
    point_b = rates_from_counts(*cells_b.sum(axis=0))
    result["at_threshold"] = _paired(point_a, point_b, samples, _BINARY_RATES, level)
    return result


def _compare_multiclass(
    y: np.ndarray, pa: np.ndarray, pb: np.ndarray, level: float, n_bootstrap: int, seed: int
) -> dict[str, object]:
    k = pa.shape[1]
    onehot = np.eye(k, dtype=bool)[y]
    present = [j for j in range(k) if 0 < onehot[:, j].sum() < y.size]
    cells = {tag: np.eye(k * k)[y * k + np.argmax(p, axis=1)] for tag, p in (("a", pa), ("b", pb))}

    ranked = {tag: [RankedCases(onehot[:, j], p[:, j]) for j in present] for tag, p in (("a", pa), ("b", pb))}

    def statistic(weights: np.ndarray) -> dict[str, np.ndarray]:
        out = {}
        for tag in ("a", "b"):
            aucs = [r.auc_ap(weights)[0] for r in ranked[tag]]
            out[f"{tag}_auc"] = np.mean(aucs, axis=0) if aucs else np.full(weights.shape[0], np.nan)
            rates = rates_from_confusion((weights @ cells[tag]).reshape(-1, k, k))
            out.update({f"{tag}_{n}": rates[n] for n in _MULTI_RATES})
        return out

    point = statistic(np.ones((1, y.size)))
    samples = bootstrap_samples(statistic, y, n_bootstrap, seed)
    point_a = {n: point[f"a_{n}"][0] for n in ("auc", *_MULTI_RATES)}
    point_b = {n: point[f"b_{n}"][0] for n in ("auc", *_MULTI_RATES)}
    auc = _paired(point_a, point_b, samples, ("auc",), level)["auc"]
    return {
        "auc_a": auc["a"],
        "auc_b": auc["b"],
        "difference": auc["difference"],
        "z": float("nan"),
        "p_value": float("nan"),
        "method": "paired stratified bootstrap of the macro one-vs-rest AUC",
        "note": "DeLong's test applies to binary AUCs; no p-value for the multi-class macro AUC",
        "threshold": None,
        "at_threshold": _paired(point_a, point_b, samples, _MULTI_RATES, level),
    }
