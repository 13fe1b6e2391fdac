"""Calibration: does a predicted probability of 0.8 mean 80 % of such cases have the condition?"""

from __future__ import annotations

import numpy as np

from medms.errors import ConfigError
from medms.metrics._checks import check_labels, check_probs
from medms.metrics.estimate import Estimate
from medms.metrics.intervals import bootstrap_estimate, bootstrap_samples

__all__ = ["calibration", "reliability_bins"]


def reliability_bins(
    predicted: np.ndarray, outcome: np.ndarray, n_bins: int = 10
) -> tuple[float, list[dict[str, float | int]]]:
    """Expected calibration error and the reliability curve over ``n_bins`` equal-width bins of [0, 1].

    Bin k holds predictions in [k/n_bins, (k+1)/n_bins); the last bin also holds 1.0. Every bin is
    listed; an empty bin has count 0 and NaN means. ECE = sum over bins of
    (count / n) * |mean predicted - fraction positive|.

    Example:
        >>> ece, bins = reliability_bins(np.array([0.1, 0.15, 0.9]), np.array([0, 0, 1]), n_bins=2)
        >>> round(ece, 3), bins[1]["count"]
        (0.117, 1)
    """
    if n_bins < 1:
        raise ConfigError(f"n_bins must be at least 1, got {n_bins}")
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    index = np.clip(np.floor(predicted * n_bins).astype(np.int64), 0, n_bins - 1)
    counts = np.bincount(index, minlength=n_bins)
    sum_pred = np.bincount(index, weights=predicted, minlength=n_bins)
    sum_pos = np.bincount(index, weights=outcome.astype(np.float64), minlength=n_bins)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_pred = sum_pred / counts
        frac_pos = sum_pos / counts
    filled = counts > 0
    ece = float(np.sum(counts[filled] * np.abs(mean_pred[filled] - frac_pos[filled])) / predicted.size)
    bins = [
        {
            "lower": float(edges[k]),
            "upper": float(edges[k + 1]),
            "mean_predicted": float(mean_pred[k]),
            "fraction_positive": float(frac_pos[k]),
            "count": int(counts[k]),
        }
        for k in range(n_bins)
    ]
    return ece, bins


def calibration(
    y_true: np.ndarray,
    probs: np.ndarray,
    *,
    n_bins: int = 10,
    level: float = 0.95,
    n_bootstrap: int = 2000,
    seed: int = 0,
) -> dict[str, object]:
    """Brier score (with a bootstrap CI), expected calibration error and the reliability curve.

    ``y_true`` holds class indices, ``probs`` is (n, K) (or 1-D: the positive-class probability).
    Binary: Brier = mean (p - y)^2 and the curve bins the positive-class probability.
    Multi-class: Brier = mean over cases of sum over classes (p_k - [y = k])^2 (0 best, 2 worst),
    and the curve is top-label: the highest probability against whether that class was right.
    Returns ``{"brier": Estimate, "ece": float, "bins": [...], "kind": "binary" | "top-label"}``.

    Example:
        >>> c = calibration(np.array([0, 1, 1, 0]), np.array([0.2, 0.7, 0.9, 0.4]), n_bootstrap=100)
        >>> round(c["brier"].value, 3), c["kind"]
        (0.075, 'binary')
    """
    p = check_probs(probs)
    y = check_labels(y_true, p.shape[1], n=p.shape[0])
    onehot = np.eye(p.shape[1])[y]
    if p.shape[1] == 2:
        loss = (p[:, 1] - onehot[:, 1]) ** 2
        predicted, outcome, kind = p[:, 1], y == 1, "binary"
    else:
        loss = np.sum((p - onehot) ** 2, axis=1)
        top = np.argmax(p, axis=1)
        predicted, outcome, kind = p[np.arange(y.size), top], top == y, "top-label"
    samples = bootstrap_samples(lambda w: {"brier": w @ loss / y.size}, y, n_bootstrap, seed)
    brier: Estimate = bootstrap_estimate(float(loss.mean()), samples["brier"], level)
    ece, bins = reliability_bins(predicted, outcome, n_bins)
    return {"brier": brier, "ece": ece, "bins": bins, "kind": kind}
