"""Classification SRs: content read back with highdicom and pydicom, DICOM validity (dciodvfy), files written
atomically, STOW-RS to a real Orthanc and found back there."""

from __future__ import annotations

import logging
import shutil
import subprocess
import warnings

import highdicom as hd
import pydicom
import pytest
from pydicom.sr.codedict import codes
from pydicom.sr.coding import Code

from medms.errors import ConfigError, DataError, DicomError, OutputError
from medms.io.dicomweb import DicomWebSource
from medms.io.sr import (
    PRIVATE_SCHEME,
    ModelInfo,
    classification_sr,
    read_classification_sr,
    read_source_headers,
    write_sr,
)
from medms.synthetic import write_ct_phantom
from tests.io._dicomweb import FAST, login

CLASSES = ["no_lesion", "lesion", "artefact"]
PROBS = [0.15, 0.8, 0.05]
MODEL = ModelInfo("ct-lesion", "1.2.0", "0123456789abcdef" * 4)
NAME, PID = "Zqxmarkername^Wvyfirst", "ZQXPID-4471"


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """A 4-slice CT series whose patient attributes hold recognisable markers."""
    folder = tmp_path_factory.mktemp("src")
    files = write_ct_phantom(folder, shape=(24, 24, 4), seed=7, study_uid="1.2.826.0.1.3680043.10.779.11")
    for path in files:
        ds = pydicom.dcmread(path)
        ds.PatientName, ds.PatientID, ds.PatientBirthDate, ds.AccessionNumber = NAME, PID, "19010203", "ACC77"
        ds.save_as(path, enforce_file_format=True)
    return files


@pytest.fixture(scope="module")
def sr(source):
    return classification_sr(
        read_source_headers(source),
        class_names=CLASSES,
        probabilities=PROBS,
        model=MODEL,
        uid_root="1.2.826.0.1.3680043.10.779",
    )


def test_round_trip_through_highdicom(sr, source, tmp_path):
    path = write_sr(sr, tmp_path)
    result = read_classification_sr(path)
    first = pydicom.dcmread(source[0])
    assert result.predicted == "lesion"
    assert result.probabilities == dict(zip(CLASSES, PROBS, strict=True))
    assert (result.algorithm_name, result.algorithm_version, result.weights_sha256) == (
        MODEL.name,
        MODEL.version,
        MODEL.weights_sha256,
    )
    assert (result.source_series_uid, result.source_study_uid) == (
        first.SeriesInstanceUID,
        first.StudyInstanceUID,
    )


def test_tid1500_structure_read_with_highdicom(sr, tmp_path):
    doc = hd.sr.srread(write_sr(sr, tmp_path))
    report = doc.content
    assert isinstance(report, hd.sr.MeasurementReport)
    assert report[0].ContentTemplateSequence[0].TemplateIdentifier == "1500"
    (group,) = report.get_image_measurement_groups()
    (evaluation,) = group.get_qualitative_evaluations(name=codes.SCT.Classification)
    assert (evaluation.value.value, evaluation.value.scheme_designator) == ("lesion", PRIVATE_SCHEME)
    numbers = {m.name.meaning: (m.value, m.unit.value) for m in group.get_measurements()}
    assert numbers == {f"Probability of {c}": (p, "1") for c, p in zip(CLASSES, PROBS, strict=True)}
    (observer,) = report.get_observer_contexts(observer_type=codes.DCM.Device)
    assert observer.observer_identifying_attributes.name == MODEL.name
    assert observer.observer_identifying_attributes.serial_number == MODEL.weights_sha256


def test_header_joins_the_source_study_with_new_uids(sr, source):
    headers = [pydicom.dcmread(p) for p in source]
    first = headers[0]
    for keyword in (
        "PatientName",
        "PatientID",
        "PatientBirthDate",
        "PatientSex",
        "StudyInstanceUID",
        "StudyID",
        "StudyDate",
        "StudyTime",
        "AccessionNumber",
    ):
        assert sr.get(keyword) == first.get(keyword), keyword
    assert sr.Modality == "SR" and sr.SOPClassUID == pydicom.uid.Comprehensive3DSRStorage
    assert sr.SeriesInstanceUID != first.SeriesInstanceUID
    for uid in (sr.SOPInstanceUID, sr.SeriesInstanceUID):
        assert uid.startswith("1.2.826.0.1.3680043.10.779.") and len(uid) <= 64
    (study_ref,) = sr.CurrentRequestedProcedureEvidenceSequence
    (series_ref,) = study_ref.ReferencedSeriesSequence
    assert series_ref.SeriesInstanceUID == first.SeriesInstanceUID
    assert sorted(r.ReferencedSOPInstanceUID for r in series_ref.ReferencedSOPSequence) == sorted(
        h.SOPInstanceUID for h in headers
    )
    assert {r.ReferencedSOPClassUID for r in series_ref.ReferencedSOPSequence} == {first.SOPClassUID}
    assert (sr.CompletionFlag, sr.VerificationFlag, sr.PreliminaryFlag) == (
        "COMPLETE",
        "UNVERIFIED",
        "PRELIMINARY",
    )


