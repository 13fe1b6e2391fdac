"""The one way medms writes a file: a temporary file in the same folder, fsync, then an atomic rename.

Readers see the old file or the new one, never half of one; a crash or kill leaves the old file (and at most a
hidden ``.<name>.*.tmp`` that the next successful write of the same file does not trip over).

Example:
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "a.json"
    >>> write_json_atomic(path, {"n": 1})
    >>> path.read_text()
    '{\\n  "n": 1\\n}\\n'
    >>> with atomic_file(path.with_name("b.bin")) as fh:
    ...     _ = fh.write(b"xyz")
    >>> path.with_name("b.bin").read_bytes()
    b'xyz'
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from medms.errors import OutputError

__all__ = ["atomic_file", "copy_file_atomic", "write_json_atomic", "write_text_atomic"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike[str], *, what: str = "file") -> Iterator[IO[bytes]]:
    """A binary file handle whose content replaces ``path`` atomically when the block ends without error.

    On an error inside the block (or an ``OSError`` while finishing) the temporary file is removed and
    ``path`` is left as it was; ``OSError`` becomes :class:`~medms.errors.OutputError` naming ``what``.
    """
    target = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as err:
        raise OutputError(f"cannot write the {what} ({err.strerror or err})", path=target) from err
    try:
        # temporary files are private (0600); outputs are ordinary files, so honour the umask
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except OSError as err:
        Path(tmp).unlink(missing_ok=True)
        raise OutputError(f"cannot write the {what} ({err.strerror or err})", path=target) from err
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text_atomic(path: str | os.PathLike[str], text: str, *, what: str = "file") -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_file(path, what=what) as fh:
        fh.write(text.encode("utf-8"))


def write_json_atomic(path: str | os.PathLike[str], data: Any, *, what: str = "file") -> None:
    """Write ``data`` as indented JSON (non-JSON values via ``str``) to ``path`` atomically."""
    write_text_atomic(path, json.dumps(data, indent=2, default=str) + "\n", what=what)


def copy_file_atomic(
    source: str | os.PathLike[str], path: str | os.PathLike[str], *, what: str = "file"
) -> None:
    """Copy ``source`` to ``path`` atomically (a reader never sees a partial copy)."""
    with atomic_file(path, what=what) as fh, open(source, "rb") as src:
        shutil.copyfileobj(src, fh, length=1 << 20)
