"""What to fetch from a DICOMweb server: QIDO-RS filters (``Modality=CT``) or a CSV of study/series UIDs.

Example:
    >>> parse_filters(["Modality=CT", "StudyDate=20240101-20240131"])
    {'Modality': 'CT', 'StudyDate': '20240101-20240131'}
    >>> RemoteSeries.from_json({"0020000D": {"vr": "UI", "Value": ["1.2.3"]},
    ...                         "0020000E": {"vr": "UI", "Value": ["1.2.3.4"]},
    ...                         "00080060": {"vr": "CS", "Value": ["CT"]}})
    RemoteSeries(study_uid='1.2.3', series_uid='1.2.3.4', modality='CT', n_instances=None)
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from pydicom.datadict import keyword_for_tag, tag_for_keyword

from medms.errors import ConfigError, RemoteError

__all__ = ["CSV_COLUMNS", "RemoteSeries", "is_uid", "parse_filters", "read_uid_csv"]

_UID = re.compile(r"^[0-9]+(\.[0-9]+)*$")
#: The CSV columns :func:`read_uid_csv` understands (DICOM keywords); at least one must be present.
CSV_COLUMNS = ("StudyInstanceUID", "SeriesInstanceUID")
#: QIDO-RS query parameters that are not attribute filters (the source sets them itself).
_RESERVED = {"limit", "offset", "fuzzymatching", "includefield"}
#: Attributes asked for in every series query, by tag.
SERIES_FIELDS = ("0020000D", "0020000E", "00080060", "00201209", "00200011")


def is_uid(value: object) -> bool:
    """Whether ``value`` is a well-formed DICOM UID (digits and dots, at most 64 characters)."""
    return isinstance(value, str) and 0 < len(value) <= 64 and _UID.match(value) is not None


@dataclass(frozen=True)
class RemoteSeries:
    """One series on the server: what WADO-RS needs to fetch it, and what QIDO-RS said about it."""

    study_uid: str
    series_uid: str
    modality: str = ""
    n_instances: int | None = None

    @classmethod
    def from_json(cls, item: Mapping[str, Mapping], where: str = "") -> RemoteSeries:
        """Read one QIDO-RS series result (DICOM JSON).

        Raises:
            RemoteError: the result lacks a well-formed StudyInstanceUID or SeriesInstanceUID.
        """

        def first(tag: str) -> object:
            values = (item.get(tag) or {}).get("Value") or [None]
            return values[0]

        study, series = first("0020000D"), first("0020000E")
        if not (is_uid(study) and is_uid(series)):
            raise RemoteError(
                "the server answered the series query with a result without a well-formed StudyInstanceUID and "
                "SeriesInstanceUID; the server is not DICOMweb-conformant",
                path=where,
            )
        count = first("00201209")
        return cls(
            str(study), str(series), str(first("00080060") or ""), None if count is None else int(count)
        )


def _filter_key(key: str) -> str:
    key = key.strip()
    if key.lower() in _RESERVED:
        raise ConfigError(f"{key!r} is a QIDO-RS parameter, not an attribute filter; use a DICOM keyword")
    if re.fullmatch(r"[0-9A-Fa-f]{8}", key):
        return keyword_for_tag(int(key, 16)) or key.upper()
    if tag_for_keyword(key) is None:
        raise ConfigError(f"unknown DICOM keyword {key!r} in a query filter; use e.g. Modality=CT")
    return key


def parse_filters(filters: Mapping[str, object] | Iterable[str] | None) -> dict[str, str]:
    """QIDO-RS attribute filters from ``{"Modality": "CT"}`` or ``["Modality=CT", ...]``.

    Keys are DICOM keywords (``StudyDate``) or tags (``00080020``); values are QIDO-RS match strings (ranges
    ``20240101-20240131``, wildcards ``CT*``, lists ``CT\\MR``).

    Raises:
        ConfigError: a filter without ``=``, an unknown keyword, an empty value, a key given twice.
    """
    if filters is None:
        return {}
    pairs: list[tuple[str, object]] = []
    if isinstance(filters, Mapping):
        pairs = list(filters.items())
    else:
        for text in filters:
            key, sep, value = str(text).partition("=")
            if not sep:
                raise ConfigError(f"query filter {text!r} is not KEY=VALUE; write e.g. Modality=CT")
            pairs.append((key, value))
    out: dict[str, str] = {}
    for key, value in pairs:
        name = _filter_key(str(key))
        if name in out:
            raise ConfigError(f"query filter {name} is given twice; give one value (a list is A\\B)")
        if str(value).strip() == "":
            raise ConfigError(f"query filter {name} has an empty value")
        out[name] = str(value).strip()
    return out


def read_uid_csv(path: str | os.PathLike[str]) -> list[tuple[str | None, str | None]]:
    """``(StudyInstanceUID, SeriesInstanceUID)`` pairs from a CSV with either or both columns.

    A row with a SeriesInstanceUID names one series; a row with only a StudyInstanceUID names every series of
    that study. Empty rows are skipped.

    Raises:
        ConfigError: the file is missing, has neither column, or a row holds a malformed UID (the line says
            where).
    """
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            fields = reader.fieldnames or []
            if not any(c in fields for c in CSV_COLUMNS):
                raise ConfigError(
                    f"needs a header with a {' or '.join(CSV_COLUMNS)} column, found {fields}", path=path
                )
            rows: list[tuple[str | None, str | None]] = []
            for line, row in enumerate(reader, start=2):
                study = (row.get("StudyInstanceUID") or "").strip() or None
                series = (row.get("SeriesInstanceUID") or "").strip() or None
                if study is None and series is None:
                    continue
                for value in (study, series):
                    if value is not None and not is_uid(value):
                        raise ConfigError(f"line {line}: {value[:70]!r} is not a DICOM UID", path=path)
                rows.append((study, series))
    except FileNotFoundError:
        raise ConfigError("UID list not found; check the path", path=path) from None
    except (UnicodeDecodeError, csv.Error) as err:
        raise ConfigError(f"not a readable CSV file ({type(err).__name__})", path=path) from None
    return rows
