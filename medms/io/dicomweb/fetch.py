"""One WADO-RS exchange written to disk, and the reading of a STOW-RS answer.

Example:
    >>> from pydicom.dataset import Dataset
    >>> answer = Dataset()
    >>> ref = Dataset(); ref.ReferencedSOPInstanceUID = "1.2.3"
    >>> answer.ReferencedSOPSequence = [ref]
    >>> stored_uids(answer, 1, "https://pacs.example.org/dicom-web/studies")
    ['1.2.3']
"""

from __future__ import annotations

from collections.abc import Callable
from io import BytesIO
from pathlib import Path

import pydicom
import requests
from dicomweb_client import DICOMwebClient
from pydicom.dataset import Dataset

from medms.errors import DicomError, MedmsError, RemoteError
from medms.io.scan import HEADER_ERRORS

__all__ = ["stored_uids", "write_instances"]

#: Ask for the stored transfer syntax (no transcoding on the server; medms decodes what it receives).
ANY_SYNTAX = (("application/dicom", "*"),)
#: What a damaged instance in a WADO-RS response raises while it is parsed (plus the multipart decoder's
#: ValueError for a body that is not a multipart message).
_PART_ERRORS = (*HEADER_ERRORS, ValueError)


def _encode(ds: Dataset, series_uid: str, index: int, where: str) -> bytes:
    """The instance as a DICOM file, after checking it belongs to the series asked for."""
    if str(ds.get("SeriesInstanceUID", "")) != series_uid:
        raise RemoteError(
            f"instance {index + 1} of the WADO-RS response belongs to another series; the server is not "
            "DICOMweb-conformant",
            path=where,
        )
    buffer = BytesIO()
    pydicom.dcmwrite(buffer, ds, enforce_file_format=True)
    return buffer.getvalue()


def write_instances(
    client: DICOMwebClient,
    study_uid: str,
    series_uid: str,
    folder: Path,
    *,
    reserve: Callable[[int], None],
    where: str,
) -> int:
    """Stream a series with WADO-RS into ``folder`` as ``00000.dcm``, ``00001.dcm``, ...; return the count.

    ``reserve(n)`` is called with each file's size before it is written (the cache bound). HTTP failures are
    raised as ``requests`` exceptions for the caller's retry loop.

    Raises:
        DicomError: an instance of the response is not valid DICOM.
        RemoteError: an instance belongs to another series.
    """
    parts = client.iter_series(study_uid, series_uid, media_types=ANY_SYNTAX)
    count = 0
    while True:
        try:
            ds = next(parts, None)
        except (MedmsError, requests.RequestException):
            raise
        except _PART_ERRORS as err:
            raise DicomError(
                f"instance {count + 1} of the WADO-RS response is not valid DICOM ({type(err).__name__}); "
                "the stored object is damaged or the server garbled it",
                path=where,
            ) from None
        if ds is None:
            return count
        data = _encode(ds, series_uid, count, where)
        reserve(len(data))
        (folder / f"{count:05d}.dcm").write_bytes(data)
        count += 1


def stored_uids(answer: Dataset, n_sent: int, where: str) -> list[str]:
    """The SOPInstanceUIDs a STOW-RS answer says were stored.

    Raises:
        RemoteError: the server refused some instances (their count and failure reasons in the message).
    """
    failed = list(answer.get("FailedSOPSequence", []))
    if failed:
        reasons = sorted({str(getattr(f, "FailureReason", "?")) for f in failed})
        raise RemoteError(
            f"the server refused {len(failed)} of {n_sent} instances (failure reasons {', '.join(reasons)})",
            path=where,
        )
    return [str(item.ReferencedSOPInstanceUID) for item in answer.get("ReferencedSOPSequence", [])]
