"""Choosing an operating threshold (on a separate set) and tabulating metrics over thresholds."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.metrics import roc_curve

from medms.errors import ConfigError, LabelError
from medms.metrics._checks import check_binary, single_class_note
from medms.metrics.binary import rates_from_counts

__all__ = ["THRESHOLD_METHODS", "select_threshold", "threshold_table"]

THRESHOLD_METHODS = ("youden", "sensitivity", "specificity", "fixed")
DEFAULT_TABLE_THRESHOLDS = tuple(round(0.1 * k, 1) for k in range(1, 10))


def select_threshold(
    y_true: np.ndarray, score: np.ndarray, method: str = "youden", *, target: float | None = None
) -> float:
    """Choose the threshold (a case is positive when ``score >= threshold``) on labelled data.

    Run it on validation predictions and apply the result to the test set; choosing it on the test
    set itself makes the test metrics optimistic.

    - ``"youden"``: maximises Youden's J = sensitivity + specificity - 1 (the highest such threshold).
    - ``"sensitivity"``: the highest threshold whose sensitivity is at least ``target``
      (so the best specificity that still reaches the sensitivity target).
    - ``"specificity"``: the lowest threshold whose specificity is at least ``target``.
    - ``"fixed"``: returns ``target`` unchanged (the labels are not looked at).

    Example:
        >>> y = np.array([0, 0, 0, 1, 1, 1])
        >>> s = np.array([0.1, 0.3, 0.6, 0.5, 0.8, 0.9])
        >>> select_threshold(y, s, "youden")
        0.8
        >>> select_threshold(y, s, "sensitivity", target=1.0)
        0.5
    """
    if method not in THRESHOLD_METHODS:
        raise ConfigError(
            f"unknown threshold method {method!r}; choose one of {', '.join(THRESHOLD_METHODS)}"
        )
    if method != "youden":
        if target is None:
            raise ConfigError(f"threshold method {method!r} needs a target value")
        if method == "fixed":
            return float(target)
        if not 0.0 <= target <= 1.0:
            raise ConfigError(f"target {method} must be in [0, 1], got {target}")
    y, s = check_binary(y_true, score)
    note = single_class_note(y)
    if note:
        raise LabelError(f"cannot select a threshold by {method!r}: {note} in the selection set")
    fpr, tpr, thr = roc_curve(y, s, drop_intermediate=False)
    finite = np.isfinite(thr)  # the first point (+inf) calls nothing positive
    fpr, tpr, thr = fpr[finite], tpr[finite], thr[finite]
    if method == "youden":
        j = tpr - fpr
        return float(thr[int(np.argmax(j >= j.max() - 1e-12))])
    if method == "sensitivity":
        # tpr rises as the threshold falls; the first hit is the highest threshold meeting the target.
        return float(thr[int(np.argmax(tpr >= target - 1e-12))])
    ok = np.flatnonzero(1.0 - fpr >= target - 1e-12)
    if ok.size == 0:
        # Even the highest score lets too many negatives through: only calling nothing positive works.
        return float(np.nextafter(s.max(), np.inf))
    return float(thr[ok[-1]])


def threshold_table(
    y_true: np.ndarray, score: np.ndarray, thresholds: Sequence[float] | None = None
) -> list[dict[str, float | int]]:
    """Metrics at several thresholds: one dict per threshold (point values, no intervals).

    Keys: threshold, sensitivity, specificity, ppv, npv, accuracy, balanced_accuracy, f1, mcc,
    kappa, lr_positive, lr_negative, tp, fp, tn, fn, n_called_positive. Undefined values are NaN.
    Default thresholds are 0.1, 0.2, ..., 0.9.

    Example:
        >>> rows = threshold_table(np.array([0, 1, 1]), np.array([0.2, 0.6, 0.9]), [0.5])
        >>> rows[0]["sensitivity"], rows[0]["tp"]
        (1.0, 2)
    """
    y, s = check_binary(y_true, score)
    thr = np.asarray(DEFAULT_TABLE_THRESHOLDS if thresholds is None else thresholds, dtype=np.float64)
    pred = s[None, :] >= thr[:, None]
    tp = (pred & y).sum(axis=1)
    fp = (pred & ~y).sum(axis=1)
    tn = (~pred & ~y).sum(axis=1)
    fn = (~pred & y).sum(axis=1)
    rates = rates_from_counts(tp, fp, tn, fn)
    rows = []
    for k, t in enumerate(thr):
        row: dict[str, float | int] = {"threshold": float(t)}
        row.update({name: float(values[k]) for name, values in rates.items()})
        row.update({"tp": int(tp[k]), "fp": int(fp[k]), "tn": int(tn[k]), "fn": int(fn[k])})
        row["n_called_positive"] = int(tp[k] + fp[k])
        rows.append(row)
    return rows
