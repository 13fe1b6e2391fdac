"""DICOMweb input: query a PACS with QIDO-RS, fetch series with WADO-RS, send results back with STOW-RS.

Built on ``dicomweb-client``. Credentials come from the environment or a netrc file, never from arguments on
a command line, and never appear in logs or errors; TLS verification is always on. See docs/pacs.md.

Example:
    >>> from medms.io.dicomweb import DicomWebSource, RetryPolicy
    >>> source = DicomWebSource("https://pacs.example.org/dicom-web", query={"Modality": "CT"},
    ...                         retry=RetryPolicy(attempts=5), workers=2, credentials=None)
    >>> source
    DicomWebSource('https://pacs.example.org/dicom-web', filters={'Modality': 'CT'}, workers=2)
    >>> source.close()
"""

from medms.io.dicomweb.auth import (
    ENV_PASSWORD,
    ENV_TOKEN,
    ENV_USER,
    Credentials,
    credentials_from_env,
    public_url,
)
from medms.io.dicomweb.query import RemoteSeries, parse_filters, read_uid_csv
from medms.io.dicomweb.source import DEFAULT_CACHE_BYTES, DicomWebSource, Retrieved
from medms.io.dicomweb.transport import RetryPolicy

__all__ = [
    "DEFAULT_CACHE_BYTES",
    "ENV_PASSWORD",
    "ENV_TOKEN",
    "ENV_USER",
    "Credentials",
    "DicomWebSource",
    "RemoteSeries",
    "Retrieved",
    "RetryPolicy",
    "credentials_from_env",
    "parse_filters",
    "public_url",
    "read_uid_csv",
]
