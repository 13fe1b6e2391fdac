"""Classification results as DICOM Structured Reports (TID 1500 Measurement Report), written with highdicom.

One SR per classified series. Its content tree:

* Imaging Measurement Report (TID 1500), English, observer = the model as a device (name, manufacturer
  "medms", the weights' SHA-256 as serial number), procedure reported "Imaging procedure" (SCT 363679005);
* one Measurement Group (TID 1501) with a tracking identifier, the algorithm identification (name, version, and
  the parameter ``weights_sha256=...``), a qualitative evaluation **Classification (SCT 278201002) = the predicted class**
  and one numeric measurement **"Probability of <class>"** (unit ``1``, "no units") per class.

Classes are coded in the private coding scheme ``99MEDMS`` (code value = class name), unless codes are given.
The SR joins the source study: the patient and study attributes are copied from the source, the source
instances are listed as evidence, and its UIDs are new, under ``uid_root`` (default: the UUID-derived root
``2.25``). The UIDs are derived from the source series, the model and the result, so the same result for the
same series gets the same UIDs (storing it twice replaces, never duplicates).

Example:
    >>> import tempfile, numpy as np
    >>> from medms.sample_data import write_ct_phantom
    >>> files = write_ct_phantom(tempfile.mkdtemp(), shape=(16, 16, 3))
    >>> sr = classification_sr(read_source_headers(files), class_names=["no_lesion", "lesion"],
    ...                        probabilities=[0.2, 0.8], model=ModelInfo("ct-lesion", "1.0", "ab" * 32))
    >>> result = read_classification_sr(sr)
    >>> result.predicted, result.probabilities
    ('lesion', {'no_lesion': 0.2, 'lesion': 0.8})
    >>> result.source_series_uid == sr.CurrentRequestedProcedureEvidenceSequence[0].ReferencedSeriesSequence[0].SeriesInstanceUID
    True
"""

from __future__ import annotations

import math
import os
import re
import uuid
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import highdicom as hd
import pydicom
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes
from pydicom.sr.coding import Code
from pydicom.uid import generate_uid

from medms.errors import ConfigError, DataError, DicomError, OutputError

__all__ = [
    "PRIVATE_SCHEME",
    "ClassificationResult",
    "ModelInfo",
    "classification_sr",
    "read_classification_sr",
    "read_source_headers",
    "write_sr",
]

#: The private coding scheme of class labels and per-class probability concepts.
PRIVATE_SCHEME = "99MEDMS"
_PROBABILITY_PREFIX = "Probability of "
_ROOT = re.compile(r"^[1-9][0-9]*(\.(0|[1-9][0-9]*))*$")
# Attributes the evidence needs, plus the patient/study module highdicom copies (missing ones become empty).
_EVIDENCE = ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "SOPClassUID")
_PATIENT_STUDY = (
    "PatientID", "PatientName", "PatientBirthDate", "PatientSex", "AccessionNumber", "StudyID", "StudyDate",
    "StudyTime", "ReferringPhysicianName",
)
_COPIED = ("SpecificCharacterSet", "IssuerOfPatientID", "PatientAge", "PatientWeight", "PatientSize",
           "StudyDescription")


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


@dataclass(frozen=True)
class ClassificationResult:
    """What :func:`read_classification_sr` finds in an SR."""

    source_series_uid: str
    source_study_uid: str
    predicted: str
    probabilities: dict[str, float]
    algorithm_name: str
    algorithm_version: str
    weights_sha256: str


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
        raise DataError(f"the source instances belong to {len(series)} series; give the instances of one series")
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


