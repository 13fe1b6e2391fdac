"""ROC and precision-recall: DeLong AUC intervals, the paired DeLong test, curve points, AP."""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import norm, rankdata
from sklearn.metrics import precision_recall_curve, roc_curve

from medms.metrics._checks import check_binary, check_score, single_class_note
from medms.metrics.estimate import Estimate
from medms.metrics.intervals import bootstrap_estimate, bootstrap_samples, z_value

__all__ = [
    "RankedCases",
    "average_precision",
    "delong_auc",
    "delong_test",
    "pr_points",
    "roc_points",
    "weighted_auc_ap",
]


DELONG = "DeLong"


def _delong_components(y: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """AUCs and their DeLong covariance for k score rows ``scores`` (k, n) on the same cases.

    Uses the midrank formulation of Sun & Xu (2014): O(n log n) instead of the O(n^2) pair sum.
    """
    pos, neg = scores[:, y], scores[:, ~y]
    m, n = pos.shape[1], neg.shape[1]
    tx = rankdata(pos, axis=1)
    ty = rankdata(neg, axis=1)
    tz = rankdata(np.concatenate([pos, neg], axis=1), axis=1)
    aucs = (tz[:, :m].sum(axis=1) - m * (m + 1) / 2.0) / (m * n)
    v01 = (tz[:, :m] - tx) / n  # per positive: share of negatives it outranks
    v10 = 1.0 - (tz[:, m:] - ty) / m  # per negative: share of positives that outrank it
    k = scores.shape[0]
    if m < 2 or n < 2:  # a sample covariance needs two cases per class
        return aucs, np.full((k, k), np.nan)
    cov = np.atleast_2d(np.cov(v01)) / m + np.atleast_2d(np.cov(v10)) / n
    return aucs, cov


def delong_auc(y_true: np.ndarray, score: np.ndarray, *, level: float = 0.95) -> Estimate:
    """ROC AUC with DeLong's confidence interval (normal approximation, clipped to [0, 1]).

    ``y_true`` holds 0/1 labels, ``score`` any real-valued score where higher means "more positive".
    Ties count one half, as in scikit-learn's ``roc_auc_score``.

    Example:
        >>> est = delong_auc(np.array([0, 0, 1, 1, 0, 1]), np.array([0.1, 0.4, 0.35, 0.8, 0.2, 0.7]))
        >>> round(est.value, 3), est.method
        (0.889, 'DeLong')
    """
    y, s = check_binary(y_true, score)
    note = single_class_note(y)
    if note:
        return Estimate.undefined(DELONG, f"AUC undefined: {note}")
    aucs, cov = _delong_components(y, s[None, :])
    auc, var = float(aucs[0]), float(cov[0, 0])
    if not math.isfinite(var):
        return Estimate(auc, math.nan, math.nan, DELONG, "too few cases in one class for a DeLong variance")
    half = z_value(level) * math.sqrt(max(var, 0.0))
    note = None
    if half == 0.0:
        note = "DeLong variance is 0 (the classes are perfectly separated): the interval is a single point"
    return Estimate(auc, max(0.0, auc - half), min(1.0, auc + half), DELONG, note)


def delong_test(
    y_true: np.ndarray, score_a: np.ndarray, score_b: np.ndarray, *, level: float = 0.95
) -> dict[str, Estimate | float | str | None]:
    """Paired DeLong test of two correlated AUCs on the same cases.

    Returns ``{"auc_a", "auc_b", "difference"}`` (Estimates; difference is A - B with its CI),
    ``"z"``, ``"p_value"`` (two-sided) and ``"note"`` (why a value is NaN, else None).

    Example:
        >>> y = np.array([0, 0, 0, 1, 1, 1])
        >>> r = delong_test(y, np.array([.1, .2, .6, .5, .8, .9]), np.array([.1, .2, .3, .6, .8, .9]))
        >>> round(r["difference"].value, 3)
        -0.111
    """
    y, a = check_binary(y_true, score_a, "score_a")
    b = check_score(score_b, n=y.size, name="score_b")
    note = single_class_note(y)
    if note:
        undefined = Estimate.undefined(DELONG, f"AUC undefined: {note}")
        return {"auc_a": undefined, "auc_b": undefined, "difference": undefined,
                "z": math.nan, "p_value": math.nan, "note": note}  # fmt: skip
    aucs, cov = _delong_components(y, np.stack([a, b]))
    z_crit = z_value(level)
    ests = []
    for k in range(2):
        half = z_crit * math.sqrt(max(cov[k, k], 0.0))
        ests.append(Estimate(float(aucs[k]), max(0.0, aucs[k] - half), min(1.0, aucs[k] + half), DELONG))
    diff = float(aucs[0] - aucs[1])
    var = float(cov[0, 0] + cov[1, 1] - 2.0 * cov[0, 1])
    note = None
    if not math.isfinite(var):
        note = "too few cases in one class for a DeLong variance"
        z = p = low = high = math.nan
    elif var <= 1e-15:
        note = "the two scores rank every case pair identically: no variance of the difference"
        z = p = low = high = math.nan
    else:
        se = math.sqrt(var)
        z = diff / se
        p = float(2.0 * norm.sf(abs(z)))
        low, high = diff - z_crit * se, diff + z_crit * se
    difference = Estimate(diff, low, high, "DeLong (paired)", note)
    return {"auc_a": ests[0], "auc_b": ests[1], "difference": difference, "z": z, "p_value": p, "note": note}


def roc_points(y_true: np.ndarray, score: np.ndarray) -> dict[str, list[float]]:
    """ROC curve points ``{"fpr", "tpr", "thresholds"}`` (scikit-learn's, minus collinear points).

    The first point (0, 0) calls nothing positive; its threshold is NaN (scikit-learn uses +inf,
    which JSON cannot hold). Empty lists when only one class is present.
    """
    y, s = check_binary(y_true, score)
    if single_class_note(y):
        return {"fpr": [], "tpr": [], "thresholds": []}
    fpr, tpr, thr = roc_curve(y, s)
    thr = np.where(np.isfinite(thr), thr, np.nan)
    return {"fpr": fpr.tolist(), "tpr": tpr.tolist(), "thresholds": thr.tolist()}


def pr_points(y_true: np.ndarray, score: np.ndarray) -> dict[str, list[float]]:
    """Precision-recall points ``{"precision", "recall", "thresholds"}``, all the same length.

    Points that do not change the curve's shape are dropped (scikit-learn's ``drop_intermediate``).
    The last point (recall 0, precision 1) has no threshold of its own; its threshold is NaN.
    Empty lists when there are no positive cases.
    """
    y, s = check_binary(y_true, score)
    if not y.any():
        return {"precision": [], "recall": [], "thresholds": []}
    precision, recall, thr = precision_recall_curve(y, s, drop_intermediate=True)
    thr = np.append(thr, np.nan)
    return {"precision": precision.tolist(), "recall": recall.tolist(), "thresholds": thr.tolist()}


class RankedCases:
    """Cases sorted by descending score once, so many bootstrap weightings reuse the same sort.

    Example:
        >>> ranked = RankedCases(np.array([False, True, True]), np.array([0.2, 0.9, 0.1]))
        >>> auc, ap = ranked.auc_ap(np.ones((1, 3)))
        >>> float(auc[0])
        0.5
    """

    def __init__(self, y: np.ndarray, score: np.ndarray) -> None:
        self.order = np.argsort(-score, kind="mergesort")
        s = score[self.order]
        self.y = y[self.order].astype(np.float64)
        tied = s[1:] == s[:-1]
        # Last case of each group of tied scores; None when there are no ties (skips a copy).
        self.ends = np.r_[np.flatnonzero(~tied), s.size - 1] if tied.any() else None

    def auc_ap(self, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """ROC AUC and average precision, each (b,), for case weights (b, n) in the original order."""
        w = weights[:, self.order]
        tps = np.cumsum(w * self.y, axis=1)
        fps = np.cumsum(w, axis=1)
        fps -= tps
        if self.ends is not None:
            tps, fps = tps[:, self.ends], fps[:, self.ends]
        total_pos, total_neg = tps[:, -1], fps[:, -1]
        d_tps = np.diff(tps, axis=1, prepend=0.0)
        d_fps = np.diff(fps, axis=1, prepend=0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            # Trapezoids under the ROC steps: a tie between a positive and a negative counts one half.
            auc = np.sum(d_fps * (2.0 * tps - d_tps), axis=1) / (2.0 * total_pos * total_neg)
            called = tps + fps
            # Where nothing is called positive yet, recall does not move: precision's value is irrelevant.
            precision = tps / np.where(called > 0, called, 1.0)
            ap = np.sum(d_tps * precision, axis=1) / total_pos
        return auc, ap


def weighted_auc_ap(y: np.ndarray, score: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ROC AUC and average precision for every row of case ``weights`` (b, n) at once.

    ``y`` is boolean. With all weights 1 this equals scikit-learn's ``roc_auc_score`` and
    ``average_precision_score``; with bootstrap multiplicities it gives each resample's values.
    """
    return RankedCases(y, score).auc_ap(weights)


def average_precision(
    y_true: np.ndarray, score: np.ndarray, *, level: float = 0.95, n_bootstrap: int = 2000, seed: int = 0
) -> Estimate:
    """Average precision (area under the PR curve, step-wise) with a stratified bootstrap interval.

    Example:
        >>> y = np.array([0, 0, 1, 1, 0, 1])
        >>> round(average_precision(y, np.array([.1, .4, .35, .8, .2, .7]), n_bootstrap=100).value, 3)
        0.917
    """
    y, s = check_binary(y_true, score)
    note = single_class_note(y)
    if note:
        return Estimate.undefined(f"stratified bootstrap percentile ({n_bootstrap} resamples)", note)
    value = float(weighted_auc_ap(y, s, np.ones((1, y.size)))[1][0])
    ranked = RankedCases(y, s)
    samples = bootstrap_samples(lambda w: {"ap": ranked.auc_ap(w)[1]}, y, n_bootstrap, seed)
    return bootstrap_estimate(value, samples["ap"], level)
