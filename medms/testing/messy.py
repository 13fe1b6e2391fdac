"""A messy DICOM tree, like a hospital archive export, with the outcome ``medms predict`` must give for each item.

Each *block* (``block000/``, ``block001/``, ...) holds one of every case below; ``n_blocks`` scales the tree
(2 blocks: 54 files for the CI test; 160 blocks: 4,320 files and 2,080 series for the benchmark). All files are
synthetic (PHI-free placeholder patient attributes) and small (24-48 pixels a side).

=====================  =======================================================  ==============================
case                   what is written                                          expected outcome
=====================  =======================================================  ==============================
ct, ct_b               single-slice CT series, two in the same folder           ``ok``
mr                     single-slice MR series (same folder as the CTs)          ``ok``
cr                     CR radiograph, uint16                                    ``ok``
deep_ok                CT slice with a sequence nested 64 levels deep           ``ok``
truncated_pixels       CT slice cut inside its Pixel Data                       failed ``CorruptPixelDataError``
wrong_syntax           native pixels declared (and encapsulated) as JPEG 2000   failed ``CorruptPixelDataError``
unknown_syntax         TransferSyntaxUID that is no transfer syntax             failed ``UnsupportedTransferSyntaxError``
mixed_sizes            one series of a 24x24 and a 24x32 slice                  failed ``GeometryError``
no_position            two-slice series without IPP/IOP                         failed ``GeometryError``
duplicate_sop          a slice and an exact copy (same SOPInstanceUID)          failed ``GeometryError``
nan_rescale            RescaleSlope "NaN"                                       failed ``DicomError``
huge                   65535 x 65535 x 1000 declared, 1 kB stored (a bomb)      failed ``ImageSizeError``
sr, rtstruct, pr       Basic Text SR, RT Structure Set, Presentation State      skipped (no image)
no_pixels              CT slice without Pixel Data                              skipped (no Pixel Data)
empty                  zero-byte file                                           skipped (not DICOM)
jpeg, text             a JFIF file, a text file                                 skipped (not DICOM)
dicomdir               a DICOMDIR (pydicom's test file)                         skipped (no image)
truncated_header       CT slice cut inside its header                           skipped (no image)
exe_preamble           valid CT slice whose preamble starts with "MZ"           skipped (executable signature)
deep_bomb              CT slice with a sequence nested 5,000 levels deep        skipped (damaged header)
=====================  =======================================================  ==============================

Example:
    >>> import tempfile
    >>> tree = write_messy_tree(tempfile.mkdtemp(), n_blocks=1)
    >>> len(tree.ok), len(tree.failed), len(tree.skipped)
    (5, 8, 11)
"""

from __future__ import annotations

import os
import shutil
import struct
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from pydicom.encaps import encapsulate
from pydicom.uid import JPEG2000Lossless, generate_uid

from medms.synthetic import write_ct_phantom, write_image_dicom

__all__ = ["MessyTree", "write_messy_tree"]

UID_ROOT = "1.2.826.0.1.3680043.10.777"
MR_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.4"
NON_IMAGE_SOP = {
    "sr": ("1.2.840.10008.5.1.4.1.1.88.11", "SR"),
    "rtstruct": ("1.2.840.10008.5.1.4.1.1.481.3", "RTSTRUCT"),
    "pr": ("1.2.840.10008.5.1.4.1.1.11.1", "PR"),
}
# The expected error class of each failing case (the start of the ``error`` cell of its failed row).
FAILED_CASES = {
    "truncated_pixels": "CorruptPixelDataError",
    "wrong_syntax": "CorruptPixelDataError",
    "unknown_syntax": "UnsupportedTransferSyntaxError",
    "mixed_sizes": "GeometryError",
    "no_position": "GeometryError",
    "duplicate_sop": "GeometryError",
    "nan_rescale": "DicomError",
    "huge": "ImageSizeError",
}
OK_CASES = ("ct", "ct_b", "mr", "cr", "deep_ok")
# The expected skip reason of each skipped file (a substring of the reason ``scan_dicom`` records).
SKIPPED_CASES = {
    "sr": "no image",
    "rtstruct": "no image",
    "pr": "no image",
    "no_pixels": "no Pixel Data",
    "empty": "not a DICOM file",
    "jpeg": "not a DICOM file",
    "text": "not a DICOM file",
    "dicomdir": "no image",
    "truncated_header": "no image",
    "exe_preamble": "executable",
    "deep_bomb": "damaged DICOM header",
}


