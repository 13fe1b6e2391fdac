"""A real Orthanc DICOM server with its DICOMweb plugin, started as a subprocess for tests and benchmarks.

Debian's ``orthanc`` and ``orthanc-dicomweb`` packages provide the server (``/usr/sbin/Orthanc``) and the
plugin; :func:`find_orthanc` says whether both are here. :func:`running_orthanc` starts one server on
127.0.0.1 with free HTTP and DICOM ports, a storage folder of its own, a generated JSON configuration
(DICOMweb on, HTTP basic authentication with a generated user and password, HTTP refused to remote clients,
DICOM associations refused to unregistered modalities), waits until
it answers, and stops it afterwards, also when the body of the ``with`` raises.

Example:
    >>> import tempfile
    >>> if find_orthanc() is not None:  # doctest: +SKIP
    ...     with running_orthanc(tempfile.mkdtemp()) as server:
    ...         print(server.dicomweb_url)
    http://127.0.0.1:.../dicom-web
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

__all__ = ["OrthancServer", "find_orthanc", "free_port", "running_orthanc"]

#: Where Debian's packages put the server and the DICOMweb plugin.
ORTHANC_BINARIES = ("Orthanc", "/usr/sbin/Orthanc")
DICOMWEB_PLUGINS = (
    "/usr/share/orthanc/plugins/libOrthancDicomWeb.so",
    "/usr/lib/orthanc/libOrthancDicomWeb.so",
)
INSTALL_HINT = "install Debian's packages: apt-get install -y orthanc orthanc-dicomweb"


def find_orthanc() -> tuple[str, str] | None:
    """The Orthanc executable and its DICOMweb plugin, or ``None`` when either is missing."""
    binary = next((found for name in ORTHANC_BINARIES if (found := shutil.which(name))), None)
    plugin = next((p for p in DICOMWEB_PLUGINS if Path(p).is_file()), None)
    if binary is None:
        return None
    plugin = plugin or next(iter(sorted(Path("/usr/lib/orthanc").glob("libOrthancDicomWeb.so*"))), None)
    return (binary, str(plugin)) if plugin else None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class OrthancServer:
    """A running Orthanc: its URLs, credentials and a few REST helpers for test set-up."""

    http_port: int
    dicom_port: int
    user: str
    password: str = field(repr=False)
    folder: Path
    process: subprocess.Popen = field(repr=False)

    @property
    def url(self) -> str:
        """The REST API root, ``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def dicomweb_url(self) -> str:
        """The DICOMweb root (QIDO-RS, WADO-RS and STOW-RS live under it)."""
        return f"{self.url}/dicom-web"

    def _rest(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        response = requests.request(
            method, self.url + path, auth=(self.user, self.password), timeout=60, **kwargs
        )
        response.raise_for_status()
        return response

    def upload(self, files: Iterable[str | os.PathLike[str]]) -> list[str]:
        """Store DICOM files through the REST API (``POST /instances``); return Orthanc's instance ids."""
        return [self._rest("POST", "/instances", data=Path(f).read_bytes()).json()["ID"] for f in files]

    def lookup(self, uid: str) -> str:
        """Orthanc's id of the study, series or instance with this DICOM UID."""
        found = self._rest("POST", "/tools/lookup", data=uid).json()
        if not found:
            raise KeyError(uid)
        return found[0]["ID"]

    def delete_series(self, series_uid: str) -> None:
        """Remove a series (all its instances) from the server."""
        self._rest("DELETE", f"/series/{self.lookup(series_uid)}")

    def instances_of_series(self, series_uid: str) -> list[dict]:
        """The instances of a series as Orthanc describes them (``MainDicomTags``, ``ID``, ...)."""
        return self._rest("GET", f"/series/{self.lookup(series_uid)}/instances").json()

    def file_of_instance(self, instance_id: str) -> bytes:
        """The stored DICOM file of one instance, byte for byte."""
        return self._rest("GET", f"/instances/{instance_id}/file").content

    def clear(self) -> None:
        """Delete every study on the server."""
        for study in self._rest("GET", "/studies").json():
            self._rest("DELETE", f"/studies/{study}")

    def log(self) -> str:
        """What the server has written to its log so far."""
        path = self.folder / "orthanc.log"
        return path.read_text(errors="replace") if path.exists() else ""


def _config(folder: Path, plugin: str, http_port: int, dicom_port: int, user: str, password: str) -> dict:
    return {
        "Name": "medms-test",
        "StorageDirectory": str(folder / "storage"),
        "IndexDirectory": str(folder / "storage"),
        "HttpPort": http_port,
        "DicomPort": dicom_port,
        "DicomAet": "MEDMSTEST",
        # Orthanc 1.10 cannot bind to 127.0.0.1 only: HTTP refuses remote clients (RemoteAccessAllowed), and the
        # DICOM port answers only registered modalities (none are).
        "DicomAlwaysAllowEcho": False,
        "DicomAlwaysAllowStore": False,
        "DicomCheckCalledAet": True,
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": True,
        "RegisteredUsers": {user: password},
        "Plugins": [plugin],
        "DicomWeb": {"Enable": True, "Root": "/dicom-web/", "EnableWado": False},
        "HttpThreadsCount": 8,
        "StableAge": 1,
        "SaveJobs": False,
        "HttpTimeout": 60,
        "StorageCompression": False,
    }


def _wait_until_up(server: OrthancServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"Orthanc exited with code {server.process.returncode}:\n{server.log()[-3000:]}"
            )
        with contextlib.suppress(requests.RequestException):
            ok = requests.get(
                server.dicomweb_url + "/studies", auth=(server.user, server.password), timeout=2
            ).status_code
            if ok == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"Orthanc did not answer within {timeout} s:\n{server.log()[-3000:]}")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@contextlib.contextmanager
def running_orthanc(folder: str | os.PathLike[str], *, timeout: float = 60.0) -> Iterator[OrthancServer]:
    """Start Orthanc with a generated configuration in ``folder`` and stop it when the block ends.

    Args:
        folder: working folder (configuration, storage, log); it must be writable.
        timeout: seconds to wait for the server to answer before giving up.

    Raises:
        FileNotFoundError: Orthanc or its DICOMweb plugin is not installed.
        RuntimeError: the server did not start (its log is in the message).
    """
    found = find_orthanc()
    if found is None:
        raise FileNotFoundError(f"Orthanc with its DICOMweb plugin is not installed; {INSTALL_HINT}")
    binary, plugin = found
    root = Path(folder)
    (root / "storage").mkdir(parents=True, exist_ok=True)
    user, password = "medms", secrets.token_urlsafe(18)
    for attempt in range(3):  # a free port can be taken by someone else between free_port() and the bind
        http_port, dicom_port = free_port(), free_port()
        config = root / "orthanc.json"
        config.write_text(json.dumps(_config(root, plugin, http_port, dicom_port, user, password), indent=2))
        with open(root / "orthanc.log", "wb") as log:
            process = subprocess.Popen(
                [binary, str(config)], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        server = OrthancServer(http_port, dicom_port, user, password, root, process)
        try:
            _wait_until_up(server, timeout)
            break
        except RuntimeError:
            _stop(process)
            if attempt == 2:
                raise
    try:
        yield server
    finally:
        _stop(process)
