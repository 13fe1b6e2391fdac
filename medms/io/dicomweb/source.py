"""``DicomWebSource``: series from a DICOMweb server (QIDO-RS, WADO-RS) as folders ``read_series`` reads.

Example (against a running server; see docs/pacs.md):
    >>> from medms.io import read_series
    >>> from medms.io.dicomweb import DicomWebSource
    >>> with DicomWebSource("https://pacs.example.org/dicom-web", query=["Modality=CT"]) as source:  # doctest: +SKIP
    ...     for item in source.retrieve():          # downloads run ahead while you use the current one
    ...         if item.error is None:
    ...             series = read_series(item.folder)
    ...         else:
    ...             print(item.series_uid, item.error)
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import weakref
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

from pydicom.dataset import Dataset

from medms.errors import ConfigError, MedmsError, RemoteError
from medms.io.dicomweb.auth import Credentials, check_url, credentials_from_env, public_url
from medms.io.dicomweb.cache import Evicted, SeriesCache
from medms.io.dicomweb.fetch import stored_uids, write_instances
from medms.io.dicomweb.query import SERIES_FIELDS, RemoteSeries, is_uid, parse_filters, read_uid_csv
from medms.io.dicomweb.transport import ClientFactory, RetryPolicy, call_with_retries

__all__ = ["DEFAULT_CACHE_BYTES", "DicomWebSource", "Retrieved"]

log = logging.getLogger("medms.io.dicomweb")

#: Default bound of the download cache: 4 GiB.
DEFAULT_CACHE_BYTES = 4 * 2**30


@dataclass(frozen=True)
class Retrieved:
    """One series from :meth:`DicomWebSource.retrieve`: a folder of its files, or the typed error that stopped it.

    The folder exists until the next item is asked for (or the source is closed); with ``keep_cache`` it stays.
    """

    series: RemoteSeries
    folder: Path | None
    error: MedmsError | None = None

    @property
    def series_uid(self) -> str:
        """The SeriesInstanceUID: the id of this series in predictions."""
        return self.series.series_uid


class DicomWebSource:
    """Series on a DICOMweb server, chosen by QIDO-RS filters or a CSV of UIDs, fetched with WADO-RS.

    Args:
        url: the DICOMweb root, e.g. ``https://pacs.example.org/dicom-web`` (no credentials in it).
        query: QIDO-RS attribute filters: ``{"Modality": "CT"}`` or ``["Modality=CT", "StudyDate=2024..."]``.
        uids: a CSV with a ``StudyInstanceUID`` and/or ``SeriesInstanceUID`` column (see
            :func:`~medms.io.dicomweb.query.read_uid_csv`). Rows naming a series are taken as they are; rows
            naming only a study are expanded with QIDO-RS, with ``query`` applied.
        credentials: request signer; by default from ``MEDMS_DICOMWEB_TOKEN``,
            ``MEDMS_DICOMWEB_USER``/``MEDMS_DICOMWEB_PASSWORD`` or netrc (:func:`credentials_from_env`).
        ca_bundle: PEM file of CA certificates to trust (TLS verification is always on).
        retry: attempts, backoff and timeout (:class:`RetryPolicy`).
        workers: concurrent downloads (and how many series are fetched ahead of the one in use).
        cache_dir: where series are downloaded; a temporary folder (removed on close) by default.
        max_cache_bytes: the most bytes of downloaded files held at once.
        keep_cache: leave downloaded series in ``cache_dir`` instead of deleting each after use.

    Raises:
        ConfigError: a URL with credentials, bad filters or UID list, a missing CA bundle, ``workers < 1``.
    """

    def __init__(
        self,
        url: str,
        *,
        query: Mapping[str, object] | Iterable[str] | None = None,
        uids: str | os.PathLike[str] | None = None,
        credentials: Credentials | None = None,
        ca_bundle: str | os.PathLike[str] | None = None,
        retry: RetryPolicy | None = None,
        workers: int = 4,
        cache_dir: str | os.PathLike[str] | None = None,
        max_cache_bytes: int = DEFAULT_CACHE_BYTES,
        keep_cache: bool = False,
    ) -> None:
        self.url = check_url(url)
        self.filters = parse_filters(query)
        self.uid_rows = read_uid_csv(uids) if uids is not None else None
        if workers < 1:
            raise ConfigError(f"workers must be at least 1, got {workers}")
        self.workers, self.keep_cache = int(workers), bool(keep_cache)
        self.retry = retry or RetryPolicy()
        creds = credentials if credentials is not None else credentials_from_env(self.url)
        self._clients = ClientFactory(
            self.url, credentials=creds, ca_bundle=ca_bundle, timeout=self.retry.timeout
        )
        self._own_cache = cache_dir is None
        root = Path(tempfile.mkdtemp(prefix="medms-dicomweb-")) if cache_dir is None else Path(cache_dir)
        self.cache = SeriesCache(root, max_bytes=max_cache_bytes)
        # A source dropped without close() still removes its temporary cache (not a folder the user gave).
        self._remove_own_cache = (
            weakref.finalize(self, shutil.rmtree, root, True)
            if self._own_cache and not self.keep_cache
            else None
        )
        self._pool: ThreadPoolExecutor | None = None

    def __repr__(self) -> str:
        return f"DicomWebSource({public_url(self.url)!r}, filters={self.filters}, workers={self.workers})"

    # -- query ------------------------------------------------------------------------------------------------

    def _qido(self, study_uid: str | None, filters: Mapping[str, str]) -> list[RemoteSeries]:
        where = public_url(self.url) + (f"/studies/{study_uid}/series" if study_uid else "/series")

        def search() -> list[dict]:
            return self._clients.get().search_for_series(
                study_instance_uid=study_uid,
                search_filters=dict(filters),
                fields=list(SERIES_FIELDS),
                get_remaining=True,
            )

        found = call_with_retries(search, policy=self.retry, where=where, what="QIDO-RS series query")
        return [RemoteSeries.from_json(item, where) for item in found]

    def series(self) -> list[RemoteSeries]:
        """The series to classify, in a stable order (study, then series UID; CSV order for a UID list).

        Raises:
            RemoteError: the query failed (unreachable server, refused credentials, ...).
        """
        if self.uid_rows is None:
            found = self._qido(None, self.filters)
            return sorted(set(found), key=lambda s: (s.study_uid, s.series_uid))
        out: dict[str, RemoteSeries] = {}
        for study, series in self.uid_rows:
            if series is not None and study is not None:
                out.setdefault(series, RemoteSeries(study, series))
            elif series is not None:
                hits = self._qido(None, {"SeriesInstanceUID": series})
                out.setdefault(series, hits[0] if hits else RemoteSeries("", series))
            else:
                for hit in sorted(self._qido(study, self.filters), key=lambda s: s.series_uid):
                    out.setdefault(hit.series_uid, hit)
        return list(out.values())

    # -- retrieval --------------------------------------------------------------------------------------------

    def _where(self, series: RemoteSeries) -> str:
        return f"{public_url(self.url)}/studies/{series.study_uid}/series/{series.series_uid}"

    def _fetch_once(self, seq: int, series: RemoteSeries, partial: Path) -> int:
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        self.cache.open(seq)
        where = self._where(series)
        return write_instances(
            self._clients.get(),
            series.study_uid,
            series.series_uid,
            partial,
            reserve=lambda n: self.cache.reserve(seq, n, where),
            where=where,
        )

    def _download(self, seq: int, series: RemoteSeries) -> Path:
        """Fetch one series into the cache (retrying transient failures); return its folder."""
        where = self._where(series)
        if not (is_uid(series.study_uid) and is_uid(series.series_uid)):
            raise RemoteError(
                "not found on the server (no study holds this SeriesInstanceUID)", path=where, status=404
            )
        final = self.cache.root / series.series_uid
        partial = self.cache.root / f"{series.series_uid}.partial"
        try:
            count = call_with_retries(
                lambda: self._fetch_once(seq, series, partial),
                policy=self.retry,
                where=where,
                what="WADO-RS retrieval",
            )
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            self.cache.drop(seq)
            raise
        if count == 0:
            shutil.rmtree(partial, ignore_errors=True)
            self.cache.drop(seq)
            raise RemoteError("the server returned no instances for this series", path=where, status=404)
        shutil.rmtree(final, ignore_errors=True)
        partial.rename(final)
        self.cache.finish(seq, final)
        return final

    def _outcome(self, seq: int, series: RemoteSeries, future: Future | None) -> Retrieved:
        # An evicted series is fetched again here; as the earliest series it cannot be evicted again.
        for _ in range(3):
            try:
                if future is None:
                    self.cache.reset(seq)
                    folder = self._download(seq, series)
                else:
                    folder = future.result()
            except Evicted:
                future = None
                continue
            except MedmsError as err:
                return Retrieved(series, None, err)
            if not self.cache.evicted(seq):
                return Retrieved(series, folder, None)
            future = None
        raise RemoteError(
            "the download cache kept evicting this series; raise max_cache_bytes", path=self._where(series)
        )

    def retrieve(self, series: Sequence[RemoteSeries] | None = None) -> Iterator[Retrieved]:
        """Download series (``self.series()`` by default) and yield them in order as they are ready.

        Up to ``workers`` further series download while the caller uses the current one; the current one's
        folder is deleted when the next is asked for (unless ``keep_cache``). A series that fails yields a
        :class:`Retrieved` with ``error`` set (a :class:`RemoteError`, :class:`DicomError` ...) and the
        iteration goes on.
        """
        items = list(self.series() if series is None else series)
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="medms-dicomweb")
        pending: deque[Future] = deque()
        submitted = 0
        try:
            for seq, item in enumerate(items):
                while submitted < len(items) and submitted <= seq + self.workers:
                    pending.append(self._pool.submit(self._download, submitted, items[submitted]))
                    submitted += 1
                outcome = self._outcome(seq, item, pending.popleft())
                try:
                    yield outcome
                finally:
                    self.cache.release(seq, remove=not self.keep_cache)
        finally:  # the caller stopped early (or an error): stop the downloads ahead and forget them
            self.cache.cancel(range(submitted))
            for future in pending:
                if not future.cancel():
                    wait([future])
            for seq in range(submitted):
                self.cache.release(seq, remove=not self.keep_cache)

    def download(self, series: RemoteSeries, folder: str | os.PathLike[str]) -> Path:
        """Fetch one series into ``folder`` (which must not exist yet) and return it.

        Raises:
            RemoteError, DicomError: as for :meth:`retrieve`.
            ConfigError: ``folder`` exists already.
        """
        target = Path(folder)
        if target.exists():
            raise ConfigError("folder exists already; give a new folder", path=target)
        items = self.retrieve([series])
        try:
            outcome = next(items)
            if outcome.error is not None:
                raise outcome.error
            shutil.copytree(outcome.folder, target)
        finally:
            items.close()  # the cached copy goes now
        return target

    # -- storage ----------------------------------------------------------------------------------------------

    def store(self, datasets: Sequence[Dataset]) -> list[str]:
        """Send instances to the server with STOW-RS; return the SOPInstanceUIDs it stored.

        Raises:
            RemoteError: the request failed, or the server refused some instances (their count in the message).
        """
        where = public_url(self.url) + "/studies"
        answer = call_with_retries(
            lambda: self._clients.get().store_instances(list(datasets)),
            policy=self.retry,
            where=where,
            what="STOW-RS store",
        )
        return stored_uids(answer, len(datasets), where)

    # -- life cycle -------------------------------------------------------------------------------------------

    def close(self) -> None:
        """Stop downloads, close connections, and remove the temporary cache (unless ``keep_cache``)."""
        self.cache.close()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        self._clients.close()
        root = self.cache.root
        if self.keep_cache:
            return
        if self._remove_own_cache is not None:
            self._remove_own_cache()
        else:
            for partial in root.glob("*.partial"):
                shutil.rmtree(partial, ignore_errors=True)

    def __enter__(self) -> DicomWebSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
