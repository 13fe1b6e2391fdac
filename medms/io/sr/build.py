"""Build the TID 1500 classification SR of one series (see :mod:`medms.io.sr`)."""

from __future__ import annotations

import math
import os
import re
import uuid
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import highdicom as hd
import pydicom
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes
from pydicom.sr.coding import Code
from pydicom.uid import generate_uid

from medms.errors import ConfigError, DataError, DicomError

__all__ = ["PRIVATE_SCHEME", "PROBABILITY_PREFIX", "ModelInfo", "classification_sr", "read_source_headers"]
#: The private coding scheme of class labels and per-class probability concepts.
PRIVATE_SCHEME = "99MEDMS"
PROBABILITY_PREFIX = "Probability of "
_ROOT = re.compile(r"^[1-9][0-9]*(\.(0|[1-9][0-9]*))*$")
# Attributes the evidence needs, plus the patient/study module highdicom copies (missing ones become empty).
_EVIDENCE = ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "SOPClassUID")
_PATIENT_STUDY = (
    "PatientID",
    "PatientName",
    "PatientBirthDate",
    "PatientSex",
    "AccessionNumber",
    "StudyID",
    "StudyDate",
    "StudyTime",
    "ReferringPhysicianName",
)
_COPIED = (
    "SpecificCharacterSet",
    "IssuerOfPatientID",
    "PatientAge",
    "PatientWeight",
    "PatientSize",
    "StudyDescription",
)


@dataclass(frozen=True)
class ModelInfo:
    """What made the result: printed in the SR's algorithm identification and observer context."""

    name: str
    version: str
    weights_sha256: str

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[0-9a-f]{64}", self.weights_sha256 or ""):
            raise ConfigError(f"weights_sha256 must be 64 lowercase hex digits, got {self.weights_sha256!r}")
        if not self.name or not self.version:
            raise ConfigError("the model needs a name and a version for the SR's algorithm identification")


def read_source_headers(files: Sequence[str | os.PathLike[str]]) -> list[Dataset]:
    """Headers (no pixel data) of the classified series' files: the evidence an SR refers to.

    Raises:
        DicomError: a file is not readable DICOM.
    """
    out = []
    for path in files:
        try:
            out.append(pydicom.dcmread(path, stop_before_pixels=True))
        except (OSError, pydicom.errors.InvalidDicomError) as err:
            raise DicomError(f"cannot read the header ({type(err).__name__})", path=path) from None
    return out


def _uid(root: str | None, *parts: object) -> str:
    name = "|".join(map(str, ("medms-sr", *parts)))
    if root is None:
        return f"2.25.{uuid.uuid5(uuid.NAMESPACE_OID, name).int}"
    return generate_uid(prefix=f"{root}.", entropy_srcs=[name])


def _check_root(root: str | None) -> None:
    if root is not None and (not _ROOT.match(root) or len(root) > 40):
        raise ConfigError(
            f"UID root {root!r} is not a DICOM UID prefix of at most 40 characters (digits and dots, e.g. "
            "1.2.826.0.1.3680043.10.543); leave it unset to use 2.25 (UUID-derived) UIDs"
        )


def _evidence(source: Sequence[Dataset]) -> list[Dataset]:
    """Minimal copies of the source headers: references, and the patient/study attributes (never logged)."""
    if not source:
        raise DataError("no source instances: an SR must refer to the series it reports on")
    series = {str(ds.get("SeriesInstanceUID", "")) for ds in source}
    if len(series) != 1:
        raise DataError(
            f"the source instances belong to {len(series)} series; give the instances of one series"
        )
    out = []
    for ds in source:
        missing = [k for k in _EVIDENCE if k not in ds]
        if missing:
            raise DataError(f"a source instance lacks {', '.join(missing)}; it cannot be referenced")
        item = Dataset()
        for keyword in (*_EVIDENCE, *_COPIED):
            if keyword in ds:
                setattr(item, keyword, ds.data_element(keyword).value)
        for keyword in _PATIENT_STUDY:
            setattr(item, keyword, ds.get(keyword, "") or "")
        out.append(item)
    return out


def _class_code(name: str, codes_by_name: Mapping[str, Code] | None) -> Code:
    if codes_by_name and name in codes_by_name:
        return codes_by_name[name]
    return Code(name, PRIVATE_SCHEME, name)


