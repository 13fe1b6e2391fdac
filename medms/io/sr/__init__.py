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
    >>> from medms.synthetic import write_ct_phantom
    >>> files = write_ct_phantom(tempfile.mkdtemp(), shape=(16, 16, 3))
    >>> sr = classification_sr(read_source_headers(files), class_names=["no_lesion", "lesion"],
    ...                        probabilities=[0.2, 0.8], model=ModelInfo("ct-lesion", "1.0", "ab" * 32))
    >>> result = read_classification_sr(sr)
    >>> result.predicted, result.probabilities
    ('lesion', {'no_lesion': 0.2, 'lesion': 0.8})
    >>> result.source_series_uid == sr.CurrentRequestedProcedureEvidenceSequence[0].ReferencedSeriesSequence[0].SeriesInstanceUID
    True
"""

from medms.io.sr.build import PRIVATE_SCHEME, ModelInfo, classification_sr, read_source_headers
from medms.io.sr.files import ClassificationResult, read_classification_sr, write_sr

__all__ = [
    "PRIVATE_SCHEME",
    "ClassificationResult",
    "ModelInfo",
    "classification_sr",
    "read_classification_sr",
    "read_source_headers",
    "write_sr",
]