@dataclass
class MessyTree:
    """What was written and what ``medms predict`` must make of it.

    Attributes:
        root: the tree's folder.
        ok: SeriesInstanceUIDs that must be classified (``status == "ok"``), with their case name.
        failed: SeriesInstanceUID → (case, expected error class name) of the series that must fail.
        skipped: file path → (case, expected substring of the skip reason) of files that are no series.
        n_files: number of files written.
    """

    root: Path
    ok: dict[str, str] = field(default_factory=dict)
    failed: dict[str, tuple[str, str]] = field(default_factory=dict)
    skipped: dict[str, tuple[str, str]] = field(default_factory=dict)
    n_files: int = 0


def _uid(block: int, case: str) -> str:
    return f"{UID_ROOT}.{block}.{list(OK_CASES + tuple(FAILED_CASES) + tuple(SKIPPED_CASES)).index(case) + 1}"


def _ct(
    folder: Path,
    block: int,
    case: str,
    *,
    shape: tuple[int, int, int] = (24, 24, 1),
    prefix: str = "",
    **options: Any,
) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    seed = block * 1000 + len(case) * 37 + sum(map(ord, case))
    return write_ct_phantom(
        folder,
        shape=shape,
        seed=seed,
        series_uid=_uid(block, case),
        prefix=prefix or f"{case}_",
        noise_hu=5.0,
        **options,
    )


def _nested_sequence(depth: int) -> bytes:
    """ContentSequence (0040,A730) nested ``depth`` levels, undefined lengths, explicit VR little endian."""
    open_seq = struct.pack("<HH2sHI", 0x0040, 0xA730, b"SQ", 0, 0xFFFFFFFF)
    open_item = struct.pack("<HHI", 0xFFFE, 0xE000, 0xFFFFFFFF)
    close_item = struct.pack("<HHI", 0xFFFE, 0xE00D, 0)
    close_seq = struct.pack("<HHI", 0xFFFE, 0xE0DD, 0)
    leaf = struct.pack("<HH2sH", 0x0008, 0x0100, b"SH", 2) + b"X "
    return (open_seq + open_item) * depth + leaf + (close_item + close_seq) * depth


def _with_nesting(path: Path, depth: int) -> None:
    """Insert a nested sequence right before Pixel Data (tags ascend: (0040,A730) < (7FE0,0010))."""
    data = path.read_bytes()
    at = data.rfind(struct.pack("<HH2s", 0x7FE0, 0x0010, b"OW"))
    path.write_bytes(data[:at] + _nested_sequence(depth) + data[at:])


def _non_image(path: Path, block: int, case: str) -> None:
    sop_class, modality = NON_IMAGE_SOP[case]
    ds = pydicom.dcmread(_ct(path.parent / "tmp_base", block, case)[0])
    shutil.rmtree(path.parent / "tmp_base")
    for keyword in ("Rows", "Columns", "PixelData", "BitsAllocated", "BitsStored", "HighBit", "PixelSpacing"):
        if keyword in ds:
            delattr(ds, keyword)
    uid = generate_uid(entropy_srcs=[UID_ROOT, str(block), case])
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = sop_class
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = uid
    ds.Modality = modality
    ds.save_as(path, enforce_file_format=True)


