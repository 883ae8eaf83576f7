"""The storage seam of the lakehouse: partitioned tables keyed by ``game_date``.

``PartitionedTableStore`` is the whole contract the IO manager relies on. ``LocalParquetStore``
implements it on disk; ``nba_assets.io.bigquery.BigQueryStore`` implements the same operations
(staging load + one transactional DELETE/INSERT per window, one parameterized query per window
read). ``nba_assets_tests/test_storage_contract.py`` runs one suite against both.

Rules every backend keeps:
- a write *replaces* every partition it is given (rows or not), never appends, so a rerun
  leaves exactly the same rows; a partition given no rows is stored as an empty partition;
- a write is staged completely before anything stored is replaced, so a failure leaves the
  earlier partitions intact;
- a window read returns **one** frame in the table's schema, empty partitions included.

Crash and concurrency safety of the local store: every partition file is written under a
temporary name in the table's ``.staging-*`` directory and moved into place with one
``os.replace`` (atomic on POSIX), so a reader or a process killed at any instant sees either the
old file or the new one, never part of one (``read_window`` holds the table's shared lock, since
a scan opens a file more than once). Writers of one table take an exclusive ``fcntl`` lock
on ``<table>/.lock`` for the whole write (staging and renames), so two runs writing overlapping
windows (a sensor's run and a manual backfill) are serialized: the table ends as one writer's
window or the other's, each partition a whole file. Under the lock, staging directories and
temporary files left by a killed writer are removed.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import io
import json
import os
import shutil
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Protocol

import polars as pl

from nba_assets.io import history

PARTITION_COLUMN = "game_date"
# The partitions of one write encoded and staged at once (``LocalParquetStore.write_workers``).
WRITE_WORKERS = min(2, os.cpu_count() or 1)
_ABSENT = (errno.ENOENT, errno.ENOTDIR, errno.EBADF, errno.ELOOP)


def _stat(path: str) -> os.stat_result | None:
    """``os.stat`` of a plain string, None when there is no such file (pathlib's ``exists`` rule: any
    other error, e.g. a permission denied, is raised), without building a Path."""
    try:
        return os.stat(path)
    except OSError as exc:
        if exc.errno in _ABSENT:
            return None
        raise


def _exists(path: str) -> bool:
    return _stat(path) is not None


class StorageError(ValueError):
    """Bad input for a table write or read; the message names table, field and partition."""


@dataclass(frozen=True)
class TableRef:
    dataset: str
    table: str

    def __str__(self) -> str:
        return f"{self.dataset}.{self.table}"


@dataclass(frozen=True)
class JobStats:
    """What a warehouse job cost (None where a backend has no such figure, e.g. local files)."""

    bytes_processed: int | None = None
    bytes_billed: int | None = None
    slot_millis: int | None = None
    job_ids: tuple[str, ...] = ()

    def metadata(self, prefix: str) -> dict[str, int | str]:
        out: dict[str, int | str] = {}
        if self.bytes_processed is not None:
            out[f"{prefix}_bytes_processed"] = self.bytes_processed
        if self.bytes_billed is not None:
            out[f"{prefix}_bytes_billed"] = self.bytes_billed
        if self.slot_millis is not None:
            out[f"{prefix}_slot_millis"] = self.slot_millis
        if self.job_ids:
            out[f"{prefix}_job_ids"] = ", ".join(self.job_ids)
        return out


@dataclass(frozen=True)
class WriteStats:
    rows_by_partition: dict[date, int]
    jobs: JobStats = JobStats()

    @property
    def partitions(self) -> int:
        return len(self.rows_by_partition)

    @property
    def rows(self) -> int:
        return sum(self.rows_by_partition.values())

    @property
    def empty_partitions(self) -> int:
        return sum(1 for n in self.rows_by_partition.values() if n == 0)


class PartitionedTableStore(Protocol):
    def write_partitions(
        self, table: TableRef, frame: pl.DataFrame, partitions: Sequence[date], schema: pl.Schema
    ) -> WriteStats: ...

    def read_window(self, table: TableRef, partitions: Sequence[date], schema: pl.Schema) -> pl.DataFrame: ...

    def missing_partitions(self, table: TableRef, partitions: Sequence[date]) -> list[date]:
        """The partitions among ``partitions`` never written (an empty written partition is not missing)."""
        ...

    def delete_window(self, table: TableRef, first: date, last: date) -> int: ...

    def stored_partitions(self, table: TableRef) -> list[date]: ...

    @property
    def last_read(self) -> JobStats | None:
        """Cost of the latest ``read_window`` (None when the backend has no figure)."""
        ...


def conform(table: TableRef, frame: pl.DataFrame, schema: pl.Schema, partitions: Sequence[date]) -> pl.DataFrame:
    """Check a frame against its table's declared schema and return it in that exact shape.

    Missing or extra columns and values that cannot be cast are errors naming the table, the
    column and, for rows outside the written window, the partition.
    """
    missing = [c for c in schema.names() if c not in frame.columns]
    extra = [c for c in frame.columns if c not in schema]
    if missing or extra:
        raise StorageError(
            f"{table}: output columns do not match the declared schema"
            + (f"; missing {missing}" if missing else "")
            + (f"; undeclared {extra}" if extra else "")
        )
    try:
        out = frame.select(schema.names()).cast(dict(schema), strict=True)
    except pl.exceptions.PolarsError as exc:
        bad = [c for c in schema.names() if frame.schema[c] != schema[c]]
        raise StorageError(f"{table}: cannot cast columns {bad} to the declared types: {exc}") from exc
    if out.height:
        if out[PARTITION_COLUMN].null_count():
            raise StorageError(f"{table}: {out[PARTITION_COLUMN].null_count()} rows have a null {PARTITION_COLUMN}")
        allowed = set(partitions)
        stray = sorted(set(out[PARTITION_COLUMN].unique().to_list()) - allowed)
        if stray:
            raise StorageError(
                f"{table}: rows dated {[d.isoformat() for d in stray[:5]]} fall outside the partitions "
                f"being written ({min(allowed).isoformat()}..{max(allowed).isoformat()})"
            )
    return out


# Bumped by every write and delete of a table by any LocalParquetStore of this process (keyed by
# the table's absolute directory): a cached window of that table is stale from then on.
_WRITES: dict[str, int] = {}
# The same per day (a table history's days are current only while theirs is unchanged).
_DAY_WRITES: dict[str, dict[date, int]] = {}
_WRITES_LOCK = threading.Lock()


def _bump_writes(table_dir: Path, days: Sequence[date]) -> None:
    key = os.path.abspath(table_dir)
    with _WRITES_LOCK:
        _WRITES[key] = _WRITES.get(key, 0) + 1
        counts = _DAY_WRITES.setdefault(key, {})
        for day in days:
            counts[day] = counts.get(day, 0) + 1


def _day_writes(table_dir: str) -> dict[date, int]:
    with _WRITES_LOCK:
        return dict(_DAY_WRITES.get(table_dir, {}))


class _WindowCache:
    """The frames of recent window reads, least recently used first out past ``max_bytes``
    (``DataFrame.estimated_size``). An entry is served only while its *version* is unchanged: the
    table's write count in this process and, for every file of the window, the ``os.stat`` fields
    a replacement changes (device, inode, size, mtime and ctime in ns; a partition is replaced by
    renaming a new file over it, so a rewrite has another inode). A missing file is part of the
    version too (None), so a partition written since is seen."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._entries: OrderedDict[tuple, tuple[tuple, pl.DataFrame, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: tuple, version: tuple) -> pl.DataFrame | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] != version:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry[1].clone()  # a consumer's in-place change (insert_column, ...) stays its own

    def put(self, key: tuple, version: tuple, frame: pl.DataFrame) -> None:
        size = frame.estimated_size()
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old[2]
            if size > self.max_bytes:
                return
            self._entries[key] = (version, frame.clone(), size)
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, (_, _, dropped) = self._entries.popitem(last=False)
                self._bytes -= dropped


