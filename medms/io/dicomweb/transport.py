"""HTTP for DICOMweb: one ``dicomweb-client`` per thread, retries with exponential backoff, typed errors.

Transient failures (HTTP 408/429/5xx, refused or reset connections, timeouts, a response cut off) are retried
``RetryPolicy.attempts`` times in all, waiting ``backoff``, ``2 × backoff``, ... seconds (at most
``max_backoff``) in between; then, and at once for anything else, the failure becomes a
:class:`~medms.errors.RemoteError` whose message says what happened and what to do, with the HTTP status in
``.status``. Messages name the resource by its URL without credentials; requests' own exception text (which
can carry headers or URLs the user typed) is never copied into them.

Example:
    >>> policy = RetryPolicy(attempts=3, backoff=0.5)
    >>> [policy.delay(k) for k in range(3)]
    [0.5, 1.0, 2.0]
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, TypeVar

import requests
from dicomweb_client import DICOMwebClient

from medms.errors import ConfigError, RemoteError
from medms.io.dicomweb.auth import ENV_PASSWORD, ENV_TOKEN, ENV_USER, Credentials

__all__ = ["TRANSIENT_STATUS", "ClientFactory", "RetryPolicy", "call_with_retries"]

log = logging.getLogger("medms.io.dicomweb")
T = TypeVar("T")

#: HTTP statuses worth another try: the server is busy, restarting or behind a gateway that gave up.
TRANSIENT_STATUS = frozenset({408, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry.

    Args:
        attempts: tries in all (1 = no retry).
        backoff: seconds before the second try; doubled before each further one.
        max_backoff: the longest wait between two tries.
        timeout: seconds to wait for the connection and for each read of a response.
    """

    attempts: int = 4
    backoff: float = 1.0
    max_backoff: float = 30.0
    timeout: float = 60.0

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.backoff < 0 or self.max_backoff < 0 or self.timeout <= 0:
            raise ConfigError(
                f"retry policy needs attempts >= 1, backoff >= 0, max_backoff >= 0 and timeout > 0, got {self}"
            )

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed try number ``attempt`` (0-based)."""
        return min(self.max_backoff, self.backoff * 2**attempt)


def _http_message(status: int) -> str:
    reason = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "error"
    if status in (401, 403):
        return (
            f"the server refused the credentials (HTTP {status} {reason}); check {ENV_USER}/{ENV_PASSWORD}, "
            f"{ENV_TOKEN} or the netrc entry for this host, and the account's permissions"
        )
    if status == 404:
        return f"not found on the server (HTTP {status}); it was deleted, or the UID or the URL is wrong"
    if status in TRANSIENT_STATUS:
        return f"the server kept failing (HTTP {status} {reason})"
    return f"the server rejected the request (HTTP {status} {reason}); check the URL and the query"


def classify(err: BaseException, policy: RetryPolicy) -> tuple[str, int | None, bool] | None:
    """``(message, status, transient)`` for a requests failure, ``None`` for anything else."""
    if isinstance(err, requests.HTTPError) and err.response is not None:
        status = err.response.status_code
        return _http_message(status), status, status in TRANSIENT_STATUS
    if isinstance(err, requests.exceptions.SSLError):
        return (
            "TLS certificate verification failed; give the server's CA certificate bundle (ca_bundle=...) "
            "or fix the server's certificate",
            None,
            False,
        )
    if isinstance(err, requests.Timeout):
        return f"no answer within {policy.timeout:g} s", None, True
    if isinstance(err, requests.ConnectionError):
        return (
            "cannot connect (connection refused, reset or name not resolved); check the URL and that the server is up",
            None,
            True,
        )
    if isinstance(err, (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError)):
        return "the response was cut off or garbled in transit", None, True
    if isinstance(err, requests.RequestException):
        return f"the request failed ({type(err).__name__})", None, False
    return None


def call_with_retries(
    fn: Callable[[], T],
    *,
    policy: RetryPolicy,
    where: str,
    what: str,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run ``fn`` (one whole DICOMweb exchange), retrying transient failures; raise :class:`RemoteError`.

    Args:
        fn: the exchange; it must leave nothing half-done behind when it raises.
        policy: attempts, backoff and timeout.
        where: the resource, for messages (a URL without credentials).
        what: the exchange in words (``"QIDO-RS query"``, ``"WADO-RS retrieval"``, ...).
        sleep: the wait between tries.
    """
    for attempt in range(policy.attempts):
        try:
            return fn()
        except Exception as err:  # classified below; anything that is not an HTTP failure goes up unchanged
            found = classify(err, policy)
            if found is None:
                raise
            message, status, transient = found
            if not transient or attempt == policy.attempts - 1:
                tries = f" after {attempt + 1} attempts" if transient and attempt else ""
                raise RemoteError(f"{what} failed{tries}: {message}", path=where, status=status) from None
            wait = policy.delay(attempt)
            log.warning(
                "%s: %s failed (%s); retry %d/%d in %.3g s",
                where,
                what,
                message,
                attempt + 1,
                policy.attempts - 1,
                wait,
            )
            sleep(wait)
    raise AssertionError("unreachable")  # pragma: no cover


class _PinnedCA(requests.adapters.HTTPAdapter):
    """Verify TLS against one CA bundle, whatever ``REQUESTS_CA_BUNDLE`` says (requests lets it win otherwise)."""

    def __init__(self, ca_bundle: str) -> None:
        super().__init__()
        self.ca_bundle = ca_bundle

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        kwargs["verify"] = self.ca_bundle
        return super().send(request, **kwargs)


class ClientFactory:
    """A ``DICOMwebClient`` per thread (``requests`` sessions are not shared across threads).

    The clients' own retry logic is switched off: :func:`call_with_retries` retries whole exchanges, so a
    series cut off half way is fetched again from its start.

    Args:
        url: the DICOMweb root (checked, without credentials).
        credentials: request signer, or ``None`` for an open server.
        ca_bundle: a PEM file of CA certificates to trust instead of the system's; verification stays on.
        timeout: connect and read timeout in seconds.
    """

    def __init__(
        self,
        url: str,
        *,
        credentials: Credentials | None,
        ca_bundle: str | os.PathLike[str] | None,
        timeout: float,
    ) -> None:
        if ca_bundle is not None and not os.path.isfile(ca_bundle):
            raise ConfigError("CA bundle not found; give a PEM file of CA certificates", path=ca_bundle)
        self.url, self.credentials, self.timeout = url, credentials, timeout
        self.verify: bool | str = os.fspath(ca_bundle) if ca_bundle is not None else True
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()

    def get(self) -> DICOMwebClient:
        """This thread's client."""
        client = getattr(self._local, "client", None)
        if client is None:
            session = requests.Session()
            session.auth = self.credentials
            session.verify = self.verify
            if isinstance(self.verify, str):
                session.mount("https://", _PinnedCA(self.verify))
            client = DICOMwebClient(self.url, session=session, timeout=self.timeout)
            client.set_http_retry_params(retry=False)
            self._local.client = client
            with self._lock:
                self._sessions.append(session)
        return client

    def close(self) -> None:
        """Close every session made so far."""
        with self._lock:
            for session in self._sessions:
                session.close()
            self._sessions.clear()
