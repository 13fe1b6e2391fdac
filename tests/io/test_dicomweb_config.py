"""DICOMweb options without a server: credentials, URLs, query filters, UID lists, retry policy."""

from __future__ import annotations

import pytest
import requests
from pydicom.dataset import Dataset

from medms.errors import ConfigError, RemoteError
from medms.io.dicomweb import DicomWebSource, RemoteSeries, RetryPolicy, credentials_from_env, parse_filters
from medms.io.dicomweb.auth import check_url, public_url
from medms.io.dicomweb.fetch import stored_uids
from medms.io.dicomweb.query import read_uid_csv
from medms.io.dicomweb.transport import call_with_retries

URL = "https://pacs.example.org/dicom-web"


def _signed(creds) -> str:
    return creds(requests.Request("GET", URL).prepare()).headers["Authorization"]


class TestCredentials:
    def test_token_first(self):
        creds = credentials_from_env(URL, environ={"MEDMS_DICOMWEB_TOKEN": "tok-123"})
        assert _signed(creds) == "Bearer tok-123"
        assert "tok-123" not in repr(creds)

    def test_user_and_password(self):
        creds = credentials_from_env(
            URL, environ={"MEDMS_DICOMWEB_USER": "ai", "MEDMS_DICOMWEB_PASSWORD": "pw"}
        )
        assert _signed(creds) == requests.auth._basic_auth_str("ai", "pw")

    @pytest.mark.parametrize(
        ("environ", "match"),
        [
            ({"MEDMS_DICOMWEB_USER": "ai"}, "MEDMS_DICOMWEB_PASSWORD is not set"),
            ({"MEDMS_DICOMWEB_PASSWORD": "pw"}, "MEDMS_DICOMWEB_USER is not set"),
            ({"MEDMS_DICOMWEB_TOKEN": "t", "MEDMS_DICOMWEB_USER": "ai"}, "not both"),
        ],
    )
    def test_incomplete_environment(self, environ, match):
        with pytest.raises(ConfigError, match=match):
            credentials_from_env(URL, environ=environ)

    def test_netrc_entry_for_the_host(self, tmp_path):
        netrc = tmp_path / "netrc"
        netrc.write_text(
            "machine other.org login x password y\nmachine pacs.example.org login ai password pw\n"
        )
        netrc.chmod(0o600)
        creds = credentials_from_env(URL, environ={}, netrc_file=netrc)
        assert (creds.user, creds.origin) == ("ai", "netrc")
        assert _signed(creds) == requests.auth._basic_auth_str("ai", "pw")
        assert credentials_from_env("https://elsewhere.org/dw", environ={}, netrc_file=netrc) is None

    def test_malformed_netrc_does_not_quote_it(self, tmp_path):
        netrc = tmp_path / "netrc"
        netrc.write_text("machine pacs.example.org login ai password S3cr3t-xyz bogus\n")
        netrc.chmod(0o600)
        with pytest.raises(ConfigError, match="malformed") as err:
            credentials_from_env(URL, environ={}, netrc_file=netrc)
        assert "S3cr3t-xyz" not in str(err.value)

    def test_none_without_any(self, tmp_path):
        assert credentials_from_env(URL, environ={"NETRC": str(tmp_path / "absent")}) is None


class TestUrl:
    @pytest.mark.parametrize(
        "url", ["ftp://pacs/dicom-web", "pacs.example.org/dicom-web", f"{URL}?token=abc", "https://u:p@h/dw"]
    )
    def test_refused(self, url):
        with pytest.raises(ConfigError) as err:
            check_url(url)
        assert ":p@" not in str(err.value) and "abc" not in str(err.value)

    def test_public_url_drops_user_query_and_slash(self):
        assert public_url("https://u:p@h.org:8443/dw/?a=1#x") == "https://h.org:8443/dw"
        assert check_url(URL + "/") == URL


