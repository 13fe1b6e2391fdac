"""Non-DICOM sources with the same conventions as :func:`medms.io.read_series`: NIfTI, ``.npz``, numpy arrays.

* NIfTI (``.nii``/``.nii.gz``) through nibabel: array in nibabel index order, affine = the file's RAS affine,
  exactly as MONAI's ``NibabelReader``; a 4th dimension becomes a trailing channel axis.
* MedMNIST-style ``.npz`` addressed as ``"file.npz::key::index"`` (one image of a stacked array) or
  ``"file.npz::key"`` (a whole 2D/3D array).
* numpy arrays in the usual numpy image order ``(rows, cols)`` / ``(rows, cols, slices)`` (``rgb=True``:
  ``(rows, cols, 3)``), transposed into ``(columns, rows[, slices])`` so that the same picture read from a DICOM
  file and from an array gives the same values. Affine: identity (MONAI's default for arrays).

Example:
    >>> import numpy as np
    >>> s = read_array(np.arange(6, dtype=np.uint8).reshape(2, 3))
    >>> s.array.tolist()
    [[0.0, 3.0], [1.0, 4.0], [2.0, 5.0]]
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np

from medms.errors import DataError, InputError
from medms.io.pixels import DEFAULT_MAX_PIXELS, check_size
from medms.io.records import Series

__all__ = ["is_nifti", "read_array", "read_image", "read_nifti", "read_npz"]

NPZ_SEPARATOR = "::"
_NIFTI_SUFFIXES = (".nii", ".nii.gz")


def read_array(array: np.ndarray, *, rgb: bool = False, source: str = "<array>") -> Series:
    """Wrap an in-memory numpy image as a :class:`Series` (no copy beyond the float32 conversion).

    Args:
        array: ``(rows, cols)`` or ``(rows, cols, slices)``; with ``rgb=True`` ``(rows, cols, 3)``.
        rgb: the last axis holds RGB samples instead of slices.
        source: what to call the array in messages and ``meta["source"]``.

    Raises:
        DataError: wrong number of dimensions, or NaN/Inf values.

    Example:
        >>> import numpy as np
        >>> read_array(np.zeros((4, 5, 3)), rgb=True).array.shape
        (5, 4, 3)
    """
    arr = np.asarray(array)
    if rgb:
        if arr.ndim != 3 or arr.shape[2] != 3:
            raise DataError(f"an RGB image must be (rows, cols, 3), got shape {arr.shape}", path=source)
        out = arr.transpose(1, 0, 2)
    elif arr.ndim == 2:
        out = arr.T
    elif arr.ndim == 3:
        out = arr.transpose(1, 0, 2)
    else:
        raise DataError(
            f"expected a (rows, cols) or (rows, cols, slices) array, got shape {arr.shape}", path=source
        )
    if arr.dtype.kind not in "biuf":
        raise DataError(f"expected a numeric image array, got dtype {arr.dtype}", path=source)
    out = out.astype(np.float32, copy=False)
    if arr.dtype.kind == "f" and not np.isfinite(out).all():
        raise DataError("the array contains NaN or Inf values", path=source)
    n_spatial = out.ndim - (1 if rgb else 0)
    meta = {"source": source, "colour": rgb, "channel_last": rgb, "spacing": (1.0,) * n_spatial}
    return Series(array=out, affine=np.eye(4), spacing=(1.0,) * n_spatial, meta=meta, warnings=[])


def read_nifti(path: str | os.PathLike[str], *, max_pixels: int = DEFAULT_MAX_PIXELS) -> Series:
    """Read a NIfTI-1/2 file (``.nii`` or ``.nii.gz``) with MONAI ``NibabelReader`` conventions.

    Args:
        path: the file.
        max_pixels: refuse images declaring more voxels than this before loading them.

    Raises:
        InputError: the file is missing or not a readable NIfTI image.
        ImageSizeError: the declared size is above ``max_pixels``.

    Example:
        >>> import nibabel as nib, numpy as np, tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "a.nii.gz")
        >>> nib.save(nib.Nifti1Image(np.zeros((3, 4, 5), np.int16), np.diag([2.0, 2, 3, 1])), p)
        >>> read_nifti(p).spacing
        (2.0, 2.0, 3.0)
    """
    import nibabel as nib
    from nibabel.filebasedimages import ImageFileError

    try:
        img = nib.load(os.fspath(path))
    except FileNotFoundError:
        raise InputError("no such file; check the path", path=path) from None
    except (ImageFileError, OSError, ValueError, EOFError) as err:
        raise InputError(f"not a readable NIfTI image ({type(err).__name__}: {err})", path=path) from err
    check_size(int(np.prod(img.shape)), max_pixels, os.fspath(path))
    try:
        data = np.asarray(img.dataobj, dtype=np.float32)
    except (OSError, ValueError, EOFError) as err:  # truncated or corrupt voxel data
        raise InputError(
            f"the NIfTI voxel data cannot be read ({type(err).__name__}: {err})", path=path
        ) from err
    if data.ndim not in (2, 3, 4):
        raise DataError(f"expected a 2D, 3D or 4D NIfTI image, got shape {data.shape}", path=path)
    affine = np.asarray(img.affine, dtype=np.float64)
    n_spatial = min(data.ndim, 3)
    spacing = tuple(float(v) for v in np.linalg.norm(affine[:3, :n_spatial], axis=0))
    meta = {"source": os.fspath(path), "colour": False, "channel_last": data.ndim == 4, "spacing": spacing}
    return Series(array=data, affine=affine, spacing=spacing, meta=meta, warnings=[])


@functools.lru_cache(maxsize=8)
def _npz_array(path: str, mtime_ns: int, key: str) -> np.ndarray:
    # Cached so that a data loader indexing one image at a time does not decompress the whole array each time;
    # the modification time in the key invalidates the cache when the file changes.
    with np.load(path, allow_pickle=False) as npz:
        if key not in npz.files:
            raise InputError(f"no array {key!r} in the .npz; it holds {sorted(npz.files)}", path=path)
        return npz[key]


def read_npz(spec: str | os.PathLike[str]) -> Series:
    """Read one image of a MedMNIST-style ``.npz``: ``"file.npz::key::index"`` or ``"file.npz::key"``.

    An indexed entry of an ``(N, H, W)`` array is a grey 2D image, of an ``(N, H, W, 3)`` array an RGB image, of
    an ``(N, D1, D2, D3)`` array a volume in ``(rows, cols, slices)`` order; all follow :func:`read_array`.

    Raises:
        InputError: malformed spec, missing file/key, index out of range.

    Example:
        >>> s = read_npz("sample_data/medmnist/breastmnist.npz::test_images::0")  # doctest: +SKIP
        >>> s.array.shape  # doctest: +SKIP
        (28, 28)
    """
    text = os.fspath(spec)
    parts = text.split(NPZ_SEPARATOR)
    if len(parts) not in (2, 3) or not parts[0].endswith(".npz") or not parts[1]:
        raise InputError("an .npz image is addressed as 'file.npz::key::index' or 'file.npz::key'", path=text)
    path = parts[0]
    try:
        arr = _npz_array(path, Path(path).stat().st_mtime_ns, parts[1])
    except FileNotFoundError:
        raise InputError("no such .npz file; check the path", path=path) from None
    rgb = False
    if len(parts) == 3:
        try:
            index = int(parts[2])
        except ValueError:
            raise InputError(f"the index must be an integer, got {parts[2]!r}", path=text) from None
        if not -arr.shape[0] <= index < arr.shape[0]:
            raise InputError(
                f"index {index} is out of range for {parts[1]!r} of {arr.shape[0]} images", path=text
            )
        rgb = arr.ndim == 4 and arr.shape[-1] == 3
        arr = arr[index]
    return read_array(arr, rgb=rgb, source=text)


def is_nifti(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` names a NIfTI file (``.nii`` or ``.nii.gz``, any case).

    Example:
        >>> is_nifti("scans/T1.NII.GZ"), is_nifti("scans/1.dcm")
        (True, False)
    """
    return os.fspath(path).lower().endswith(_NIFTI_SUFFIXES)


