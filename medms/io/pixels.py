"""Pixel decoding helpers: decoder availability, size guard, stored values → modality values.

Decoding goes through pydicom's pixel backends (pylibjpeg plugins for the compressed syntaxes), except for
native little-endian greyscale data, which is read straight from the file at the Pixel Data offset: the values are
the same as ``ds.pixel_array`` (no bit masking, like pydicom's default) but without an intermediate copy.

Example:
    >>> import numpy as np
    >>> to_modality(np.array([[0, 4095]], np.uint16), slope=1.0, intercept=-1024.0).tolist()
    [[-1024.0, 3071.0]]
"""

from __future__ import annotations

import struct

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.encaps import generate_frames
from pydicom.errors import BytesLengthException
from pydicom.uid import UID, ExplicitVRLittleEndian, ImplicitVRLittleEndian

from medms.errors import (
    CorruptPixelDataError,
    ImageSizeError,
    NotAnImageError,
    UnsupportedTransferSyntaxError,
)

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "check_decodable",
    "check_size",
    "check_stream_sizes",
    "decode_frames",
    "invert_monochrome1",
    "jpeg_frame_size",
    "to_modality",
]

#: Default size guard: 2**30 voxels (4 GiB as float32). Declared sizes above it are refused before allocating.
DEFAULT_MAX_PIXELS = 2**30

PIXEL_DATA_TAG = 0x7FE00010
_NATIVE = (ExplicitVRLittleEndian, ImplicitVRLittleEndian)
COLOUR_PHOTOMETRICS = {"RGB", "YBR_FULL", "YBR_FULL_422", "YBR_RCT", "YBR_ICT", "PALETTE COLOR"}

# What to install for each family of compressed syntaxes (pydicom finds the plugins by itself once installed).
_PLUGIN_HINTS = {
    "JPEG 2000": "pylibjpeg-openjpeg (pip install pylibjpeg pylibjpeg-openjpeg)",
    "JPEG-LS": "pylibjpeg-libjpeg (pip install pylibjpeg pylibjpeg-libjpeg)",
    "JPEG": "pylibjpeg-libjpeg (pip install pylibjpeg pylibjpeg-libjpeg)",
    "RLE": "pylibjpeg-rle (pip install pylibjpeg pylibjpeg-rle)",
    "Deflated": "numpy (pip install numpy)",
}


# What pydicom and the decoder plugins raise on a bad stream or a header that does not fit it.
_DECODE_ERRORS = (
    ValueError,
    RuntimeError,
    EOFError,
    OSError,
    KeyError,
    AttributeError,
    IndexError,
    TypeError,
    NotImplementedError,
    OverflowError,
    BytesLengthException,
)


def _plugin_hint(ts: UID) -> str:
    name = ts.name
    for key in ("JPEG 2000", "JPEG-LS", "JPEG", "RLE", "Deflated"):
        if key in name:
            return _PLUGIN_HINTS[key]
    return "python-gdcm (pip install python-gdcm), or convert the file to an uncompressed syntax (gdcmconv --raw)"


def check_decodable(ds: Dataset, path: str) -> None:
    """Raise unless ``ds`` holds pixel data that an installed decoder handles.

    Raises:
        NotAnImageError: no Rows/Columns or no Pixel Data.
        UnsupportedTransferSyntaxError: the syntax is unknown or has no (installed) decoder; the message names
            the syntax and the plugin to install.
    """
    if "Rows" not in ds or "Columns" not in ds or PIXEL_DATA_TAG not in ds:
        raise NotAnImageError("the DICOM object holds no image (no Rows/Columns/Pixel Data)", path=path)
    ts = UID(ds.file_meta.get("TransferSyntaxUID", ImplicitVRLittleEndian))
    if not ts.is_transfer_syntax:  # an unknown or private UID: pydicom cannot even tell if it is compressed
        raise UnsupportedTransferSyntaxError(
            f"'{ts}' is not a known transfer syntax UID, so the pixel data cannot be decoded; the header is "
            "damaged or uses a private syntax: convert the file to a standard syntax (gdcmconv --raw)",
            path=path,
        )
    if not ts.is_compressed:
        return
    label = f"{ts.name} ({ts})" if ts.is_valid else f"'{ts}'"
    try:
        decoder = pydicom.pixels.get_decoder(ts)
    except NotImplementedError:
        raise UnsupportedTransferSyntaxError(
            f"transfer syntax {label} is not supported: no decoder exists for it; install {_plugin_hint(ts)}",
            path=path,
        ) from None
    if not decoder.is_available:
        raise UnsupportedTransferSyntaxError(
            f"transfer syntax {label} needs a decoder plugin that is not installed: install {_plugin_hint(ts)}",
            path=path,
        )


