"""Metrics per subgroup of any metadata column (site, manufacturer, sex, ... as the user supplies)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from medms.errors import DataError
from medms.metrics._checks import check_class_names, check_labels, check_probs
from medms.metrics.binary import binary_metrics
from medms.metrics.multiclass import multiclass_metrics, one_vs_rest
from medms.metrics.roc import delong_auc

__all__ = ["MISSING_GROUP", "subgroup_table"]

MISSING_GROUP = "(missing)"
_BINARY_KEYS = ("sensitivity", "specificity", "ppv", "npv", "accuracy", "balanced_accuracy", "f1")


def _group_labels(values: object, n: int, column: str) -> np.ndarray:
    arr = pd.Series(np.asarray(values, dtype=object).ravel())
    if arr.size != n:
        raise DataError(f"subgroup column {column!r} has {arr.size} values for {n} cases")
    # Missing metadata is a group of its own, so those cases stay visible instead of silently dropped.
    return np.where(arr.isna().to_numpy(), MISSING_GROUP, arr.astype(str).to_numpy()).astype(str)


def subgroup_table(
    y_true: np.ndarray,
    probs: np.ndarray,
    groups: Mapping[str, Sequence[object] | np.ndarray],
    *,
    threshold: float = 0.5,
    class_names: Sequence[str] | None = None,
    level: float = 0.95,
    n_bootstrap: int = 2000,
    seed: int = 0,
) -> dict[str, list[dict[str, object]]]:
    """Metrics within each value of each grouping column: ``{column: [row per group, sorted by name]}``.

    Binary rows: group, n, n_positive, prevalence, auc (DeLong), sensitivity, specificity, ppv, npv,
    accuracy (Wilson), balanced_accuracy, f1 (bootstrap) at ``threshold``. Multi-class rows: group, n,
    prevalence (per class), auc (macro one-vs-rest, bootstrap), accuracy, balanced_accuracy.
    Missing values (None/NaN) form the group ``"(missing)"``. Small groups give wide intervals and
    a group with one class gets an undefined AUC with a note - read them with care.

    Example:
        >>> y = np.array([0, 1, 0, 1, 0, 1])
        >>> p = np.array([0.2, 0.8, 0.3, 0.6, 0.7, 0.9])
        >>> t = subgroup_table(y, p, {"site": ["A", "A", "A", "B", "B", "B"]}, n_bootstrap=50)
        >>> [(r["group"], r["n"]) for r in t["site"]]
        [('A', 3), ('B', 3)]
    """
    p = check_probs(probs)
    k = p.shape[1]
    y = check_labels(y_true, k, n=p.shape[0])
    names = check_class_names(class_names if class_names is not None else range(k), k)
    table: dict[str, list[dict[str, object]]] = {}
    for column, values in groups.items():
        labels = _group_labels(values, y.size, str(column))
        rows = []
        for group in sorted(set(labels.tolist())):
            sel = labels == group
            opts = {"level": level, "n_bootstrap": n_bootstrap, "seed": seed}
            row: dict[str, object] = {"group": group, "n": int(sel.sum())}
            if k == 2:
                yb = y[sel]
                row["n_positive"] = int(yb.sum())
                row["prevalence"] = float(yb.mean())
                row["auc"] = delong_auc(yb, p[sel, 1], level=level)
                at = binary_metrics(yb, p[sel, 1], threshold, **opts)
                row.update({key: at[key] for key in _BINARY_KEYS})
            else:
                counts = np.bincount(y[sel], minlength=k)
                row["prevalence"] = {names[j]: float(counts[j] / sel.sum()) for j in range(k)}
                row["auc"] = one_vs_rest(y[sel], p[sel], class_names=names, micro=False, **opts)["auc"][
                    "macro"
                ]
                mc = multiclass_metrics(y[sel], p[sel], **opts)
                row["accuracy"] = mc["accuracy"]
                row["balanced_accuracy"] = mc["balanced_accuracy"]
            rows.append(row)
        table[str(column)] = rows
    return table
