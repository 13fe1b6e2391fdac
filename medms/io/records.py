"""The records ``medms.io`` returns: :class:`SeriesInfo` / :class:`ScanResult` (headers) and :class:`Series` (pixels).

None of them holds a patient attribute: series are identified by their UIDs and by the paths the user gave.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["ScanResult", "Series", "SeriesInfo"]


@dataclass(frozen=True)
class SeriesInfo:
    """One DICOM series found by :func:`medms.io.scan_dicom` (header values only, no PHI).

    Attributes:
        uid: SeriesInstanceUID.
        study_uid: StudyInstanceUID.
        modality: Modality (``""`` when absent).
        n_instances: number of files.
        rows, columns: image size of the first file.
        n_frames: total number of frames over all files.
        files: the files, in the order found (reading sorts them by position).
        sop_class: name of the SOP class of the first file (e.g. ``"CT Image Storage"``).
        series_number: SeriesNumber or ``None``.
    """

    uid: str
    study_uid: str
    modality: str
    n_instances: int
    rows: int
    columns: int
    n_frames: int
    files: tuple[Path, ...]
    sop_class: str = ""
    series_number: int | None = None

    def summary(self) -> str:
        """One line ``uid (modality, n instances, rows×columns)`` used in listings and errors."""
        return (
            f"{self.uid} ({self.modality or '?'}, {self.n_instances} instance(s), {self.rows}x{self.columns})"
        )


class ScanResult(list):
    """A list of :class:`SeriesInfo` with the files that were skipped and why.

    Attributes:
        skipped: ``(path, reason)`` for every file that is not a readable DICOM image.
    """

    def __init__(self, series: list[SeriesInfo] | None = None, skipped: list[tuple[str, str]] | None = None):
        super().__init__(series or [])
        self.skipped: list[tuple[str, str]] = list(skipped or [])

    def format_table(self, show_skipped: bool = False) -> str:
        """A plain-text table of the series (and optionally the skipped files).

        Example:
            >>> print(ScanResult().format_table())
            no DICOM image series found (0 file(s) skipped)
        """
        lines: list[str] = []
        if not self:
            lines.append(f"no DICOM image series found ({len(self.skipped)} file(s) skipped)")
        else:
            header = (
                "series uid",
                "modality",
                "instances",
                "frames",
                "rows",
                "columns",
                "sop class",
                "folder",
            )
            rows = [
                (
                    s.uid,
                    s.modality or "?",
                    str(s.n_instances),
                    str(s.n_frames),
                    str(s.rows),
                    str(s.columns),
                    s.sop_class,
                    str(Path(s.files[0]).parent) if s.files else "",
                )
                for s in self
            ]
            widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
            for r in [header, tuple("-" * w for w in widths), *rows]:
                lines.append("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip())
            lines.append(
                f"{len(self)} series, {sum(s.n_instances for s in self)} file(s), {len(self.skipped)} skipped"
            )
        if show_skipped and self.skipped:
            lines.append("skipped:")
            lines.extend(f"  {path}: {reason}" for path, reason in self.skipped)
        return "\n".join(lines)


@dataclass
class Series:
    """An image read by :func:`medms.io.read_series` (or the NIfTI / npz / array readers).

    Attributes:
        array: float32 values in modality units (HU for CT), spatial axes in ``(column, row, slice)`` index order
            (2D images: ``(column, row)``), no channel axis for grey images; colour images carry a **trailing**
            RGB axis. Often a transposed view of a C-ordered buffer (no copy was made).
        affine: 4×4 float64 mapping ``(i, j, k, 1)`` indices to RAS millimetres (MONAI ``ITKReader`` convention).
        spacing: voxel size in mm per spatial axis (same order as ``array``).
        meta: non-PHI metadata (see ``docs/io.md`` for the keys).
        warnings: problems accepted under ``lenient=True`` (also in ``meta["medms_warnings"]``).
    """

    array: np.ndarray
    affine: np.ndarray
    spacing: tuple[float, ...]
    meta: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def is_colour(self) -> bool:
        """True when ``array`` has a trailing RGB axis."""
        return bool(self.meta.get("colour", False))
