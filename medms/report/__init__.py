"""Evaluation reports (HTML / JSON / Markdown) of a predictions CSV against a labels CSV.

- :func:`evaluate` - predictions CSV + labels CSV → report.html, report.json, report.md (``medms evaluate``).
- The predictions and labels CSV formats themselves live in :mod:`medms.tables` (shared with ``medms predict``).

Example:
    >>> import pathlib, tempfile
    >>> from medms.report import evaluate
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> rows = [f"c{i},{1 - p:.2f},{p:.2f},ok" for i, p in enumerate([0.1, 0.8, 0.3, 0.9, 0.6, 0.2])]
    >>> _ = (folder / "p.csv").write_text("id,prob_benign,prob_malignant,status\\n" + "\\n".join(rows) + "\\n")
    >>> _ = (folder / "l.csv").write_text("id,label\\n" + "\\n".join(f"c{i},{i % 2}" for i in range(6)) + "\\n")
    >>> evaluate(folder / "p.csv", folder / "l.csv", folder / "out", n_bootstrap=50).data["metrics"]["n"]
    6
"""

from medms.report.api import INTENDED_USE, REPORT_FILES, REPORT_SCHEMA_VERSION, EvaluationReport, evaluate

__all__ = ["INTENDED_USE", "REPORT_FILES", "REPORT_SCHEMA_VERSION", "EvaluationReport", "evaluate"]
