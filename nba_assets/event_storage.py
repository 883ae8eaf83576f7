"""The project's embedded Dagster storage: SQLite under ``$DAGSTER_HOME`` that writes like a database.

Dagster's stock ``SqliteEventLogStorage`` (1.13.27) creates a new SQLAlchemy engine for every write
(``_connect``: ~17 ms per partition event, the compiled-statement cache is lost with each engine),
opens the run shard and the index shard once per asset event, and writes a batch of events
(``store_event_batch``, which Dagster calls when ``DAGSTER_EVENT_BATCH_SIZE`` > 0) one by one.

``BatchingSqliteEventLogStorage`` keeps one engine per shard (the index shard and the most recently
used run shards) and writes a batch in one transaction per shard: every event into the run shard;
the asset and asset-check events mirrored into the index shard with their asset event tags, their
``asset_keys`` rows and their planned check-execution rows, exactly the rows the stock ``store_event``
writes for each of them. The index transaction commits before the run-shard transaction, and a
failure rolls both back, so Dagster's fallback (one ``store_event`` per event after a failed batch)
never duplicates rows. ``batch_stats`` counts what ran (the contract test asserts it).

Two options (``config:`` keys; both on in the dagster.yaml ``nba_assets.instance`` writes, off the
rows are stock) make it write less: ``compress_events`` stores each event body zlib-compressed and
reads it back as the JSON text (``pack_event``, ``_unpacking_row``), and ``one_plan_per_check``
writes one planned row per asset check and run (``_check_plan_partitions``). ``write_stats_file``
appends the seconds each process spent writing events (``_WriteStats``, the bench's figure).
``synchronous: NORMAL`` (in that dagster.yaml too; SQLite's default is FULL) sets the shards'
``PRAGMA synchronous``: in WAL mode a commit then no longer waits for the disk's flush (0.30 →
0.045 ms per commit measured here; a one-day run commits ~1,100 times). The database cannot be
corrupted either way; what NORMAL gives up is the last transactions before a power loss or an OS
crash (not a process crash), as the lake's own Parquet files, renamed into place without an
fsync, already do. The production instance is PostgreSQL (``synchronous_commit`` on).

``NbaSqliteStorage`` is the unified storage configured in ``dagster.yaml``::

    storage:
      custom:
        module: nba_assets.event_storage
        class: NbaSqliteStorage
        config:
          base_dir: /path/to/dagster_home

It keeps Dagster's default SQLite layout under ``base_dir`` (``history/``, ``history/runs/``,
``schedules/``), so an existing instance keeps its history; runs and schedules keep Dagster's storages and rows,
opened without the stock constructor's alembic head lookup once their databases are stamped
(``_stamped``: ~80 ms → ~8 ms per instance built from its ref, which a sensor evaluation does each tick)
and connected through an engine kept per process (``_KeptEngine``) instead of a new one per call.

Everything this module relies on of Dagster's internals is imported in the block below and listed
in ``DAGSTER_INTERNALS`` (``nba_assets_tests/test_event_storage.py`` checks each one), so a Dagster
upgrade that moves or changes them fails that test rather than a user's run.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import shutil
import sqlite3
import threading
import time
import zlib
from collections import Counter, OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from typing import Any

import sqlalchemy as db
import yaml
from dagster import BoolSource, Field, StringSource
from dagster import __version__ as dagster_version

# --- Dagster internals relied on (1.13.27); keep this block and DAGSTER_INTERNALS in step ---------
from dagster._core.events import ASSET_CHECK_EVENTS, ASSET_EVENTS, BATCH_WRITABLE_EVENTS, DagsterEventType
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus
from dagster._core.storage.event_log.schema import (
    AssetCheckExecutionsTable,
    AssetKeyTable,
    SqlEventLogStorageTable,
)
from dagster._core.storage.event_log.sqlite.sqlite_event_log import INDEX_SHARD_NAME, SqliteEventLogStorage
from dagster._core.storage.runs import SqliteRunStorage
from dagster._core.storage.schedules import SqliteScheduleStorage
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS, create_db_conn_string
from dagster._core.storage.sqlite_storage import (
    DagsterSqliteStorage,
    _event_logs_directory,
    _runs_directory,
    _schedule_directory,
)
from dagster._serdes import ConfigurableClassData
from dagster_shared.serdes import serialize_value
from sqlalchemy.engine import Connection, Engine

DAGSTER_INTERNALS = (
    # classes subclassed, and their members used or overridden
    "dagster._core.storage.event_log.sqlite.sqlite_event_log.SqliteEventLogStorage._connect",
    "dagster._core.storage.event_log.sqlite.sqlite_event_log.SqliteEventLogStorage._initdb",
    "dagster._core.storage.event_log.sqlite.sqlite_event_log.SqliteEventLogStorage.conn_string_for_shard",
    "dagster._core.storage.event_log.sqlite.sqlite_event_log.SqliteEventLogStorage.path_for_shard",
    # the run-shard template's name must match none of these methods' ``*.db`` globs
    "dagster._core.storage.event_log.sqlite.sqlite_event_log.SqliteEventLogStorage.get_all_run_ids",
    "dagster._core.storage.event_log.sqlite.sqlite_event_log.SqliteEventLogStorage.from_config_value",
    "dagster._core.storage.event_log.sqlite.sqlite_event_log.SqliteEventLogStorage.has_table",
    "dagster._core.storage.event_log.sqlite.sqlite_event_log.SqliteEventLogStorage.wipe",
    "dagster._core.storage.event_log.sqlite.sqlite_event_log.SqliteEventLogStorage.dispose",
    "dagster._core.storage.event_log.sqlite.sqlite_event_log.INDEX_SHARD_NAME",
    "dagster._core.storage.event_log.sql_event_log.SqlEventLogStorage._event_to_row",
    "dagster._core.storage.event_log.sql_event_log.SqlEventLogStorage.prepare_insert_event",
    "dagster._core.storage.event_log.sql_event_log.SqlEventLogStorage._store_asset_check_evaluation_planned",
    "dagster._core.storage.event_log.sql_event_log.SqlEventLogStorage._update_asset_check_evaluation",
    "dagster._core.storage.event_log.sqlite.sqlite_event_log.SqliteEventLogStorage.store_event",
    "dagster._core.storage.event_log.sqlite.sqlite_event_log.SqliteEventLogStorage.config_type",
    "dagster._core.storage.event_log.sql_event_log.SqlEventLogStorage.reindex_events",
    "dagster._core.storage.event_log.sql_event_log.SqlEventLogStorage.reindex_assets",
    "dagster._core.storage.event_log.sql_event_log.SqlEventLogStorage._event_insert_timestamp",
    "dagster._core.storage.event_log.sql_event_log.SqlEventLogStorage._store_asset_event_tags",
    "dagster._core.storage.event_log.sql_event_log.SqlEventLogStorage._get_asset_entry_values",
    "dagster._core.storage.event_log.sql_event_log.SqlEventLogStorage._has_asset_key_index_cols_on_connection",
    "dagster._core.storage.event_log.base.EventLogStorage.store_event_batch",
    "dagster._core.storage.sqlite_storage.DagsterSqliteStorage.from_config_value",
    # NbaSqliteStorage.__init__ sets the attributes the stock constructor sets (test_event_storage
    # compares them) and opens a stamped run / schedule database as the stock from_local does
    "dagster._core.storage.sqlite_storage.DagsterSqliteStorage.__init__",
    "dagster._core.storage.sqlite_storage._runs_directory",
    "dagster._core.storage.sqlite_storage._schedule_directory",
    "dagster._core.storage.runs.SqliteRunStorage.from_local",
    "dagster._core.storage.schedules.SqliteScheduleStorage.from_local",
    "dagster._core.storage.sqlite.create_db_conn_string",
    # subclassed: connect() through a kept engine (_KeptEngine); dispose() extended
    "dagster._core.storage.runs.SqliteRunStorage.connect",
    "dagster._core.storage.runs.SqliteRunStorage.dispose",
    "dagster._core.storage.schedules.SqliteScheduleStorage.connect",
    "dagster._core.storage.schedules.SqliteScheduleStorage.dispose",
    "dagster._core.storage.sqlite_storage.DagsterSqliteStorage.config_type",
    "dagster._core.storage.sqlite_storage._event_logs_directory",
    # tables and constants whose rows / meaning are reproduced in the batch write
    "dagster._core.storage.event_log.schema.SqlEventLogStorageTable",
    "dagster._core.storage.event_log.schema.AssetKeyTable",
    "dagster._core.storage.event_log.schema.AssetCheckExecutionsTable",
    "dagster._core.storage.asset_check_execution_record.AssetCheckExecutionRecordStatus.PLANNED",
    "dagster._core.events.ASSET_EVENTS",
    "dagster._core.events.ASSET_CHECK_EVENTS",
    "dagster._core.events.BATCH_WRITABLE_EVENTS",
    "dagster._core.storage.sqlite.SQLITE_BUSY_TIMEOUT_SECONDS",
)
# ---------------------------------------------------------------------------------------------------

log = logging.getLogger(__name__)

# Run shards whose engine stays open besides the index shard (a run worker writes one run, the
# daemon and the webserver a few at a time); older ones are disposed.
MAX_OPEN_RUN_SHARDS = 8
# Rows per multi-row INSERT ... RETURNING statement: below SQLite's bound-parameter limit
# (SQLITE_MAX_VARIABLE_NUMBER of the linked SQLite: 32,766 by default since 3.32, 999 before).


def _sqlite_max_variables() -> int:
    with contextlib.closing(sqlite3.connect(":memory:")) as conn:
        return conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)


_SQLITE_MAX_VARIABLES = _sqlite_max_variables()
_EVENT_ROW_COLUMNS = 7  # run_id, event, dagster_event_type, timestamp, step_key, asset_key, partition
MAX_ROWS_PER_STATEMENT = min(1000, _SQLITE_MAX_VARIABLES // _EVENT_ROW_COLUMNS)


# The page size of every shard this storage creates (an existing file keeps its own: SQLite fixes it
# when the file is first written, and WAL mode cannot change it). A partition event is ~2.8 KB of
# JSON: with SQLite's default 4 KB pages one event fills a page (~4 KB a row); 16 KB pages hold five.
# Measured on the shards of a `make demo` instance (the same rows copied into fresh files):
# run shard 146 -> 119 MB, index shard 288 -> 247 MB.
PAGE_SIZE = 16384


# The empty run shard new run shards are copied from (``_run_shard_template``), one per Dagster version.
RUN_SHARD_TEMPLATE_PREFIX = ".run_shard_template-"


def _create_with_page_size(path: str, page_size: int = PAGE_SIZE) -> None:
    """Create an empty SQLite file with ``page_size`` (no-op when the file exists and holds data)."""
    if os.path.exists(path) and os.path.getsize(path) > 0:
        return
    with contextlib.suppress(sqlite3.Error), contextlib.closing(sqlite3.connect(path, timeout=5)) as conn:
        if conn.execute("select count(*) from sqlite_master").fetchone()[0] == 0:
            conn.execute(f"PRAGMA page_size={int(page_size)}")
            conn.execute("VACUUM")  # writes the header: the file now has page_size


def _has_tables(path: str) -> bool:
    with contextlib.closing(sqlite3.connect(path, timeout=SQLITE_BUSY_TIMEOUT_SECONDS)) as conn:
        return conn.execute("select count(*) from sqlite_master where type = 'table'").fetchone()[0] > 0


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- compressed event bodies -------------------------------------------------------------------
# With ``compress_events`` an event_logs row's ``event`` (the serialized EventLogEntry, 2-15 KB of
# JSON for a partition event) is stored as a BLOB: EVENT_MAGIC + zlib. Every connection of the
# storage's engines gets a row factory that turns such a value back into the JSON text before
# SQLAlchemy or Dagster see the row, so every stock read (run logs, asset history, records, the
# watcher) deserializes what it would have read; text rows (an instance written before, or by the
# stock storage) read as they are. Only this storage can read the compressed rows: an instance
# written with it stays on it (``python -m nba_assets.instance`` writes it).
EVENT_MAGIC = b"NBZ1"
ZLIB_LEVEL = 6


def pack_event(text: str) -> bytes:
    return EVENT_MAGIC + zlib.compress(text.encode("utf-8"), ZLIB_LEVEL)


def unpack_value(value: Any) -> Any:
    if type(value) is bytes and value[:4] == EVENT_MAGIC:
        return zlib.decompress(value[4:]).decode("utf-8")
    return value


def _unpacking_row(cursor: sqlite3.Cursor, row: tuple) -> tuple:
    for value in row:
        if type(value) is bytes and value[:4] == EVENT_MAGIC:
            return tuple(unpack_value(v) for v in row)
    return row


def _on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    dbapi_connection.row_factory = _unpacking_row


SYNCHRONOUS = ("FULL", "NORMAL")  # the values of the ``synchronous`` option (SQLite's PRAGMA synchronous)


def _synchronous_on_connect(level: str):
    """A connect listener that sets the connection's ``PRAGMA synchronous`` to ``level``."""

    def on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        dbapi_connection.execute(f"PRAGMA synchronous={level}")

    return on_connect


