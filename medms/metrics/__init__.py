"""Diagnostic metrics with confidence intervals: pure numpy / scipy / scikit-learn (no io, no torch).

Two entry points return JSON-ready dicts (Estimates as ``{"value", "low", "high", "method", "note"}``,
undefined values as ``float('nan')``); definitions in docs/metrics.md:

- :func:`evaluate_scores` - every metric of one model's predictions.
- :func:`compare` - model A against model B on the same cases (paired DeLong test, paired bootstrap).

The building blocks return :class:`Estimate` objects and can be used on their own.

Example:
    >>> import numpy as np
    >>> from medms.metrics import delong_auc, evaluate_scores
    >>> y = np.array([0, 0, 1, 1, 0, 1])
    >>> p1 = np.array([0.1, 0.4, 0.35, 0.8, 0.2, 0.7])
    >>> round(delong_auc(y, p1).value, 3)
    0.889
    >>> report = evaluate_scores(y, np.column_stack([1 - p1, p1]), class_names=["neg", "pos"], n_bootstrap=100)
    >>> report["threshold"]["value"], report["at_threshold"]["counts"]
    (0.5, {'tp': 2, 'fp': 0, 'tn': 3, 'fn': 1})
"""

from medms.metrics.aggregate import aggregate
from medms.metrics.binary import AT_THRESHOLD_METRICS, binary_metrics, likelihood_ratios, rates_from_counts
from medms.metrics.calibration import calibration, reliability_bins
from medms.metrics.compare import compare
from medms.metrics.estimate import Estimate, to_jsonable
from medms.metrics.evaluate import SCHEMA_VERSION, evaluate_scores
from medms.metrics.intervals import percentile_interval, wilson_interval
from medms.metrics.multiclass import auc_averages, confusion_matrix, multiclass_metrics, one_vs_rest
from medms.metrics.roc import average_precision, delong_auc, delong_test, pr_points, roc_points
from medms.metrics.subgroup import subgroup_table
from medms.metrics.threshold import THRESHOLD_METHODS, select_threshold, threshold_table

__all__ = [
    "AT_THRESHOLD_METRICS",
    "SCHEMA_VERSION",
    "THRESHOLD_METHODS",
    "Estimate",
    "aggregate",
    "auc_averages",
    "average_precision",
    "binary_metrics",
    "calibration",
    "compare",
    "confusion_matrix",
    "delong_auc",
    "delong_test",
    "evaluate_scores",
    "likelihood_ratios",
    "multiclass_metrics",
    "one_vs_rest",
    "percentile_interval",
    "pr_points",
    "rates_from_counts",
    "reliability_bins",
    "roc_points",
    "select_threshold",
    "subgroup_table",
    "threshold_table",
    "to_jsonable",
    "wilson_interval",
]
