"""Joining predictions with labels into the cases a report evaluates, with every exclusion counted.

A :class:`Cohort` holds the ``ok`` rows of a predictions file matched to their labels, the ``failed`` rows
(excluded and listed, never silently dropped) and any extra label columns (subgroups, aggregation keys).

Example:
    >>> import pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "p.csv").write_text("id,prob_a,prob_b,status\\nx,0.3,0.7,ok\\ny,,,failed\\n")
    >>> _ = (folder / "l.csv").write_text("id,label\\nx,b\\ny,a\\n")
    >>> from medms.tables import read_labels, read_predictions
    >>> table = read_predictions(folder / "p.csv")
    >>> cohort = join_labels(table, read_labels(folder / "l.csv", table.class_names), "p.csv", "l.csv")
    >>> cohort.y.tolist(), cohort.n_rows, [f["id"] for f in cohort.failed]
    ([1], 2, ['y'])
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from medms.errors import ConfigError, LabelError, PredictionFileError
from medms.metrics import aggregate as aggregate_rows
from medms.tables import (
    ERROR_COLUMN,
    ID_COLUMN,
    LABEL_COLUMN,
    STATUS_FAILED,
    PredictionTable,
    prob_column,
)

__all__ = [
    "Cohort",
    "aggregate_cohort",
    "check_label_coverage",
    "join_labels",
    "pair_cohorts",
    "with_positive",
]

PathLike = str | os.PathLike[str]
_EXAMPLES = 5


@dataclass(frozen=True)
class Cohort:
    """Evaluable cases of one predictions file: ids, labels ``y`` (class indices), ``probs`` (n, K)."""

    ids: np.ndarray
    y: np.ndarray
    probs: np.ndarray
    class_names: list[str]
    extra: pd.DataFrame
    n_rows: int
    failed: list[dict[str, str]]
    unit: str = "series"


def with_positive(cohort: Cohort, positive: str | None, *, path: PathLike | None = None) -> Cohort:
    """The binary ``cohort`` with ``positive`` as its second class (the one whose probability is the score).

    medms reports treat ``class_names[1]`` as positive; naming the other class swaps the probability columns
    and flips the labels, so sensitivity, PPV, ROC and the threshold all refer to ``positive``.

    Raises:
        ConfigError: ``positive`` is not one of the classes, or the task is not binary.
    """
    if positive is None or positive == cohort.class_names[-1]:
        if positive is not None and len(cohort.class_names) != 2:
            raise ConfigError("a positive class applies to binary tasks only", path=path)
        return cohort
    if positive not in cohort.class_names:
        raise ConfigError(f"positive class {positive!r} is not one of {cohort.class_names}", path=path)
    if len(cohort.class_names) != 2:
        raise ConfigError("a positive class applies to binary tasks only", path=path)
    return replace(
        cohort, y=1 - cohort.y, probs=cohort.probs[:, ::-1].copy(), class_names=cohort.class_names[::-1]
    )


def _examples(values: Sequence[object]) -> str:
    items = sorted(str(v) for v in values)
    return ", ".join(items[:_EXAMPLES]) + (", ..." if len(items) > _EXAMPLES else "")


def join_labels(
    table: PredictionTable, labels: pd.DataFrame, predictions_path: PathLike, labels_path: PathLike
) -> Cohort:
    """Match every row of a predictions file to its label; failed rows are set aside with their error.

    Raises:
        LabelError: some prediction ids (ok or failed) have no label; the message gives the count and examples.
        PredictionFileError: no row of the predictions file has status ``ok``.
    """
    frame = table.frame
    known = set(labels[ID_COLUMN])
    missing = [i for i in frame[ID_COLUMN] if i not in known]
    if missing:
        raise LabelError(
            f"{len(missing)} of {len(frame)} ids in {os.fspath(predictions_path)} have no label "
            f"(e.g. {_examples(missing)}); add them to the labels file",
            path=labels_path,
        )
    failed_mask = (frame["status"] == STATUS_FAILED).to_numpy()
    failed = [
        {"id": str(i), "error": str(e) or "(no message)"}
        for i, e in zip(frame.loc[failed_mask, ID_COLUMN], frame.loc[failed_mask, ERROR_COLUMN], strict=True)
    ]
    ok = frame.loc[~failed_mask]
    if ok.empty:
        raise PredictionFileError(
            f"no row has status 'ok' ({len(failed)} failed): there is nothing to evaluate",
            path=predictions_path,
        )
    merged = ok[[ID_COLUMN]].merge(labels, on=ID_COLUMN, how="left", validate="one_to_one")
    probs = ok[[prob_column(c) for c in table.class_names]].to_numpy(dtype=float)
    # Renormalise away CSV rounding so the rows sum to 1 as tightly as the metrics demand.
    probs = np.clip(probs, 0.0, 1.0)
    probs = probs / probs.sum(axis=1, keepdims=True)
    extra = merged.drop(columns=[ID_COLUMN, LABEL_COLUMN]).reset_index(drop=True)
    return Cohort(
        ids=merged[ID_COLUMN].to_numpy(dtype=object),
        y=merged[LABEL_COLUMN].to_numpy(dtype=np.int64),
        probs=probs,
        class_names=list(table.class_names),
        extra=extra,
        n_rows=len(frame),
        failed=failed,
    )


def check_label_coverage(
    labels: pd.DataFrame, labels_path: PathLike, tables: Sequence[PredictionTable]
) -> None:
    """Every labelled id must have a prediction in one of ``tables`` (test and, if given, selection set).

    Raises:
        LabelError: with the count and examples of labelled ids that no predictions file contains.
    """
    predicted: set[str] = set().union(*(set(t.frame[ID_COLUMN]) for t in tables))
    orphans = [i for i in labels[ID_COLUMN] if i not in predicted]
    if orphans:
        raise LabelError(
            f"{len(orphans)} of {len(labels)} labelled ids have no prediction (e.g. {_examples(orphans)}); "
            "a labels file may cover the test and the threshold-selection predictions, nothing else",
            path=labels_path,
        )


def aggregate_cohort(
    cohort: Cohort, by: str, how: str, columns: Sequence[str], labels_path: PathLike
) -> Cohort:
    """One case per value of label column ``by`` (study, patient): probabilities combined by ``how``.

    Labels and the ``columns`` kept (subgroups) must be constant within each value.

    Raises:
        LabelError: an empty key, or a label or subgroup value that differs within one key.
    """
    keys = cohort.extra[by].astype(str).str.strip()
    if (keys == "").any():
        blank = cohort.ids[(keys == "").to_numpy()]
        raise LabelError(
            f"{len(blank)} case(s) have an empty '{by}' value (ids {_examples(blank)})", path=labels_path
        )
    try:
        ids, probs, y = aggregate_rows(keys.to_numpy(dtype=object), cohort.probs, how, labels=cohort.y)
    except LabelError as err:
        raise LabelError(f"aggregating by '{by}': {err}", path=labels_path) from err
    extra = cohort.extra[list(columns)].assign(_key=keys.to_numpy())
    varying = extra.groupby("_key", sort=False).nunique(dropna=False)
    for column in columns:
        bad = varying.index[varying[column] > 1]
        if len(bad):
            raise LabelError(
                f"subgroup column '{column}' differs within {len(bad)} '{by}' value(s) "
                f"(e.g. {_examples(bad)}); a subgroup must be constant per '{by}'",
                path=labels_path,
            )
    first = extra.groupby("_key", sort=False).first().reindex(ids).reset_index(drop=True)
    return replace(
        cohort,
        ids=ids,
        y=np.asarray(y, dtype=np.int64),
        probs=probs,
        extra=first,
        unit=f"{by} (series aggregated by {how} probability)",
    )


def pair_cohorts(a: Cohort, b: Cohort, other_path: PathLike) -> tuple[Cohort, Cohort, int]:
    """The cases evaluated in both ``a`` and ``b`` (same order), and how many were left out.

    Raises:
        PredictionFileError: the other predictions cover other cases or other classes.
    """
    if a.class_names != b.class_names:
        raise PredictionFileError(
            f"classes {b.class_names} differ from those of the predictions being evaluated {a.class_names}",
            path=other_path,
        )
    all_a = set(a.ids) | {f["id"] for f in a.failed}
    all_b = set(b.ids) | {f["id"] for f in b.failed}
    if all_a != all_b:
        only_a, only_b = sorted(all_a - all_b), sorted(all_b - all_a)
        raise PredictionFileError(
            f"a paired comparison needs the same cases: {len(only_a)} id(s) missing here "
            f"(e.g. {_examples(only_a)}), {len(only_b)} extra (e.g. {_examples(only_b)})",
            path=other_path,
        )
    common = [i for i in a.ids if i in set(b.ids)]
    index_a = {i: k for k, i in enumerate(a.ids)}
    index_b = {i: k for k, i in enumerate(b.ids)}
    take_a = np.array([index_a[i] for i in common], dtype=np.int64)
    take_b = np.array([index_b[i] for i in common], dtype=np.int64)
    n_excluded = len(all_a) - len(common)

    def subset(c: Cohort, take: np.ndarray) -> Cohort:
        return replace(
            c,
            ids=c.ids[take],
            y=c.y[take],
            probs=c.probs[take],
            extra=c.extra.iloc[take].reset_index(drop=True),
        )

    return subset(a, take_a), subset(b, take_b), n_excluded
