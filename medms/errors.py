"""One exception hierarchy for everything medms raises on purpose.

Every error says what is wrong and what to do next, names the file (the path the user gave) when there is
one, and never carries a patient attribute (name, id, birth date, ...). Catch :class:`MedmsError` to catch
them all; the input errors are also ``ValueError`` so generic code that expects one keeps working.

Example:
    >>> from medms.errors import DicomError, MedmsError
    >>> try:
    ...     raise DicomError("not a DICOM file", path="scan/001.txt")
    ... except MedmsError as err:
    ...     print(err)
    scan/001.txt: not a DICOM file
"""

from __future__ import annotations

import os

__all__ = [
    "CheckpointError",
    "ConfigError",
    "CorruptPixelDataError",
    "DataError",
    "DicomError",
    "GeometryError",
    "ImageSizeError",
    "InputError",
    "LabelError",
    "MedmsError",
    "ModelInputError",
    "NotAnImageError",
    "OutputError",
    "PredictionFileError",
    "RemoteError",
    "SeriesSelectionError",
    "UnsupportedTransferSyntaxError",
]


class MedmsError(Exception):
    """Base of every error medms raises deliberately.

    Args:
        message: what is wrong and what to do about it.
        path: the file or folder concerned, as the user gave it (optional). It prefixes the message.
    """

    def __init__(self, message: str, *, path: str | os.PathLike[str] | None = None) -> None:
        self.path = None if path is None else os.fspath(path)
        self.message = message
        super().__init__(f"{self.path}: {message}" if self.path else message)

    def __reduce__(self):  # keep pickling (DataLoader workers) working with the keyword-only path
        return (_rebuild, (type(self), self.message, self.path))


def _rebuild(cls: type[MedmsError], message: str, path: str | None) -> MedmsError:
    return cls(message, path=path)


class InputError(MedmsError, ValueError):
    """Something the user gave cannot be used as it is (file, array, option)."""


class DicomError(InputError):
    """A file is not readable as the DICOM it should be."""


class NotAnImageError(DicomError):
    """A DICOM object that holds no image (SR, RTSTRUCT, PR, ... or no PixelData)."""


class UnsupportedTransferSyntaxError(DicomError):
    """No installed decoder handles the file's transfer syntax."""


class CorruptPixelDataError(DicomError):
    """The pixel data cannot be decoded or do not match the header (truncated, wrong size, ...)."""


class ImageSizeError(DicomError):
    """The declared image is larger than the configured size guard (decompression-bomb protection)."""


class GeometryError(InputError):
    """Slice positions/orientation are missing, inconsistent or irregular (gaps, duplicates)."""


class SeriesSelectionError(InputError):
    """A path holds no series, or several where one was expected."""


class DataError(InputError):
    """An array is unusable: wrong dimensions or channel layout, NaN/Inf values, empty, ..."""


class ModelInputError(InputError):
    """A tensor does not fit the network (channels, spatial dims, size, NaN)."""


class CheckpointError(InputError):
    """A weights file is unsafe, tampered with, or does not match the architecture."""


class ConfigError(InputError):
    """A configuration file or option is invalid (unknown key, wrong type, missing file)."""


class PredictionFileError(InputError):
    """A predictions CSV is malformed (missing columns, bad probabilities, duplicate ids)."""


class LabelError(InputError):
    """Labels are unusable (unknown class, missing ids, a single class where two are needed)."""


class RemoteError(InputError):
    """A DICOMweb server refused or failed a request (4xx, 5xx or timeout after retries, unreachable, refused
    credentials, a response that is not what the standard says).

    Args:
        message: what is wrong and what to do about it (never a credential).
        path: the resource concerned (a URL without credentials or query string).
        status: the HTTP status code, or ``None`` when no response came (connection refused, timeout).
    """

    def __init__(
        self, message: str, *, path: str | os.PathLike[str] | None = None, status: int | None = None
    ) -> None:
        super().__init__(message, path=path)
        self.status = status

    def __reduce__(self):
        return (_rebuild_remote, (self.message, self.path, self.status))


def _rebuild_remote(message: str, path: str | None, status: int | None) -> RemoteError:
    return RemoteError(message, path=path, status=status)


class OutputError(MedmsError, OSError):
    """An output cannot be written (exists without --overwrite, unwritable folder, disk full)."""
