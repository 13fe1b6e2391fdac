"""How a report writes numbers: fixed decimals, intervals as "low – high", undefined values as a dash.

Example:
    >>> format_estimate({"value": 0.9123, "low": 0.85, "high": 0.95, "method": "DeLong", "note": None})
    ('0.912', '0.850 – 0.950')
    >>> format_estimate({"value": None, "low": None, "high": None, "method": "DeLong", "note": "one class"})
    ('undefined', '—')
    >>> cell({"value": 0.5, "low": 0.4, "high": 0.6, "method": "Wilson score"})
    '0.500 (0.400 – 0.600)'
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

__all__ = ["DASH", "METRIC_NAMES", "cell", "format_estimate", "format_number", "is_defined", "is_estimate"]

DASH = "—"
METRIC_NAMES = {
    "auc": "ROC AUC",
    "average_precision": "Average precision (PR AUC)",
    "sensitivity": "Sensitivity (recall)",
    "specificity": "Specificity",
    "ppv": "PPV (precision)",
    "npv": "NPV",
    "accuracy": "Accuracy",
    "balanced_accuracy": "Balanced accuracy",
    "f1": "F1 score",
    "macro_f1": "Macro F1 score",
    "mcc": "Matthews correlation (MCC)",
    "kappa": "Cohen's kappa",
    "lr_positive": "Positive likelihood ratio (LR+)",
    "lr_negative": "Negative likelihood ratio (LR−)",
    "brier": "Brier score",
    "ece": "Expected calibration error",
    "macro": "Macro-average ROC AUC",
    "micro": "Micro-average ROC AUC",
    "weighted": "Weighted-average ROC AUC",
    # Column names of the record tables (threshold table, subgroups, excluded rows).
    "threshold": "Threshold",
    "tp": "TP",
    "fp": "FP",
    "tn": "TN",
    "fn": "FN",
    "group": "Group",
    "n_positive": "Positive cases",
    "prevalence": "Prevalence",
    "id": "Id",
    "error": "Error",
}


def format_number(value: Any, digits: int = 3) -> str:
    """A number as report text: integers as is, floats to ``digits`` decimals, undefined as a dash."""
    if value is None or isinstance(value, bool):
        return DASH if value is None else str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return DASH if not math.isfinite(value) else f"{value:.{digits}f}"
    return str(value)


def is_estimate(value: Any) -> bool:
    """Whether ``value`` is an Estimate dict (``value`` and ``method`` keys)."""
    return isinstance(value, Mapping) and "value" in value and "method" in value


def is_defined(value: Any) -> bool:
    """Whether ``value`` is a finite number (not None, not NaN)."""
    return isinstance(value, (int, float)) and math.isfinite(value)


def format_estimate(estimate: Mapping[str, Any], digits: int = 3) -> tuple[str, str]:
    """``(value, interval)`` text of an Estimate dict; an undefined value reads ``undefined``."""
    if not is_defined(estimate.get("value")):
        return "undefined", DASH
    value = format_number(float(estimate["value"]), digits)
    low, high = estimate.get("low"), estimate.get("high")
    if not (is_defined(low) and is_defined(high)):
        return value, DASH
    return value, f"{format_number(float(low), digits)} – {format_number(float(high), digits)}"


def cell(value: Any) -> str:
    """Any report value as table text: Estimates as "value (low – high)", lists and dicts as JSON."""
    if is_estimate(value):
        point, interval = format_estimate(value)
        return point if interval == DASH else f"{point} ({interval})"
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return format_number(value)
