"""DICOMweb input against a real Orthanc: query, retrieve and compare voxel for voxel with the folder read."""

from __future__ import annotations

import csv
import shutil
import time
from pathlib import Path

import numpy as np
import pydicom
import pytest

from medms.errors import ConfigError, RemoteError
from medms.io.dicomweb import DicomWebSource, RemoteSeries
from medms.synthetic import write_ct_phantom, write_image_dicom
from tests.io._dicomweb import FAST, login, same_read


def _unique_files(files: list[Path]) -> list[Path]:
    """One file per SOPInstanceUID (Orthanc keeps the first of duplicates; so does this)."""
    seen, kept = set(), []
    for path in files:
        try:
            uid = pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID
        except pydicom.errors.InvalidDicomError:
            continue
        if uid not in seen:
            seen.add(uid)
            kept.append(path)
    return kept


@pytest.fixture(scope="module")
def uploaded(orthanc, sample_data, tmp_path_factory) -> dict[str, Path]:
    """The shipped DICOM and generated series, stored in Orthanc; series UID → a local folder of exactly the
    files stored."""
    root = tmp_path_factory.mktemp("local")
    gen = root / "generated"
    generated = write_ct_phantom(gen / "ct", shape=(40, 48, 6), spacing=(0.7, 0.9, 2.0), seed=11)
    rng = np.random.default_rng(12)
    (gen / "img").mkdir()
    generated.append(
        write_image_dicom(rng.integers(0, 255, (30, 20), np.uint8), gen / "img" / "us.dcm", seed=12)
    )
    generated.append(
        write_image_dicom(
            rng.integers(0, 4000, (24, 32), np.uint16), gen / "img" / "cr.dcm", modality="CR", seed=13
        )
    )
    files = _unique_files(sorted(p for p in (sample_data / "dicom").rglob("*") if p.is_file()) + generated)
    by_series: dict[str, Path] = {}
    for path in files:
        uid = pydicom.dcmread(path, stop_before_pixels=True).SeriesInstanceUID
        folder = by_series.setdefault(uid, root / "series" / f"s{len(by_series):02d}")
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, folder / path.name)
    orthanc.upload(files)
    return by_series


@pytest.fixture
def env_login(orthanc, monkeypatch):
    login(monkeypatch, orthanc)


def _header(folder: Path) -> pydicom.Dataset:
    return pydicom.dcmread(next(iter(sorted(folder.iterdir()))), stop_before_pixels=True)


def test_query_lists_every_series_with_modality_and_count(orthanc, uploaded, env_login):
    with DicomWebSource(orthanc.dicomweb_url, retry=FAST) as source:
        found = source.series()
    assert {s.series_uid for s in found} == set(uploaded)
    for s in found:
        local = uploaded[s.series_uid]
        assert s.modality == _header(local).Modality
        assert s.n_instances == len(list(local.iterdir()))
        assert s.study_uid == _header(local).StudyInstanceUID


@pytest.mark.parametrize(
    ("query", "keep"),
    [
        (["Modality=CT"], lambda h: h.Modality == "CT"),
        (["StudyDate=20040101-20051231"], lambda h: "20040101" <= str(h.get("StudyDate", "")) <= "20051231"),
        (
            {"Modality": "MR", "StudyDate": "20140310"},
            lambda h: h.Modality == "MR" and h.StudyDate == "20140310",
        ),
    ],
)
def test_query_filters_select_what_the_headers_say(orthanc, uploaded, env_login, query, keep):
    expected = {uid for uid, folder in uploaded.items() if keep(_header(folder))}
    assert expected  # the filter selects something, and not everything
    assert expected != set(uploaded)
    with DicomWebSource(orthanc.dicomweb_url, query=query, retry=FAST) as source:
        assert {s.series_uid for s in source.series()} == expected


def test_uid_csv_names_series_and_studies(orthanc, uploaded, env_login, tmp_path):
    headers = {uid: _header(folder) for uid, folder in uploaded.items()}
    ct, mr = (
        sorted(u for u, h in headers.items() if h.Modality == "CT"),
        sorted(u for u, h in headers.items() if h.Modality == "MR"),
    )
    study = headers[mr[0]].StudyInstanceUID
    in_study = {u for u, h in headers.items() if h.StudyInstanceUID == study}
    missing = "1.2.826.0.1.3680043.10.779.999"
    table = tmp_path / "uids.csv"
    with open(table, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["StudyInstanceUID", "SeriesInstanceUID"])
        writer.writerow([headers[ct[0]].StudyInstanceUID, ct[0]])  # both: taken as is
        writer.writerow(["", ct[1]])  # series only: its study is looked up
        writer.writerow([study, ""])  # study only: all its series
        writer.writerow(["", missing])  # unknown series: fails when fetched
        writer.writerow(["", ct[0]])  # duplicate: once
    with DicomWebSource(orthanc.dicomweb_url, uids=table, retry=FAST) as source:
        listed = source.series()
        assert [s.series_uid for s in listed[:2]] == ct[:2]
        assert {s.series_uid for s in listed} == {ct[0], ct[1], missing} | in_study
        assert listed[1].study_uid == headers[ct[1]].StudyInstanceUID
        outcome = {
            item.series_uid: item
            for item in source.retrieve([s for s in listed if s.series_uid in (ct[1], missing)])
        }
    assert outcome[ct[1]].error is None
    assert isinstance(outcome[missing].error, RemoteError) and outcome[missing].error.status == 404