def _block(root: Path, block: int, tree: MessyTree) -> None:
    home = root / f"block{block:03d}"
    study = home / "study"  # several series in one folder
    for case in ("ct", "ct_b"):
        _ct(study, block, case)
    mr = pydicom.dcmread(_ct(study, block, "mr")[0])
    mr.Modality, mr.SOPClassUID = "MR", MR_IMAGE_STORAGE
    mr.file_meta.MediaStorageSOPClassUID = MR_IMAGE_STORAGE
    for keyword in ("RescaleSlope", "RescaleIntercept", "RescaleType", "KVP"):
        if keyword in mr:
            delattr(mr, keyword)
    mr.PixelRepresentation = 0
    ramp = np.add.outer(np.arange(24), np.arange(24)).astype("<u2") * 40
    mr.PixelData = ramp.tobytes()
    mr.save_as(study / "mr_0000.dcm", enforce_file_format=True)
    grid = np.add.outer(np.arange(40), np.arange(48)).astype(np.uint16) * 50
    write_image_dicom(
        grid, home / "cr" / "cr.dcm" if (home / "cr").mkdir(parents=True) is None else None,
        modality="CR", series_uid=_uid(block, "cr"), seed=block, pixel_spacing=(0.2, 0.2),
    )  # fmt: skip
    _with_nesting(_ct(home / "a" / "b" / "c", block, "deep_ok")[0], 64)
    tree.ok.update({_uid(block, case): case for case in OK_CASES})

    broken = home / "broken"
    data = _ct(broken, block, "truncated_pixels")[0]
    data.write_bytes(data.read_bytes()[:-500])
    path = _ct(broken, block, "wrong_syntax")[0]
    ds = pydicom.dcmread(path)
    ds.file_meta.TransferSyntaxUID = JPEG2000Lossless
    ds.PixelData = encapsulate([ds.PixelData])
    ds.save_as(path, enforce_file_format=True)
    path = _ct(broken, block, "unknown_syntax")[0]
    ds = pydicom.dcmread(path)
    ds.file_meta.TransferSyntaxUID = "1.2.3.4.5"
    ds.save_as(path, enforce_file_format=True)
    _ct(broken / "mixed", block, "mixed_sizes", shape=(24, 24, 1), origin=(0.0, 0.0, 0.0), prefix="a_")
    _ct(broken / "mixed", block, "mixed_sizes", shape=(24, 32, 1), origin=(0.0, 0.0, 2.5), prefix="b_")
    for path in _ct(broken / "nopos", block, "no_position", shape=(24, 24, 2)):
        ds = pydicom.dcmread(path)
        del ds.ImagePositionPatient, ds.ImageOrientationPatient
        ds.save_as(path, enforce_file_format=True)
    path = _ct(broken / "dup", block, "duplicate_sop")[0]
    shutil.copyfile(path, path.with_name("duplicate_copy.dcm"))
    path = _ct(broken, block, "nan_rescale")[0]
    ds = pydicom.dcmread(path)
    with warnings.catch_warnings():  # pydicom warns that "NaN" is no valid DS: that is the point
        warnings.simplefilter("ignore")
        ds.RescaleSlope = "NaN"
    ds.save_as(path, enforce_file_format=True)
    path = _ct(broken, block, "huge")[0]
    ds = pydicom.dcmread(path)
    ds.Rows, ds.Columns, ds.NumberOfFrames = 65535, 65535, 1000
    ds.save_as(path, enforce_file_format=True)
    tree.failed.update({_uid(block, case): (case, error) for case, error in FAILED_CASES.items()})

    junk = home / "junk"
    junk.mkdir()
    files: dict[str, Path] = {case: junk / f"{case}.dcm" for case in NON_IMAGE_SOP}
    for case, path in files.items():
        _non_image(path, block, case)
    files["no_pixels"] = _ct(junk, block, "no_pixels")[0]
    ds = pydicom.dcmread(files["no_pixels"])
    del ds.PixelData
    ds.save_as(files["no_pixels"], enforce_file_format=True)
    files["empty"] = junk / "empty.dcm"
    files["empty"].write_bytes(b"")
    files["jpeg"] = junk / "photo.jpg"
    rng = np.random.default_rng(block)
    files["jpeg"].write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01" + rng.bytes(600) + b"\xff\xd9")
    files["text"] = junk / "README.txt"
    files["text"].write_text("exported by the archive; see the ticket\n")
    files["dicomdir"] = junk / "DICOMDIR"
    shutil.copyfile(pydicom.data.get_testdata_file("DICOMDIR"), files["dicomdir"])
    files["truncated_header"] = _ct(junk, block, "truncated_header")[0]
    files["truncated_header"].write_bytes(files["truncated_header"].read_bytes()[:300])
    files["exe_preamble"] = _ct(junk, block, "exe_preamble")[0]
    data = files["exe_preamble"].read_bytes()
    files["exe_preamble"].write_bytes(b"MZ\x90\x00" + data[4:])
    files["deep_bomb"] = _ct(junk, block, "deep_bomb")[0]
    _with_nesting(files["deep_bomb"], 5000)
    tree.skipped.update({str(path): (case, SKIPPED_CASES[case]) for case, path in files.items()})


def write_messy_tree(root: str | os.PathLike[str], *, n_blocks: int = 2) -> MessyTree:
    """Write ``n_blocks`` blocks of messy cases under ``root`` and return what ``medms predict`` must report.

    Same arguments → same files (UIDs and noise derive from the block number).
    """
    tree = MessyTree(Path(root))
    for block in range(n_blocks):
        _block(tree.root, block, tree)
    tree.n_files = sum(1 for p in tree.root.rglob("*") if p.is_file())
    return tree
