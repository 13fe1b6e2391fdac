"""Byte-mutation fuzzing of the DICOM reader: scan + read of mutated real files may raise only medms errors.

A mutation is a small list of :data:`Op` tuples applied to a seed file's bytes (bit flips, byte sets, 16/32-bit
"interesting" values written over length fields, inserts, deletes, truncation). Positions are fractions of the
file length mapped mostly into the header (where a parser goes wrong), sometimes anywhere. The same ops can be
drawn by hypothesis (the CI test) or by a numpy generator (``benchmarks/fuzz_io.py``, long runs).

Example:
    >>> data = bytes(range(16))
    >>> mutate(data, [("truncate", 0.4, 0)])  # 0.4 / 0.8 of the header span: cut at byte 8
    b'\\x00\\x01\\x02\\x03\\x04\\x05\\x06\\x07'
"""

from __future__ import annotations

import os
import signal
import struct
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from medms.errors import MedmsError

__all__ = [
    "INTERESTING",
    "OPS",
    "FuzzHang",
    "Op",
    "check_bytes",
    "mutate",
    "random_ops",
    "seed_files",
]

#: One mutation: ``(kind, position as a fraction in [0, 1), integer argument)``.
Op = tuple[str, float, int]
OPS = ("flip", "set", "u16", "u32", "insert", "delete", "truncate")
#: Values that break length and count fields: zero, one, sign boundaries, "undefined length".
INTERESTING = (0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFE, 0xFFFFFFFF)
# Most mutations land in the first HEADER_BYTES bytes (the header), the rest anywhere in the file.
HEADER_BYTES = 2048
# Size guard used while fuzzing: a mutated Rows/Columns must be refused, never allocated.
FUZZ_MAX_PIXELS = 2**24


class FuzzHang(Exception):
    """An input took longer than the time limit (raised from a SIGALRM handler)."""


def seed_files(root: str | os.PathLike[str]) -> list[Path]:
    """The real DICOM files under ``root`` (``sample_data/dicom``) small enough to fuzz quickly (< 256 kB)."""
    files = [p for p in sorted(Path(root).rglob("*")) if p.is_file() and p.stat().st_size < 256_000]
    return [p for p in files if p.read_bytes()[128:132] == b"DICM"]


def _position(data_len: int, where: float, header: bool) -> int:
    span = min(data_len, HEADER_BYTES) if header else data_len
    return min(int(where * span), max(data_len - 1, 0))


def mutate(data: bytes, ops: Sequence[Op]) -> bytes:
    """Apply ``ops`` to ``data``. Positions in ``[0, 0.8)`` map into the header, ``[0.8, 1)`` anywhere.

    ``arg`` is the bit to flip, the byte to set, an index into :data:`INTERESTING`, or a length.
    """
    buf = bytearray(data)
    for kind, where, arg in ops:
        if not buf:
            break
        header = where < 0.8
        pos = _position(len(buf), where / 0.8 if header else (where - 0.8) / 0.2, header)
        if kind == "flip":
            buf[pos] ^= 1 << (arg % 8)
        elif kind == "set":
            buf[pos] = arg % 256
        elif kind in ("u16", "u32"):
            fmt, mask = ("<H", 0xFFFF) if kind == "u16" else ("<I", 0xFFFFFFFF)
            packed = struct.pack(fmt, INTERESTING[arg % len(INTERESTING)] & mask)
            buf[pos : pos + len(packed)] = packed
        elif kind == "insert":
            buf[pos:pos] = bytes([arg % 256]) * (1 + arg % 64)
        elif kind == "delete":
            del buf[pos : pos + 1 + arg % 64]
        elif kind == "truncate":
            del buf[pos:]
    return bytes(buf)


def random_ops(rng: np.random.Generator, max_ops: int = 4) -> list[Op]:
    """Draw 1..``max_ops`` ops with a numpy generator (the long benchmark run)."""
    n = int(rng.integers(1, max_ops + 1))
    return [
        (OPS[int(rng.integers(len(OPS)))], float(rng.random()), int(rng.integers(0, 2**16))) for _ in range(n)
    ]


@contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    def hang(signum: int, frame: object) -> None:
        raise FuzzHang(f"no result after {seconds} s")

    previous = signal.signal(signal.SIGALRM, hang)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def check_bytes(data: bytes, folder: str | os.PathLike[str] | None = None, *, timeout: float = 10.0) -> str:
    """Write ``data`` to a file and run ``scan_dicom`` and ``read_series`` on it.

    Returns:
        ``"ok"`` when it read, else the name of the medms error raised (the expected outcomes).

    Raises:
        FuzzHang: the input took longer than ``timeout`` seconds (main thread only: uses SIGALRM).
        Exception: any exception that is not a :class:`~medms.errors.MedmsError` — a bug to fix.
    """
    from medms.io import read_series, scan_dicom

    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        path = Path(tmp) / "input.dcm"
        path.write_bytes(data)
        with _time_limit(timeout):
            scan_dicom(path)
            try:
                read_series(path, max_pixels=FUZZ_MAX_PIXELS, workers=1)
            except MedmsError as err:
                return type(err).__name__
    return "ok"