def read_image(source: object, **dicom_options: object) -> Series:
    """Read any supported source: DICOM (file, folder, file list, SeriesInfo), NIfTI, ``.npz`` spec, numpy array.

    Args:
        source: what to read; strings/paths are dispatched by name (``::`` or ``.npz`` → npz, ``.nii``/``.nii.gz``
            → NIfTI, anything else → DICOM).
        **dicom_options: passed to :func:`medms.io.read_series` (``series_uid``, ``select``, ``lenient``,
            ``max_pixels``) for DICOM sources; ``max_pixels`` also guards NIfTI files.

    Example:
        >>> import numpy as np
        >>> read_image(np.ones((2, 2, 2))).array.shape
        (2, 2, 2)
    """
    from medms.io.dicom import read_series

    if isinstance(source, np.ndarray):
        return read_array(source)
    if isinstance(source, (str, os.PathLike)):
        name = os.fspath(source)
        if NPZ_SEPARATOR in name or name.endswith(".npz"):
            return read_npz(name)
        if is_nifti(name):
            max_pixels = dicom_options.get("max_pixels", DEFAULT_MAX_PIXELS)
            return read_nifti(name, max_pixels=int(max_pixels))  # type: ignore[call-overload]
    return read_series(source, **dicom_options)  # type: ignore[arg-type]
