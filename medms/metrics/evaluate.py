"""One call that computes every metric of a classifier's predictions, as a JSON-ready dict."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from medms.errors import ConfigError
from medms.metrics._checks import check_class_names, check_labels, check_probs, single_class_note
from medms.metrics.binary import binary_metrics
from medms.metrics.calibration import calibration
from medms.metrics.estimate import to_jsonable
from medms.metrics.multiclass import confusion_matrix, multiclass_metrics, one_vs_rest
from medms.metrics.roc import average_precision, delong_auc, pr_points, roc_points
from medms.metrics.subgroup import subgroup_table
from medms.metrics.threshold import (
    DEFAULT_TABLE_THRESHOLDS,
    THRESHOLD_METHODS,
    select_threshold,
    threshold_table,
)

__all__ = ["SCHEMA_VERSION", "evaluate_scores"]

SCHEMA_VERSION = "1"
DEFAULT_THRESHOLD = 0.5


def _choose_threshold(
    threshold: float | None,
    threshold_from: tuple[np.ndarray, np.ndarray] | None,
    method: str,
    target: float | None,
) -> dict[str, object]:
    """Decide the binary operating threshold, recording where it came from; never from the test set."""
    if method not in THRESHOLD_METHODS:
        raise ConfigError(
            f"unknown threshold method {method!r}; choose one of {', '.join(THRESHOLD_METHODS)}"
        )
    if target is not None and method not in ("sensitivity", "specificity"):
        raise ConfigError(
            f"a target applies to threshold_method 'sensitivity' or 'specificity', not {method!r}"
        )
    if threshold is not None and threshold_from is not None:
        raise ConfigError("give either a fixed threshold or threshold_from (a selection set), not both")
    if threshold_from is not None:
        if method == "fixed":
            raise ConfigError(
                "threshold_from needs threshold_method 'youden', 'sensitivity' or 'specificity'; "
                "for a fixed value pass threshold instead"
            )
        y_sel, p_sel = threshold_from
        p_sel = check_probs(p_sel, n_classes=2)
        y_sel = check_labels(y_sel, 2, n=p_sel.shape[0])
        value = select_threshold(y_sel, p_sel[:, 1], method, target=target)
        return {"value": value, "method": method, "target": target, "source": "selection set",
                "n_selection": int(y_sel.size)}  # fmt: skip
    if method != "fixed":
        raise ConfigError(
            f"threshold_method {method!r} chooses the threshold from labelled data: pass threshold_from "
            "(validation predictions and labels); tuning it on the test set would bias the results"
        )
    if threshold is not None:
        return {"value": float(threshold), "method": "fixed", "target": None, "source": "user",
                "n_selection": None}  # fmt: skip
    return {"value": DEFAULT_THRESHOLD, "method": "fixed", "target": None, "source": "default",
            "n_selection": None}  # fmt: skip


def _binary(y: np.ndarray, p: np.ndarray, names: list[str], thr: float, opts: dict) -> dict[str, object]:
    score = p[:, 1]
    pred = (score >= thr).astype(np.int64)
    table_thresholds = sorted({*DEFAULT_TABLE_THRESHOLDS, thr})
    return {
        "prevalence": float(np.mean(y == 1)),
        "auc": delong_auc(y, score, level=opts["level"]),
        "average_precision": average_precision(y, score, **opts),
        "at_threshold": binary_metrics(y, score, thr, **opts),
        "roc": roc_points(y, score),
        "pr": pr_points(y, score),
        "confusion_matrix": confusion_matrix(y, pred, labels=names),
        "threshold_table": threshold_table(y, score, table_thresholds),
        "per_class": None,
        "averages": None,
    }


def _multiclass(y: np.ndarray, p: np.ndarray, names: list[str], opts: dict) -> dict[str, object]:
    k = p.shape[1]
    pred = np.argmax(p, axis=1)
    onehot = np.eye(k, dtype=np.int64)[y]
    ovr = one_vs_rest(y, p, class_names=names, **opts)
    per_class = []
    for j, name in enumerate(names):
        yj, called = onehot[:, j], (pred == j).astype(np.float64)
        per_class.append({
            "class": name,
            "n": int(yj.sum()),
            "prevalence": float(yj.mean()),
            "auc": delong_auc(yj, p[:, j], level=opts["level"]),
            "average_precision": ovr["per_class_average_precision"][j],
            "at_threshold": binary_metrics(yj, called, 0.5, **opts),
            "roc": roc_points(yj, p[:, j]),
            "pr": pr_points(yj, p[:, j]),
        })  # fmt: skip
    return {
        "prevalence": {name: float(np.mean(y == j)) for j, name in enumerate(names)},
        "auc": ovr["auc"]["macro"],
        "average_precision": ovr["average_precision"]["macro"],
        "at_threshold": multiclass_metrics(y, p, **opts),
        "roc": roc_points(onehot.ravel(), p.ravel()),
        "pr": pr_points(onehot.ravel(), p.ravel()),
        "confusion_matrix": confusion_matrix(y, pred, labels=names),
        "threshold_table": [],
        "per_class": per_class,
        "averages": ovr["auc"],
    }


def evaluate_scores(
    y_true: np.ndarray,
    probs: np.ndarray,
    *,
    class_names: Sequence[str],
    threshold: float | None = None,
    threshold_from: tuple[np.ndarray, np.ndarray] | None = None,
    threshold_method: str = "fixed",
    target: float | None = None,
    level: float = 0.95,
    n_bootstrap: int = 2000,
    seed: int = 0,
    groups: Mapping[str, Sequence[object] | np.ndarray] | None = None,
) -> dict[str, object]:
    """Every diagnostic metric with its confidence interval, as a JSON-ready dict (see docs/metrics.md).

    ``y_true`` holds class indices (n,), ``probs`` is (n, K) with rows summing to 1. With K = 2 the
    score is ``probs[:, 1]`` (class_names[1] is "positive") and a case is called positive when
    ``score >= threshold``. The threshold is, in order: the fixed ``threshold``; chosen on
    ``threshold_from = (y_val, probs_val)`` by ``threshold_method`` ("youden", "sensitivity",
    "specificity") with ``target``; else 0.5. With K > 2 the predicted class is the argmax and no
    threshold applies. Undefined values are ``float('nan')`` with a note. Bootstrap intervals are
    seeded by ``seed``, so the same inputs give the same numbers.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> y = rng.integers(0, 2, 100)
        >>> pos = np.clip(0.5 * y + rng.uniform(0, 0.5, 100), 0, 1)
        >>> r = evaluate_scores(y, np.column_stack([1 - pos, pos]), class_names=["benign", "malignant"], n_bootstrap=200)
        >>> r["threshold"]["source"], r["auc"]["method"], sorted(r["at_threshold"])[:3]
        ('default', 'DeLong', ['accuracy', 'balanced_accuracy', 'counts'])
    """
    p = check_probs(probs)
    k = p.shape[1]
    names = check_class_names(class_names, k)
    y = check_labels(y_true, k, n=p.shape[0])
    opts = {"level": level, "n_bootstrap": n_bootstrap, "seed": seed}
    notes: list[str] = []
    if k == 2:
        thr = _choose_threshold(threshold, threshold_from, threshold_method, target)
        body = _binary(y, p, names, float(thr["value"]), opts)
        single = single_class_note(y == 1)
        if single:
            notes.append(f"{single}: AUC, average precision and some rates are undefined")
    else:
        if threshold is not None or threshold_from is not None or threshold_method != "fixed":
            raise ConfigError(
                f"a decision threshold applies to binary problems only; with {k} classes the predicted "
                "class is the one with the highest probability"
            )
        thr = {"value": None, "method": "argmax", "target": None, "source": "not applicable",
               "n_selection": None}  # fmt: skip
        body = _multiclass(y, p, names, opts)
        absent = [names[j] for j in range(k) if not np.any(y == j)]
        if absent:
            notes.append(f"no cases of class {', '.join(absent)}: its one-vs-rest metrics are undefined")
    result: dict[str, object] = {
        "schema_version": SCHEMA_VERSION,
        "n": int(y.size),
        "class_names": names,
        "class_counts": {name: int(np.sum(y == j)) for j, name in enumerate(names)},
        "level": level,
        "n_bootstrap": n_bootstrap,
        "seed": seed,
        "threshold": thr,
        **body,
        "calibration": calibration(y, p, **opts),
        "subgroups": {} if not groups else subgroup_table(
            y, p, groups, threshold=thr["value"] if k == 2 else 0.5, class_names=names, **opts
        ),
        "notes": notes,
    }  # fmt: skip
    return to_jsonable(result)  # type: ignore[return-value]
