"""The report's content as format-neutral sections: tables of already formatted text plus figure names.

:func:`build_sections` reads a report dict (what ``report.json`` holds) and decides what is shown and how
each number is written; ``html.py`` and ``markdown.py`` only lay the sections out, so the two documents
always agree.

Example:
    >>> import numpy as np
    >>> from medms.metrics import evaluate_scores
    >>> y, p = np.array([0, 1, 0, 1]), np.array([0.2, 0.9, 0.4, 0.6])
    >>> metrics = evaluate_scores(y, np.column_stack([1 - p, p]), class_names=["neg", "pos"], n_bootstrap=20)
    >>> report = {"inputs": {}, "summary": {}, "metrics": metrics}
    >>> [s.title for s in build_sections(report)][:3]
    ['Summary', 'Diagnostic performance', 'Calibration']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from medms.report.formatting import DASH, METRIC_NAMES, cell, format_estimate, format_number, is_estimate

__all__ = ["Section", "Table", "build_sections"]


@dataclass(frozen=True)
class Table:
    """A table of text cells; ``note`` is a sentence shown under it."""

    columns: list[str]
    rows: list[list[str]]
    title: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class Section:
    """One heading of the report: paragraphs, tables and the names of the figures drawn for it."""

    key: str
    title: str
    paragraphs: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    figures: list[str] = field(default_factory=list)


def _estimate_rows(estimates: Mapping[str, Any], names: Sequence[str]) -> list[list[str]]:
    rows = []
    for name in names:
        estimate = estimates.get(name)
        if not is_estimate(estimate):
            continue
        point, interval = format_estimate(estimate)
        rows.append(
            [
                METRIC_NAMES.get(name, name),
                point,
                interval,
                str(estimate.get("method") or ""),
                str(estimate.get("note") or ""),
            ]
        )
    return rows


def _level_text(report: Mapping[str, Any]) -> str:
    level = report.get("inputs", {}).get("level", 0.95)
    return f"{100 * level:g}% CI"


def _records_table(records: Sequence[Mapping[str, Any]], title: str | None = None) -> Table:
    columns: list[str] = []
    for record in records:
        columns.extend(k for k in record if k not in columns)
    rows = [[cell(record.get(c)) for c in columns] for record in records]
    return Table([METRIC_NAMES.get(c, c) for c in columns], rows, title=title)


def _key_values(mapping: Mapping[str, Any], prefix: str = "") -> list[list[str]]:
    rows = []
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value and not is_estimate(value):
            rows.extend(_key_values(value, f"{name}."))
        else:
            rows.append([name, cell(value)])
    return rows


def _summary(report: Mapping[str, Any]) -> Section:
    summary, inputs, metrics = report["summary"], report["inputs"], report["metrics"]
    threshold = metrics.get("threshold") or {}
    rows = [
        ["Predictions file", str(inputs.get("predictions"))],
        ["Labels file", str(inputs.get("labels"))],
        ["Unit of analysis", str(summary.get("unit", "series"))],
        ["Rows in the predictions file", format_number(summary.get("n_rows"))],
        ["Failed rows (excluded, listed below)", format_number(summary.get("n_failed"))],
        ["Cases evaluated (n)", format_number(metrics.get("n"))],
    ]
    counts = metrics.get("class_counts") or {}
    n = metrics.get("n") or 0
    for name in metrics.get("class_names", []):
        count = counts.get(name)
        share = f" ({100 * count / n:.1f}%)" if count is not None and n else ""
        rows.append([f"Cases of class '{name}'", f"{format_number(count)}{share}"])
    names = metrics.get("class_names", [])
    if len(names) == 2:
        rows.append(["Positive class (score)", f"{names[1]} (P({names[1]}))"])
    if threshold:
        source = threshold.get("source") or ""
        rows.append(
            [
                "Decision threshold",
                f"{format_number(threshold.get('value'))} ({threshold.get('method')}"
                f"{', ' + source if source else ''})",
            ]
        )
    selection = report.get("threshold_selection")
    if selection:
        rows.append(
            [
                "Threshold chosen on",
                f"{selection['predictions']} (n={selection['n_evaluated']}, "
                f"{selection['n_failed']} failed rows excluded)",
            ]
        )
    paragraphs = [str(note) for note in metrics.get("notes") or []]
    return Section("summary", "Summary", paragraphs=paragraphs, tables=[Table(["Item", "Value"], rows)])


def _performance(report: Mapping[str, Any]) -> list[Section]:
    metrics = report["metrics"]
    columns = ["Metric", "Estimate", _level_text(report), "Interval method", "Note"]
    curves = Section("performance", "Diagnostic performance", figures=["roc", "pr"])
    overall = {"auc": metrics.get("auc"), "average_precision": metrics.get("average_precision")}
    rows = _estimate_rows(overall, ["auc", "average_precision"])
    at_threshold = metrics.get("at_threshold") or {}
    rows += _estimate_rows(at_threshold, list(at_threshold))
    rows += _estimate_rows(metrics.get("averages") or {}, list(metrics.get("averages") or {}))
    curves.tables.append(Table(columns, rows))
    counts = at_threshold.get("counts")
    if isinstance(counts, Mapping):
        curves.paragraphs.append(
            "At the threshold: " + ", ".join(f"{k.upper()} = {v}" for k, v in counts.items()) + "."
        )
    sections = [curves]
    if metrics.get("per_class"):
        sections.append(Section("per_class", "Per class (one-vs-rest)", tables=[_per_class_table(metrics)]))
    calibration = metrics.get("calibration") or {}
    if calibration:
        cal_rows = _estimate_rows({"brier": calibration.get("brier")}, ["brier"])
        cal_rows.append([METRIC_NAMES["ece"], cell(calibration.get("ece")), DASH, "10 equal-width bins", ""])
        sections.append(
            Section("calibration", "Calibration", tables=[Table(columns, cal_rows)], figures=["calibration"])
        )
    return sections


def _per_class_table(metrics: Mapping[str, Any]) -> Table:
    names = ("sensitivity", "specificity", "ppv", "npv", "f1")
    columns = ["Class", "n", "Prevalence", "ROC AUC", "Average precision", *(METRIC_NAMES[n] for n in names)]
    rows = []
    for row in metrics["per_class"]:
        at = row.get("at_threshold") or {}
        rows.append(
            [
                str(row["class"]),
                cell(row.get("n")),
                cell(row.get("prevalence")),
                cell(row.get("auc")),
                cell(row.get("average_precision")),
                *(cell(at.get(n)) for n in names),
            ]
        )
    return Table(columns, rows, note="Rates of the argmax prediction for each class against the rest.")


def _threshold_table(metrics: Mapping[str, Any]) -> Table:
    keep = ("threshold", "sensitivity", "specificity", "ppv", "npv", "accuracy", "f1", "tp", "fp", "tn", "fn")
    records = [{k: row.get(k) for k in keep} for row in metrics["threshold_table"]]
    table = _records_table(records)
    chosen = (metrics.get("threshold") or {}).get("value")
    rows = [
        [f"{cells[0]} (operating point)" if r["threshold"] == chosen else cells[0], *cells[1:]]
        for r, cells in zip(records, table.rows, strict=True)
    ]
    return Table(
        table.columns, rows, note="Point estimates; a case is positive when its score ≥ the threshold."
    )


def _confusion(report: Mapping[str, Any]) -> Section:
    matrix = report["metrics"].get("confusion_matrix") or {}
    labels, counts = matrix.get("labels", []), matrix.get("counts", [])
    rows = [[f"true {label}", *(str(c) for c in row)] for label, row in zip(labels, counts, strict=True)]
    table = Table(["", *(f"predicted {label}" for label in labels)], rows)
    return Section("confusion", "Confusion matrix", tables=[table], figures=["confusion", "scores"])


def build_sections(report: Mapping[str, Any]) -> list[Section]:
    """The report's sections in reading order, from a report dict as written to ``report.json``."""
    metrics = report["metrics"]
    sections = [_summary(report), *_performance(report), _confusion(report)]
    if metrics.get("threshold_table"):
        table = _threshold_table(metrics)
        sections.append(Section("thresholds", "Metrics at several thresholds", tables=[table]))
    subgroups = metrics.get("subgroups") or {}
    if subgroups:
        tables = [_records_table(rows, title=f"By {column}") for column, rows in subgroups.items()]
        sections.append(Section("subgroups", "Subgroups", tables=tables))
    if report.get("comparison"):
        sections.append(_comparison(report))
    failed = report["summary"].get("failed") or []
    if failed:
        note = f"{len(failed)} row(s) had status 'failed' and are not in any metric."
        sections.append(
            Section("excluded", "Excluded rows", paragraphs=[note], tables=[_records_table(failed)])
        )
    card = report.get("model_card")
    if card:
        sections.append(
            Section("model_card", "Model card", tables=[Table(["Field", "Value"], _key_values(card))])
        )
    versions = report.get("versions") or {}
    sections.append(
        Section("versions", "Software", tables=[Table(["Package", "Version"], _key_values(versions))])
    )
    return sections