def test_same_result_same_uids_other_result_other_uids(source, sr):
    headers = read_source_headers(source)
    again = classification_sr(
        headers, class_names=CLASSES, probabilities=PROBS, model=MODEL, uid_root="1.2.826.0.1.3680043.10.779"
    )
    other = classification_sr(
        headers,
        class_names=CLASSES,
        probabilities=[0.7, 0.2, 0.1],
        model=MODEL,
        uid_root="1.2.826.0.1.3680043.10.779",
    )
    default_root = classification_sr(headers, class_names=CLASSES, probabilities=PROBS, model=MODEL)
    assert again.SOPInstanceUID == sr.SOPInstanceUID
    assert other.SOPInstanceUID != sr.SOPInstanceUID
    assert read_classification_sr(other).predicted == "no_lesion"
    assert default_root.SOPInstanceUID.startswith("2.25.")
    assert int(default_root.SOPInstanceUID[5:]) < 2**128


def test_standard_codes_and_explicit_prediction(source):
    malignant = Code("86049000", "SCT", "Malignant neoplasm, primary")
    sr = classification_sr(
        read_source_headers(source),
        class_names=["benign", "malignant"],
        probabilities=[0.6, 0.4],
        predicted="malignant",
        model=MODEL,
        class_codes={"malignant": malignant},
    )
    (group,) = hd.sr.Comprehensive3DSR.from_dataset(sr).content.get_image_measurement_groups()
    (evaluation,) = group.get_qualitative_evaluations(name=codes.SCT.Classification)
    assert evaluation.value == malignant


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"probabilities": [0.5, 0.5]}, DataError, "2 probabilities for 3 classes"),
        ({"probabilities": [0.5, float("nan"), 0.5]}, DataError, "finite and in"),
        ({"class_names": ["a", "a", "b"]}, DataError, "distinct"),
        ({"predicted": "cat"}, DataError, "not one of"),
        ({"predicted": 3}, DataError, "out of range"),
        ({"uid_root": "1.2.abc"}, ConfigError, "not a DICOM UID prefix"),
    ],
)
def test_bad_inputs(source, kwargs, error, match):
    args = {"class_names": CLASSES, "probabilities": PROBS, "model": MODEL, **kwargs}
    with pytest.raises(error, match=match):
        classification_sr(read_source_headers(source), **args)


def test_sources_of_two_series_are_refused(source, tmp_path):
    other = write_ct_phantom(tmp_path, shape=(8, 8, 1), seed=99)
    with pytest.raises(DataError, match="belong to 2 series"):
        classification_sr(
            read_source_headers([*source, *other]), class_names=CLASSES, probabilities=PROBS, model=MODEL
        )
    with pytest.raises(ConfigError, match="64 lowercase hex"):
        ModelInfo("m", "1", "xyz")


def test_write_never_overwrites_silently(sr, tmp_path):
    path = write_sr(sr, tmp_path)
    before = path.read_bytes()
    with pytest.raises(OutputError, match="exists"):
        write_sr(sr, tmp_path)
    assert path.read_bytes() == before
    assert write_sr(sr, tmp_path, overwrite=True) == path
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left behind
    assert path.name == f"{sr.SOPInstanceUID}.dcm"


def test_not_a_classification_sr(tmp_path, pydicom_test_files):
    with pytest.raises(DicomError, match="not a structured report"):
        read_classification_sr(pydicom_test_files / "CT_small.dcm")


def test_no_phi_in_warnings_or_logs(source, caplog):
    headers = read_source_headers(source)
    for ds in headers:
        ds.PatientName = "Zqxmarkername"  # a one-component name, which highdicom warns about (quoting it)
    caplog.set_level(logging.DEBUG)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sr = classification_sr(headers, class_names=CLASSES, probabilities=PROBS, model=MODEL)
        read_classification_sr(sr)
    text = caplog.text + " ".join(str(w.message) for w in caught)
    for marker in ("Zqxmarkername", "Wvyfirst", PID, "19010203"):
        assert marker not in text


@pytest.mark.skipif(
    shutil.which("dciodvfy") is None, reason="dciodvfy not installed (apt-get install dicom3tools)"
)
def test_dciodvfy_finds_no_error(sr, tmp_path):
    path = write_sr(sr, tmp_path)
    run = subprocess.run(["dciodvfy", "-new", str(path)], capture_output=True, text=True, timeout=120)
    report = run.stdout + run.stderr
    assert "Comprehensive3DSR" in report
    errors = [line for line in report.splitlines() if line.startswith("Error")]
    assert errors == []
    # The only warnings: our private coding scheme (declared in CodingSchemeIdentificationSequence) and the
    # source's single-component patient name copied as it is.
    other = [
        line
        for line in report.splitlines()
        if line.startswith("Warning") and "99MEDMS" not in line and "Person Name" not in line
    ]
    assert other == []


def test_stow_then_find_the_sr_in_orthanc(orthanc, source, sr, monkeypatch, tmp_path):
    login(monkeypatch, orthanc)
    orthanc.upload(source)
    with DicomWebSource(orthanc.dicomweb_url, retry=FAST) as pacs:
        assert pacs.store([sr]) == [sr.SOPInstanceUID]
        # The same result stored again: replaced, not duplicated.
        assert pacs.store([sr]) == [sr.SOPInstanceUID]
        study = pydicom.dcmread(source[0]).StudyInstanceUID
        found = DicomWebSource(
            orthanc.dicomweb_url, query={"Modality": "SR", "StudyInstanceUID": study}, retry=FAST
        )
        with found:
            (remote,) = found.series()
            assert remote.n_instances == 1
            folder = found.download(remote, tmp_path / "sr")
    (path,) = folder.iterdir()
    result = read_classification_sr(path)
    assert result.source_series_uid == pydicom.dcmread(source[0]).SeriesInstanceUID
    assert result.predicted == "lesion" and result.probabilities == dict(zip(CLASSES, PROBS, strict=True))
    assert pydicom.dcmread(path).PatientID == PID  # same patient as the images, so viewers show them together
