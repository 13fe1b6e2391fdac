"""``medms.report.evaluate``: predictions + labels → report.html, report.json and report.md in one folder.

This is the Python face of ``medms evaluate``; the command line only parses its arguments and calls it.

Example:
    >>> import pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> rows = [f"c{i},{1 - p:.2f},{p:.2f},ok" for i, p in enumerate([0.1, 0.8, 0.3, 0.9, 0.6, 0.2])]
    >>> _ = (folder / "p.csv").write_text("id,prob_benign,prob_malignant,status\\n" + "\\n".join(rows) + "\\n")
    >>> _ = (folder / "l.csv").write_text("id,label\\n" + "\\n".join(f"c{i},{i % 2}" for i in range(6)) + "\\n")
    >>> result = evaluate(folder / "p.csv", folder / "l.csv", folder / "out", n_bootstrap=50)
    >>> sorted(p.name for p in result.files), result.data["metrics"]["n"]
    (['report.html', 'report.json', 'report.md'], 6)
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from medms.errors import ConfigError, LabelError, PredictionFileError
from medms.metrics import compare as compare_models
from medms.metrics import evaluate_scores
from medms.provenance import environment
from medms.report.cohort import (
    Cohort,
    aggregate_cohort,
    check_label_coverage,
    join_labels,
    pair_cohorts,
    with_positive,
)
from medms.report.figures import report_figures
from medms.report.formatting import format_estimate, format_number
from medms.report.html import render_html
from medms.report.markdown import render_markdown
from medms.report.output import check_targets, jsonable, to_json, write_files
from medms.tables import (
    ID_COLUMN,
    LABEL_COLUMN,
    PredictionTable,
    read_labels,
    read_model_card,
    read_predictions,
)

__all__ = ["INTENDED_USE", "REPORT_FILES", "REPORT_SCHEMA_VERSION", "EvaluationReport", "evaluate"]

PathLike = str | os.PathLike[str]
#: Version of the report.json layout; bump the major number when a key changes meaning or goes away.
REPORT_SCHEMA_VERSION = "1.0"
REPORT_FILES = ("report.html", "report.json", "report.md")
INTENDED_USE = (
    "Intended use: research only. This report describes how one model performed on the cases listed; "
    "it is not a medical device, not validated for clinical use and must not be used for diagnosis "
    "or treatment decisions."
)


@dataclass(frozen=True)
class EvaluationReport:
    """What :func:`evaluate` wrote: the folder (``os.fspath`` of the result), the files and the JSON data."""

    output: Path
    html: Path
    json: Path
    markdown: Path
    data: dict[str, Any] = field(repr=False)

    @property
    def files(self) -> list[Path]:
        """The three report files."""
        return [self.html, self.json, self.markdown]

    def __fspath__(self) -> str:
        return os.fspath(self.output)

    def __str__(self) -> str:
        return os.fspath(self.output)

    def summary(self) -> str:
        """A few lines for a terminal: cases, exclusions, AUC with its interval, threshold and the files."""
        metrics, summary = self.data["metrics"], self.data["summary"]
        auc, interval = format_estimate(metrics["auc"])
        threshold = metrics["threshold"]
        lines = [
            f"evaluated {metrics['n']} cases ({summary['unit']}); {summary['n_failed']} failed rows excluded",
            f"ROC AUC {auc} ({interval}, {metrics['auc'].get('method')})"
            + (f"; {metrics['auc']['note']}" if metrics["auc"].get("note") else ""),
        ]
        if threshold.get("value") is not None:
            lines.append(
                f"threshold {format_number(threshold['value'])} ({threshold['method']}, {threshold['source']})"
            )
        lines.append("wrote " + ", ".join(os.fspath(p) for p in self.files))
        return "\n".join(lines)


def _cohort(
    predictions: PathLike, labels_path: PathLike, labels: pd.DataFrame, class_names: list[str]
) -> tuple[PredictionTable, Cohort]:
    table = read_predictions(predictions)
    if table.class_names != class_names:
        raise PredictionFileError(
            f"classes {table.class_names} differ from the evaluated predictions' {class_names}",
            path=predictions,
        )
    return table, join_labels(table, labels, predictions, labels_path)


def _selection_cohort(
    path: PathLike, labels_path: PathLike, labels: pd.DataFrame, test: PredictionTable
) -> tuple[PredictionTable, Cohort]:
    table, cohort = _cohort(path, labels_path, labels, test.class_names)
    overlap = sorted(set(table.frame[ID_COLUMN]) & set(test.frame[ID_COLUMN]))
    if overlap:
        raise PredictionFileError(
            f"{len(overlap)} id(s) are also in the evaluated predictions (e.g. {', '.join(overlap[:5])}); "
            "the threshold must be chosen on separate cases",
            path=path,
        )
    return table, cohort


def _check_columns(
    labels: pd.DataFrame, labels_path: PathLike, subgroup: Sequence[str], aggregate_by: str | None
) -> None:
    wanted = [*subgroup, *([aggregate_by] if aggregate_by else [])]
    reserved = [c for c in wanted if c in (ID_COLUMN, LABEL_COLUMN)]
    if reserved:
        raise ConfigError(f"'{reserved[0]}' cannot be a subgroup or aggregation column", path=labels_path)
    missing = [c for c in wanted if c not in labels.columns]
    if missing:
        extra = [c for c in labels.columns if c not in (ID_COLUMN, LABEL_COLUMN)]
        raise LabelError(
            f"no column {', '.join(repr(c) for c in missing)} in the labels file (extra columns: {extra or 'none'})",
            path=labels_path,
        )


def evaluate(
    predictions: PathLike,
    labels: PathLike,
    output: PathLike,
    *,
    threshold: float | None = None,
    threshold_from: PathLike | None = None,
    threshold_method: str | None = None,
    target: float | None = None,
    subgroup: Sequence[str] = (),
    compare: PathLike | None = None,
    aggregate_by: str | None = None,
    aggregate: str = "max",
    level: float = 0.95,
    n_bootstrap: int = 2000,
    seed: int = 0,
    overwrite: bool = False,
    positive_class: str | None = None,
) -> EvaluationReport:
    """Evaluate a predictions CSV against a labels CSV and write report.html/.json/.md into ``output``.

    Args:
        predictions: predictions CSV (docs/formats.md); failed rows are excluded and counted.
        labels: labels CSV with ``id``, ``label`` and optional extra columns; it may also hold the labels of
            the ``threshold_from`` cases (and no other ids).
        output: folder for the three files (created if missing).
        threshold: fixed decision threshold on ``P(class_names[1])`` (binary); default 0.5.
        threshold_from: validation predictions CSV on which the threshold is chosen, then applied here.
        threshold_method: ``"youden"`` (default with ``threshold_from``), ``"sensitivity"`` or
            ``"specificity"`` (with ``target``), or ``"fixed"``.
        target: sensitivity/specificity the chosen threshold must reach.
        subgroup: label columns to tabulate metrics by.
        compare: predictions CSV of another model on the same cases (paired comparison).
        aggregate_by: label column (e.g. a study id) whose series are combined into one case.
        aggregate: ``"max"`` or ``"mean"`` probability when aggregating.
        level, n_bootstrap, seed: confidence level and seeded bootstrap settings.
        overwrite: replace existing report files.
        positive_class: the class whose probability is the score (binary); default the second class of the
            predictions file. Sensitivity, PPV, ROC and the threshold refer to it.

    Raises:
        PredictionFileError, LabelError, ConfigError: unusable inputs (nothing is written).
        OutputError: a report file exists and ``overwrite`` is false, or the folder is not writable.
    """
    check_targets(output, REPORT_FILES, overwrite=overwrite)
    subgroup = list(subgroup)
    table = read_predictions(predictions)
    label_frame = read_labels(labels, table.class_names)
    _check_columns(label_frame, labels, subgroup, aggregate_by)
    cohort = with_positive(
        join_labels(table, label_frame, predictions, labels), positive_class, path=predictions
    )
    selection = None
    tables = [table]
    if threshold_from is not None:
        sel_table, selection = _selection_cohort(threshold_from, labels, label_frame, table)
        selection = with_positive(selection, positive_class, path=threshold_from)
        tables.append(sel_table)
    check_label_coverage(label_frame, labels, tables)
    paired = None
    if compare is not None:
        other = with_positive(
            _cohort(compare, labels, label_frame, table.class_names)[1], positive_class, path=compare
        )
        # Pair series before aggregating, so that a series failed in either model leaves both.
        paired = pair_cohorts(cohort, other, compare)
    if aggregate_by:

        def by_key(c: Cohort, columns: Sequence[str] = ()) -> Cohort:
            return aggregate_cohort(c, aggregate_by, aggregate, columns, labels)

        cohort = by_key(cohort, subgroup)
        selection = None if selection is None else by_key(selection)
        paired = None if paired is None else (by_key(paired[0]), by_key(paired[1]), paired[2])
    opts = {"level": level, "n_bootstrap": n_bootstrap, "seed": seed}
    metrics = evaluate_scores(
        cohort.y,
        cohort.probs,
        class_names=cohort.class_names,
        threshold=threshold,
        threshold_from=None if selection is None else (selection.y, selection.probs),
        threshold_method=threshold_method or ("youden" if threshold_from is not None else "fixed"),
        target=target,
        groups={c: cohort.extra[c].to_numpy(dtype=object) for c in subgroup} or None,
        **opts,
    )
    comparison = None
    if paired is not None:
        a, b, n_excluded = paired
        threshold_used = metrics["threshold"]["value"]
        comparison = compare_models(
            a.y, a.probs, b.probs, threshold=0.5 if threshold_used is None else threshold_used, **opts
        )
        comparison.update({"other": os.fspath(compare), "n_excluded": n_excluded})
    data = {
        "schema_version": REPORT_SCHEMA_VERSION,
        "title": "medms evaluation report",
        "created_utc": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "intended_use": INTENDED_USE,
        "inputs": {
            "predictions": os.fspath(predictions),
            "labels": os.fspath(labels),
            "threshold_from": None if threshold_from is None else os.fspath(threshold_from),
            "compare": None if compare is None else os.fspath(compare),
            "subgroups": subgroup,
            "aggregate_by": aggregate_by,
            "aggregate": aggregate if aggregate_by else None,
            "positive_class": cohort.class_names[1] if len(cohort.class_names) == 2 else None,
            **opts,
        },
        "summary": {
            "unit": cohort.unit,
            "n_rows": cohort.n_rows,
            "n_failed": len(cohort.failed),
            "n_evaluated": int(cohort.y.size),
            "failed": cohort.failed,
        },
        "threshold_selection": None
        if selection is None
        else {
            "predictions": os.fspath(threshold_from),
            "n_rows": selection.n_rows,
            "n_failed": len(selection.failed),
            "n_evaluated": int(selection.y.size),
        },
        "metrics": metrics,
        "comparison": comparison,
        "model_card": read_model_card(predictions),
        "versions": environment(),
    }
    data = jsonable(data)
    shared = None if paired is None else (paired[0].y, paired[0].probs, paired[1].probs)
    figures = report_figures(data, cohort.y, cohort.probs, paired=shared)
    written = write_files(
        output,
        {
            "report.html": render_html(data, figures),
            "report.json": to_json(data),
            "report.md": render_markdown(data),
        },
        overwrite=overwrite,
    )
    return EvaluationReport(Path(output), *written, data=data)