def _comparison(report: Mapping[str, Any]) -> Section:
    comparison = report["comparison"]
    columns = ["Metric", "Estimate", _level_text(report), "Method", "Note"]
    labels = {
        "auc_a": "ROC AUC (this model)",
        "auc_b": "ROC AUC (other model)",
        "difference": "AUC difference (this − other)",
    }
    rows = [[labels[r[0]], *r[1:]] for r in _estimate_rows(comparison, list(labels))]
    tables = [Table(columns, rows)]
    at = comparison.get("at_threshold") or {}
    if at:
        paired_rows = [
            [METRIC_NAMES.get(name, name), cell(v.get("a")), cell(v.get("b")), cell(v.get("difference"))]
            for name, v in at.items()
        ]
        tables.append(
            Table(
                ["Metric", "This model", "Other model", "Difference (this − other)"],
                paired_rows,
                note="Paired stratified bootstrap on the same resampled cases.",
            )
        )
    p_value = comparison.get("p_value")
    paragraphs = [
        f"Paired comparison with {comparison.get('other')} on the {format_number(comparison.get('n'))} cases "
        f"both models predicted ({format_number(comparison.get('n_excluded'))} excluded because either failed).",
        f"{comparison.get('method', 'Test')}: z = {format_number(comparison.get('z'))}, "
        f"two-sided p = {format_number(p_value, 4)}.",
    ]
    if comparison.get("note"):
        paragraphs.append(str(comparison["note"]))
    return Section(
        "comparison",
        "Comparison with another model",
        paragraphs=paragraphs,
        tables=tables,
        figures=["comparison_roc"],
    )
