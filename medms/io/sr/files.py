"""Write classification SRs to a folder and read them back (see :mod:`medms.io.sr`)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import highdicom as hd
import pydicom
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes
from pydicom.sr.coding import Code

from medms.errors import DicomError, OutputError
from medms.io.sr.build import PRIVATE_SCHEME, PROBABILITY_PREFIX

__all__ = ["ClassificationResult", "read_classification_sr", "write_sr"]


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
    return [
        str(item.TextValue) for item in hd.sr.utils.find_content_items(group[0], name=name, recursive=True)
    ]


def read_classification_sr(sr: Dataset | str | os.PathLike[str]) -> ClassificationResult:
    """Read back the result stored by :func:`classification_sr` (from a file or a dataset).

    Raises:
        DicomError: not such an SR (no measurement group with a finding and probabilities).
    """
    where = None if isinstance(sr, Dataset) else os.fspath(sr)
    try:
        doc = hd.sr.srread(sr) if where is not None else hd.sr.Comprehensive3DSR.from_dataset(sr)
    except (RuntimeError, ValueError, AttributeError, pydicom.errors.InvalidDicomError) as err:
        raise DicomError(
            f"not a structured report highdicom can read ({type(err).__name__})", path=where
        ) from None
    content = doc.content
    groups = content.get_image_measurement_groups() if isinstance(content, hd.sr.MeasurementReport) else []
    if len(groups) != 1:
        raise DicomError(
            f"expected one measurement group, found {len(groups)}; not a medms classification SR", path=where
        )
    group = groups[0]
    probabilities = {}
    for m in group.get_measurements():
        meaning = m.name.meaning
        if m.name.scheme_designator == PRIVATE_SCHEME and meaning.startswith(PROBABILITY_PREFIX):
            probabilities[meaning[len(PROBABILITY_PREFIX) :]] = float(m.value)
    findings = group.get_qualitative_evaluations(name=codes.SCT.Classification)
    params = [p for p in _text(group, codes.DCM.AlgorithmParameters) if p.startswith("weights_sha256=")]
    names, versions = _text(group, codes.DCM.AlgorithmName), _text(group, codes.DCM.AlgorithmVersion)
    if not (probabilities and len(findings) == 1 and params and names and versions):
        raise DicomError(
            "no finding, probabilities or algorithm identification; not a medms classification SR", path=where
        )
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