def declared_pixels(ds: Dataset) -> int:
    """Number of stored samples the header declares (rows × columns × frames × samples per pixel)."""
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    return int(ds.Rows) * int(ds.Columns) * frames * int(ds.get("SamplesPerPixel", 1) or 1)


def check_size(declared: int, max_pixels: int, path: str) -> None:
    """Raise :class:`ImageSizeError` when a declared size exceeds ``max_pixels`` (checked before allocating)."""
    if declared > max_pixels:
        raise ImageSizeError(
            f"the image declares {declared:,} pixels, above the limit of {max_pixels:,}; "
            "pass a larger max_pixels if the file is trusted",
            path=path,
        )


def _native_dtype(ds: Dataset) -> np.dtype | None:
    bits = int(ds.get("BitsAllocated", 0) or 0)
    if bits not in (8, 16, 32):
        return None
    signed = int(ds.get("PixelRepresentation", 0) or 0) == 1
    return np.dtype(f"<{'i' if signed else 'u'}{bits // 8}")


def decode_frames(ds: Dataset, path: str) -> np.ndarray:
    """Stored pixel values of every frame: ``(frames, rows, columns)`` or ``(frames, rows, columns, samples)``.

    ``ds`` may have been read with ``defer_size`` (pixel data left on disk): native greyscale data are then read
    from the file directly. Colour data come back as RGB (pydicom converts YBR and the JPEG 2000 colour
    transforms); PALETTE COLOR is expanded through its lookup table.

    Raises:
        CorruptPixelDataError: truncated or undecodable pixel data.
    """
    rows, cols = int(ds.Rows), int(ds.Columns)
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    samples = int(ds.get("SamplesPerPixel", 1) or 1)
    ts = UID(ds.file_meta.get("TransferSyntaxUID", ImplicitVRLittleEndian))
    dtype = _native_dtype(ds)
    if ts in _NATIVE and samples == 1 and dtype is not None:
        count = rows * cols * frames
        raw = ds.get_item(PIXEL_DATA_TAG, keep_deferred=True)
        if raw is not None and getattr(raw, "value", b"") is None and raw.length != 0xFFFFFFFF:
            if raw.length < count * dtype.itemsize:
                raise CorruptPixelDataError(_truncated_msg(raw.length, count * dtype.itemsize), path=path)
            arr = np.fromfile(path, dtype=dtype, count=count, offset=raw.value_tell)
        else:
            data = ds.PixelData
            if len(data) < count * dtype.itemsize:
                raise CorruptPixelDataError(_truncated_msg(len(data), count * dtype.itemsize), path=path)
            arr = np.frombuffer(data, dtype=dtype, count=count)
        if arr.size < count:  # the file ends before the declared length
            raise CorruptPixelDataError(
                _truncated_msg(arr.size * dtype.itemsize, count * dtype.itemsize), path=path
            )
        return arr.reshape(frames, rows, cols)
    try:
        if ts.is_compressed:
            check_stream_sizes(ds.PixelData, ts, frames, rows, cols, path)
        arr = ds.pixel_array
        if ds.get("PhotometricInterpretation") == "PALETTE COLOR":
            arr = pydicom.pixels.apply_color_lut(arr, ds)
    except CorruptPixelDataError:
        raise
    except (*_DECODE_ERRORS,) as err:
        # The decoders raise several types for bad streams; all mean the same to the user.
        raise CorruptPixelDataError(
            f"pixel data cannot be decoded ({type(err).__name__}: {err}); the file is damaged or not what its "
            "header declares",
            path=path,
        ) from err
    colour = arr.ndim == (3 if frames == 1 else 4)
    return arr.reshape((frames, rows, cols, arr.shape[-1]) if colour else (frames, rows, cols))


