"""Which figures a report shows, drawn from its data (and the raw scores the histograms need).

Example:
    >>> import numpy as np
    >>> from medms.metrics import evaluate_scores
    >>> y = np.array([0, 0, 1, 1, 0, 1])
    >>> p = np.array([0.1, 0.4, 0.35, 0.8, 0.2, 0.7])
    >>> probs = np.column_stack([1 - p, p])
    >>> data = {"metrics": evaluate_scores(y, probs, class_names=["neg", "pos"], n_bootstrap=20)}
    >>> sorted(report_figures(data, y, probs))
    ['calibration', 'confusion', 'pr', 'roc', 'scores']
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from medms.metrics import roc_points
from medms.report.plots import (
    calibration_figure,
    confusion_figure,
    pr_figure,
    roc_figure,
    score_distribution_figure,
)

__all__ = ["FIGURE_CAPTIONS", "report_figures"]

FIGURE_CAPTIONS = {
    "roc": "ROC curve (one-vs-rest per class when multi-class); a dot marks a binary operating point.",
    "pr": "Precision–recall curve; the dashed line is the prevalence (a classifier without skill).",
    "calibration": "Reliability diagram: observed fraction positive against mean predicted probability per bin.",
    "confusion": "Confusion matrix of the predicted classes (rows: true class; row percentages).",
    "scores": "Distribution of the predicted probability for the cases of each true class.",
    "comparison_roc": "ROC curves of both models on the cases they share.",
}


def _value(estimate: Any) -> float | None:
    return estimate.get("value") if isinstance(estimate, Mapping) else None


def _curves(metrics: Mapping[str, Any]) -> tuple[list, list]:
    if metrics.get("per_class"):
        entries = [(f"{row['class']} vs rest", row) for row in metrics["per_class"]]
    else:
        entries = [("model", metrics)]
    roc = [
        (name, m["roc"]["fpr"], m["roc"]["tpr"], _value(m.get("auc")))
        for name, m in entries
        if m["roc"]["fpr"]
    ]
    pr = [
        (name, m["pr"]["recall"], m["pr"]["precision"], _value(m.get("average_precision")))
        for name, m in entries
        if m["pr"]["recall"]
    ]
    return roc, pr


def report_figures(
    data: Mapping[str, Any],
    y: np.ndarray,
    probs: np.ndarray,
    *,
    paired: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> dict[str, bytes]:
    """PNG bytes of every figure for a report's ``data``; ``y``/``probs`` are the evaluated cases.

    ``paired = (y, probs_this, probs_other)`` (the shared cases of a comparison) adds an ROC overlay.
    A figure that cannot be drawn (no ROC curve when only one class is present) is left out.
    """
    metrics = data["metrics"]
    names = list(metrics["class_names"])
    binary = len(names) == 2
    figures: dict[str, bytes] = {}
    roc, pr = _curves(metrics)
    if roc:
        point = None
        at = metrics.get("at_threshold") or {}
        sens, spec = _value(at.get("sensitivity")), _value(at.get("specificity"))
        if binary and sens is not None and spec is not None:
            point = (1.0 - spec, sens)
        figures["roc"] = roc_figure(roc, operating_point=point)
    if pr:
        figures["pr"] = pr_figure(pr, prevalence=metrics["prevalence"] if binary else None)
    calibration = metrics.get("calibration") or {}
    if calibration.get("bins"):
        title = "Reliability diagram" + (
            "" if calibration.get("kind", "binary") == "binary" else " (top label)"
        )
        figures["calibration"] = calibration_figure(calibration["bins"], title=title)
    matrix = metrics["confusion_matrix"]
    figures["confusion"] = confusion_figure(matrix["labels"], matrix["counts"])
    if binary:
        scores = {name: probs[y == k, 1] for k, name in enumerate(names)}
        label = f"predicted probability of '{names[1]}'"
        figures["scores"] = score_distribution_figure(
            scores, score_name=label, threshold=metrics["threshold"]["value"]
        )
    else:
        scores = {name: probs[y == k, k] for k, name in enumerate(names)}
        figures["scores"] = score_distribution_figure(
            scores, score_name="predicted probability of the true class"
        )
    if paired is not None and binary and len(np.unique(paired[0])) == 2:
        comparison = data.get("comparison") or {}
        curves = []
        for name, p, key in (("this model", paired[1], "auc_a"), ("other model", paired[2], "auc_b")):
            pts = roc_points(paired[0], p[:, 1])
            curves.append((name, pts["fpr"], pts["tpr"], _value(comparison.get(key))))
        figures["comparison_roc"] = roc_figure(curves)
    return figures
