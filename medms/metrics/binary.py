"""Binary diagnostic metrics at one decision threshold, each with a confidence interval."""

from __future__ import annotations

import math

import numpy as np

from medms.metrics._checks import check_binary
from medms.metrics.estimate import Estimate
from medms.metrics.intervals import bootstrap_estimate, bootstrap_samples, proportion, z_value

__all__ = ["AT_THRESHOLD_METRICS", "binary_metrics", "likelihood_ratios", "rates_from_counts"]

AT_THRESHOLD_METRICS = (
    "sensitivity",
    "specificity",
    "ppv",
    "npv",
    "accuracy",
    "balanced_accuracy",
    "f1",
    "mcc",
    "kappa",
    "lr_positive",
    "lr_negative",
)
_BOOTSTRAPPED = ("balanced_accuracy", "f1", "mcc", "kappa")
LOG_METHOD = "log method (Simel 1991)"


def rates_from_counts(
    tp: float | np.ndarray, fp: float | np.ndarray, tn: float | np.ndarray, fn: float | np.ndarray
) -> dict[str, np.ndarray]:
    """Every at-threshold metric from confusion counts; works on scalars and on arrays of resamples.

    Undefined ratios (0/0, x/0) come out as NaN, never as an error or as a conventional 0.

    Example:
        >>> r = rates_from_counts(40, 10, 90, 10)
        >>> float(r["sensitivity"]), float(r["specificity"])
        (0.8, 0.9)
    """
    tp, fp, tn, fn = (np.asarray(c, dtype=np.float64) for c in (tp, fp, tn, fn))
    n = tp + fp + tn + fn
    with np.errstate(divide="ignore", invalid="ignore"):
        sens = tp / (tp + fn)
        spec = tn / (tn + fp)
        out = {
            "sensitivity": sens,
            "specificity": spec,
            "ppv": tp / (tp + fp),
            "npv": tn / (tn + fn),
            "accuracy": (tp + tn) / n,
            "balanced_accuracy": (sens + spec) / 2.0,
            "f1": 2.0 * tp / (2.0 * tp + fp + fn),
            "mcc": (tp * tn - fp * fn) / np.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn)),
        }
        expected = ((tp + fp) * (tp + fn) + (fn + tn) * (fp + tn)) / (n * n)
        out["kappa"] = (out["accuracy"] - expected) / (1.0 - expected)
        # A zero denominator means an infinite ratio; report it as undefined rather than inf.
        out["lr_positive"] = np.where(fp > 0, sens / (1.0 - spec), np.nan)
        out["lr_negative"] = np.where(spec > 0, (1.0 - sens) / spec, np.nan)
    return out


def _log_ratio(a: int, n_a: int, b: int, n_b: int, level: float, name: str) -> Estimate:
    """(a/n_a) / (b/n_b) with the log-method interval used for likelihood ratios."""
    if n_a == 0 or n_b == 0:
        return Estimate.undefined(LOG_METHOD, "only one class present")
    if b == 0:
        return Estimate.undefined(LOG_METHOD, f"{name} is infinite (denominator proportion is 0)")
    value = (a / n_a) / (b / n_b)
    if a == 0:
        return Estimate(value, math.nan, math.nan, LOG_METHOD, "numerator count is 0: no log-scale interval")
    se = math.sqrt(1.0 / a - 1.0 / n_a + 1.0 / b - 1.0 / n_b)
    z = z_value(level)
    return Estimate(value, value * math.exp(-z * se), value * math.exp(z * se), LOG_METHOD)


def likelihood_ratios(tp: int, fp: int, tn: int, fn: int, level: float = 0.95) -> dict[str, Estimate]:
    """LR+ = sens / (1 - spec) and LR- = (1 - sens) / spec with log-method intervals.

    Example:
        >>> round(likelihood_ratios(40, 10, 90, 10)["lr_positive"].value, 2)
        8.0
    """
    n_pos, n_neg = tp + fn, tn + fp
    return {
        "lr_positive": _log_ratio(tp, n_pos, fp, n_neg, level, "LR+"),
        "lr_negative": _log_ratio(fn, n_pos, tn, n_neg, level, "LR-"),
    }


def binary_metrics(
    y_true: np.ndarray,
    score: np.ndarray,
    threshold: float = 0.5,
    *,
    level: float = 0.95,
    n_bootstrap: int = 2000,
    seed: int = 0,
) -> dict[str, Estimate | dict[str, int]]:
    """Sensitivity, specificity, PPV, NPV, accuracy, balanced accuracy, F1, MCC, kappa, LR+ and LR-.

    A case is called positive when ``score >= threshold``. Proportions get Wilson intervals, the
    likelihood ratios log-method intervals, the others a stratified percentile bootstrap (seeded).
    The result also holds ``"counts"``: ``{"tp", "fp", "tn", "fn"}``.

    Example:
        >>> y = np.array([0, 0, 0, 1, 1, 1])
        >>> s = np.array([0.1, 0.4, 0.6, 0.55, 0.8, 0.9])
        >>> m = binary_metrics(y, s, 0.5, n_bootstrap=200)
        >>> m["counts"], round(m["sensitivity"].value, 3)
        ({'tp': 3, 'fp': 1, 'tn': 2, 'fn': 0}, 1.0)
    """
    y, s = check_binary(y_true, score)
    pred = s >= threshold
    tp, fp = int(np.sum(pred & y)), int(np.sum(pred & ~y))
    tn, fn = int(np.sum(~pred & ~y)), int(np.sum(~pred & y))
    n_pos, n_neg = tp + fn, tn + fp
    out: dict[str, Estimate | dict[str, int]] = {
        "sensitivity": proportion(tp, n_pos, level, empty_note="no positive cases"),
        "specificity": proportion(tn, n_neg, level, empty_note="no negative cases"),
        "ppv": proportion(tp, tp + fp, level, empty_note="no case called positive"),
        "npv": proportion(tn, tn + fn, level, empty_note="no case called negative"),
        "accuracy": proportion(tp + tn, y.size, level, empty_note="no cases"),
    }
    point = rates_from_counts(tp, fp, tn, fn)
    masks = np.stack([pred & y, pred & ~y, ~pred & ~y, ~pred & y], axis=1).astype(np.float64)

    def statistic(weights: np.ndarray) -> dict[str, np.ndarray]:
        counts = weights @ masks
        rates = rates_from_counts(*counts.T)
        return {name: rates[name] for name in _BOOTSTRAPPED}

    samples = bootstrap_samples(statistic, y, n_bootstrap, seed)
    for name in _BOOTSTRAPPED:
        note = _undefined_reason(name, tp, fp, tn, fn) if not np.isfinite(point[name]) else None
        out[name] = bootstrap_estimate(float(point[name]), samples[name], level, note)
    out.update(likelihood_ratios(tp, fp, tn, fn, level))
    out["counts"] = {"tp": tp, "fp": fp, "tn": tn, "fn": fn}
    return {name: out[name] for name in (*AT_THRESHOLD_METRICS, "counts")}


def _undefined_reason(name: str, tp: int, fp: int, tn: int, fn: int) -> str:
    if tp + fn == 0 or tn + fp == 0:
        return "only one class present"
    if name == "f1":
        return "no true or predicted positives"
    return "every case was called the same class"
