"""Read one DICOM series into a float32 array in modality units, with its RAS affine and non-PHI metadata.

Handles single-frame stacks (CT/MR/PT ...), multi-frame Enhanced CT/MR (per-frame functional groups),
single 2D images (CR/DX/MG/US/SC), MONOCHROME1 (inverted to MONOCHROME2 semantics), colour (RGB, trailing axis)
and every transfer syntax that pydicom and the pylibjpeg plugins decode.

Example:
    >>> import tempfile
    >>> from medms.synthetic import write_ct_phantom
    >>> folder = tempfile.mkdtemp()
    >>> _ = write_ct_phantom(folder, shape=(24, 32, 5), spacing=(0.5, 0.6, 2.0))
    >>> s = read_series(folder)
    >>> s.array.shape, s.spacing, s.meta["modality"]
    ((32, 24, 5), (0.6, 0.5, 2.0), 'CT')
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from pydicom.dataset import Dataset

from medms.errors import (
    ConfigError,
    CorruptPixelDataError,
    DicomError,
    GeometryError,
    MedmsError,
    SeriesSelectionError,
)
from medms.io.pixels import (
    COLOUR_PHOTOMETRICS,
    DEFAULT_MAX_PIXELS,
    check_decodable,
    check_size,
    declared_pixels,
    decode_frames,
    invert_monochrome1,
    to_modality,
)
from medms.io.planes import Plane, functional_item, geometry_2d, geometry_3d, planes_of
from medms.io.records import Series, SeriesInfo
from medms.io.scan import HEADER_ERRORS, group_headers, list_files, series_info

__all__ = ["read_series"]

logger = logging.getLogger("medms.io")

Source = str | os.PathLike[str] | SeriesInfo | Sequence[str | os.PathLike[str]]


def _select(
    groups: dict[tuple[str, str], list[tuple[Path, Dataset]]],
    skipped: list[tuple[str, str]],
    series_uid: str | None,
    select: str,
    where: str,
) -> tuple[tuple[str, str], list[tuple[Path, Dataset]]]:
    if select not in ("error", "largest"):
        raise ConfigError(f"select must be 'error' or 'largest', got {select!r}")
    infos = {k: series_info(k, v) for k, v in groups.items()}
    listing = "; ".join(i.summary() for i in infos.values())
    if series_uid is not None:
        keys = [k for k in groups if k[1] == series_uid]
        if not keys:
            raise SeriesSelectionError(
                f"no series with uid {series_uid}; found: {listing or 'no DICOM image series'}", path=where
            )
    else:
        keys = list(groups)
    if not keys:
        reasons = "; ".join(f"{Path(p).name}: {r}" for p, r in skipped[:3])
        raise SeriesSelectionError(
            f"no DICOM image series found ({len(skipped)} file(s) skipped{': ' + reasons if reasons else ''})",
            path=where,
        )
    if len(keys) > 1:
        if select == "error":
            raise SeriesSelectionError(
                f"{len(keys)} series found, expected one: {listing}. Pass series_uid=... or select='largest'",
                path=where,
            )
        keys = [max(keys, key=lambda k: (infos[k].n_frames, infos[k].n_instances))]
    return keys[0], groups[keys[0]]


def _resolve(source: Source, series_uid: str | None, select: str) -> tuple[str, list[tuple[Path, Dataset]]]:
    """``(path named in messages, [(file, header), ...])`` of the one series to read."""
    if isinstance(source, SeriesInfo):
        where, files, strict = str(Path(source.files[0]).parent), list(source.files), True
    elif isinstance(source, (str, os.PathLike)):
        where = os.fspath(source)
        files = list_files(source)
        strict = len(files) == 1 and Path(source).is_file()
    else:
        files = [Path(p) for p in source]
        where, strict = (str(files[0].parent) if files else "<empty file list>"), True
    groups, skipped = group_headers(files, strict=strict)
    _, members = _select(groups, skipped, series_uid, select, where)
    return where, members


def read_series(
    source: Source,
    *,
    series_uid: str | None = None,
    select: str = "error",
    lenient: bool = False,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    workers: int | None = None,
) -> Series:
    """Read one DICOM series into a :class:`~medms.io.Series`.

    Args:
        source: a DICOM file, a folder (searched recursively), a list of files, or a :class:`SeriesInfo`.
        series_uid: read this SeriesInstanceUID when the source holds several series.
        select: what to do when the source holds several series and no ``series_uid`` is given:
            ``"error"`` (default) raises :class:`SeriesSelectionError` listing them; ``"largest"`` reads the one
            with the most frames (ties: the first found).
        lenient: accept duplicated positions, uneven gaps and missing slices, recording a warning each in
            ``series.warnings`` instead of raising :class:`GeometryError`.
        max_pixels: refuse images declaring more voxels than this before allocating (:class:`ImageSizeError`).
        workers: decoding threads (default: number of CPUs, at most 8; 1 disables threading).

    Returns:
        The series: ``array`` float32 ``(columns, rows[, slices])`` (colour: trailing RGB axis), ``affine`` 4×4
        to RAS mm, ``spacing``, non-PHI ``meta`` and ``warnings``.

    Raises:
        SeriesSelectionError: no series, or several and no selection.
        GeometryError: a stack without positions/orientation, or irregular slices (unless ``lenient``).
        DicomError: unreadable or damaged files (subclasses name the exact problem).

    Example:
        >>> import tempfile
        >>> from medms.synthetic import write_ct_phantom
        >>> folder = tempfile.mkdtemp()
        >>> files = write_ct_phantom(folder, shape=(8, 8, 5))
        >>> files[2].unlink()  # a missing slice: an error unless lenient
        >>> s = read_series(folder, lenient=True)
        >>> s.array.shape, s.warnings[0].split(":")[0]
        ((8, 8, 4), 'missing slice(s)')
    """
    where, members = _resolve(source, series_uid, select)
    try:
        return _read(members, where, lenient, max_pixels, workers)
    except MedmsError:
        raise
    except HEADER_ERRORS as err:
        # pydicom converts raw header values on first access: a damaged value surfaces here, not at scan time
        raise DicomError(
            f"damaged DICOM header value ({type(err).__name__}); the file is incomplete or corrupt",
            path=where,
        ) from None


def _read(
    members: list[tuple[Path, Dataset]], where: str, lenient: bool, max_pixels: int, workers: int | None
) -> Series:
    datasets = [ds for _, ds in members]
    paths = [str(p) for p, _ in members]
    for path, ds in zip(paths, datasets, strict=True):
        check_decodable(ds, path)
    sizes = {(int(ds.Rows), int(ds.Columns), int(ds.get("SamplesPerPixel", 1) or 1)) for ds in datasets}
    if len(sizes) > 1:
        raise GeometryError(
            f"inconsistent slice sizes in one series (rows, columns, samples): {sorted(sizes)}; "
            "select the files of one stack",
            path=where,
        )
    check_size(sum(declared_pixels(ds) for ds in datasets), max_pixels, where)
    planes = [p for i, ds in enumerate(datasets) for p in planes_of(ds, i)]
    _check_rescale(planes, paths)
    warnings: list[str] = []
    if len(planes) == 1:
        affine, spacing = geometry_2d(planes[0])
        order = [0]
    else:
        affine, spacing, order = geometry_3d(planes, lenient, where, warnings)
    array = _decode(datasets, paths, [planes[i] for i in order], len(planes) == 1, workers)
    meta = _meta(datasets[0], len(datasets), len(order), spacing, where)
    if meta["monochrome1_inverted"] and "window_center" in meta:
        ds0, p0 = datasets[0], planes[order[0]]
        lo_hi = _stored_range_sum(ds0)
        meta["window_center"] = p0.slope * lo_hi + 2 * p0.intercept - meta["window_center"]
    meta["geometry"] = "patient" if planes[order[0]].ipp is not None and planes[order[0]].iop else "image"
    meta["medms_warnings"] = list(warnings)
    for message in warnings:
        logger.warning("%s: %s", where, message)
    return Series(array=array, affine=affine, spacing=spacing, meta=meta, warnings=warnings)


# Largest |slope| and |intercept| whose product with any stored value (|v| < 2**32) stays a finite float32.
_MAX_SLOPE = float(np.finfo(np.float32).max) / 2.0**33
_MAX_INTERCEPT = float(np.finfo(np.float32).max) / 2.0


def _check_rescale(planes: list[Plane], paths: list[str]) -> None:
    """Refuse rescale values that would turn pixels into NaN/Inf (damaged or hostile headers)."""
    for plane in planes:
        slope, intercept = plane.slope, plane.intercept
        if not (abs(slope) <= _MAX_SLOPE and abs(intercept) <= _MAX_INTERCEPT):  # also catches NaN
            raise DicomError(
                f"RescaleSlope {slope!r} / RescaleIntercept {intercept!r} are not finite or overflow float32 "
                "modality values; the header is damaged: fix the rescale attributes",
                path=paths[plane.file],
            )


def _stored_range_sum(ds: Dataset) -> int:
    bits = int(ds.get("BitsStored", ds.get("BitsAllocated", 16)))
    signed = int(ds.get("PixelRepresentation", 0) or 0) == 1
    return -1 if signed else 2**bits - 1


def _decode(
    datasets: list[Dataset], paths: list[str], planes: list[Plane], is_2d: bool, workers: int | None
) -> np.ndarray:
    ds0 = datasets[0]
    rows, cols = int(ds0.Rows), int(ds0.Columns)
    photometric = str(ds0.get("PhotometricInterpretation", "MONOCHROME2")).strip()
    colour = photometric in COLOUR_PHOTOMETRICS or int(ds0.get("SamplesPerPixel", 1) or 1) > 1
    # C-ordered (slice, row, column) buffer: every plane is one contiguous write; the returned array is its
    # transposed view in (column, row, slice) order, so no copy is ever made.
    buf = np.empty((len(planes), rows, cols, 3) if colour else (len(planes), rows, cols), dtype=np.float32)
    by_file: dict[int, list[tuple[int, Plane]]] = {}
    for slot, plane in enumerate(planes):
        by_file.setdefault(plane.file, []).append((slot, plane))

    def work(file_index: int) -> None:
        ds, path = datasets[file_index], paths[file_index]
        frames = decode_frames(ds, path)
        if frames.shape[1:3] != (rows, cols) or frames.ndim != (4 if colour else 3):
            raise CorruptPixelDataError(
                f"decoded pixel data have shape {frames.shape[1:]}, not {rows}x{cols}", path=path
            )
        mono1 = str(ds.get("PhotometricInterpretation", "")).strip() == "MONOCHROME1"
        for slot, plane in by_file[file_index]:
            stored = frames[plane.frame]
            if colour:
                buf[slot] = stored
                continue
            if mono1:
                bits = int(ds.get("BitsStored", ds.get("BitsAllocated", 16)))
                stored = invert_monochrome1(stored, bits, int(ds.get("PixelRepresentation", 0) or 0) == 1)
            to_modality(stored, plane.slope, plane.intercept, out=buf[slot])

    n_workers = workers or min(os.cpu_count() or 1, 8)
    if n_workers > 1 and len(by_file) >= 4:
        with ThreadPoolExecutor(max_workers=n_workers) as pool:
            list(pool.map(work, by_file))
    else:
        for file_index in by_file:
            work(file_index)
    if is_2d:
        return buf[0].transpose(1, 0, 2) if colour else buf[0].T
    return buf.transpose(2, 1, 0, 3) if colour else buf.transpose(2, 1, 0)


def _first(value: Any) -> Any:
    if isinstance(value, Sequence) and not isinstance(value, str):
        return value[0] if len(value) else None
    return value


# Header attributes copied into meta (none is a patient attribute): meta key → (keyword, converter).
_META_TAGS: dict[str, tuple[str, Any]] = {
    "modality": ("Modality", str),
    "manufacturer": ("Manufacturer", str),
    "manufacturer_model": ("ManufacturerModelName", str),
    "series_description": ("SeriesDescription", str),
    "body_part": ("BodyPartExamined", str),
    "kvp": ("KVP", float),
    "slice_thickness": ("SliceThickness", float),
    "photometric_interpretation": ("PhotometricInterpretation", str),
    "series_uid": ("SeriesInstanceUID", str),
    "study_uid": ("StudyInstanceUID", str),
    "series_number": ("SeriesNumber", int),
    "bits_stored": ("BitsStored", int),
}


def _meta(ds: Dataset, n_files: int, n_planes: int, spacing: tuple[float, ...], where: str) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    for key, (keyword, conv) in _META_TAGS.items():
        value = ds.get(keyword)
        if value not in (None, ""):
            meta[key] = conv(_first(value))
    voi = functional_item(ds, 0, "FrameVOILUTSequence") or ds
    for key, keyword in (("window_center", "WindowCenter"), ("window_width", "WindowWidth")):
        value = voi.get(keyword)
        if value not in (None, ""):
            meta[key] = float(_first(value))
    if "slice_thickness" not in meta:
        thickness = functional_item(ds, 0, "PixelMeasuresSequence")
        if thickness is not None and thickness.get("SliceThickness") not in (None, ""):
            meta["slice_thickness"] = float(thickness.SliceThickness)
    photometric = meta.get("photometric_interpretation", "")
    meta.update(
        sop_class=str(ds.get("SOPClassUID", "")),
        transfer_syntax=str(ds.file_meta.get("TransferSyntaxUID", "")),
        n_instances=n_files,
        n_frames=n_planes,
        spacing=tuple(spacing),
        colour=photometric in COLOUR_PHOTOMETRICS or int(ds.get("SamplesPerPixel", 1) or 1) > 1,
        monochrome1_inverted=photometric == "MONOCHROME1",
        source=where,
    )
    meta["channel_last"] = meta["colour"]
    return meta
