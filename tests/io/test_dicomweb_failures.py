"""DICOMweb failures against a real Orthanc: each is a typed per-series error, retried only when transient, and
no credential ever shows up in an error or a log line."""

from __future__ import annotations

import logging
import pickle
import shutil
import ssl
import subprocess
from pathlib import Path

import pydicom
import pytest

from medms.errors import ConfigError, CorruptPixelDataError, DicomError, RemoteError
from medms.io import read_series
from medms.io.dicomweb import Credentials, DicomWebSource, RemoteSeries, RetryPolicy
from medms.synthetic import write_ct_phantom
from medms.testing.flaky_proxy import FlakyProxy
from medms.testing.orthanc import free_port
from tests.io._dicomweb import FAST, login, same_read

STUDY = "1.2.826.0.1.3680043.10.779.7"


@pytest.fixture(scope="module")
def stored(orthanc, tmp_path_factory) -> dict[str, Path]:
    """Four small CT series in one study (series UID → local folder); the last has a damaged instance."""
    root = tmp_path_factory.mktemp("failures")
    folders = {}
    for k in range(4):
        files = write_ct_phantom(root / f"s{k}", shape=(24, 24, 3), seed=200 + k, study_uid=STUDY)
        folders[pydicom.dcmread(files[0]).SeriesInstanceUID] = root / f"s{k}"
    damaged = sorted(folders.values())[-1] / "ct0001.dcm"
    ds = pydicom.dcmread(damaged)
    ds.PixelData = ds.PixelData[:100]  # stored fine, but the pixels are cut short
    ds.save_as(damaged, enforce_file_format=True)
    orthanc.upload(sorted(p for f in folders.values() for p in f.iterdir()))
    return folders


@pytest.fixture
def series(orthanc, stored, monkeypatch) -> list[RemoteSeries]:
    login(monkeypatch, orthanc)
    with DicomWebSource(orthanc.dicomweb_url, query={"StudyInstanceUID": STUDY}, retry=FAST) as source:
        return source.series()


def _retry_lines(caplog) -> list[str]:
    return [
        r.getMessage() for r in caplog.records if r.name == "medms.io.dicomweb" and "retry" in r.getMessage()
    ]


def test_server_down_is_a_typed_error_after_the_retries(caplog, monkeypatch):
    monkeypatch.delenv("MEDMS_DICOMWEB_USER", raising=False)
    monkeypatch.delenv("MEDMS_DICOMWEB_PASSWORD", raising=False)
    url = f"http://127.0.0.1:{free_port()}/dicom-web"  # nothing listens there
    with DicomWebSource(url, retry=RetryPolicy(attempts=3, backoff=0.001)) as source:
        with pytest.raises(RemoteError, match="after 3 attempts: cannot connect") as err:
            source.series()
        (item,) = list(source.retrieve([RemoteSeries("1.2.3", "1.2.3.4")]))
    assert err.value.status is None
    assert isinstance(item.error, RemoteError) and "WADO-RS retrieval failed after 3 attempts" in str(
        item.error
    )
    assert len(_retry_lines(caplog)) == 4  # two retries for the query, two for the series


def test_series_deleted_mid_run_fails_alone(orthanc, stored, monkeypatch, tmp_path):
    login(monkeypatch, orthanc)
    folder = tmp_path / "doomed"
    files = write_ct_phantom(folder, shape=(16, 16, 2), seed=300, study_uid="1.2.826.0.1.3680043.10.779.8")
    orthanc.upload(files)
    with DicomWebSource(orthanc.dicomweb_url, retry=FAST, workers=1) as source:
        listed = source.series()
        doomed = pydicom.dcmread(files[0]).SeriesInstanceUID
        order = [s for s in listed if s.series_uid != doomed][:2] + [
            s for s in listed if s.series_uid == doomed
        ]
        outcome = {}
        for k, item in enumerate(source.retrieve(order)):
            if k == 0:  # the third series is not being fetched yet (one worker: one series ahead)
                orthanc.delete_series(doomed)
            outcome[item.series_uid] = item.error
    assert isinstance(outcome[doomed], RemoteError) and outcome[doomed].status == 404
    assert "not found on the server" in str(outcome[doomed])
    assert [e for uid, e in outcome.items() if uid != doomed] == [None, None]


def test_damaged_instance_reads_as_corrupt_like_the_folder(orthanc, stored, series):
    damaged = sorted(stored.items(), key=lambda kv: kv[1])[-1][0]
    with DicomWebSource(orthanc.dicomweb_url, retry=FAST) as source:
        for item in source.retrieve(series):
            assert item.error is None
            if item.series_uid == damaged:
                with pytest.raises(CorruptPixelDataError):
                    read_series(item.folder)
            same_read(stored[item.series_uid], item.folder)


def test_garbled_response_is_a_dicom_error_without_retry(orthanc, series):
    with (
        FlakyProxy(
            orthanc.url, mutate=lambda body: body.replace(b"DICM", b"DICX"), match="/series/"
        ) as proxy,
        DicomWebSource(proxy.url + "/dicom-web", retry=FAST) as source,
    ):
        (item,) = list(source.retrieve(series[:1]))
    assert isinstance(item.error, DicomError) and not isinstance(item.error, RemoteError)
    assert "instance 1 of the WADO-RS response is not valid DICOM" in str(item.error)
    assert proxy.seen == 1


