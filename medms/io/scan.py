"""Walk a file or folder tree reading DICOM headers only, and group the images into series.

Pixel data are never read here: files are parsed with large values (Pixel Data, big private blobs) left on disk,
so scanning costs the same for a 16×16 and a 4096×4096 image.

Example:
    >>> import tempfile
    >>> from medms.synthetic import write_ct_phantom
    >>> folder = tempfile.mkdtemp()
    >>> _ = write_ct_phantom(folder, shape=(16, 16, 3))
    >>> result = scan_dicom(folder)
    >>> len(result), result[0].n_instances, result[0].modality
    (1, 3, 'CT')
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import BytesLengthException, InvalidDicomError
from pydicom.uid import UID

from medms.errors import DicomError, InputError, MedmsError, NotAnImageError
from medms.io.pixels import PIXEL_DATA_TAG
from medms.io.records import ScanResult, SeriesInfo

__all__ = ["HEADER_ERRORS", "group_headers", "list_files", "read_header", "scan_dicom"]

# Values longer than this stay on disk while parsing (pixel data are then read from their file offset).
DEFER_SIZE = 4096
# The exceptions pydicom raises on a damaged header, while parsing or when a raw value is converted on first
# access (unknown VR, wrong value length, unparsable numbers, runaway nesting): all mean "damaged file".
HEADER_ERRORS = (
    InvalidDicomError,
    BytesLengthException,
    EOFError,
    ValueError,
    struct.error,
    KeyError,
    IndexError,
    TypeError,
    AttributeError,
    NotImplementedError,
    OverflowError,
    RecursionError,
)
# A preamble starting like a Windows (PE) or Linux (ELF) executable: a DICOM/executable polyglot (CVE-2019-11687).
_EXECUTABLE_SIGNATURES = {b"MZ": "Windows executable (MZ)", b"\x7fELF": "ELF executable"}


def list_files(path: str | os.PathLike[str]) -> list[Path]:
    """All regular files under ``path`` (a file gives itself), in sorted order for reproducible output.

    Raises:
        InputError: the path does not exist.
    """
    root = Path(path)
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise InputError("no such file or folder; check the path", path=path)
    files: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        files.extend(Path(dirpath) / name for name in sorted(filenames))
    return files


def read_header(path: str | os.PathLike[str]) -> Dataset:
    """Parse one file's header (pixel data left on disk) and check that it is a DICOM image.

    Raises:
        DicomError: not a DICOM file, damaged header, unreadable (permissions), or a preamble that starts with an
            executable signature (a possible DICOM/executable polyglot; such files are refused, not read).
        NotAnImageError: a DICOM object without an image (SR, RTSTRUCT, PR, DICOMDIR, no Pixel Data, ...).
    """
    try:
        ds = pydicom.dcmread(path, defer_size=DEFER_SIZE)
        _check_preamble(ds, path)
        _check_image_header(ds, path)
    except PermissionError:
        raise DicomError("cannot be read: permission denied; fix the file permissions", path=path) from None
    except InvalidDicomError:
        raise DicomError(
            "not a DICOM file (no 'DICM' marker after the 128-byte preamble)", path=path
        ) from None
    except OSError as err:
        raise DicomError(f"cannot be read: {err.strerror or err}", path=path) from None
    except MedmsError:
        raise
    except HEADER_ERRORS as err:
        raise DicomError(
            f"damaged DICOM header ({type(err).__name__}); the file is incomplete or corrupt", path=path
        ) from None
    return ds


def _check_preamble(ds: Dataset, path: str | os.PathLike[str]) -> None:
    preamble = getattr(ds, "preamble", None) or b""
    for signature, kind in _EXECUTABLE_SIGNATURES.items():
        if preamble.startswith(signature):
            raise DicomError(
                f"the 128-byte preamble starts with a {kind} signature: possibly a DICOM/executable polyglot "
                "(CVE-2019-11687); refused. If the file is trusted, zero its preamble (e.g. rewrite it with "
                "pydicom) and scan again",
                path=path,
            )


def _check_image_header(ds: Dataset, path: str | os.PathLike[str]) -> None:
    """Image and grouping attributes present, and their values parse (pydicom converts them lazily)."""
    if "Rows" not in ds or "Columns" not in ds or PIXEL_DATA_TAG not in ds:
        sop = _sop_name(ds)
        hint = "; the file may be truncated" if "Image Storage" in sop else ""
        missing = "Pixel Data" if "Rows" in ds and "Columns" in ds else "image (no Rows/Columns)"
        raise NotAnImageError(f"no {missing} in this {sop} object{hint}", path=path)
    if "SeriesInstanceUID" not in ds:
        raise DicomError("no SeriesInstanceUID; the file cannot be grouped into a series", path=path)
    # everything series_info reads: a damaged value fails here, as this file's skip reason
    str(ds.SeriesInstanceUID), str(ds.get("StudyInstanceUID", "")), str(ds.get("Modality", ""))
    int(ds.Rows), int(ds.Columns), int(ds.get("NumberOfFrames", 1) or 1), _sop_name(ds)
    number = ds.get("SeriesNumber")
    if number not in (None, ""):
        int(number)


def _sop_name(ds: Dataset) -> str:
    sop = ds.get("SOPClassUID") or ds.file_meta.get("MediaStorageSOPClassUID")
    return UID(str(sop)).name if sop else "object of unknown SOP class"


def group_headers(
    files: list[Path], *, strict: bool = False
) -> tuple[dict[tuple[str, str], list[tuple[Path, Dataset]]], list[tuple[str, str]]]:
    """Read the headers of ``files`` and group the images by (StudyInstanceUID, SeriesInstanceUID).

    Args:
        files: files to read.
        strict: raise the first file's error instead of recording it as skipped.

    Returns:
        ``(groups, skipped)``: groups in the order their first file was found, and ``(path, reason)`` skips.
    """
    groups: dict[tuple[str, str], list[tuple[Path, Dataset]]] = {}
    skipped: list[tuple[str, str]] = []
    for f in files:
        try:
            ds = read_header(f)
        except MedmsError as err:
            if strict:
                raise
            skipped.append((str(f), err.message))
            continue
        key = (str(ds.get("StudyInstanceUID", "")), str(ds.SeriesInstanceUID))
        groups.setdefault(key, []).append((f, ds))
    return groups, skipped


def series_info(key: tuple[str, str], members: list[tuple[Path, Dataset]]) -> SeriesInfo:
    """Summarise one group of :func:`group_headers` as a :class:`SeriesInfo`."""
    first = members[0][1]
    number = first.get("SeriesNumber")
    return SeriesInfo(
        uid=key[1],
        study_uid=key[0],
        modality=str(first.get("Modality", "")),
        n_instances=len(members),
        rows=int(first.Rows),
        columns=int(first.Columns),
        n_frames=sum(int(ds.get("NumberOfFrames", 1) or 1) for _, ds in members),
        files=tuple(p for p, _ in members),
        sop_class=_sop_name(first),
        series_number=None if number in (None, "") else int(number),
    )


def scan_dicom(path: str | os.PathLike[str]) -> ScanResult:
    """List the DICOM image series under a file or folder tree, reading headers only.

    Non-DICOM files, damaged or unreadable files and DICOM objects without an image (SR, RTSTRUCT, PR,
    DICOMDIR, ...) are skipped with the reason recorded in ``result.skipped``.

    Args:
        path: a DICOM file or a folder (searched recursively).

    Returns:
        A :class:`ScanResult`: a list of :class:`SeriesInfo` grouped by (StudyInstanceUID, SeriesInstanceUID).

    Raises:
        InputError: ``path`` does not exist.

    Example:
        >>> from medms.io import scan_dicom
        >>> print(scan_dicom("sample_data/dicom/ct_uneven_gap").format_table())  # doctest: +SKIP
    """
    groups, skipped = group_headers(list_files(path))
    return ScanResult([series_info(k, v) for k, v in groups.items()], skipped)
