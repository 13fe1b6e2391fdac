"""A bounded on-disk cache of downloaded series, shared by concurrent downloads.

Series are numbered in the order they will be used (``seq``). The cache holds at most ``max_bytes`` of
files; an earlier series always has priority over a later one, which is what keeps concurrent downloads from
deadlocking while the total stays bounded:

* a download reserves the bytes of each file before writing it (:meth:`SeriesCache.reserve`);
* a later series that does not fit gives way at once (:class:`Evicted`): it deletes what it wrote and is fetched
  again when its turn comes;
* the earliest series that does not fit evicts the later ones (deleting finished ones, stopping running ones at
  their next file) and waits for their space; when it alone is larger than the cache it fails with a
  :class:`~medms.errors.RemoteError` that says to raise the limit.

Example:
    >>> import tempfile
    >>> cache = SeriesCache(tempfile.mkdtemp(), max_bytes=100)
    >>> cache.open(0); cache.reserve(0, 60, "s0")
    >>> cache.open(1)
    >>> try:
    ...     cache.reserve(1, 60, "s1")
    ... except Evicted:
    ...     print("series 1 gives way to series 0")
    series 1 gives way to series 0
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterable
from pathlib import Path

from medms.errors import RemoteError

__all__ = ["Evicted", "SeriesCache"]


class Evicted(Exception):
    """A later series gave its place in the cache to an earlier one; fetch it again when its turn comes."""


class SeriesCache:
    """Byte budget and folders of the series being downloaded or waiting to be used.

    Args:
        root: the cache folder (created if needed).
        max_bytes: the most bytes of DICOM files held at once.
    """

    def __init__(self, root: str | os.PathLike[str], *, max_bytes: int) -> None:
        if max_bytes <= 0:
            raise RemoteError(f"the cache limit must be positive, got {max_bytes} bytes")
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.max_bytes = int(max_bytes)
        self._cond = threading.Condition()
        self._used: dict[int, int] = {}
        self._done: dict[int, Path] = {}
        self._cancel: set[int] = set()
        self._evicted: set[int] = set()
        self._closed = False

    @property
    def used_bytes(self) -> int:
        """Bytes held now."""
        with self._cond:
            return sum(self._used.values())

    def open(self, seq: int) -> None:
        """Start (or restart, after a failed try) counting the bytes of series ``seq`` from zero."""
        with self._cond:
            self._used[seq] = 0
            self._done.pop(seq, None)
            self._evicted.discard(seq)
            self._cond.notify_all()

    def reset(self, seq: int) -> None:
        """Series ``seq`` is about to be fetched again after an eviction: clear its eviction marks."""
        with self._cond:
            self._cancel.discard(seq)
            self._evicted.discard(seq)

    def reserve(self, seq: int, n_bytes: int, where: str) -> None:
        """Count ``n_bytes`` more for series ``seq`` before they are written.

        Raises:
            Evicted: ``seq`` must give way to an earlier series (or the cache is closing).
            RemoteError: ``seq`` is the earliest series and is larger than the whole cache.
        """
        with self._cond:
            while True:
                if seq in self._cancel or self._closed:
                    raise Evicted
                held = sum(self._used.values())
                if held + n_bytes <= self.max_bytes:
                    self._used[seq] = self._used.get(seq, 0) + n_bytes
                    return
                if seq != min(self._used):
                    raise Evicted
                later = [s for s, n in self._used.items() if s > seq and n > 0]
                if not later:
                    raise RemoteError(
                        f"the series is larger than the download cache ({self.max_bytes / 2**20:.0f} MiB); "
                        "raise the cache limit (max_cache_bytes)",
                        path=where,
                    )
                for s in later:
                    self._evict(s)
                self._cond.wait(timeout=1.0)

    def _evict(self, seq: int) -> None:
        # Called with the lock held. A finished series is deleted now; a running one stops at its next file.
        if seq in self._done:
            shutil.rmtree(self._done.pop(seq), ignore_errors=True)
            self._used[seq] = 0
            self._evicted.add(seq)
        else:
            self._cancel.add(seq)

    def finish(self, seq: int, folder: Path) -> None:
        """Series ``seq`` is complete in ``folder`` (from now on evicting it deletes the folder)."""
        with self._cond:
            self._done[seq] = folder

    def evicted(self, seq: int) -> bool:
        """Whether series ``seq`` finished but was deleted to make room; it must be fetched again."""
        with self._cond:
            return seq in self._evicted

    def drop(self, seq: int) -> None:
        """Forget the bytes of series ``seq`` (its files are gone); the earliest waiting series may go on."""
        with self._cond:
            self._used[seq] = 0
            self._done.pop(seq, None)
            self._cond.notify_all()

    def release(self, seq: int, *, remove: bool = True) -> None:
        """Series ``seq`` has been used: stop counting it and delete its folder (unless ``remove=False``)."""
        with self._cond:
            folder = self._done.pop(seq, None)
            self._used.pop(seq, None)
            self._cancel.discard(seq)
            self._evicted.discard(seq)
            self._cond.notify_all()
        if folder is not None and remove:
            shutil.rmtree(folder, ignore_errors=True)

    def cancel(self, seqs: Iterable[int]) -> None:
        """Stop the running downloads of ``seqs`` at their next file (they will not be used)."""
        with self._cond:
            self._cancel.update(seqs)
            self._cond.notify_all()

    def close(self) -> None:
        """Stop every running download at its next file."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