class TestFilters:
    def test_keywords_tags_and_mappings(self):
        assert parse_filters(["Modality=CT", "00080020=20240101-20240131"]) == {
            "Modality": "CT",
            "StudyDate": "20240101-20240131",
        }
        assert parse_filters({"SeriesDescription": "AX*"}) == {"SeriesDescription": "AX*"}
        assert parse_filters(None) == {}

    @pytest.mark.parametrize(
        ("filters", "match"),
        [
            (["Modality"], "not KEY=VALUE"),
            (["Modalty=CT"], "unknown DICOM keyword 'Modalty'"),
            (["Modality="], "empty value"),
            (["limit=5"], "QIDO-RS parameter"),
            (["Modality=CT", "00080060=MR"], "given twice"),
        ],
    )
    def test_bad_filters(self, filters, match):
        with pytest.raises(ConfigError, match=match):
            parse_filters(filters)


class TestUidCsv:
    def test_rows(self, tmp_path):
        path = tmp_path / "uids.csv"
        path.write_text("SeriesInstanceUID,StudyInstanceUID\n1.2.3,1.2\n,1.5\n\n4.5.6,\n")
        assert read_uid_csv(path) == [("1.2", "1.2.3"), ("1.5", None), (None, "4.5.6")]

    @pytest.mark.parametrize(
        ("text", "match"),
        [
            ("uid\n1.2.3\n", "needs a header with a StudyInstanceUID or SeriesInstanceUID column"),
            ("SeriesInstanceUID\n1.2.3\n1.2.x\n", "line 3: '1.2.x' is not a DICOM UID"),
            ("SeriesInstanceUID\n../../etc\n", "is not a DICOM UID"),
        ],
    )
    def test_bad_lists(self, tmp_path, text, match):
        path = tmp_path / "uids.csv"
        path.write_text(text)
        with pytest.raises(ConfigError, match=match):
            read_uid_csv(path)

    def test_missing_file(self, tmp_path):
        with pytest.raises(ConfigError, match="UID list not found"):
            DicomWebSource(URL, uids=tmp_path / "none.csv", credentials=None)


def test_query_result_without_uids_is_a_remote_error():
    with pytest.raises(RemoteError, match="not DICOMweb-conformant"):
        RemoteSeries.from_json({"0020000E": {"vr": "UI", "Value": ["../x"]}})


def test_retry_policy_backoff_doubles_up_to_the_cap():
    policy = RetryPolicy(attempts=6, backoff=1.0, max_backoff=5.0)
    assert [policy.delay(k) for k in range(5)] == [1.0, 2.0, 4.0, 5.0, 5.0]
    with pytest.raises(ConfigError):
        RetryPolicy(attempts=0)


def test_retries_wait_with_backoff_and_stop_at_the_limit():
    waits, calls = [], []

    def flaky():
        calls.append(1)
        response = requests.Response()
        response.status_code = 503
        raise requests.HTTPError(response=response)

    policy = RetryPolicy(attempts=4, backoff=0.5)
    with pytest.raises(RemoteError, match="after 4 attempts") as err:
        call_with_retries(flaky, policy=policy, where="w", what="x", sleep=waits.append)
    assert (len(calls), waits, err.value.status) == (4, [0.5, 1.0, 2.0], 503)


def test_other_errors_pass_through_unretried():
    calls = []

    def broken():
        calls.append(1)
        raise KeyError("not HTTP")

    with pytest.raises(KeyError):
        call_with_retries(broken, policy=RetryPolicy(), where="w", what="x", sleep=lambda s: None)
    assert calls == [1]


def test_missing_ca_bundle_and_bad_workers(tmp_path):
    with pytest.raises(ConfigError, match="CA bundle not found"):
        DicomWebSource(URL, ca_bundle=tmp_path / "ca.pem", credentials=None)
    with pytest.raises(ConfigError, match="workers"):
        DicomWebSource(URL, workers=0, credentials=None)


def test_stow_answer_with_refusals_is_a_remote_error():
    failed = Dataset()
    failed.FailureReason = 0xA700
    answer = Dataset()
    answer.FailedSOPSequence = [failed]
    with pytest.raises(RemoteError, match=r"refused 1 of 2 instances \(failure reasons 42752\)"):
        stored_uids(answer, 2, "https://pacs.example.org/dicom-web/studies")