class _WriteStats:
    """Seconds spent in store_event / store_event_batch by this process, appended as one JSON line
    to ``path`` when the process exits (the bench sums them: the event-write share of a run)."""

    def __init__(self, path: str):
        self.path = path
        self.store_s = 0.0
        self.events = 0
        self.calls = 0
        atexit.register(self.flush)

    def add(self, seconds: float, events: int) -> None:
        self.store_s += seconds
        self.events += events
        self.calls += 1

    def flush(self) -> None:
        if not self.calls:
            return
        line = {"pid": os.getpid(), "store_s": round(self.store_s, 4), "events": self.events, "calls": self.calls}
        with contextlib.suppress(OSError), open(self.path, "a", encoding="utf-8") as out:
            out.write(json.dumps(line) + "\n")
        self.store_s, self.events, self.calls = 0.0, 0, 0


# The options of both classes in dagster.yaml (all optional; the stock behaviour when absent).
OPTION_FIELDS = {
    "compress_events": Field(BoolSource, is_required=False, default_value=False),
    "one_plan_per_check": Field(BoolSource, is_required=False, default_value=False),
    "write_stats_file": Field(StringSource, is_required=False),
    "synchronous": Field(StringSource, is_required=False, default_value="FULL"),
}


class OnePlanPerCheck:
    """The asset-check plan rows of an SQL event log storage (SQLite or PostgreSQL): with
    ``one_plan_per_check`` one planned row per check and run (see ``_check_plan_partitions``);
    without it, Dagster's rows. Mixed in before the storage class; the subclass sets
    ``_one_plan_per_check``."""

    _one_plan_per_check: bool = False

    def _check_plan_partitions(self, planned: Any) -> list[str | None]:
        """The partitions of a planned check's PLANNED rows. Stock: one row per partition of the
        planned subset. Dagster 1.13.27 gives a check planned in a partitioned run the run's whole
        subset even when the check has no partitions (DagsterRun.get_resolved_partitions_subset_for_events
        returns run.partitions_subset whatever the partitions definition): its one evaluation carries
        no partition, matches none of those rows and is inserted beside them, and the rows stay
        PLANNED for good (1,154 per check in a four-season run: 107 MB of the demo's instance, and as
        many skipped executions in the check's history in the UI). With one_plan_per_check the plan is
        one row without partition, which that evaluation then completes, as for an unpartitioned run
        (an evaluation of one partition takes the row: _update_asset_check_evaluation). What a
        partitioned check loses is its per-partition "planned" state while the run is going; the
        project has no partitioned checks (test_wiring asserts it)."""
        if planned.partitions_subset is None or self._one_plan_per_check:
            return [None]
        return list(planned.partitions_subset.get_partition_keys())

    def _store_asset_check_evaluation_planned(self, event: EventLogEntry, event_id: int | None) -> None:
        if not self._one_plan_per_check:
            super()._store_asset_check_evaluation_planned(event, event_id)
            return
        with self.index_connection() as conn:
            self._write_check_planned_rows(conn, [(event, event_id)])

    def _update_asset_check_evaluation(self, event: EventLogEntry, event_id: int | None) -> None:
        """Stock, after one step: with one_plan_per_check an evaluation of one partition (a partitioned
        check) first takes the run's plan row without partition, so that a run leaves one row per
        evaluation there too (stock would match its per-partition plan row)."""
        evaluation = event.get_dagster_event().event_specific_data
        if self._one_plan_per_check and evaluation.partition is not None:
            table = AssetCheckExecutionsTable
            with self.index_connection() as conn:
                conn.execute(
                    table.update()
                    .where(
                        db.and_(
                            table.c.asset_key == evaluation.asset_key.to_string(),
                            table.c.check_name == evaluation.check_name,
                            table.c.run_id == event.run_id,
                            table.c.partition.is_(None),
                            table.c.execution_status == AssetCheckExecutionRecordStatus.PLANNED.value,
                        )
                    )
                    .values(partition=evaluation.partition)
                )
        super()._update_asset_check_evaluation(event, event_id)

    def _write_check_planned_rows(self, conn: Connection, events: Sequence[tuple[EventLogEntry, int | None]]) -> None:
        """The asset_check_executions rows of stock _store_asset_check_evaluation_planned: one PLANNED
        row per partition of _check_plan_partitions."""
        rows = []
        for event, event_id in events:
            if event.dagster_event_type != DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED:
                continue
            planned = event.get_dagster_event().event_specific_data
            partition_keys = self._check_plan_partitions(planned)
            serialized = serialize_value(event)
            timestamp = self._event_insert_timestamp(event)
            rows.extend(
                dict(
                    asset_key=planned.asset_key.to_string(),
                    check_name=planned.check_name,
                    partition=partition_key,
                    run_id=event.run_id,
                    execution_status=AssetCheckExecutionRecordStatus.PLANNED.value,
                    evaluation_event=serialized,
                    evaluation_event_timestamp=timestamp,
                    evaluation_event_storage_id=event_id,
                )
                for partition_key in partition_keys
            )
        if rows:
            conn.execute(AssetCheckExecutionsTable.insert(), rows)