def _union(have: pl.Schema, wanted: pl.Schema) -> pl.Schema | None:
    """``have`` with the columns of ``wanted`` it lacks, or None if a column has another type in each."""
    if any(name in have and have[name] != dtype for name, dtype in wanted.items()):
        return None
    return pl.Schema({**dict(have.items()), **{n: t for n, t in wanted.items() if n not in have}})


def _file_version(path: str) -> tuple | None:
    st = _stat(path)
    return None if st is None else (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


class LocalParquetStore:
    """``<root>/<dataset>/<table>/game_date=YYYY-MM-DD/part-0.parquet``, one file a partition.

    ``window_cache_bytes`` > 0 keeps the frames of recent window reads (up to that many bytes) and
    serves the same window of the same table again from memory while none of its files changed
    (``_WindowCache``): the steps of a one-day run read the same history windows many times over
    (the 365 days of ``player_game_summary`` seven times, every stored day of
    ``prediction_accuracy`` three). Off by default; the ``Lake`` resource turns it on.

    With the cache on, a window of at least ``history_min_days`` days is served from the table's
    *history* instead (``nba_assets/io/history.py``): every stored partition in one frame, kept in
    memory and beside the partitions (``<table>/.history.parquet``), so another process reads one
    file instead of one per day. Each day is served from it only while its file is the one it was
    read from; the others are read from their files. Same rows, same order, same types as the scan.

    ``write_workers``: the threads a write encodes and stages its partitions on (each file is the
    bytes one thread writes; everything is still staged before the first rename)."""

    FILE_NAME = "part-0.parquet"

    def __init__(
        self,
        root: str | os.PathLike[str],
        window_cache_bytes: int = 0,
        write_workers: int = WRITE_WORKERS,
        history_min_days: int = history.MIN_DAYS,
    ):
        self.root = Path(root)
        self.history_min_days = max(1, history_min_days)
        self.write_workers = max(1, write_workers)
        self._cache = _WindowCache(window_cache_bytes) if window_cache_bytes > 0 else None
        # the tables' histories in memory (most recently used last), up to window_cache_bytes
        self._histories: OrderedDict[str, history.History] = OrderedDict()
        self._histories_bytes = window_cache_bytes
        self._histories_lock = threading.Lock()
        self._too_big: set[str] = set()  # tables whose history did not fit: scanned from then on

    @property
    def last_read(self) -> JobStats | None:
        return None

    def table_dir(self, table: TableRef) -> Path:
        return self.root / table.dataset / table.table

    def partition_file(self, table: TableRef, day: date) -> Path:
        return self.table_dir(table) / f"{PARTITION_COLUMN}={day.isoformat()}" / self.FILE_NAME

    def _partition_paths(self, table: TableRef, days: Sequence[date]) -> list[tuple[date, str]]:
        """``partition_file`` of each day as a plain string (a window is up to ~1,150 of them, and
        pathlib objects cost ~10x more than ``os.path`` on strings)."""
        base = str(self.table_dir(table))
        return [(d, os.path.join(base, f"{PARTITION_COLUMN}={d.isoformat()}", self.FILE_NAME)) for d in days]

    def write_partitions(
        self, table: TableRef, frame: pl.DataFrame, partitions: Sequence[date], schema: pl.Schema
    ) -> WriteStats:
        if not partitions:
            raise StorageError(f"{table}: a write needs at least one partition")
        frame = conform(table, frame, schema, partitions)
        by_day = {key[0]: part for key, part in frame.partition_by(PARTITION_COLUMN, as_dict=True).items()}
        with self.locked(table):
            try:
                self._remove_leftovers(table)
                return self._write_locked(table, frame, by_day, partitions, schema)
            finally:  # written or not, some partitions may have been replaced
                _bump_writes(self.table_dir(table), partitions)

    def _write_locked(
        self,
        table: TableRef,
        frame: pl.DataFrame,
        by_day: dict[date, pl.DataFrame],
        partitions: Sequence[date],
        schema: pl.Schema,
    ) -> WriteStats:
        staging = self.table_dir(table) / f".staging-{uuid.uuid4().hex}"
        replaced: list[date] = []
        day: date | None = None
        days = sorted(set(partitions))
        empty = frame.clear()

        def stage(d: date) -> Path:
            tmp = staging / f"{d.isoformat()}.parquet"
            # Encoded in memory, written by Python: a full disk is then a plain OSError (errno
            # and all) instead of polars' "Invalid thrift: transport error".
            buffer = io.BytesIO()
            by_day.get(d, empty).write_parquet(buffer, statistics=True)
            with buffer.getbuffer() as view:  # released even when the write fails
                tmp.write_bytes(view)
            return tmp

        try:
            staging.mkdir(parents=True, exist_ok=True)
            staged: list[tuple[date, Path, Path]] = []
            # Every partition is encoded and staged, on up to ``write_workers`` threads (polars
            # encodes with the GIL released); the first failure in date order is the one reported.
            workers = min(self.write_workers, len(days))
            if workers > 1:
                with ThreadPoolExecutor(max_workers=workers) as pool:
                    futures = [pool.submit(stage, d) for d in days]
                    try:
                        for day, future in zip(days, futures, strict=True):
                            staged.append((day, future.result(), self.partition_file(table, day)))
                    finally:
                        for future in futures:
                            future.cancel()
            else:
                for day in days:
                    staged.append((day, stage(day), self.partition_file(table, day)))
            for day, tmp, final in staged:  # everything is staged: now replace, one rename each
                final.parent.mkdir(parents=True, exist_ok=True)
                os.replace(tmp, final)
                replaced.append(day)
            day = None
            self._write_schema(table, schema)
        except (OSError, pl.exceptions.PolarsError) as exc:
            # Disk full, a file-size limit, an unwritable lake: say where, and what is still as it was.
            where = f" at partition {day.isoformat()}" if day else ""
            kept = (
                "every stored partition is unchanged"
                if not replaced
                else f"partitions {replaced[0].isoformat()}..{replaced[-1].isoformat()} were replaced, the others "
                "are unchanged"
            )
            raise StorageError(f"{table}: writing to {self.table_dir(table)} failed{where}: {exc}; {kept}") from exc
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return WriteStats({d: by_day[d].height if d in by_day else 0 for d in days})

    @contextlib.contextmanager
    def locked(self, table: TableRef, shared: bool = False) -> Iterator[None]:
        """The table's lock (``fcntl.flock`` on ``<table>/.lock``): exclusive for a writer, shared for
        a reader. The kernel releases it when the holder dies, so a killed writer never leaves it held."""
        base = self.table_dir(table)
        try:
            base.mkdir(parents=True, exist_ok=True)
            fd = os.open(base / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:  # an unwritable or full lake
            raise StorageError(f"{table}: cannot open the table's lock under {base}: {exc}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the lock

    def _remove_leftovers(self, table: TableRef) -> None:
        """Staging directories and temporary files of a writer that died (only called under the lock)."""
        base = self.table_dir(table)
        for path in base.glob(".staging-*"):
            shutil.rmtree(path, ignore_errors=True)
        for pattern in ("_schema.*.tmp", f"{history.FILE_NAME}.*.tmp"):  # and a killed reader's history
            for path in base.glob(pattern):
                path.unlink(missing_ok=True)

    def read_window(self, table: TableRef, partitions: Sequence[date], schema: pl.Schema) -> pl.DataFrame:
        if not self.table_dir(table).is_dir():
            return pl.DataFrame(schema=schema)
        # Under the shared lock: a scan opens a file more than once (footer, then data), so a file
        # replaced by a concurrent writer in between would read as a torn mix of old and new.
        with self.locked(table, shared=True):
            days = sorted(set(partitions))
            paths = [f for _, f in self._partition_paths(table, days)]
            if self._cache is None:
                return self._scan([f for f in paths if _exists(f)], schema)
            versions = [_file_version(f) for f in paths]
            if len(days) >= self.history_min_days:
                frame = self._from_history(table, days, paths, versions, schema)
                if frame is not None:
                    return frame
            key = (os.path.abspath(self.table_dir(table)), tuple(days), tuple(schema.items()))
            with _WRITES_LOCK:
                version = (_WRITES.get(key[0], 0), tuple(versions))
            frame = self._cache.get(key, version)
            if frame is None:
                frame = self._scan([f for f, v in zip(paths, versions, strict=True) if v is not None], schema)
                self._cache.put(key, version, frame)
            return frame

    def _from_history(
        self,
        table: TableRef,
        days: list[date],
        paths: list[str],
        versions: list[history.Version],
        schema: pl.Schema,
    ) -> pl.DataFrame | None:
        """The window from the table's history (``nba_assets/io/history.py``; under the table's shared
        lock), or None where it cannot serve it: the columns of ``schema`` clash with the history's,
        or the history would not fit in ``window_cache_bytes``.

        The history is the one in memory, else the lake's, else built from every stored day. Requested
        days that are no longer current are read from their files into a new history in memory (so
        the next window of the run is a slice again); more than ``history.STALE_DAYS`` of them, and
        the history is brought up to date over every stored day and stored in the lake."""
        base = os.path.abspath(self.table_dir(table))
        if base in self._too_big:
            return None
        writes = _day_writes(base)
        with self._histories_lock:
            past = self._histories.get(base)
            if past is not None:
                self._histories.move_to_end(base)
        if past is None:
            past = history.load(os.path.join(base, history.FILE_NAME), lambda d: writes.get(d, 0))
            if past is not None:
                self._keep(base, past)
        wanted = schema if past is None else past.schema  # the columns of the history to come
        if past is not None and not past.serves(schema):
            wanted = _union(past.schema, schema)
            if wanted is None:
                return None
            past = None
        counts = [writes.get(d, 0) for d in days]
        stale = {
            d: (f, v)
            for d, f, v, c in zip(days, paths, versions, counts, strict=True)
            if past is None or not past.current(d, v, c)
        }
        if stale:
            full = len(stale) > history.STALE_DAYS  # brought up to date over every stored day, and stored
            if full:
                stored = self._partition_paths(table, self.stored_partitions(table))
                known = {d: (f, _file_version(f)) for d, f in stored}
                known.update({d: ("", None) for d in (past.days if past is not None else ()) if d not in known})
            else:
                known = stale
            wider = None
            if past is None:  # a new history: with every column the files hold, for the next readers
                on_disk = [f for f, v in zip(paths, versions, strict=True) if v is not None]
                latest = on_disk[-1] if on_disk else None
                wider = _union(wanted, pl.read_parquet_schema(latest)) if latest else None
            try:
                past = self._updated(base, past, known, wider or wanted, writes, store=full)
            except pl.exceptions.PolarsError:
                if wider is None or wider == wanted:
                    raise
                # a column the request does not name reads badly in some file: the request's columns
                past = self._updated(base, None, known, wanted, writes, store=full)
        if past is None:
            return None
        files = dict(zip(days, paths, strict=True))  # a day replaced since its stat is read again here
        frame = past.window(days, versions, counts, lambda d: self._scan([files[d]], past.schema))
        return frame if frame.schema == schema else frame.select(list(schema))

    def _updated(
        self,
        base: str,
        past: history.History | None,
        known: dict[date, tuple[str, history.Version]],
        schema: pl.Schema,
        writes: dict[date, int],
        store: bool,
    ) -> history.History | None:
        """A new history of the days of ``past`` and of ``known`` (day: its file and version now): a
        known day's rows from ``past`` while current, else read from its file (one scan), and none
        if it has no file; the other days of ``past`` as they were. Kept in memory, and with
        ``store`` in the lake (``history.store``); None if it would not fit in memory."""
        read_ns = time.time_ns()  # before the scan: the files' ages are judged from here
        days = sorted(set(known) | set(past.days if past is not None else ()))
        reread = [
            f
            for d, (f, v) in known.items()
            if v is not None and (past is None or not past.current(d, v, writes.get(d, 0)))
        ]
        fresh = self._scan_by_file(reread, schema)
        pieces = []
        for day in days:
            if day in known:
                path, version = known[day]
                if version is None:  # no file (removed since)
                    continue
                if path in fresh:
                    rows = fresh[path]
                    pieces.append((day, version, writes.get(day, 0), history.settled(version, read_ns), rows))
                    continue
            entry = past.days[day]  # current, or not looked at: as it was
            pieces.append((day, entry.version, entry.writes, entry.settled, past.frame.slice(entry.offset, entry.rows)))
        built = history.build(pieces, schema)
        if built.frame.estimated_size() > self._histories_bytes:
            self._too_big.add(base)
            return None
        if store:
            history.store(os.path.join(base, history.FILE_NAME), built)
        self._keep(base, built)
        return built

    def _keep(self, base: str, kept: history.History) -> None:
        with self._histories_lock:
            self._histories[base] = kept
            self._histories.move_to_end(base)
            while sum(h.frame.estimated_size() for h in self._histories.values()) > self._histories_bytes:
                self._histories.popitem(last=False)

    @classmethod
    def _scan_by_file(cls, files: list[str], schema: pl.Schema) -> dict[str, pl.DataFrame]:
        """The rows of each file, from one ``_scan`` (its rules, its rows)."""
        if not files:
            return {}
        column = "__history_file"
        while column in schema:
            column += "_"
        frame = cls._scan(files, schema, file_column=column)
        counts = dict(frame[column].value_counts().iter_rows())
        frame = frame.drop(column)
        out, offset = {}, 0
        for path in files:
            rows = counts.get(path, 0)
            out[path] = frame.slice(offset, rows)
            offset += rows
        return out

    @staticmethod
    def _scan(files: list[str], schema: pl.Schema, file_column: str | None = None) -> pl.DataFrame:
        """``file_column``: one column more, each row's file (as given)."""
        if not files:
            return pl.DataFrame(schema=schema)
        # One scan over every file of the window. Columns a later schema added read as nulls.
        # The scan yields one chunk per file (a 4-season window: ~1,150 chunks per column), and
        # every later filter / join / sort pays per chunk (a date filter on 86k rows in 542
        # chunks: ~140 ms, contiguous: 0.3 ms); one contiguous frame costs ~20 ms here.
        return (
            pl.scan_parquet(
                files,
                schema=schema,
                missing_columns="insert",
                extra_columns="ignore",
                glob=False,
                include_file_paths=file_column,
            )
            .collect()
            .rechunk()
        )

    def missing_partitions(self, table: TableRef, partitions: Sequence[date]) -> list[date]:
        return [d for d, f in self._partition_paths(table, sorted(set(partitions))) if not _exists(f)]

    def delete_window(self, table: TableRef, first: date, last: date) -> int:
        removed: list[date] = []
        with self.locked(table):
            try:
                for day in self.stored_partitions(table):
                    if first <= day <= last:
                        removed.append(day)  # counted as written even if the removal fails midway
                        shutil.rmtree(self.partition_file(table, day).parent)
            finally:
                _bump_writes(self.table_dir(table), removed)
        return len(removed)

    def stored_partitions(self, table: TableRef) -> list[date]:
        base = self.table_dir(table)
        if not base.exists():
            return []
        prefix = f"{PARTITION_COLUMN}="
        # os.scandir and plain strings: a four-season table is ~1,150 directories, and pathlib's
        # objects cost ~25 ms of them per listing (the summary, the season-wide inputs).
        with os.scandir(base) as entries:
            names = [e.name for e in entries if e.name.startswith(prefix)]
        return sorted(
            date.fromisoformat(name[len(prefix) :])
            for name in names
            if _exists(os.path.join(base, name, self.FILE_NAME))
        )

    def _write_schema(self, table: TableRef, schema: pl.Schema) -> None:
        path = self.table_dir(table) / "_schema.json"
        body = json.dumps({name: str(dtype) for name, dtype in schema.items()}, indent=1)
        tmp = path.with_suffix(f".{uuid.uuid4().hex}.tmp")
        tmp.write_text(body)
        os.replace(tmp, path)
