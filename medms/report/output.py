"""Writing the report files: strict JSON, atomic replacement, and no overwriting unless asked.

Example:
    >>> import math, pathlib, tempfile
    >>> to_json({"auc": math.nan, "n": 3})
    '{\\n  "auc": null,\\n  "n": 3\\n}\\n'
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> [p.name for p in write_files(folder, {"a.txt": "hello"})]
    ['a.txt']
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from medms.atomic import write_text_atomic
from medms.errors import OutputError

__all__ = ["check_targets", "jsonable", "to_json", "write_files"]


def jsonable(value: Any) -> Any:
    """A copy of ``value`` that strict JSON accepts: NaN/inf → ``None``, numpy and tuples → plain Python."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if hasattr(value, "to_dict") and callable(value.to_dict):
        return jsonable(value.to_dict())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        # JSON has no NaN; an undefined metric is null and its "note" says why.
        return None
    if isinstance(value, Path):
        return str(value)
    return value


def to_json(value: Any) -> str:
    """Indented strict JSON (no NaN tokens, which many JSON readers reject)."""
    return json.dumps(jsonable(value), indent=2, allow_nan=False, ensure_ascii=False) + "\n"


def write_files(
    folder: str | os.PathLike[str], files: Mapping[str, str], *, overwrite: bool = False
) -> list[Path]:
    """Write text files into ``folder`` (created if needed), each atomically (temp file + ``os.replace``).

    Every target is checked before anything is written, so a refused run leaves the folder as it was.

    Raises:
        OutputError: a target exists and ``overwrite`` is false, or the folder is not writable.
    """
    folder = Path(folder)
    targets = check_targets(folder, list(files), overwrite=overwrite)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OutputError(f"cannot create the output folder ({err.strerror})", path=folder) from err
    for target, text in zip(targets, files.values(), strict=True):
        write_text_atomic(target, text, what=target.name)
    return targets


def check_targets(
    folder: str | os.PathLike[str], names: Sequence[str], *, overwrite: bool = False
) -> list[Path]:
    """The paths of ``names`` in ``folder``, after checking none exists unless ``overwrite``.

    Raises:
        OutputError: a target exists and ``overwrite`` is false, or ``folder`` is a file.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise OutputError("the output must be a folder, not a file", path=folder)
    targets = [folder / name for name in names]
    existing = [t.name for t in targets if t.exists()]
    if existing and not overwrite:
        raise OutputError(
            f"{', '.join(existing)} already exist(s); pass --overwrite (overwrite=True) or choose another folder",
            path=folder,
        )
    return targets
