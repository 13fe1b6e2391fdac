"""``LoadSeries`` / ``LoadSeriesd``: any supported source → channel-first MetaTensor with MONAI conventions.

Sources: a DICOM file, folder, file list or :class:`medms.io.SeriesInfo`; a NIfTI file; an ``.npz`` spec
(``"file.npz::key::index"``); or an in-memory numpy array / torch tensor in numpy image order
(``(rows, cols)`` or ``(rows, cols, slices)``), which is transposed to ``(columns, rows[, slices])`` exactly like a
DICOM image, so that the same picture from a file and from an array gives the same tensor. A ``MetaTensor`` is
taken as already loaded and passed through unchanged.

The output is float32 ``(C, X, Y[, Z])`` (C = 1 for grey images, 3 for RGB, T for 4D NIfTI) whose ``.affine``
maps indices to RAS mm as MONAI's ``LoadImage(reader="ITKReader")`` does, so ``Orientationd``/``Spacingd``
compose. ``meta["filename_or_obj"]`` is the source as the user gave it (``"<array>"`` for arrays).

Example:
    >>> import numpy as np
    >>> from medms.transforms import LoadSeries
    >>> img = LoadSeries()(np.arange(6, dtype=np.uint8).reshape(2, 3))
    >>> tuple(img.shape), img.meta["filename_or_obj"]
    ((1, 3, 2), '<array>')
"""

from __future__ import annotations

import os
from collections.abc import Hashable, Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import torch
from monai.config import KeysCollection
from monai.data import ImageReader, MetaTensor
from monai.transforms import MapTransform, Transform
from monai.utils import TransformBackends

from medms.io import DEFAULT_MAX_PIXELS, Series, SeriesInfo, read_array, read_image

__all__ = ["LoadSeries", "LoadSeriesd", "SeriesReader"]


def _describe(source: Any) -> str:
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    if isinstance(source, SeriesInfo):
        return os.fspath(source.files[0].parent) if source.files else source.uid
    if isinstance(source, Sequence) and source and isinstance(source[0], (str, os.PathLike)):
        return os.fspath(source[0])
    return "<array>"


def _monai_meta(series: Series, filename: str) -> tuple[np.ndarray, dict[str, Any]]:
    """Channel-first array and MONAI-style metadata of a series (shared by LoadSeries and SeriesReader)."""
    channel_last = bool(series.meta.get("channel_last", False))
    arr = np.moveaxis(series.array, -1, 0) if channel_last else series.array[None]
    spatial_shape = series.array.shape[:-1] if channel_last else series.array.shape
    meta = dict(series.meta)
    meta.update(
        affine=torch.as_tensor(series.affine, dtype=torch.float64),
        original_affine=series.affine.copy(),
        spatial_shape=np.asarray(spatial_shape),
        original_channel_dim=-1 if channel_last else "no_channel",
        space="RAS",
        filename_or_obj=filename,
        medms_warnings=list(series.warnings),
    )
    return arr, meta


def series_to_metatensor(series: Series, filename: str) -> MetaTensor:
    """Channel-first MetaTensor from a :class:`medms.io.Series` (no copy of the voxel buffer).

    Example:
        >>> import numpy as np
        >>> from medms.io import read_array
        >>> series_to_metatensor(read_array(np.zeros((2, 3))), "x").shape
        torch.Size([1, 3, 2])
    """
    arr, meta = _monai_meta(series, filename)
    return MetaTensor(torch.as_tensor(arr), meta=meta)