def _stream_size(frame: bytes, ts: UID) -> tuple[int, int, int] | None:
    """``(rows, columns, tiles)`` a JPEG / JPEG-LS / JPEG 2000 frame declares, or None when not parsable."""
    if "JPEG 2000" in ts.name:
        at = frame.find(b"\xff\x4f\xff\x51")  # SOC + SIZ (after a JP2 header, if any)
        if at < 0 or len(frame) < at + 42:
            return None
        x, y, x0, y0, tx, ty, tx0, ty0 = struct.unpack(">8I", frame[at + 8 : at + 40])
        if tx == 0 or ty == 0 or x <= x0 or y <= y0:
            return (0, 0, 0)
        tiles = -(-(x - tx0) // tx) * -(-(y - ty0) // ty)
        return y - y0, x - x0, tiles
    if "JPEG" in ts.name:
        size = jpeg_frame_size(frame)
        return None if size is None else (*size, 1)
    return None


#: Start-of-frame markers of ITU-T T.81 (JPEG: SOF0–3, 5–7, 9–11, 13–15) and T.87 (JPEG-LS: SOF55).
_SOF_MARKERS = frozenset(
    {*range(0xC0, 0xC4), *range(0xC5, 0xC8), *range(0xC9, 0xCC), *range(0xCD, 0xD0), 0xF7}
)
#: Markers without a length field: TEM, RST0–7, SOI, EOI.
_STANDALONE = frozenset({0x01, *range(0xD0, 0xDA)})


def jpeg_frame_size(frame: bytes) -> tuple[int, int] | None:
    """``(rows, columns)`` from the start-of-frame segment of a JPEG or JPEG-LS codestream, read from the
    marker segments before the first scan; None when there is none or the height is deferred (DNL, Y = 0).

    Example:
        >>> jpeg_frame_size(bytes.fromhex("ffd8 ffc0 000b 08 0200 0300 01 011100 ffda"))
        (512, 768)
    """
    if frame[:2] != b"\xff\xd8":
        return None
    at, end = 2, len(frame)
    while at + 1 < end:
        if frame[at] != 0xFF:  # extraneous bytes: skip to the next marker, as libjpeg does
            at = frame.find(b"\xff", at)
            if at < 0:
                return None
            continue
        marker = frame[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker in _STANDALONE:
            at += 2
            continue
        if marker == 0xDA or at + 4 > end:  # start of scan without a frame header, or truncated
            return None
        length = int.from_bytes(frame[at + 2 : at + 4], "big")
        if marker in _SOF_MARKERS:
            if length < 8 or at + 9 > end:
                return None
            rows = int.from_bytes(frame[at + 5 : at + 7], "big")
            cols = int.from_bytes(frame[at + 7 : at + 9], "big")
            return None if rows == 0 else (rows, cols)
        if length < 2:
            return None
        at += 2 + length
    return None


def check_stream_sizes(pixel_data: bytes, ts: UID, frames: int, rows: int, cols: int, path: str) -> None:
    """Refuse JPEG / JPEG-LS / JPEG 2000 frames whose own header disagrees with Rows/Columns.

    The decoders allocate what the codestream declares, not what the DICOM header says: a 480×640 file whose
    codestream claims 65535×65535 (or millions of 1-pixel tiles) would exhaust memory before any check. This
    reads only the frame headers, before decoding.

    Raises:
        CorruptPixelDataError: a frame declares another size, more than 65535 tiles, or an empty image.
    """
    for index, frame in enumerate(generate_frames(pixel_data, number_of_frames=frames)):
        size = _stream_size(frame, ts)
        if size is None:
            continue  # not parsable here: the decoder will say what is wrong
        if size[:2] != (rows, cols) or not 1 <= size[2] <= 65535:
            raise CorruptPixelDataError(
                f"frame {index} of the compressed pixel data declares {size[0]}x{size[1]} pixels in "
                f"{size[2]} tile(s), but the header says {rows}x{cols}; the file is damaged or hostile "
                "(refused before decoding)",
                path=path,
            )


def _truncated_msg(have: int, need: int) -> str:
    return (
        f"pixel data are truncated: {have:,} bytes where the header declares {need:,}; the file is incomplete"
    )


def invert_monochrome1(stored: np.ndarray, bits_stored: int, signed: bool) -> np.ndarray:
    """Map MONOCHROME1 stored values to MONOCHROME2 semantics (bright = high) within the stored range.

    Example:
        >>> import numpy as np
        >>> invert_monochrome1(np.array([0, 1023], np.uint16), 10, False).tolist()
        [1023, 0]
    """
    lo, hi = (-(2 ** (bits_stored - 1)), 2 ** (bits_stored - 1) - 1) if signed else (0, 2**bits_stored - 1)
    return (lo + hi) - stored.astype(np.int64)


def to_modality(
    stored: np.ndarray, slope: float, intercept: float, out: np.ndarray | None = None
) -> np.ndarray:
    """``stored * slope + intercept`` as float32, written into ``out`` when given (no temporary array).

    Example:
        >>> import numpy as np
        >>> to_modality(np.array([1, 2], np.int16), 2.0, 0.5).tolist()
        [2.5, 4.5]
    """
    if out is None:
        out = np.empty(stored.shape, dtype=np.float32)
    if slope == 1.0:
        np.add(stored, np.float32(intercept), out=out, casting="unsafe")
    else:
        np.multiply(stored, np.float32(slope), out=out, casting="unsafe")
        if intercept != 0.0:
            out += np.float32(intercept)
    return out
