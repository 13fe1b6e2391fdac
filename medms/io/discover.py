"""What ``medms predict`` runs on: the inputs the user named, expanded into one work item per series.

- a folder: every DICOM series under it (headers only, grouped by SeriesInstanceUID) and every NIfTI file;
- a DICOM file: its series; a NIfTI file: itself;
- a CSV manifest with a ``path`` column (and optionally ``id``): each row, relative paths against the CSV.

Items are identified by SeriesInstanceUID (DICOM) or by the path the user gave (other files) — never by
patient attributes.
"""

from __future__ import annotations

import csv
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from medms.errors import ConfigError, SeriesSelectionError
from medms.io.images import is_nifti
from medms.io.scan import scan_dicom

__all__ = ["WorkItem", "discover"]

log = logging.getLogger("medms.io.discover")


@dataclass(frozen=True)
class WorkItem:
    """One row of the predictions CSV to come: its id, where it came from, and what to load."""

    id: str
    source: str
    image: str | tuple[str, ...]  # a file path, or the files of one DICOM series

    def loader_input(self) -> str | list[str]:
        """What ``LoadSeriesd`` takes for this item: the path, or the list of the series' files."""
        return list(self.image) if isinstance(self.image, tuple) else self.image


def discover(inputs: Sequence[str | os.PathLike[str]]) -> tuple[list[WorkItem], list[tuple[str, str]]]:
    """Expand the user's inputs into work items; return ``(items, skipped)`` (skipped: path, reason).

    Example:
        >>> import numpy as np, pathlib, tempfile
        >>> from medms.synthetic import write_image_dicom
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> _ = write_image_dicom(np.zeros((8, 8), np.uint8), folder / "a.dcm", series_uid="1.2.3.4")
        >>> items, skipped = discover([folder])
        >>> [(item.id, len(item.image)) for item in items], skipped
        ([('1.2.3.4', 1)], [])

    Raises:
        SeriesSelectionError: when an input does not exist or the inputs hold nothing to classify.
    """
    items: list[WorkItem] = []
    skipped: list[tuple[str, str]] = []
    for given in inputs:
        path = Path(given)
        if not path.exists():
            raise SeriesSelectionError("input not found", path=path)
        if path.is_dir():
            found, skip = _from_folder(path)
        elif path.suffix.lower() == ".csv":
            found, skip = _from_manifest(path)
        elif is_nifti(path):
            found, skip = [WorkItem(str(path), str(path), str(path))], []
        else:
            found, skip = _from_dicom(path)
        items.extend(found)
        skipped.extend(skip)
    seen: set[str] = set()
    unique = []
    for item in items:
        if item.id in seen:
            skipped.append((item.source, f"duplicate id {item.id}: already listed by another input"))
            continue
        seen.add(item.id)
        unique.append(item)
    if not unique:
        raise SeriesSelectionError(
            f"no DICOM series or NIfTI file found in {len(inputs)} input(s) ({len(skipped)} file(s) skipped)",
            path=str(inputs[0]) if inputs else None,
        )
    return unique, skipped


def _from_dicom(path: Path) -> tuple[list[WorkItem], list[tuple[str, str]]]:
    result = scan_dicom(path)
    items = [WorkItem(s.uid, _series_source(s.files, path), tuple(str(f) for f in s.files)) for s in result]
    return items, [(str(p), str(r)) for p, r in result.skipped]


def _from_folder(path: Path) -> tuple[list[WorkItem], list[tuple[str, str]]]:
    items, skipped = _from_dicom(path)
    nifti = {p for p in path.rglob("*") if p.is_file() and is_nifti(p)}
    items += [WorkItem(str(p), str(p), str(p)) for p in sorted(nifti)]
    # scan_dicom reports NIfTI files as "not DICOM"; they are not skipped here
    skipped = [(p, r) for p, r in skipped if Path(p) not in nifti]
    return items, skipped


def _from_manifest(path: Path) -> tuple[list[WorkItem], list[tuple[str, str]]]:
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if "path" not in (reader.fieldnames or []):
            raise ConfigError(
                f"a manifest needs a 'path' column (found: {', '.join(reader.fieldnames or [])})", path=path
            )
        rows = list(reader)
    items: list[WorkItem] = []
    for row in rows:
        image = Path(row["path"])
        image = image if image.is_absolute() else path.parent / image
        # a missing or unreadable file becomes a failed row at prediction time, not an error here
        items.append(WorkItem(row.get("id") or row["path"], row["path"], str(image)))
    return items, []


def _series_source(files: Sequence[os.PathLike[str] | str], given: Path) -> str:
    parents = {str(Path(f).parent) for f in files}
    if len(parents) == 1:
        return parents.pop()
    return os.path.commonpath([str(Path(f)) for f in files]) if files else str(given)
