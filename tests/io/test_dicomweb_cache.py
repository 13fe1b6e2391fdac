"""The bounded download cache: earlier series first, later ones give way, the bound holds under real downloads."""

from __future__ import annotations

import contextlib
import threading
import time
from pathlib import Path

import pydicom
import pytest

from medms.errors import RemoteError
from medms.io.dicomweb import DicomWebSource
from medms.io.dicomweb.cache import Evicted, SeriesCache
from medms.synthetic import write_ct_phantom
from tests.io._dicomweb import FAST, login, same_read


def test_later_series_gives_way_and_earlier_one_fits(tmp_path):
    cache = SeriesCache(tmp_path, max_bytes=100)
    cache.open(0)
    cache.open(1)
    cache.reserve(0, 70, "s0")
    with pytest.raises(Evicted):
        cache.reserve(1, 40, "s1")
    cache.reserve(1, 30, "s1")
    assert cache.used_bytes == 100


def test_earliest_series_evicts_a_finished_later_one(tmp_path):
    cache = SeriesCache(tmp_path, max_bytes=100)
    later = tmp_path / "later"
    later.mkdir()
    (later / "a.dcm").write_bytes(b"x" * 60)
    cache.open(0)
    cache.open(1)
    cache.reserve(1, 60, "s1")
    cache.finish(1, later)
    cache.reserve(0, 80, "s0")  # does not fit next to series 1: series 1 is deleted to make room
    assert not later.exists()
    assert cache.evicted(1)
    assert cache.used_bytes == 80


def test_earliest_series_stops_a_running_later_one(tmp_path):
    cache = SeriesCache(tmp_path, max_bytes=100)
    cache.open(0)
    cache.open(1)
    cache.reserve(1, 60, "s1")
    outcome = []

    def later_download():
        # The running later download writes file after file until it is told to give way.
        try:
            for _ in range(10_000):
                time.sleep(0.001)
                cache.reserve(1, 0, "s1")
        except Evicted:
            cache.drop(1)
            outcome.append("gave way")

    worker = threading.Thread(target=later_download)
    worker.start()
    cache.reserve(0, 90, "s0")  # waits until series 1 has given its bytes back
    worker.join(timeout=60)
    assert outcome == ["gave way"]
    assert cache.used_bytes == 90


def test_earliest_series_larger_than_the_cache(tmp_path):
    cache = SeriesCache(tmp_path, max_bytes=100)
    cache.open(0)
    cache.reserve(0, 90, "s0")
    with pytest.raises(RemoteError, match="larger than the download cache"):
        cache.reserve(0, 20, "s0")


def test_release_deletes_unless_kept(tmp_path):
    cache = SeriesCache(tmp_path, max_bytes=100)
    for seq, name in enumerate(("a", "b")):
        (tmp_path / name).mkdir()
        cache.open(seq)
        cache.reserve(seq, 10, name)
        cache.finish(seq, tmp_path / name)
    cache.release(0)
    cache.release(1, remove=False)
    assert not (tmp_path / "a").exists() and (tmp_path / "b").is_dir()
    assert cache.used_bytes == 0


class _Peak(threading.Thread):
    """Samples the bytes the cache counts and the bytes of DICOM files under its folder; keeps the maxima."""

    def __init__(self, source: DicomWebSource) -> None:
        super().__init__(daemon=True)
        self.source, self.stop, self.counted, self.on_disk = source, threading.Event(), 0, 0

    def run(self) -> None:
        while not self.stop.is_set():
            self.counted = max(self.counted, self.source.cache.used_bytes)
            total = 0
            with contextlib.suppress(FileNotFoundError):  # a folder deleted while we walk it: sample again
                for path in self.source.cache.root.rglob("*.dcm"):
                    with contextlib.suppress(FileNotFoundError):
                        total += path.stat().st_size
                self.on_disk = max(self.on_disk, total)
            time.sleep(0.002)


@pytest.fixture(scope="module")
def equal_series(orthanc, tmp_path_factory) -> tuple[dict[str, Path], int]:
    """Eight same-sized CT series stored in Orthanc: (series UID → local folder, bytes per series)."""
    root = tmp_path_factory.mktemp("equal")
    folders = {}
    for k in range(8):
        files = write_ct_phantom(root / f"s{k}", shape=(64, 64, 8), seed=100 + k)
        orthanc.upload(files)
        folders[pydicom.dcmread(files[0]).SeriesInstanceUID] = root / f"s{k}"
    size = max(sum(p.stat().st_size for p in f.iterdir()) for f in folders.values())
    return folders, size


def test_cache_bound_holds_with_concurrent_downloads(orthanc, equal_series, monkeypatch, tmp_path):
    login(monkeypatch, orthanc)
    folders, size = equal_series
    limit = int(size * 2.5)  # the series in use, one ahead, and half of another
    cache = tmp_path / "cache"
    seen = []
    with DicomWebSource(
        orthanc.dicomweb_url, retry=FAST, workers=4, cache_dir=cache, max_cache_bytes=limit
    ) as source:
        peak = _Peak(source)
        peak.start()
        try:
            for item in source.retrieve():
                assert item.error is None, item.error
                assert all(not (cache / uid).exists() for uid in seen)  # the previous ones are gone
                same_read(folders[item.series_uid], item.folder)
                seen.append(item.series_uid)
                time.sleep(0.2)  # a slow consumer: the downloads ahead fill the cache meanwhile
        finally:
            peak.stop.set()
            peak.join()
    assert sorted(seen) == sorted(folders)
    assert size < peak.on_disk <= limit
    assert peak.counted <= limit
    assert list(cache.iterdir()) == []