def _check_result(class_names: Sequence[str], probabilities: Sequence[float], predicted: int | str | None) -> str:
    names = [str(c) for c in class_names]
    if len(names) < 2 or len(set(names)) != len(names):
        raise DataError(f"need at least two distinct class names, got {names}")
    for name in names:
        if not name.strip() or "\\" in name or len(name) > 64 - len(_PROBABILITY_PREFIX):
            raise DataError(f"class name {name!r} is empty, holds a backslash or is longer than 49 characters")
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
    key = (series_uid, model.name, model.version, model.weights_sha256, tuple(class_names), tuple(probs), chosen)
    algorithm = hd.sr.AlgorithmIdentification(
        name=model.name, version=model.version, parameters=[f"weights_sha256={model.weights_sha256}"]
    )
    measurements = [
        hd.sr.Measurement(
            name=Code(f"P:{name}", PRIVATE_SCHEME, f"{_PROBABILITY_PREFIX}{name}"),
            value=p,
            unit=codes.UCUM.NoUnits,
        )
        for name, p in zip(class_names, probs)
    ]
    group = hd.sr.MeasurementsAndQualitativeEvaluations(
        tracking_identifier=hd.sr.TrackingIdentifier(uid=_uid(uid_root, "tracking", *key),
                                                     identifier=f"{model.name} classification"),
        algorithm_id=algorithm,
        measurements=measurements,
        qualitative_evaluations=[
            hd.sr.QualitativeEvaluation(name=codes.SCT.Classification, value=_class_code(chosen, class_codes))
        ],
    )
    device = hd.sr.DeviceObserverIdentifyingAttributes(
        uid=_uid(uid_root, "device", model.name, model.version, model.weights_sha256),
        name=model.name[:64], manufacturer_name="medms", model_name=model.version[:64],
        serial_number=model.weights_sha256,
    )
    context = hd.sr.ObservationContext(
        observer_device_context=hd.sr.ObserverContext(
            observer_type=codes.DCM.Device, observer_identifying_attributes=device
        )
    )
    report = hd.sr.MeasurementReport(
        observation_context=context, procedure_reported=codes.SCT.ImagingProcedure, imaging_measurements=[group]
    )
    with warnings.catch_warnings():
        # highdicom warns about unusual patient names *quoting the name*: PHI must not reach a log.
        warnings.filterwarnings("ignore", message=r"The string .* person name", category=UserWarning)
        sr = hd.sr.Comprehensive3DSR(
            evidence=evidence, content=report[0], series_instance_uid=_uid(uid_root, "series", *key),
            series_number=series_number, sop_instance_uid=_uid(uid_root, "instance", *key), instance_number=1,
            manufacturer="medms", is_complete=True, series_description=f"medms {model.name} {model.version}"[:64],
        )
    item = Dataset()
    item.CodingSchemeDesignator = PRIVATE_SCHEME
    item.CodingSchemeName = "medms class labels"
    item.CodingSchemeResponsibleOrganization = "medms"
    sr.CodingSchemeIdentificationSequence = [item]
    return sr


def write_sr(sr: Dataset, folder: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
    """Write ``sr`` as ``<SOPInstanceUID>.dcm`` in ``folder`` atomically; never replace a file silently.

    Raises:
        OutputError: the file exists (and ``overwrite`` is false), or the folder is not writable.
    """
    out_dir = Path(folder)
    target = out_dir / f"{sr.SOPInstanceUID}.dcm"
    tmp = out_dir / f".{target.name}.{os.getpid()}.tmp"
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        sr.save_as(tmp, enforce_file_format=True)
        if overwrite:
            os.replace(tmp, target)
        else:
            os.link(tmp, target)  # fails if the target exists, even if it appeared a moment ago
    except FileExistsError:
        raise OutputError("exists; delete it or pass overwrite=True", path=target) from None
    except OSError as err:
        raise OutputError(f"cannot write the SR ({err.strerror or err})", path=target) from None
    finally:
        tmp.unlink(missing_ok=True)
    return target


def _text(group: Dataset, name: Code) -> list[str]:
    return [str(item.TextValue) for item in hd.sr.utils.find_content_items(group[0], name=name, recursive=True)]


def read_classification_sr(sr: Dataset | str | os.PathLike[str]) -> ClassificationResult:
    """Read back the result stored by :func:`classification_sr` (from a file or a dataset).

    Raises:
        DicomError: not such an SR (no measurement group with a finding and probabilities).
    """
    where = None if isinstance(sr, Dataset) else os.fspath(sr)
    doc = hd.sr.srread(sr) if where is not None else hd.sr.Comprehensive3DSR.from_dataset(sr)
    groups = doc.content.get_image_measurement_groups() if hasattr(doc.content, "get_image_measurement_groups") else []
    if len(groups) != 1:
        raise DicomError(f"expected one measurement group, found {len(groups)}; not a medms classification SR",
                         path=where)
    group = groups[0]
    probabilities = {}
    for m in group.get_measurements():
        meaning = m.name.meaning
        if m.name.scheme_designator == PRIVATE_SCHEME and meaning.startswith(_PROBABILITY_PREFIX):
            probabilities[meaning[len(_PROBABILITY_PREFIX):]] = float(m.value)
    findings = group.get_qualitative_evaluations(name=codes.SCT.Classification)
    params = [p for p in _text(group, codes.DCM.AlgorithmParameters) if p.startswith("weights_sha256=")]
    names, versions = _text(group, codes.DCM.AlgorithmName), _text(group, codes.DCM.AlgorithmVersion)
    if not (probabilities and len(findings) == 1 and params and names and versions):
        raise DicomError("no finding, probabilities or algorithm identification; not a medms classification SR",
                         path=where)
    ref = doc.CurrentRequestedProcedureEvidenceSequence[0]
    return ClassificationResult(
        source_series_uid=str(ref.ReferencedSeriesSequence[0].SeriesInstanceUID),
        source_study_uid=str(ref.StudyInstanceUID),
        predicted=str(findings[0].value.meaning),
        probabilities=probabilities,
        algorithm_name=names[0],
        algorithm_version=versions[0],
        weights_sha256=params[0].split("=", 1)[1],
    )
