"""An HTTP proxy that injects faults in front of a real server: errors, dropped connections, stalls, garbling.

Tests put it between medms and a real Orthanc to see retries and error handling work on real traffic: the
answers that get through are the server's own, byte for byte, unless ``mutate`` changes them.

Example:
    >>> with FlakyProxy("http://127.0.0.1:9", fail_first=1, status=503) as proxy:
    ...     proxy.url.startswith("http://127.0.0.1:")
    True
"""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

__all__ = ["FlakyProxy"]

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding", "host"}


class FlakyProxy:
    """Forward requests to ``upstream``; the first ``fail_first`` (whose path contains ``match``) fail.

    Args:
        upstream: ``http://host:port`` of the real server.
        fail_first: how many matching requests fail before the others go through.
        status: the HTTP status of a failure, or ``"drop"`` (close the connection without an answer) or
            ``"stall"`` (answer nothing for ``stall_s`` seconds, then close).
        match: only requests whose path contains this are counted and failed.
        mutate: applied to the body of every answer that goes through (to garble it).
        stall_s: how long a stall lasts.
        tls: serve HTTPS with this server context (certificate loaded) instead of HTTP.
    """

    def __init__(
        self,
        upstream: str,
        *,
        fail_first: int = 0,
        status: int | str = 503,
        match: str = "",
        mutate: Callable[[bytes], bytes] | None = None,
        stall_s: float = 5.0,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.upstream = upstream.rstrip("/")
        self.fail_first, self.status, self.match, self.mutate, self.stall_s = (
            fail_first,
            status,
            match,
            mutate,
            stall_s,
        )
        self.seen = 0
        self.failed = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self.scheme = "https" if tls is not None else "http"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The proxy's root URL; append the upstream's paths (``/dicom-web``)."""
        return f"{self.scheme}://127.0.0.1:{self._server.server_address[1]}"

    def _should_fail(self, path: str) -> bool:
        with self._lock:
            if self.match not in path:
                return False
            self.seen += 1
            if self.failed < self.fail_first:
                self.failed += 1
                return True
            return False

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # keep test output quiet
                pass

            def _relay(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                if proxy._should_fail(self.path):
                    self._fail()
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                answer = requests.request(
                    self.command,
                    proxy.upstream + self.path,
                    headers=headers,
                    data=body,
                    timeout=60,
                    allow_redirects=False,
                )
                content = answer.content if proxy.mutate is None else proxy.mutate(answer.content)
                self.send_response(answer.status_code)
                for key, value in answer.headers.items():
                    if key.lower() not in _HOP_BY_HOP:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            def _fail(self) -> None:
                if proxy.status == "drop":
                    self.close_connection = True
                    return
                if proxy.status == "stall":
                    time.sleep(proxy.stall_s)
                    self.close_connection = True
                    return
                self.send_response(int(proxy.status))
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST = do_DELETE = do_PUT = _relay

        return Handler

    def __enter__(self) -> FlakyProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