class BatchingSqliteEventLogStorage(OnePlanPerCheck, SqliteEventLogStorage):
    """Stock SQLite event log storage (run shards + index shard) that keeps its engines and writes
    ``store_event_batch`` in one transaction per shard."""

    def __init__(
        self,
        base_dir: str,
        inst_data: ConfigurableClassData | None = None,
        compress_events: bool = False,
        one_plan_per_check: bool = False,
        write_stats_file: str | None = None,
        synchronous: str = "FULL",
    ):
        # compress_events: event bodies stored zlib-compressed (see pack_event). one_plan_per_check:
        # one planned row per (check, run), see _check_plan_partitions. write_stats_file: see _WriteStats.
        # synchronous: the shards' PRAGMA synchronous (SQLite's default FULL, or NORMAL; module docstring).
        self._synchronous = str(synchronous).upper()
        if self._synchronous not in SYNCHRONOUS:
            raise ValueError(f"{type(self).__name__}: synchronous must be one of {SYNCHRONOUS}, not {synchronous!r}")
        self._compress_events = bool(compress_events)
        self._one_plan_per_check = bool(one_plan_per_check)
        self._write_stats = _WriteStats(write_stats_file) if write_stats_file else None
        self._in_batch = threading.local()
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._engines_pid = os.getpid()
        self._engines_lock = threading.Lock()
        self._known_tables: set[str] = set()
        self._asset_key_index_cols: bool | None = None
        # batches: batch writes committed; batched_events: events in them; fallback_batches: batches
        # handed to the one-by-one path (an event type Dagster does not batch); failed_batches:
        # batch writes that raised (Dagster then stores the events one by one); index_insert_statements:
        # the multi-row INSERTs of mirrored events (a batch is chunked into several).
        self.batch_stats: Counter[str] = Counter()
        # A new index shard is created with PAGE_SIZE; the stock constructor initializes the index
        # only when its file does not exist, so an index file without tables is initialized here, as
        # the stock constructor does (schema, then the data migrations marked done).
        index_path = os.path.join(os.path.abspath(base_dir), f"{INDEX_SHARD_NAME}.db")
        os.makedirs(os.path.dirname(index_path), exist_ok=True)
        _create_with_page_size(index_path)
        uninitialized = not _has_tables(index_path)
        super().__init__(base_dir, inst_data=inst_data)
        if uninitialized:
            self._initdb(self._engine(INDEX_SHARD_NAME), for_index_shard=True)
            self.reindex_events()
            self.reindex_assets()

    @classmethod
    def config_type(cls) -> dict:
        return {**SqliteEventLogStorage.config_type(), **OPTION_FIELDS}

    # The stock classmethod constructs SqliteEventLogStorage itself, not cls.
    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, Any]
    ) -> BatchingSqliteEventLogStorage:
        return cls(inst_data=inst_data, **config_value)

    # --- engines --------------------------------------------------------------------------------

    def _engine(self, shard: str) -> Engine:
        with self._engines_lock:
            if self._engines_pid != os.getpid():  # a forked child: never share the parent's SQLite connections
                for engine in self._engines.values():
                    engine.dispose(close=False)
                self._engines.clear()
                self._engines_pid = os.getpid()
            engine = self._engines.get(shard)
            if engine is not None:
                self._engines.move_to_end(shard)
                return engine
            engine = db.create_engine(
                self.conn_string_for_shard(shard),
                poolclass=db.pool.QueuePool,
                pool_size=1,
                max_overflow=4,
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
            )
            db.event.listen(engine, "connect", _on_connect)  # compressed bodies read back as text
            if self._synchronous != "FULL":
                db.event.listen(engine, "connect", _synchronous_on_connect(self._synchronous))
            self._engines[shard] = engine
            run_shards = [name for name in self._engines if name != INDEX_SHARD_NAME]
            for name in run_shards[: max(0, len(run_shards) - MAX_OPEN_RUN_SHARDS)]:
                self._engines.pop(name).dispose()
            return engine

    def _dispose_engines(self) -> None:
        with self._engines_lock:
            for engine in self._engines.values():
                engine.dispose()
            self._engines.clear()

    @contextmanager
    def _shard_transaction(self, shard: str) -> Iterator[Connection]:
        engine = self._engine(shard)
        if shard not in self._initialized_dbs:
            if shard == INDEX_SHARD_NAME or not self._copy_run_shard_template(shard):
                self._initdb(engine)
            self._initialized_dbs.add(shard)
        with engine.connect() as conn, conn.begin():
            yield conn

    def _run_shard_template(self) -> str:
        """An empty run shard as ``_initdb`` makes it (schema, WAL mode, alembic stamp at head), made
        once per Dagster version under the base directory. ``_initdb`` of a new shard costs ~0.2-0.5 s
        (SQLAlchemy's create_all, alembic's script directory and stamp) and every run pays it; a copy
        of this file costs ~1 ms. The name matches none of the stock ``*.db`` globs (run ids, wipe)."""
        path = os.path.join(self._base_dir, f"{RUN_SHARD_TEMPLATE_PREFIX}{dagster_version}.sqlite")
        if os.path.exists(path):
            return path
        tmp = f"{path}.{os.getpid()}.{threading.get_ident()}.tmp"
        engine = db.create_engine(f"sqlite:///{tmp}", poolclass=db.pool.NullPool)
        try:
            self._initdb(engine)
            with engine.connect() as conn:  # everything in the main file: a copy needs no -wal
                conn.execute(db.text("PRAGMA wal_checkpoint(TRUNCATE)"))
        finally:
            engine.dispose()
        os.replace(tmp, path)
        for suffix in ("-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp + suffix)
        return path

    def _copy_run_shard_template(self, shard: str) -> bool:
        """A new run shard as a copy of the template; False when the shard's file already holds data
        (or another process made it first): the stock ``_initdb`` then checks it as before."""
        target = self.path_for_shard(shard)
        if os.path.exists(target) and os.path.getsize(target) > 0:
            return False
        tmp = f"{target}.{os.getpid()}.{threading.get_ident()}.tmp"
        try:
            shutil.copyfile(self._run_shard_template(), tmp)
            if os.path.exists(target):  # an empty file (a reader's connect): replace it
                if os.path.getsize(target) > 0:
                    return False
                os.replace(tmp, target)
            else:
                os.link(tmp, target)  # fails if another process created the shard meanwhile
            return True
        except FileExistsError:
            return False
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock, self._shard_transaction(shard) as conn:
            yield conn

    def _initdb(self, engine: Engine, for_index_shard: bool = False) -> None:
        if engine.url.database:
            _create_with_page_size(engine.url.database)
        super()._initdb(engine, for_index_shard=for_index_shard)

    def has_table(self, table_name: str) -> bool:
        # The stock method builds an engine per call, and _store_asset_event_tags asks it per event.
        # Tables are only ever added by migrations, so a table once seen is remembered.
        if table_name in self._known_tables:
            return True
        with self._engine(INDEX_SHARD_NAME).connect() as conn:
            found = bool(conn.dialect.has_table(conn, table_name))
        if found:
            self._known_tables.add(table_name)
        return found

    def _has_asset_key_index_cols_on_connection(self, conn: Connection) -> bool:
        # Stock inspects the asset_keys columns on every asset event; the column only ever appears.
        if not self._asset_key_index_cols:
            self._asset_key_index_cols = super()._has_asset_key_index_cols_on_connection(conn)
        return self._asset_key_index_cols

    def wipe(self) -> None:
        self._dispose_engines()
        super().wipe()
        self._known_tables.clear()
        self._asset_key_index_cols = None

    def dispose(self) -> None:
        super().dispose()
        self._dispose_engines()

    # --- batch writes ---------------------------------------------------------------------------

    def _event_to_row(self, event: EventLogEntry) -> dict[str, Any]:
        row = super()._event_to_row(event)
        if self._compress_events:
            row["event"] = pack_event(row["event"])
        return row

    def store_event(self, event: EventLogEntry) -> None:
        if not self._write_stats or getattr(self._in_batch, "active", False):
            super().store_event(event)
            return
        started = time.perf_counter()
        try:
            super().store_event(event)
        finally:
            self._write_stats.add(time.perf_counter() - started, 1)

    def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
        if not events:
            return
        started = time.perf_counter()
        self._in_batch.active = True  # a fallback's store_event calls are this batch's time
        try:
            self._store_event_batch(events)
        finally:
            self._in_batch.active = False
            if self._write_stats:
                self._write_stats.add(time.perf_counter() - started, len(events))

    def _store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
        if not all(event.is_dagster_event and event.dagster_event_type in BATCH_WRITABLE_EVENTS for event in events):
            self.batch_stats["fallback_batches"] += 1
            super().store_event_batch(events)  # one store_event per event
            return
        try:
            self._write_batch(events)
        except Exception:
            self.batch_stats["failed_batches"] += 1
            log.exception("batch write of %d events failed (Dagster stores them one by one)", len(events))
            raise
        self.batch_stats["batches"] += 1
        self.batch_stats["batched_events"] += len(events)

    def _insert_returning_ids(self, conn: Connection, rows: Sequence[dict[str, Any]]) -> list[int]:
        """Multi-row INSERTs into event_logs, chunked below the bound-parameter limit; the ids in the
        order of ``rows`` (SQLite assigns the rowids of one INSERT in VALUES order; RETURNING lists
        them in no defined order, so they are sorted and checked to be consecutive)."""
        ids: list[int] = []
        for chunk in _chunks(rows, MAX_ROWS_PER_STATEMENT):
            result = conn.execute(
                SqlEventLogStorageTable.insert().values(list(chunk)).returning(SqlEventLogStorageTable.c.id)
            )
            chunk_ids = sorted(int(row[0]) for row in result.fetchall())
            self.batch_stats["index_insert_statements"] += 1
            if len(chunk_ids) != len(chunk) or chunk_ids[-1] - chunk_ids[0] != len(chunk) - 1:
                raise RuntimeError(f"event_logs ids of a {len(chunk)}-row insert are not consecutive")
            ids.extend(chunk_ids)
        return ids

    def _write_batch(self, events: Sequence[EventLogEntry]) -> None:
        rows = [self._event_to_row(event) for event in events]
        mirrored = [
            i for i, event in enumerate(events) if event.dagster_event_type in ASSET_EVENTS | ASSET_CHECK_EVENTS
        ]
        run_ids = {event.run_id for event in events}
        with self._db_lock, ExitStack() as stack:
            # The run shards' transactions are opened first and committed last (ExitStack unwinds
            # in reverse): the index commits first, and an index failure rolls the run shards back.
            run_conns = {run_id: stack.enter_context(self._shard_transaction(run_id)) for run_id in sorted(run_ids)}
            for run_id, conn in run_conns.items():
                conn.execute(SqlEventLogStorageTable.insert(), [row for row in rows if row["run_id"] == run_id])
            if not mirrored:
                return
            index = stack.enter_context(self._shard_transaction(INDEX_SHARD_NAME))
            ids = self._insert_returning_ids(index, [rows[i] for i in mirrored])
            event_id = dict(zip(mirrored, ids, strict=True))
            self._write_asset_rows(index, [(events[i], event_id[i]) for i in mirrored])
            self._write_check_planned_rows(index, [(events[i], event_id[i]) for i in mirrored])

    def _write_asset_rows(self, conn: Connection, events: Sequence[tuple[EventLogEntry, int]]) -> None:
        """What stock store_event writes per asset event (_store_asset_event_tags, _store_asset_event),
        for the whole batch: the tag rows in one executemany, one asset_keys row per asset key with the
        values of its events applied in order (each stock update sets only the columns its event
        type carries, so the merge leaves the same row as the sequence of updates)."""
        asset_events = [
            (event, event_id)
            for event, event_id in events
            if event.dagster_event_type in ASSET_EVENTS and event.get_dagster_event().asset_key
        ]
        if not asset_events:
            return
        self._store_asset_event_tags(conn, [e for e, _ in asset_events], [i for _, i in asset_events])
        has_index_cols = self._has_asset_key_index_cols_on_connection(conn)
        values_by_key: dict[str, dict[str, Any]] = {}
        for event, event_id in asset_events:
            values = self._get_asset_entry_values(event, event_id, has_index_cols)
            if values:
                values_by_key.setdefault(event.get_dagster_event().asset_key.to_string(), {}).update(values)
        for asset_key, values in values_by_key.items():
            updated = conn.execute(
                AssetKeyTable.update().values(**values).where(AssetKeyTable.c.asset_key == asset_key)
            ).rowcount
            if updated == 0:
                conn.execute(AssetKeyTable.insert().values(asset_key=asset_key, **values))


def _stamped(path: str, *tables: str) -> bool:
    """Whether the SQLite database at ``path`` exists with an alembic revision stamped and ``tables``.

    For such a database the stock ``SqliteRunStorage.from_local`` / ``SqliteScheduleStorage.from_local``
    create nothing and only construct the storage on it; but first they ask alembic for the head
    revision, which loads every migration script of Dagster's (~90 files, twice: ~70 ms of an
    instance's ~80 ms). A sensor's evaluation in the code server, a run worker, the daemon's and
    the webserver's requests each build an instance from its ref, so that cost is paid hundreds of
    times a game day. The stock check needs only a stamped revision (the head is always there), so
    this reads it with one query instead."""
    if not os.path.isfile(path) or os.path.getsize(path) == 0:
        return False
    with contextlib.closing(sqlite3.connect(path, timeout=SQLITE_BUSY_TIMEOUT_SECONDS)) as conn:
        names = {row[0] for row in conn.execute("select name from sqlite_master where type = 'table'")}
        if "alembic_version" not in names or not set(tables) <= names:
            return False
        return conn.execute("select version_num from alembic_version").fetchone() is not None


_KEPT_LOCK = threading.Lock()  # guards the first engine of each run / schedule storage


class _KeptEngine:
    """``connect()`` of a stock SQLite run or schedule storage through one engine kept per process.

    The stock ``connect()`` builds a new SQLAlchemy engine for every call (its first connection
    runs the dialect's initialization) and disposes of it after: in the daemon and the code server,
    where every tick reads runs and ticks, building and closing engines was ~10 % of their CPU. The
    transaction per call is the stock one. The pool keeps two connections and opens more only while
    more threads hold one (no upper bound: a caller that connects again inside ``connect()`` never
    waits for itself)."""

    _conn_string: str
    _kept: tuple[Engine, int] | None = None

    def _kept_engine(self) -> Engine:
        kept = self._kept
        if kept is None or kept[1] != os.getpid():  # a forked child builds its own
            with _KEPT_LOCK:
                kept = self._kept
                if kept is None or kept[1] != os.getpid():
                    engine = db.create_engine(
                        self._conn_string,
                        poolclass=db.pool.QueuePool,
                        pool_size=2,
                        max_overflow=-1,
                        connect_args={"check_same_thread": False},
                    )
                    kept = self._kept = (engine, os.getpid())
        return kept[0]

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        with self._kept_engine().connect() as conn, conn.begin():
            yield conn

    def dispose(self) -> None:
        super().dispose()  # type: ignore[misc]
        kept, self._kept = self._kept, None
        if kept is not None and kept[1] == os.getpid():
            kept[0].dispose()


class KeptEngineSqliteRunStorage(_KeptEngine, SqliteRunStorage):
    """Dagster's ``SqliteRunStorage`` (same database, rows and migrations), its engine kept."""


class KeptEngineSqliteScheduleStorage(_KeptEngine, SqliteScheduleStorage):
    """Dagster's ``SqliteScheduleStorage`` (same database, rows and migrations), its engine kept."""


def _run_storage(base_dir: str) -> KeptEngineSqliteRunStorage:
    directory = _runs_directory(base_dir)
    if _stamped(os.path.join(directory, "runs.db"), "runs", "instance_info"):
        return KeptEngineSqliteRunStorage(create_db_conn_string(directory, "runs"))
    return KeptEngineSqliteRunStorage.from_local(directory)  # creates, stamps and migrates a new database


def _schedule_storage(base_dir: str) -> KeptEngineSqliteScheduleStorage:
    directory = _schedule_directory(base_dir)
    if _stamped(os.path.join(directory, "schedules.db"), "jobs"):
        return KeptEngineSqliteScheduleStorage(create_db_conn_string(directory, "schedules"))
    return KeptEngineSqliteScheduleStorage.from_local(directory)


class NbaSqliteStorage(DagsterSqliteStorage):
    """Dagster's unified SQLite storage (same directory layout) with the batching event log."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None, **options: Any):
        # What the stock constructor sets, without its stock event log storage (which would create a
        # new index shard with SQLite's default page size) and without its alembic head lookups on
        # stamped databases (_stamped).
        self.base_dir = base_dir
        self._run_storage = _run_storage(base_dir)
        self._event_log_storage = BatchingSqliteEventLogStorage(_event_logs_directory(base_dir), **options)
        self._schedule_storage = _schedule_storage(base_dir)
        self._inst_data = inst_data
        self._options = options
        super(DagsterSqliteStorage, self).__init__()

    @classmethod
    def config_type(cls) -> dict:
        return {**DagsterSqliteStorage.config_type(), **OPTION_FIELDS}

    @classmethod
    def from_local(cls, base_dir: str, inst_data: ConfigurableClassData | None = None, **options: Any):
        return cls(base_dir, inst_data=inst_data, **options)

    # The stock classmethod constructs DagsterSqliteStorage itself, not cls.
    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData, config_value: Mapping[str, Any]) -> NbaSqliteStorage:
        return cls.from_local(inst_data=inst_data, **config_value)

    @property
    def event_storage_data(self) -> ConfigurableClassData | None:
        return ConfigurableClassData(
            __name__,
            BatchingSqliteEventLogStorage.__name__,
            yaml.dump({"base_dir": _event_logs_directory(self.base_dir), **self._options}, default_flow_style=False),
        )
