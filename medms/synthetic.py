"""Synthetic but standard-conformant DICOM for tests, benchmarks, demos and the 3D path.

Two writers, no real patient data anywhere (patient attributes are fixed placeholders or parameters):

* :func:`write_ct_phantom` writes a CT series (one file per slice): a body ellipse with lungs, liver, spine and
  round lesions of different sizes, int16 stored values with RescaleSlope/Intercept, correct
  ImagePositionPatient / ImageOrientationPatient / PixelSpacing / SliceThickness, oblique orientations allowed.
* :func:`write_ct_cohort` writes a labelled cohort of such series (half with one lesion of random position, size
  and contrast, varied spacing and noise) and its ``path,label,split`` manifest: data for the 3D bundle.
* :func:`write_image_dicom` saves one 2D ``uint8``/``uint16`` image (grey, or RGB ``uint8``) as a single DICOM
  file with generated headers.

Example:
    >>> import tempfile
    >>> from medms.synthetic import write_ct_phantom
    >>> files = write_ct_phantom(tempfile.mkdtemp(), shape=(32, 32, 4))
    >>> len(files)
    4
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, ExplicitVRLittleEndian, generate_uid

from medms.errors import DataError

__all__ = ["DEFAULT_LESIONS", "write_ct_cohort", "write_ct_phantom", "write_image_dicom"]

CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
_SOP_CLASS_BY_MODALITY = {
    "US": "1.2.840.10008.5.1.4.1.1.6.1",  # Ultrasound Image Storage
    "CR": "1.2.840.10008.5.1.4.1.1.1",  # Computed Radiography Image Storage
    "DX": "1.2.840.10008.5.1.4.1.1.1.1",  # Digital X-Ray Image Storage - For Presentation
    "MG": "1.2.840.10008.5.1.4.1.1.1.2",  # Digital Mammography X-Ray Image Storage - For Presentation
}
_SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"

#: Default lesions of :func:`write_ct_phantom`: ``(row, col, slice)`` as fractions of the shape, radius in mm,
#: value in HU. Three sizes so that a detector can be checked on small and large findings.
DEFAULT_LESIONS: tuple[tuple[tuple[float, float, float], float, float], ...] = (
    ((0.55, 0.30, 0.5), 4.0, 120.0),
    ((0.45, 0.70, 0.4), 8.0, 90.0),
    ((0.62, 0.60, 0.6), 14.0, -30.0),
)


def _uid(seed: int, *parts: object) -> str:
    # Derived from the seed so that the same call writes the same files (reproducible tests and benchmarks).
    return generate_uid(entropy_srcs=["medms", str(seed), *map(str, parts)])


def _file_meta(sop_class: str, sop_instance: str) -> FileMetaDataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = sop_instance
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    return meta


def _base_dataset(
    modality: str, study_uid: str, series_uid: str, patient_id: str, patient_name: str
) -> Dataset:
    today = _dt.date(2000, 1, 1).strftime("%Y%m%d")  # fixed date: no real acquisition time leaks into files
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.PatientName = patient_name
    ds.PatientID = patient_id
    ds.PatientBirthDate = ""
    ds.PatientSex = "O"
    ds.StudyInstanceUID = study_uid
    ds.StudyDate = today
    ds.StudyTime = "120000"
    ds.StudyID = "1"
    ds.AccessionNumber = ""
    ds.ReferringPhysicianName = ""
    ds.SeriesInstanceUID = series_uid
    ds.SeriesNumber = 1
    ds.SeriesDate = today
    ds.Modality = modality
    ds.Manufacturer = "medms synthetic"
    ds.ManufacturerModelName = "phantom"
    return ds


def _phantom_slice(rows: int, cols: int, z_frac: float) -> np.ndarray:
    """Noise-free HU of one axial slice at relative height ``z_frac`` in [0, 1] (organs vary along z)."""
    y, x = np.ogrid[-1.0 : 1.0 : rows * 1j, -1.0 : 1.0 : cols * 1j]
    hu = np.full((rows, cols), -1000.0, dtype=np.float32)
    hu[(x / 0.9) ** 2 + (y / 0.7) ** 2 <= 1.0] = 40.0  # body: soft tissue
    lung_r = 0.25 + 0.1 * np.sin(np.pi * z_frac)
    for cx in (-0.42, 0.42):
        hu[((x - cx) / lung_r) ** 2 + ((y + 0.1) / (1.6 * lung_r)) ** 2 <= 1.0] = -820.0
    hu[((x - 0.3) / 0.25) ** 2 + ((y - 0.3) / 0.2) ** 2 <= 1.0] = 60.0  # liver
    hu[(x / 0.09) ** 2 + ((y - 0.5) / 0.09) ** 2 <= 1.0] = 700.0  # vertebral body
    return hu


def write_ct_phantom(
    folder: str | os.PathLike[str],
    *,
    shape: tuple[int, int, int] = (128, 128, 32),
    spacing: tuple[float, float, float] = (0.8, 0.8, 2.5),
    lesions: Sequence[tuple[tuple[float, float, float], float, float]] = DEFAULT_LESIONS,
    orientation: Sequence[float] = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0),
    origin: Sequence[float] | None = None,
    seed: int = 0,
    noise_hu: float = 10.0,
    series_uid: str | None = None,
    study_uid: str | None = None,
    patient_id: str = "MEDMS-PHANTOM",
    prefix: str = "ct",
) -> list[Path]:
    """Write a synthetic CT series, one standard-conformant file per slice.

    Args:
        folder: output folder (created if needed). File names are ``{prefix}{index:04d}.dcm``, never header values.
        shape: ``(rows, columns, slices)``.
        spacing: ``(row spacing, column spacing, slice spacing)`` in mm, in the order of ``shape``
            (DICOM PixelSpacing is ``[row spacing, column spacing]``).
        lesions: ``((row, col, slice) as fractions of shape, radius_mm, hu)`` round lesions added to the body.
        orientation: ImageOrientationPatient (row direction cosines, then column direction cosines, LPS);
            normalised and orthogonalised before writing. Oblique orientations are fine.
        origin: ImagePositionPatient of the first slice (LPS mm); default centres the volume on (0, 0, 0).
        seed: seeds the noise and the UIDs: the same arguments write the same files.
        noise_hu: standard deviation of the Gaussian noise in HU.
        series_uid, study_uid: UIDs to use instead of generated ones.
        patient_id: placeholder PatientID (PatientName is the same value); never real data.
        prefix: file-name prefix.

    Returns:
        The written paths, in slice order (slice ``k`` lies at ``origin + k * spacing[2] * normal``).

    Example:
        >>> import tempfile
        >>> files = write_ct_phantom(tempfile.mkdtemp(), shape=(16, 16, 3), orientation=(1, 0, 0, 0, 0.8, -0.6))
        >>> import pydicom
        >>> float(pydicom.dcmread(files[2]).ImagePositionPatient[2]) > 0  # normal (0, 0.6, 0.8)
        True
    """
    rows, cols, n_slices = (int(v) for v in shape)
    if min(rows, cols, n_slices) < 1:
        raise DataError(f"shape must be positive, got {shape}")
    row_dir = np.asarray(orientation[:3], dtype=float)
    col_dir = np.asarray(orientation[3:6], dtype=float)
    row_dir /= np.linalg.norm(row_dir)
    col_dir = col_dir - row_dir * (row_dir @ col_dir)
    col_dir /= np.linalg.norm(col_dir)
    normal = np.cross(row_dir, col_dir)
    row_sp, col_sp, slice_sp = (float(v) for v in spacing)
    if origin is None:
        # Centre of the volume at the world origin.
        origin_v = -(
            row_dir * col_sp * (cols - 1) / 2
            + col_dir * row_sp * (rows - 1) / 2
            + normal * slice_sp * (n_slices - 1) / 2
        )
    else:
        origin_v = np.asarray(origin, dtype=float)

    rng = np.random.default_rng(seed)
    study_uid = study_uid or _uid(seed, "study")
    series_uid = series_uid or _uid(seed, "series", shape, spacing, tuple(orientation))
    frame_uid = _uid(seed, "frame", series_uid)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)

    ds = _base_dataset("CT", study_uid, series_uid, patient_id, patient_id)
    ds.SOPClassUID = CT_IMAGE_STORAGE
    ds.SeriesDescription = "synthetic phantom"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.FrameOfReferenceUID = frame_uid
    ds.PositionReferenceIndicator = ""
    ds.BodyPartExamined = "CHEST"
    ds.KVP = 120
    ds.SliceThickness = _ds(slice_sp)
    ds.SpacingBetweenSlices = _ds(slice_sp)
    ds.ImageOrientationPatient = [_ds(v) for v in (*row_dir, *col_dir)]
    ds.PixelSpacing = [_ds(row_sp), _ds(col_sp)]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = rows, cols
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
    ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = -1024, 1, "HU"
    ds.WindowCenter, ds.WindowWidth = 40, 400

    # Lesion centres in voxel coordinates and radii in voxels per axis.
    lesion_list = [
        (np.asarray(c, float) * (rows - 1, cols - 1, n_slices - 1), float(r), float(hu))
        for c, r, hu in lesions
    ]
    rr = np.arange(rows, dtype=np.float32)[:, None]
    cc = np.arange(cols, dtype=np.float32)[None, :]
    paths: list[Path] = []
    for k in range(n_slices):
        hu = _phantom_slice(rows, cols, k / max(n_slices - 1, 1))
        body = hu > -900.0
        for (cr, ccol, cs), radius, value in lesion_list:
            dz = (k - cs) * slice_sp
            if abs(dz) >= radius:
                continue
            r2 = radius**2 - dz**2
            hu[(((rr - cr) * row_sp) ** 2 + ((cc - ccol) * col_sp) ** 2 <= r2) & body] = value
        if noise_hu > 0:
            hu += rng.normal(0.0, noise_hu, size=hu.shape).astype(np.float32)
        stored = np.clip(np.rint(hu + 1024.0), -32768, 32767).astype("<i2")

        sop_uid = _uid(seed, "instance", series_uid, k)
        ds.SOPInstanceUID = sop_uid
        ds.InstanceNumber = k + 1
        ds.ImagePositionPatient = [_ds(v) for v in origin_v + k * slice_sp * normal]
        ds.SliceLocation = _ds(float((origin_v + k * slice_sp * normal) @ normal))
        ds.PixelData = stored.tobytes()
        ds.file_meta = _file_meta(CT_IMAGE_STORAGE, sop_uid)
        path = folder / f"{prefix}{k:04d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def write_ct_cohort(
    folder: str | os.PathLike[str],
    *,
    splits: dict[str, int] | None = None,
    shape: tuple[int, int, int] = (128, 128, 32),
    seed: int = 0,
) -> Path:
    """Write a labelled cohort of phantom CT series and its manifest; return the manifest path.

    Each split holds ``n`` series (``splits``, default train 48 / val 16 / test 32), half labelled ``lesion``
    (one round lesion at a random place in the body, radius 4–10 mm, 15–70 HU away from soft tissue's 40 HU)
    and half ``no_lesion``; every series gets its own pixel spacing (0.7–0.9 mm), slice spacing (2–3 mm) and
    noise (15–25 HU). The manifest ``manifest.csv`` (``path,label,split``, relative paths, then the lesion's
    ground truth: ``lesion_row,lesion_col,lesion_slice`` as fractions of the shape, ``radius_mm``, ``lesion_hu``;
    empty without a lesion) is what ``medms train`` and the 3D bundle's ``configs/train.json`` read.
    Same arguments, same files.

    Example:
        >>> import tempfile
        >>> manifest = write_ct_cohort(tempfile.mkdtemp(), splits={"train": 2}, shape=(24, 24, 4))
        >>> manifest.read_text().splitlines()[:2]
        ['path,label,split,lesion_row,lesion_col,lesion_slice,radius_mm,lesion_hu', 'train/case000,no_lesion,train,,,,,']
    """
    root = Path(folder)
    rng = np.random.default_rng(seed)
    lines = ["path,label,split,lesion_row,lesion_col,lesion_slice,radius_mm,lesion_hu"]
    index = 0
    for split, n in (splits or {"train": 48, "val": 16, "test": 32}).items():
        for k in range(int(n)):
            lesion = k % 2 == 1
            lesions: list[tuple[tuple[float, float, float], float, float]] = []
            if lesion:
                where = (rng.uniform(0.38, 0.62), rng.uniform(0.25, 0.75), rng.uniform(0.3, 0.7))
                contrast = rng.uniform(15.0, 70.0) * rng.choice([-1.0, 1.0])
                lesions.append((where, float(rng.uniform(4.0, 10.0)), 40.0 + contrast))
            pixel = float(rng.uniform(0.7, 0.9))
            name = f"{split}/case{index:03d}"
            write_ct_phantom(
                root / name,
                shape=shape,
                spacing=(pixel, pixel, float(rng.uniform(2.0, 3.0))),
                lesions=lesions,
                noise_hu=float(rng.uniform(15.0, 25.0)),
                seed=seed * 100_000 + index,
                patient_id=f"MEDMS-PHANTOM-{index:03d}",
            )
            truth = ",".join(f"{v:.4f}" for v in (*lesions[0][0], *lesions[0][1:])) if lesion else ",,,,"
            lines.append(f"{name},{'lesion' if lesion else 'no_lesion'},{split},{truth}")
            index += 1
    manifest = root / "manifest.csv"
    manifest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return manifest


def write_image_dicom(
    image: np.ndarray,
    path: str | os.PathLike[str],
    *,
    modality: str = "US",
    series_uid: str | None = None,
    instance: int = 1,
    study_uid: str | None = None,
    patient_id: str = "MEDMS-ANON",
    pixel_spacing: tuple[float, float] | None = None,
    seed: int = 0,
) -> Path:
    """Save one 2D image as a single DICOM file with generated, PHI-free headers.

    Args:
        image: ``(rows, columns)`` ``uint8`` or ``uint16`` grey image, or ``(rows, columns, 3)`` ``uint8`` RGB.
        path: output file (its folder must exist).
        modality: ``US``, ``CR``, ``DX`` or ``MG`` get their own SOP class; anything else is Secondary Capture.
        series_uid, study_uid: UIDs to use; generated from ``seed`` when not given.
        instance: InstanceNumber (also enters the generated SOPInstanceUID).
        patient_id: placeholder PatientID/PatientName.
        pixel_spacing: ``(row spacing, column spacing)`` in mm written as PixelSpacing; omitted when ``None``.
        seed: seeds the generated UIDs.

    Returns:
        The written path.

    Example:
        >>> import numpy as np, tempfile, os, pydicom
        >>> p = write_image_dicom(np.zeros((28, 28), np.uint8), os.path.join(tempfile.mkdtemp(), "a.dcm"))
        >>> pydicom.dcmread(p).pixel_array.shape
        (28, 28)
    """
    img = np.asarray(image)
    colour = img.ndim == 3 and img.shape[2] == 3
    if (
        not (img.ndim == 2 or colour)
        or img.dtype not in (np.uint8, np.uint16)
        or (colour and img.dtype != np.uint8)
    ):
        raise DataError(
            f"image must be a (rows, cols) uint8/uint16 or (rows, cols, 3) uint8 array, got {img.shape} {img.dtype}"
        )
    modality = modality.upper()
    sop_class = _SOP_CLASS_BY_MODALITY.get(modality, _SECONDARY_CAPTURE)
    study_uid = study_uid or _uid(seed, "study")
    series_uid = series_uid or _uid(seed, "series", modality)
    sop_uid = _uid(seed, "instance", series_uid, instance)

    ds = _base_dataset(modality, study_uid, series_uid, patient_id, patient_id)
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = sop_uid
    ds.InstanceNumber = int(instance)
    ds.ImageType = ["DERIVED", "SECONDARY"]
    if sop_class == _SECONDARY_CAPTURE:
        ds.ConversionType = "WSD"
    if sop_class == _SOP_CLASS_BY_MODALITY.get("DX") or sop_class == _SOP_CLASS_BY_MODALITY.get("MG"):
        ds.PresentationIntentType = "FOR PRESENTATION"
    ds.Rows, ds.Columns = img.shape[:2]
    ds.SamplesPerPixel = 3 if colour else 1
    ds.PhotometricInterpretation = "RGB" if colour else "MONOCHROME2"
    if colour:
        ds.PlanarConfiguration = 0
    bits = img.dtype.itemsize * 8
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = bits, bits, bits - 1, 0
    if pixel_spacing is not None:
        ds.PixelSpacing = [_ds(pixel_spacing[0]), _ds(pixel_spacing[1])]
    ds.PixelData = np.ascontiguousarray(img).astype(img.dtype.newbyteorder("<")).tobytes()
    ds.file_meta = _file_meta(sop_class, sop_uid)
    out = Path(path)
    ds.save_as(out, enforce_file_format=True)
    return out


def _ds(value: float) -> str:
    # DS values are limited to 16 characters: the most significant digits that fit (10 keep sub-micrometre
    # precision for positions in mm; small numbers in exponent form may need fewer).
    for digits in range(10, 5, -1):
        text = f"{float(value):.{digits}g}"
        if len(text) <= 16:
            break
    return "0" if text == "-0" else text