def _check_result(
    class_names: Sequence[str], probabilities: Sequence[float], predicted: int | str | None
) -> str:
    names = [str(c) for c in class_names]
    if len(names) < 2 or len(set(names)) != len(names):
        raise DataError(f"need at least two distinct class names, got {names}")
    for name in names:
        if not name.strip() or "\\" in name or len(name) > 64 - len(PROBABILITY_PREFIX):
            raise DataError(
                f"class name {name!r} is empty, holds a backslash or is longer than 49 characters"
            )
    if len(probabilities) != len(names):
        raise DataError(f"{len(probabilities)} probabilities for {len(names)} classes")
    if not all(math.isfinite(float(p)) and 0.0 <= float(p) <= 1.0 for p in probabilities):
        raise DataError(f"probabilities must be finite and in [0, 1], got {list(probabilities)}")
    if predicted is None:
        return names[max(range(len(names)), key=lambda i: float(probabilities[i]))]
    if isinstance(predicted, int) and not isinstance(predicted, bool):
        if not 0 <= predicted < len(names):
            raise DataError(f"predicted class index {predicted} is out of range for {len(names)} classes")
        return names[predicted]
    if str(predicted) not in names:
        raise DataError(f"predicted class {predicted!r} is not one of {names}")
    return str(predicted)


def classification_sr(
    source: Sequence[Dataset],
    *,
    class_names: Sequence[str],
    probabilities: Sequence[float],
    model: ModelInfo,
    predicted: int | str | None = None,
    uid_root: str | None = None,
    class_codes: Mapping[str, Code] | None = None,
    series_number: int = 990,
) -> hd.sr.Comprehensive3DSR:
    """Build the TID 1500 SR of one series' classification.

    Args:
        source: the classified series' instances (headers are enough: :func:`read_source_headers`).
        class_names: class labels in the model's output order.
        probabilities: one probability per class.
        model: name, version and weights SHA-256 of the model.
        predicted: the predicted class (name or index); the most probable class by default.
        uid_root: organisation root for the new UIDs; ``None`` gives ``2.25.<uuid>`` UIDs.
        class_codes: standard codes for some classes (e.g. SNOMED CT), by class name.
        series_number: SeriesNumber of the SR's new series.

    Raises:
        DataError: inconsistent classes/probabilities, no source or several series.
        ConfigError: a malformed UID root.
    """
    _check_root(uid_root)
    chosen = _check_result(class_names, probabilities, predicted)
    evidence = _evidence(source)
    series_uid = evidence[0].SeriesInstanceUID
    probs = [float(p) for p in probabilities]
    key = (
        series_uid,
        model.name,
        model.version,
        model.weights_sha256,
        tuple(class_names),
        tuple(probs),
        chosen,
    )
    algorithm = hd.sr.AlgorithmIdentification(
        name=model.name, version=model.version, parameters=[f"weights_sha256={model.weights_sha256}"]
    )
    measurements = [
        hd.sr.Measurement(
            name=Code(f"P:{name}", PRIVATE_SCHEME, f"{PROBABILITY_PREFIX}{name}"),
            value=p,
            unit=codes.UCUM.NoUnits,
        )
        for name, p in zip(class_names, probs, strict=True)
    ]
    group = hd.sr.MeasurementsAndQualitativeEvaluations(
        tracking_identifier=hd.sr.TrackingIdentifier(
            uid=_uid(uid_root, "tracking", *key), identifier=f"{model.name} classification"
        ),
        algorithm_id=algorithm,
        measurements=measurements,
        qualitative_evaluations=[
            hd.sr.QualitativeEvaluation(name=codes.SCT.Classification, value=_class_code(chosen, class_codes))
        ],
    )
    device = hd.sr.DeviceObserverIdentifyingAttributes(
        uid=_uid(uid_root, "device", model.name, model.version, model.weights_sha256),
        name=model.name[:64],
        manufacturer_name="medms",
        model_name=model.version[:64],
        serial_number=model.weights_sha256,
    )
    context = hd.sr.ObservationContext(
        observer_device_context=hd.sr.ObserverContext(
            observer_type=codes.DCM.Device, observer_identifying_attributes=device
        )
    )
    report = hd.sr.MeasurementReport(
        observation_context=context,
        procedure_reported=codes.SCT.ImagingProcedure,
        imaging_measurements=[group],
    )
    with warnings.catch_warnings():
        # highdicom warns about unusual patient names *quoting the name*: PHI must not reach a log.
        warnings.filterwarnings("ignore", message=r"The string .* person name", category=UserWarning)
        sr = hd.sr.Comprehensive3DSR(
            evidence=evidence,
            content=report[0],
            series_instance_uid=_uid(uid_root, "series", *key),
            series_number=series_number,
            sop_instance_uid=_uid(uid_root, "instance", *key),
            instance_number=1,
            manufacturer="medms",
            is_complete=True,
            series_description=f"medms {model.name} {model.version}"[:64],
        )
    item = Dataset()
    item.CodingSchemeDesignator = PRIVATE_SCHEME
    item.CodingSchemeName = "medms class labels"
    item.CodingSchemeResponsibleOrganization = "medms"
    sr.CodingSchemeIdentificationSequence = [item]
    return sr
