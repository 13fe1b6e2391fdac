"""Credentials for a DICOMweb server: from environment variables or a netrc file, never from a command line.

A :class:`Credentials` object signs requests (HTTP basic or a bearer token) and never shows its secret: its
``repr`` and ``str`` name only the kind and where it came from. URLs with a ``user:password@`` part are refused
(a URL ends up in logs, shell history and error messages); :func:`public_url` is what may be printed.

Example:
    >>> creds = credentials_from_env("https://pacs.example.org/dicom-web",
    ...                              environ={"MEDMS_DICOMWEB_USER": "ai", "MEDMS_DICOMWEB_PASSWORD": "s3cret"})
    >>> creds
    Credentials(basic, user='ai', from MEDMS_DICOMWEB_USER/MEDMS_DICOMWEB_PASSWORD)
    >>> public_url("https://pacs.example.org/dicom-web/?token=abc")
    'https://pacs.example.org/dicom-web'
"""

from __future__ import annotations

import netrc
import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import requests

from medms.errors import ConfigError

__all__ = ["ENV_PASSWORD", "ENV_TOKEN", "ENV_USER", "Credentials", "credentials_from_env", "public_url"]

ENV_USER = "MEDMS_DICOMWEB_USER"
ENV_PASSWORD = "MEDMS_DICOMWEB_PASSWORD"
ENV_TOKEN = "MEDMS_DICOMWEB_TOKEN"


class Credentials(requests.auth.AuthBase):
    """HTTP basic credentials or a bearer token; the secret is never part of ``repr``/``str``.

    Args:
        kind: ``"basic"`` or ``"bearer"``.
        secret: the password or the token.
        user: the user name (basic only).
        origin: where they came from, for messages (``"MEDMS_DICOMWEB_TOKEN"``, ``"netrc"``, ...).
    """

    def __init__(self, kind: str, secret: str, *, user: str | None = None, origin: str = "") -> None:
        if kind not in ("basic", "bearer"):
            raise ConfigError(f"credentials kind must be 'basic' or 'bearer', got {kind!r}")
        self.kind, self.user, self.origin = kind, user, origin
        self._secret = secret

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if self.kind == "bearer":
            request.headers["Authorization"] = f"Bearer {self._secret}"
            return request
        return requests.auth.HTTPBasicAuth(self.user or "", self._secret)(request)

    def __repr__(self) -> str:
        who = f", user={self.user!r}" if self.user else ""
        return f"Credentials({self.kind}{who}, from {self.origin or 'arguments'})"

    __str__ = __repr__

    def __reduce__(self):  # no pickling: a pickle would carry the secret to wherever it goes
        raise TypeError("Credentials are not picklable; build them in the process that uses them")


def public_url(url: str) -> str:
    """``url`` without user information, query string or fragment, and without a trailing slash."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


def check_url(url: str) -> str:
    """Return the server URL without a trailing slash, refusing credentials in it and schemes other than http(s).

    Raises:
        ConfigError: embedded credentials, a query string, or not an ``http(s)://host/...`` URL. The message
            shows the URL without its user information.
    """
    parts = urlsplit(url)
    shown = public_url(url)
    if parts.username is not None or parts.password is not None:
        raise ConfigError(
            f"the DICOMweb URL {shown} carries credentials; remove them from the URL and set {ENV_USER} and "
            f"{ENV_PASSWORD} (or {ENV_TOKEN}) in the environment, or use a netrc file"
        )
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"not an http(s) DICOMweb URL: {shown}; give e.g. https://pacs.example.org/dicom-web"
        )
    if parts.query or parts.fragment:
        raise ConfigError(
            f"the DICOMweb URL {shown} has a query string or fragment; give the service root only"
        )
    return url.rstrip("/")


def _from_netrc(
    host: str, netrc_file: str | os.PathLike[str] | None, environ: Mapping[str, str]
) -> Credentials | None:
    path = netrc_file or environ.get("NETRC") or (Path.home() / ".netrc")
    if not Path(path).is_file():
        if netrc_file is not None:
            raise ConfigError("netrc file not found; check the path", path=netrc_file)
        return None
    try:
        entry = netrc.netrc(os.fspath(path)).authenticators(host)
    except (netrc.NetrcParseError, OSError) as err:
        # NetrcParseError's text can quote the offending line, which may hold a password: say only where.
        line = getattr(err, "lineno", None)
        raise ConfigError(
            f"netrc file is malformed{f' at line {line}' if line else ''}; fix it", path=path
        ) from None
    if entry is None:
        return None
    login, _account, password = entry
    return Credentials("basic", password or "", user=login, origin="netrc")


def credentials_from_env(
    url: str,
    *,
    environ: Mapping[str, str] | None = None,
    netrc_file: str | os.PathLike[str] | None = None,
) -> Credentials | None:
    """Credentials for ``url``: a token, or a user and password, from the environment, else from netrc.

    Order: ``MEDMS_DICOMWEB_TOKEN`` (bearer), then ``MEDMS_DICOMWEB_USER`` + ``MEDMS_DICOMWEB_PASSWORD``
    (basic), then the netrc entry for the URL's host (``netrc_file``, ``$NETRC`` or ``~/.netrc``).
    ``None`` when there are none (an open server).

    Raises:
        ConfigError: a user without a password (or the reverse), both a token and a user, a malformed netrc.
    """
    env = os.environ if environ is None else environ
    token, user, password = env.get(ENV_TOKEN), env.get(ENV_USER), env.get(ENV_PASSWORD)
    if token and (user or password):
        raise ConfigError(f"set either {ENV_TOKEN} or {ENV_USER}/{ENV_PASSWORD}, not both")
    if token:
        return Credentials("bearer", token, origin=ENV_TOKEN)
    if bool(user) != bool(password):
        missing = ENV_PASSWORD if user else ENV_USER
        raise ConfigError(f"{ENV_USER} and {ENV_PASSWORD} go together; {missing} is not set")
    if user and password:
        return Credentials("basic", password, user=user, origin=f"{ENV_USER}/{ENV_PASSWORD}")
    return _from_netrc(urlsplit(url).hostname or "", netrc_file, env)