@pytest.mark.slow
def test_retrieved_series_read_exactly_like_the_folder(orthanc, uploaded, env_login):
    with DicomWebSource(orthanc.dicomweb_url, retry=FAST, workers=3) as source:
        items = source.retrieve()
        for item in items:
            assert item.error is None, item.error
            local = uploaded[item.series_uid]
            stored = {pydicom.dcmread(p).SOPInstanceUID: pydicom.dcmread(p) for p in local.iterdir()}
            fetched = [pydicom.dcmread(p) for p in sorted(item.folder.iterdir())]
            assert sorted(ds.SOPInstanceUID for ds in fetched) == sorted(stored)
            # The stored transfer syntax comes back (no transcoding), with identical pixel bytes.
            for ds in fetched:
                original = stored[ds.SOPInstanceUID]
                assert ds.file_meta.TransferSyntaxUID == original.file_meta.TransferSyntaxUID
                assert ds.PixelData == original.PixelData
            same_read(local, item.folder)


def test_series_larger_than_the_cache_is_a_typed_error(orthanc, uploaded, env_login):
    big = max(uploaded, key=lambda uid: sum(p.stat().st_size for p in uploaded[uid].iterdir()))
    with DicomWebSource(orthanc.dicomweb_url, retry=FAST, max_cache_bytes=10_000) as source:
        target = [s for s in source.series() if s.series_uid == big]
        (item,) = list(source.retrieve(target))
    assert isinstance(item.error, RemoteError)
    assert "larger than the download cache" in str(item.error)


def test_downloads_run_ahead_of_the_consumer(orthanc, uploaded, env_login):
    with DicomWebSource(orthanc.dicomweb_url, retry=FAST, workers=2) as source:
        listed = source.series()
        items = source.retrieve(listed)
        first = next(items)
        # While the first series is in use, the next two are fetched in the background.
        for ahead in listed[1:3]:
            for _ in range(600):
                if (source.cache.root / ahead.series_uid).is_dir():
                    break
                time.sleep(0.05)
            assert (source.cache.root / ahead.series_uid).is_dir()
        assert first.folder.is_dir()
        items.close()
        assert not first.folder.exists()
        root = source.cache.root
    assert not root.exists()


def test_keep_cache_leaves_series_for_later(orthanc, uploaded, env_login, tmp_path):
    with DicomWebSource(
        orthanc.dicomweb_url, query=["Modality=CT"], retry=FAST, cache_dir=tmp_path / "c", keep_cache=True
    ) as source:
        uids = [
            item.series_uid
            for item in source.retrieve([s for s in source.series() if s.series_uid in uploaded])
        ]
    assert len(uids) >= 3
    for uid in uids:
        same_read(uploaded[uid], tmp_path / "c" / uid)


def test_download_one_series_to_a_folder(orthanc, uploaded, env_login, tmp_path):
    with DicomWebSource(orthanc.dicomweb_url, retry=FAST) as source:
        target = next(s for s in source.series() if s.n_instances and s.n_instances > 3)
        folder = source.download(target, tmp_path / "one")
        with pytest.raises(ConfigError, match="exists already"):
            source.download(target, folder)
    same_read(uploaded[target.series_uid], folder)


def test_netrc_credentials(orthanc, uploaded, tmp_path, monkeypatch):
    netrc = tmp_path / "netrc"
    netrc.write_text(f"machine 127.0.0.1 login {orthanc.user} password {orthanc.password}\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    for name in ("MEDMS_DICOMWEB_USER", "MEDMS_DICOMWEB_PASSWORD", "MEDMS_DICOMWEB_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    with DicomWebSource(orthanc.dicomweb_url, retry=FAST) as source:
        assert {s.series_uid for s in source.series()} == set(uploaded)


def test_unknown_series_without_study_fails_when_fetched(orthanc, env_login):
    with DicomWebSource(orthanc.dicomweb_url, retry=FAST) as source:
        (item,) = list(source.retrieve([RemoteSeries("", "1.2.3.4.5")]))
    assert isinstance(item.error, RemoteError) and item.error.status == 404