@pytest.mark.parametrize("fault", [503, 502, "drop"])
def test_transient_failures_are_retried_then_succeed(orthanc, stored, series, caplog, fault):
    with (
        FlakyProxy(orthanc.url, fail_first=2, status=fault, match="/series/") as proxy,
        DicomWebSource(proxy.url + "/dicom-web", retry=FAST) as source,
    ):
        for item in source.retrieve(series[:1]):
            assert item.error is None
            same_read(stored[item.series_uid], item.folder)
    assert (proxy.failed, proxy.seen) == (2, 3)
    assert len(_retry_lines(caplog)) == 2


def test_failures_that_persist_end_as_typed_errors(orthanc, series):
    with (
        FlakyProxy(orthanc.url, fail_first=100, status=503, match="/series/") as proxy,
        DicomWebSource(proxy.url + "/dicom-web", retry=FAST) as source,
    ):
        items = list(source.retrieve(series[:2]))
    assert [type(i.error) for i in items] == [RemoteError, RemoteError]
    assert [i.error.status for i in items] == [503, 503]
    assert proxy.seen == 6  # three attempts per series
    assert "after 3 attempts" in str(items[0].error)


def test_client_errors_are_not_retried(orthanc, series):
    with (
        FlakyProxy(orthanc.url, fail_first=100, status=400, match="/series/") as proxy,
        DicomWebSource(proxy.url + "/dicom-web", retry=FAST) as source,
    ):
        (item,) = list(source.retrieve(series[:1]))
    assert isinstance(item.error, RemoteError) and item.error.status == 400
    assert proxy.seen == 1


def test_a_server_that_stalls_times_out(orthanc, series):
    policy = RetryPolicy(attempts=2, backoff=0.001, timeout=0.3)
    with (
        FlakyProxy(orthanc.url, fail_first=100, status="stall", stall_s=1.5, match="/series/") as proxy,
        DicomWebSource(proxy.url + "/dicom-web", retry=policy) as source,
    ):
        (item,) = list(source.retrieve(series[:1]))
    assert isinstance(item.error, RemoteError) and item.error.status is None
    assert "after 2 attempts: no answer within 0.3 s" in str(item.error)


@pytest.mark.parametrize("kind", ["basic", "bearer"])
def test_wrong_credentials_clear_message_nothing_leaked(orthanc, stored, monkeypatch, caplog, capsys, kind):
    caplog.set_level(logging.DEBUG)  # everything any library logs, urllib3 and dicomweb-client included
    wrong = "Wr0ng-Passw0rd-7734"
    for name in ("MEDMS_DICOMWEB_USER", "MEDMS_DICOMWEB_PASSWORD", "MEDMS_DICOMWEB_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    if kind == "basic":
        monkeypatch.setenv("MEDMS_DICOMWEB_USER", orthanc.user)
        monkeypatch.setenv("MEDMS_DICOMWEB_PASSWORD", wrong)
    else:
        monkeypatch.setenv("MEDMS_DICOMWEB_TOKEN", wrong)
    with DicomWebSource(orthanc.dicomweb_url, retry=FAST) as source:
        with pytest.raises(RemoteError) as err:
            source.series()
        (item,) = list(source.retrieve([RemoteSeries(STUDY, next(iter(stored)))]))
        shown = repr(source) + repr(source._clients.credentials)
    assert err.value.status == 401 and item.error.status == 401
    assert "refused the credentials" in str(err.value) and "MEDMS_DICOMWEB_PASSWORD" in str(err.value)
    captured = capsys.readouterr()
    texts = [
        str(err.value),
        repr(err.value),
        str(item.error),
        shown,
        caplog.text,
        captured.out,
        captured.err,
        repr(pickle.loads(pickle.dumps(err.value))),
    ]
    for text in texts:
        assert wrong not in text
        assert orthanc.password not in text


def test_credentials_in_the_url_are_refused_without_echo():
    with pytest.raises(ConfigError) as err:
        DicomWebSource("https://ai:S3cr3t-xyz@pacs.example.org/dicom-web")
    assert "S3cr3t-xyz" not in str(err.value)
    assert "MEDMS_DICOMWEB_USER" in str(err.value)


def test_credentials_refuse_pickling_and_hide_their_secret():
    creds = Credentials("basic", "S3cr3t-xyz", user="ai")
    assert "S3cr3t-xyz" not in repr(creds) + str(creds)
    with pytest.raises(TypeError):
        pickle.dumps(creds)


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1 (its own CA) and its key, made with the openssl command."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is not installed")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return cert, key


def test_tls_is_verified_and_a_ca_bundle_makes_it_trusted(orthanc, series, tls_files, monkeypatch, caplog):
    cert, key = tls_files
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    with FlakyProxy(orthanc.url, tls=context) as proxy:
        url = proxy.url + "/dicom-web"
        assert url.startswith("https://")
        with (
            DicomWebSource(url, retry=FAST) as source,
            pytest.raises(RemoteError, match="TLS certificate") as err,
        ):
            source.series()
        assert err.value.status is None and not _retry_lines(caplog)  # not retried
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/nonexistent/ca.pem")  # the explicit bundle wins over it
        with DicomWebSource(url, retry=FAST, ca_bundle=cert) as source:
            assert {s.series_uid for s in source.series()} >= {s.series_uid for s in series}