class LoadSeries(Transform):
    """Load a DICOM series, NIfTI file, ``.npz`` entry or numpy image as a channel-first MetaTensor.

    Args:
        series_uid: DICOM only: the SeriesInstanceUID to read when a folder holds several series.
        select: DICOM only: ``"error"`` (several series raise :class:`~medms.errors.SeriesSelectionError`) or
            ``"largest"``.
        lenient: DICOM only: accept irregular slice spacing/duplicates with a warning in
            ``meta["medms_warnings"]`` instead of raising :class:`~medms.errors.GeometryError`.
        max_pixels: DICOM only: size guard (:class:`~medms.errors.ImageSizeError` above it).

    Example:
        >>> import numpy as np
        >>> LoadSeries()(np.zeros((4, 5, 6), np.int16)).shape
        torch.Size([1, 5, 4, 6])
    """

    backend: ClassVar[list[TransformBackends]] = [TransformBackends.TORCH, TransformBackends.NUMPY]

    def __init__(
        self,
        *,
        series_uid: str | None = None,
        select: str = "error",
        lenient: bool = False,
        max_pixels: int = DEFAULT_MAX_PIXELS,
    ) -> None:
        self.options = {
            "series_uid": series_uid,
            "select": select,
            "lenient": lenient,
            "max_pixels": max_pixels,
        }

    def __call__(self, source: Any) -> MetaTensor:
        """Load ``source``; see the class docstring for what it may be."""
        if isinstance(source, MetaTensor):
            return source
        if isinstance(source, torch.Tensor):
            source = source.detach().cpu().numpy()
        if isinstance(source, np.ndarray):
            return series_to_metatensor(read_array(source), "<array>")
        return series_to_metatensor(read_image(source, **self.options), _describe(source))


class LoadSeriesd(MapTransform):
    """Dictionary version of :class:`LoadSeries`: loads ``data[key]`` for every key in ``keys``.

    Example:
        >>> import numpy as np
        >>> out = LoadSeriesd("image")({"image": np.zeros((2, 3), np.uint8), "label": 1})
        >>> tuple(out["image"].shape), out["label"]
        ((1, 3, 2), 1)
    """

    backend = LoadSeries.backend

    def __init__(
        self,
        keys: KeysCollection,
        *,
        series_uid: str | None = None,
        select: str = "error",
        lenient: bool = False,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        allow_missing_keys: bool = False,
    ) -> None:
        super().__init__(keys, allow_missing_keys=allow_missing_keys)
        self.loader = LoadSeries(series_uid=series_uid, select=select, lenient=lenient, max_pixels=max_pixels)

    def __call__(self, data: Mapping[Hashable, Any]) -> dict[Hashable, Any]:
        """Return a copy of ``data`` with each key's source replaced by its MetaTensor."""
        d = dict(data)
        for key in self.key_iterator(d):
            d[key] = self.loader(d[key])
        return d


class SeriesReader(ImageReader):
    """A MONAI ``ImageReader`` backed by medms, for ``LoadImage(reader=SeriesReader())`` / ``LoadImaged``.

    Reads what :class:`LoadSeries` reads from paths (DICOM file/folder/file list, NIfTI, ``.npz`` spec) with the
    same array, affine and metadata; MONAI's ``LoadImage`` then adds its own handling (``ensure_channel_first``,
    ``image_only``, ...). The array it hands to MONAI has no channel axis for grey images (channel last for RGB).

    Example:
        >>> import numpy as np, tempfile, os
        >>> from monai.transforms import LoadImage
        >>> from medms.synthetic import write_image_dicom
        >>> path = write_image_dicom(np.zeros((4, 6), np.uint8), os.path.join(tempfile.mkdtemp(), "a.dcm"))
        >>> LoadImage(reader=SeriesReader(), image_only=True, ensure_channel_first=True)(path).shape
        torch.Size([1, 6, 4])
    """

    def __init__(
        self,
        *,
        series_uid: str | None = None,
        select: str = "error",
        lenient: bool = False,
        max_pixels: int = DEFAULT_MAX_PIXELS,
    ) -> None:
        super().__init__()
        self.options = {
            "series_uid": series_uid,
            "select": select,
            "lenient": lenient,
            "max_pixels": max_pixels,
        }

    def verify_suffix(self, filename: Sequence[str | os.PathLike[str]] | str | os.PathLike[str]) -> bool:
        """Every path may be DICOM (which has no fixed suffix); unreadable ones raise typed errors in ``read``."""
        return True

    def read(self, data: Sequence[str | os.PathLike[str]] | str | os.PathLike[str], **kwargs: Any) -> Series:
        """Read ``data`` (one path, or a list of DICOM files of one series) into a :class:`medms.io.Series`."""
        return read_image(data, **self.options)

    def get_data(self, img: Series) -> tuple[np.ndarray, dict[str, Any]]:
        """The array in MONAI's reader layout (channel last, if any) and its metadata."""
        # LoadImage overwrites filename_or_obj with the path it was given, as LoadSeries does.
        arr, meta = _monai_meta(img, str(img.meta.get("source", "")))
        return (np.moveaxis(arr, 0, -1) if meta["original_channel_dim"] == -1 else arr[0]), meta
