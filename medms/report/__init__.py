"""Evaluation reports (HTML / JSON / Markdown) and the predictions and labels CSV formats.

- :func:`evaluate` - predictions CSV + labels CSV → report.html, report.json, report.md (``medms evaluate``).
- :func:`read_predictions`, :func:`read_labels`, :func:`prediction_columns`, :func:`model_card_path` - the
  file formats shared with ``medms predict`` (docs/formats.md).

Example:
    >>> from medms.report import prediction_columns
    >>> prediction_columns(["benign", "malignant"])
    ['id', 'source', 'prob_benign', 'prob_malignant', 'predicted', 'status', 'error']
"""

from medms.report.api import INTENDED_USE, REPORT_FILES, REPORT_SCHEMA_VERSION, EvaluationReport, evaluate
from medms.report.predictions import (
    ERROR_COLUMN,
    ID_COLUMN,
    LABEL_COLUMN,
    PREDICTED_COLUMN,
    PREDICTION_COLUMNS,
    PROB_PREFIX,
    SOURCE_COLUMN,
    STATUS_COLUMN,
    STATUS_FAILED,
    STATUS_OK,
    SUM_TOLERANCE,
    PredictionTable,
    model_card_path,
    prediction_columns,
    prob_column,
    read_labels,
    read_model_card,
    read_predictions,
)

__all__ = [
    "ERROR_COLUMN",
    "ID_COLUMN",
    "INTENDED_USE",
    "LABEL_COLUMN",
    "PREDICTED_COLUMN",
    "PREDICTION_COLUMNS",
    "PROB_PREFIX",
    "REPORT_FILES",
    "REPORT_SCHEMA_VERSION",
    "SOURCE_COLUMN",
    "STATUS_COLUMN",
    "STATUS_FAILED",
    "STATUS_OK",
    "SUM_TOLERANCE",
    "EvaluationReport",
    "PredictionTable",
    "evaluate",
    "model_card_path",
    "prediction_columns",
    "prob_column",
    "read_labels",
    "read_model_card",
    "read_predictions",
]
