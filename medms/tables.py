"""The predictions and labels CSV formats: their columns, one writer and one reader each, the model card.

This module is the one place these formats are defined: ``medms predict`` and ``medms train`` write them with
:class:`PredictionWriter` and :func:`write_labels`, ``medms evaluate`` reads them back with
:func:`read_predictions` and :func:`read_labels`. The format is documented in ``docs/formats.md``. pandas is
imported by the readers only, so writing a table stays light (training workers, bundles).

A predictions CSV has one row per series::

    id,source,prob_malignant,prob_normal,predicted,status,error
    s001,scans/s001,0.91,0.09,malignant,ok,
    s002,scans/s002,,,,failed,cannot decode pixel data

Example:
    >>> import pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> header = ",".join(prediction_columns(["neg", "pos"]))
    >>> _ = (folder / "p.csv").write_text(header + "\\nA,a.dcm,0.2,0.8,pos,ok,\\n")
    >>> table = read_predictions(folder / "p.csv")
    >>> table.class_names, table.frame["prob_pos"].tolist()
    (['neg', 'pos'], [0.8])
    >>> model_card_path(folder / "p.csv").name
    'p.meta.json'
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from medms.atomic import atomic_file
from medms.errors import LabelError, OutputError, PredictionFileError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "ERROR_COLUMN",
    "ID_COLUMN",
    "LABEL_COLUMN",
    "PREDICTED_COLUMN",
    "PREDICTION_COLUMNS",
    "PROB_PREFIX",
    "SOURCE_COLUMN",
    "STATUS_COLUMN",
    "STATUS_FAILED",
    "STATUS_OK",
    "SUM_TOLERANCE",
    "PredictionTable",
    "PredictionWriter",
    "model_card_path",
    "prediction_columns",
    "prob_column",
    "read_labels",
    "read_model_card",
    "read_predictions",
    "write_labels",
]

log = logging.getLogger("medms.tables")

ID_COLUMN = "id"
SOURCE_COLUMN = "source"
PROB_PREFIX = "prob_"
PREDICTED_COLUMN = "predicted"
STATUS_COLUMN = "status"
ERROR_COLUMN = "error"
STATUS_OK = "ok"
STATUS_FAILED = "failed"
LABEL_COLUMN = "label"
#: The fixed columns of a predictions CSV; the ``prob_<class>`` columns sit after ``source``.
PREDICTION_COLUMNS = (ID_COLUMN, SOURCE_COLUMN, PREDICTED_COLUMN, STATUS_COLUMN, ERROR_COLUMN)
#: Probabilities of an ``ok`` row must sum to 1 within this (CSV files round the values they store).
SUM_TOLERANCE = 1e-3
# Values a hair outside [0, 1] come from float rounding in softmax/sigmoid, not from a wrong column.
_RANGE_TOLERANCE = 1e-6
_EXAMPLES = 5


class PredictionTable(NamedTuple):
    """A validated predictions CSV: ``frame`` (one row per series, ids as strings) and ``class_names``."""

    frame: pd.DataFrame
    class_names: list[str]


def prob_column(class_name: str) -> str:
    """The column holding the probability of ``class_name`` (``prob_<class>``)."""
    return f"{PROB_PREFIX}{class_name}"


def prediction_columns(class_names: Sequence[str]) -> list[str]:
    """The header of a predictions CSV for these classes, in the order ``medms predict`` writes it.

    Example:
        >>> prediction_columns(["a", "b"])
        ['id', 'source', 'prob_a', 'prob_b', 'predicted', 'status', 'error']
    """
    return [ID_COLUMN, SOURCE_COLUMN, *(prob_column(c) for c in class_names), *PREDICTION_COLUMNS[2:]]


def model_card_path(predictions_path: str | os.PathLike[str]) -> Path:
    """Where the model card of a predictions CSV lives: beside it, ``p.csv`` → ``p.meta.json``."""
    path = Path(predictions_path)
    stem = path.stem if path.suffix.lower() == ".csv" else path.name
    return path.with_name(f"{stem}.meta.json")


def read_model_card(predictions_path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The model card (architecture, options, weights sha256, config, versions) beside a predictions CSV.

    Returns ``None`` when there is no sidecar file; a sidecar that is not a JSON object is an error.
    """
    card = model_card_path(predictions_path)
    if not card.is_file():
        return None
    try:
        data = json.loads(card.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise PredictionFileError(
            f"model card is not readable JSON ({err}); fix or delete it", path=card
        ) from err
    if not isinstance(data, dict):
        raise PredictionFileError("model card must be a JSON object", path=card)
    return data


def _examples(values: Sequence[Any] | pd.Series | pd.Index) -> str:
    items = [str(v) for v in list(values)[:_EXAMPLES]]
    more = ", ..." if len(values) > _EXAMPLES else ""
    return ", ".join(items) + more


def _read_csv(
    path: str | os.PathLike[str], error: type[PredictionFileError] | type[LabelError]
) -> pd.DataFrame:
    import pandas as pd

    if not Path(path).is_file():
        raise error("file not found", path=path)
    try:
        # Everything as text first: ids like "007" must stay as written and empty cells must stay visible.
        frame = pd.read_csv(
            path, dtype=str, keep_default_na=False, skipinitialspace=True, encoding="utf-8-sig"
        )
    except pd.errors.EmptyDataError as err:
        raise error("the file is empty; it needs a header row and at least one data row", path=path) from err
    except (pd.errors.ParserError, UnicodeDecodeError, OSError) as err:
        raise error(f"not a readable CSV file ({err})", path=path) from err
    frame.columns = [str(c).strip() for c in frame.columns]
    if frame.empty:
        raise error("the file has a header but no data rows", path=path)
    return frame


def _check_ids(frame: pd.DataFrame, path: str | os.PathLike[str], error: type[Exception]) -> None:
    if ID_COLUMN not in frame.columns:
        raise error(
            f"missing the '{ID_COLUMN}' column (columns found: {_examples(frame.columns)})", path=path
        )
    ids = frame[ID_COLUMN].str.strip()
    blank = np.flatnonzero((ids == "").to_numpy())
    if blank.size:
        rows = _examples([int(i) + 2 for i in blank])
        raise error(f"{blank.size} row(s) have an empty id (file lines {rows})", path=path)
    duplicated = ids[ids.duplicated(keep=False)].unique()
    if duplicated.size:
        raise error(
            f"{duplicated.size} id(s) appear more than once (e.g. {_examples(duplicated)}); "
            "ids must be unique",
            path=path,
        )
    frame[ID_COLUMN] = ids


def read_predictions(path: str | os.PathLike[str]) -> PredictionTable:
    """Read and validate a predictions CSV.

    Required columns: ``id`` and at least two ``prob_<class>`` columns (their order is the class order).
    ``source``, ``predicted``, ``status`` (``ok``/``failed``, default ``ok``) and ``error`` are optional.
    The probabilities of every ``ok`` row must be finite, in [0, 1] and sum to 1 (± :data:`SUM_TOLERANCE`);
    ``failed`` rows may leave them empty. The returned frame has float probability columns and a ``status``
    and ``error`` column in every case.

    Raises:
        PredictionFileError: missing file or columns, no rows, blank or duplicate ids, unknown status,
            probabilities that are not numbers, outside [0, 1], or do not sum to 1.
    """
    frame = _read_csv(path, PredictionFileError)
    _check_ids(frame, path, PredictionFileError)
    prob_columns = [c for c in frame.columns if c.startswith(PROB_PREFIX)]
    class_names = [c[len(PROB_PREFIX) :] for c in prob_columns]
    if len(prob_columns) < 2 or any(not name for name in class_names):
        raise PredictionFileError(
            f"needs one '{PROB_PREFIX}<class>' column per class (at least two), "
            f"found {prob_columns or 'none'}",
            path=path,
        )
    for column, default in ((STATUS_COLUMN, STATUS_OK), (ERROR_COLUMN, ""), (SOURCE_COLUMN, "")):
        if column not in frame.columns:
            frame[column] = default
    frame[STATUS_COLUMN] = frame[STATUS_COLUMN].str.strip().str.lower()
    bad_status = frame.loc[~frame[STATUS_COLUMN].isin([STATUS_OK, STATUS_FAILED]), ID_COLUMN]
    if len(bad_status):
        raise PredictionFileError(
            f"{len(bad_status)} row(s) have a status other than '{STATUS_OK}' or '{STATUS_FAILED}' "
            f"(ids {_examples(bad_status)})",
            path=path,
        )
    ok = (frame[STATUS_COLUMN] == STATUS_OK).to_numpy()
    probs = frame[prob_columns].apply(lambda col: _to_numeric(col.str.strip()))
    values = probs.to_numpy(dtype=float)
    _check_probabilities(values[ok], frame.loc[ok, ID_COLUMN], path)
    frame[prob_columns] = values
    return PredictionTable(frame.reset_index(drop=True), class_names)


def _to_numeric(column: pd.Series) -> pd.Series:
    import pandas as pd

    return pd.to_numeric(column, errors="coerce")


def _check_probabilities(values: np.ndarray, ids: pd.Series, path: str | os.PathLike[str]) -> None:
    def fail(mask: np.ndarray, what: str) -> None:
        if mask.any():
            raise PredictionFileError(
                f"{int(mask.sum())} ok row(s) have {what} (ids {_examples(ids[mask])}); "
                f"mark rows without a prediction as status '{STATUS_FAILED}'",
                path=path,
            )

    fail(~np.isfinite(values).all(axis=1), "probabilities that are empty, not numbers, NaN or infinite")
    fail(
        ((values < -_RANGE_TOLERANCE) | (values > 1 + _RANGE_TOLERANCE)).any(axis=1),
        "probabilities outside [0, 1]",
    )
    fail(
        np.abs(values.sum(axis=1) - 1.0) > SUM_TOLERANCE,
        f"probabilities that do not sum to 1 (± {SUM_TOLERANCE})",
    )


def _class_index(text: str, n_classes: int) -> int:
    """``text`` as a class index (``"1"`` or ``"1.0"``, as spreadsheets write it), or -1."""
    try:
        value = float(text)
    except ValueError:
        return -1
    return int(value) if value.is_integer() and 0 <= value < n_classes else -1


def read_labels(path: str | os.PathLike[str], class_names: Sequence[str]) -> pd.DataFrame:
    """Read and validate a labels CSV against the class list of the predictions.

    Columns: ``id``, ``label`` (a class name, or a class index 0..K-1 when it is not a class name) and any
    extra columns (usable as subgroups or as an aggregation key). Returns the frame with ``label`` replaced by
    the integer class index.

    Example:
        >>> import pathlib, tempfile
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "labels.csv"
        >>> _ = path.write_text("id,label,site\\nA,pos,x\\nB,0,y\\n")
        >>> read_labels(path, ["neg", "pos"])["label"].tolist()
        [1, 0]

    Raises:
        LabelError: missing file or columns, no rows, blank or duplicate ids, empty or unknown labels.
    """
    frame = _read_csv(path, LabelError)
    _check_ids(frame, path, LabelError)
    if LABEL_COLUMN not in frame.columns:
        raise LabelError(
            f"missing the '{LABEL_COLUMN}' column (columns found: {_examples(frame.columns)})", path=path
        )
    text = frame[LABEL_COLUMN].str.strip()
    by_name = {name: index for index, name in enumerate(class_names)}
    # A class name wins over an index so that classes named "0"/"1" keep their meaning.
    codes = text.map(lambda v: by_name.get(v, _class_index(v, len(class_names)))).astype(int)
    unknown = codes < 0
    if unknown.any():
        values = text[unknown].unique()
        raise LabelError(
            f"{int(unknown.sum())} label(s) are not in the class list {list(class_names)} "
            f"or 0..{len(class_names) - 1} "
            f"(values {_examples(values)}; ids {_examples(frame.loc[unknown, ID_COLUMN])})",
            path=path,
        )
    frame[LABEL_COLUMN] = codes.to_numpy()
    return frame.reset_index(drop=True)


# ---------------------------------------------------------------------------------------------- writing


class PredictionWriter:
    """Append rows to a predictions CSV, header first when the file is new; every batch flushed and fsynced.

    Use as a context manager. With ``resume=True`` an existing file is continued: its header must match these
    classes and a half-written last line (a kill mid-write) is cut off; :attr:`existing_ids` holds the ids
    already written. Without ``resume`` an existing file is replaced.

    Example:
        >>> import pathlib, tempfile
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "p.csv"
        >>> with PredictionWriter(path, ["neg", "pos"]) as writer:
        ...     writer.add_ok("s1", "scans/s1", [0.25, 0.75])
        ...     writer.add_failed("s2", "scans/s2", "DicomError: not a DICOM file")
        ...     writer.flush()
        >>> print(path.read_text().strip())
        id,source,prob_neg,prob_pos,predicted,status,error
        s1,scans/s1,0.250000,0.750000,pos,ok,
        s2,scans/s2,,,,failed,DicomError: not a DICOM file
    """

    def __init__(
        self, path: str | os.PathLike[str], class_names: Sequence[str], *, resume: bool = False
    ) -> None:
        self.path = Path(path)
        self.class_names = list(class_names)
        self.header = prediction_columns(self.class_names)
        self.resume = resume
        self.existing_ids: set[str] = set()
        self._rows: list[list[str]] = []

    def __enter__(self) -> PredictionWriter:
        if self.resume and self.path.exists():
            self.existing_ids = self._read_existing_ids()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = open(self.path, "a" if self.resume else "w", newline="", encoding="utf-8")
        except OSError as err:
            raise OutputError(
                f"cannot write the predictions file ({err.strerror or err})", path=self.path
            ) from err
        self._csv = csv.writer(self._fh)
        if self._fh.tell() == 0:
            self._rows.append(self.header)
            self.flush()
        return self

    def add_ok(self, item_id: str, source: str, probabilities: Sequence[float]) -> None:
        """Queue a row for a series that was classified (the predicted class is the most probable one)."""
        probs = [float(p) for p in probabilities]
        predicted = self.class_names[int(np.argmax(probs))]
        self._rows.append([item_id, source, *(f"{p:.6f}" for p in probs), predicted, STATUS_OK, ""])

    def add_failed(self, item_id: str, source: str, error: str) -> None:
        """Queue a row for a series that could not be classified, with its one-line error."""
        self._rows.append([item_id, source, *[""] * len(self.class_names), "", STATUS_FAILED, error])

    def flush(self) -> None:
        """Write the queued rows, flush and fsync (a crash loses at most rows not yet flushed)."""
        try:
            self._csv.writerows(self._rows)
            self._fh.flush()
            os.fsync(self._fh.fileno())
        except OSError as err:
            raise OutputError(
                f"cannot write the predictions file ({err.strerror or err})", path=self.path
            ) from err
        self._rows = []

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if kind is None:
                self.flush()
        finally:
            self._fh.close()

    def _read_existing_ids(self) -> set[str]:
        data = self.path.read_bytes()
        if data and not data.endswith(b"\n"):
            with open(self.path, "r+b") as fh:
                fh.truncate(data.rfind(b"\n") + 1)
            log.warning("dropped a half-written last line of %s", self.path)
        with self.path.open(newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            if header is None:
                return set()
            if header != self.header:
                raise OutputError(
                    "the existing predictions file has other columns (another model?); not resuming it",
                    path=self.path,
                )
            return {row[0] for row in reader if row}


def write_labels(
    path: str | os.PathLike[str], ids: Sequence[str], labels: Sequence[int], class_names: Sequence[str]
) -> None:
    """Write a labels CSV (``id,label`` with class names) atomically.

    Example:
        >>> import pathlib, tempfile
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "labels.csv"
        >>> write_labels(path, ["a", "b"], [1, 0], ["neg", "pos"])
        >>> path.read_text().splitlines()
        ['id,label', 'a,pos', 'b,neg']
    """
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow([ID_COLUMN, LABEL_COLUMN])
    writer.writerows([i, class_names[int(y)]] for i, y in zip(ids, labels, strict=True))
    with atomic_file(path, what="labels file") as fh:
        fh.write(text.getvalue().encode("utf-8"))
