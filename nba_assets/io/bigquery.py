"""BigQuery backend of the lake: the same ``PartitionedTableStore`` contract as the local Parquet lake.

- **Write** (a window of game-date partitions): the frame is conformed to its declared schema, loaded
  as Parquet into a staging table (a load job: free, no streaming inserts), then the window is
  replaced in ONE multi-statement transaction::

      BEGIN TRANSACTION;
      DELETE FROM t WHERE game_date BETWEEN @first AND @last AND game_date IN UNNEST(@days);
      INSERT INTO t (cols) SELECT cols FROM staging;
      DELETE/INSERT the window's rows of <dataset>._partitions (the partition registry);
      COMMIT TRANSACTION;

  A failure anywhere rolls the whole transaction back, so earlier partitions stay intact; a rerun
  leaves the same rows. No MERGE, no ``table$YYYYMMDD`` decorators. The staging table is dropped
  afterwards (and expires after a day should the drop itself fail).
- **Read**: ONE parameterized query with a filter on the partition column, fetched as Arrow and
  returned as a polars frame in the declared schema (an empty window has every column).
- Every job carries a server-side timeout (``job_timeout_ms``) and a client-side wait limit; bytes
  processed / billed and slot time come back as ``JobStats`` for the asset metadata.
- ``estimate_backfill`` dry-runs the reads and deletes of a backfill window (price per TiB scanned).

Tables are created and evolved (additive columns only) from ``nba_assets.ddl`` on first use in a
process; a stored column whose type disagrees with schemas.py is a ``StorageError`` naming the
table and the column.

Settings (the ``Lake`` resource's ``bq_*`` config; the definitions read them from
``GOOGLE_CLOUD_PROJECT``, ``NBA_BQ_LOCATION`` (default US), ``NBA_BQ_DATASET_PREFIX`` /
``NBA_BQ_DATASET_SUFFIX``, ``NBA_BQ_JOB_TIMEOUT_S`` (default 600), ``NBA_BQ_ENDPOINT`` (an
emulator's URL; anonymous credentials) in ``config.settings_from_env``). Credentials the standard Google way
(Application Default Credentials: a service account attached to the runtime, or
``GOOGLE_APPLICATION_CREDENTIALS``).
"""

from __future__ import annotations

import io
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any

import polars as pl

from nba_assets import ddl
from nba_assets.facts import CALENDAR_DAYS_PER_YEAR
from nba_assets.io.storage import (
    PARTITION_COLUMN,
    JobStats,
    LocalParquetStore,
    StorageError,
    TableRef,
    WriteStats,
    conform,
)

# On-demand analysis price, USD per TiB scanned (US multi-region list price; see docs/production.md).
ON_DEMAND_USD_PER_TIB = 6.25
TIB = 1024**4


@dataclass(frozen=True)
class BigQuerySettings:
    project: str
    location: str = "US"
    dataset_prefix: str = ""
    dataset_suffix: str = ""
    job_timeout_s: float = 600.0
    endpoint: str | None = None

    @property
    def naming(self) -> ddl.Naming:
        return ddl.Naming(self.project, self.dataset_prefix, self.dataset_suffix)

    @classmethod
    def from_env(cls) -> BigQuerySettings:
        """The settings as the environment configures the code location (``config.settings_from_env``):
        for the command-line tools (``nba_assets.warehouse``) and the live suite."""
        from nba_assets.config import settings_from_env

        settings = settings_from_env()
        if not settings.bq_project:
            raise StorageError("NBA_BACKEND=bigquery needs GOOGLE_CLOUD_PROJECT (the project holding the datasets)")
        return cls(
            project=settings.bq_project,
            location=settings.bq_location,
            dataset_prefix=settings.bq_dataset_prefix,
            dataset_suffix=settings.bq_dataset_suffix,
            job_timeout_s=settings.bq_job_timeout_s,
            endpoint=settings.bq_endpoint or None,
        )

    def client(self):
        from google.cloud import bigquery

        if self.endpoint:  # an emulator: no credentials, its own endpoint
            from google.auth.credentials import AnonymousCredentials

            return bigquery.Client(
                project=self.project,
                location=self.location,
                credentials=AnonymousCredentials(),
                client_options={"api_endpoint": self.endpoint},
            )
        return bigquery.Client(project=self.project, location=self.location)


@dataclass(frozen=True)
class CostEstimate:
    table: str
    statement: str
    bytes_processed: int

    @property
    def usd(self) -> float:
        return self.bytes_processed / TIB * ON_DEMAND_USD_PER_TIB


def _stats(jobs: Sequence[Any]) -> JobStats:
    def total(attr: str) -> int | None:
        values = [getattr(j, attr, None) for j in jobs]
        values = [v for v in values if v is not None]
        return sum(values) if values else None

    return JobStats(
        bytes_processed=total("total_bytes_processed") or 0,
        bytes_billed=total("total_bytes_billed") or 0,
        slot_millis=total("slot_millis"),
        job_ids=tuple(j.job_id for j in jobs if getattr(j, "job_id", None)),
    )


@dataclass
class BigQueryStore:
    """Partitioned lake tables in BigQuery datasets (names from ``settings.naming``)."""

    settings: BigQuerySettings
    client: Any = None
    use_storage_api: bool | None = None
    _ready: dict[TableRef, set[str]] = field(default_factory=dict, repr=False)
    _last_read: JobStats | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.client is None:
            self.client = self.settings.client()
        if self.use_storage_api is None:  # the Storage Read API is Google's; an emulator serves REST here
            self.use_storage_api = self.settings.endpoint is None

    # ------------------------------------------------------------------------------------- naming

    def table_id(self, table: TableRef) -> str:
        return f"{self.settings.project}.{self.settings.naming.dataset(table.dataset)}.{table.table}"

    def _sql_name(self, dataset: str, table: str) -> str:
        return f"`{self.settings.project}.{self.settings.naming.dataset(dataset)}.{table}`"

    @property
    def _timeout(self) -> float:
        return self.settings.job_timeout_s

    def _job_config(self, cls_name: str = "QueryJobConfig", **kwargs):
        from google.cloud import bigquery

        config = getattr(bigquery, cls_name)(**kwargs)
        config.job_timeout_ms = int(self._timeout * 1000)
        return config

    def _query(self, sql: str, params: Sequence[Any] = ()):
        job = self.client.query(sql, job_config=self._job_config(query_parameters=list(params)))
        rows = job.result(timeout=self._timeout)
        return job, rows

    @property
    def last_read(self) -> JobStats | None:
        return self._last_read

    # ------------------------------------------------------------------------------------- tables

    def ensure_table(self, table: TableRef, schema: pl.Schema) -> set[str]:
        """Create/evolve the table and its dataset's partition registry once per process.

        Returns the table's stored column names."""
        if table in self._ready:
            return self._ready[table]
        naming = self.settings.naming
        try:
            spec = ddl.table_spec(table.dataset, table.table, schema)
            registry = TableRef(table.dataset, ddl.PARTITIONS_TABLE)
            if registry not in self._ready:
                self._ensure_dataset(table.dataset)
                ddl.ensure_table(self.client, ddl.partitions_spec(table.dataset), naming, self._timeout)
                self._ready[registry] = set(ddl.PARTITIONS_SCHEMA.names())
            ddl.ensure_table(self.client, spec, naming, self._timeout)
        except ddl.DDLError as exc:
            raise StorageError(str(exc)) from exc
        self._ready[table] = set(schema.names())
        return self._ready[table]

    def _run_ddl(self, sql: str) -> None:
        self._query(sql)

    def _ensure_dataset(self, dataset: str) -> None:
        """CREATE SCHEMA only when the dataset is absent (needs no create permission otherwise)."""
        from google.api_core.exceptions import NotFound

        try:
            dataset_id = f"{self.settings.project}.{self.settings.naming.dataset(dataset)}"
            self.client.get_dataset(dataset_id, timeout=self._timeout)
        except NotFound:
            self._run_ddl(ddl.create_schema_sql(dataset, self.settings.naming))

    def _stored_columns(self, table: TableRef, schema: pl.Schema) -> dict[str, str] | None:
        """Stored column → GoogleSQL type, None when the table does not exist; type conflicts raise."""
        from google.api_core.exceptions import NotFound

        try:
            stored = self.client.get_table(self.table_id(table), timeout=self._timeout)
        except NotFound:
            return None
        spec = ddl.table_spec(table.dataset, table.table, schema)
        _, conflicts = ddl.stored_mismatches(spec, stored.schema)
        if conflicts:
            raise StorageError(
                f"{table}: BigQuery table {self.table_id(table)} disagrees with nba_assets/schemas.py: "
                + "; ".join(conflicts)
            )
        return {f.name: ddl.normalize_field_type(f) for f in stored.schema}

    # ------------------------------------------------------------------------------------- write

    def write_partitions(
        self, table: TableRef, frame: pl.DataFrame, partitions: Sequence[date], schema: pl.Schema
    ) -> WriteStats:
        if not partitions:
            raise StorageError(f"{table}: a write needs at least one partition")
        frame = conform(table, frame, schema, partitions)
        days = sorted(set(partitions))
        counts = dict(frame.group_by(PARTITION_COLUMN).len().iter_rows()) if frame.height else {}
        self.ensure_table(table, schema)
        staging = self._stage(table, frame, schema)
        try:
            job = self._replace_window(table, staging, days, schema.names())
        finally:
            self.client.delete_table(staging, not_found_ok=True, timeout=self._timeout)
        return WriteStats({d: int(counts.get(d, 0)) for d in days}, jobs=_stats([job]))

    def _stage(self, table: TableRef, frame: pl.DataFrame, schema: pl.Schema) -> str:
        """A staging table holding ``frame`` (a Parquet load job); returns its id."""
        from google.cloud import bigquery

        spec = ddl.table_spec(table.dataset, table.table, schema)
        staging_id = f"{self.table_id(TableRef(table.dataset, '_staging_' + table.table))}_{uuid.uuid4().hex[:12]}"
        fields = [_schema_field(c.name, c.type) for c in spec.columns]
        staged = bigquery.Table(staging_id, schema=fields)
        staged.expires = datetime.now(UTC) + timedelta(days=1)
        self.client.create_table(staged, timeout=self._timeout)
        if frame.height:
            buf = io.BytesIO()
            frame.write_parquet(buf)
            buf.seek(0)
            config = self._job_config(
                "LoadJobConfig",
                source_format=bigquery.SourceFormat.PARQUET,
                write_disposition=bigquery.WriteDisposition.WRITE_APPEND,
            )
            options = bigquery.ParquetOptions()
            options.enable_list_inference = True
            config.parquet_options = options
            try:
                job = self.client.load_table_from_file(buf, staging_id, job_config=config, timeout=self._timeout)
                job.result(timeout=self._timeout)
            except Exception:
                self.client.delete_table(staging_id, not_found_ok=True, timeout=self._timeout)
                raise
            if job.output_rows is not None and job.output_rows != frame.height:
                self.client.delete_table(staging_id, not_found_ok=True, timeout=self._timeout)
                raise StorageError(f"{table}: staged {job.output_rows} rows of {frame.height}")
        return staging_id

    def _replace_window(self, table: TableRef, staging_id: str, days: list[date], columns: Sequence[str]):
        """The one transaction replacing the window; returns the script job."""
        from google.cloud import bigquery

        target = self._sql_name(table.dataset, table.table)
        registry = self._sql_name(table.dataset, ddl.PARTITIONS_TABLE)
        cols = ", ".join(columns)
        window = f"{PARTITION_COLUMN} BETWEEN @first AND @last AND {PARTITION_COLUMN} IN UNNEST(@days)"
        sql = f"""BEGIN TRANSACTION;
DELETE FROM {target} WHERE {window};
INSERT INTO {target} ({cols}) SELECT {cols} FROM `{staging_id}`;
DELETE FROM {registry} WHERE table_name = @table_name AND {window};
INSERT INTO {registry} (game_date, table_name, row_count, written_at)
SELECT d, @table_name, COUNT(s.{PARTITION_COLUMN}), CURRENT_TIMESTAMP()
FROM UNNEST(@days) AS d LEFT JOIN `{staging_id}` AS s ON s.{PARTITION_COLUMN} = d GROUP BY d;
COMMIT TRANSACTION;"""
        params = [
            bigquery.ScalarQueryParameter("first", "DATE", days[0]),
            bigquery.ScalarQueryParameter("last", "DATE", days[-1]),
            bigquery.ArrayQueryParameter("days", "DATE", days),
            bigquery.ScalarQueryParameter("table_name", "STRING", table.table),
        ]
        try:
            job, _ = self._query(sql, params)
        except Exception as exc:
            raise StorageError(
                f"{table}: replacing partitions {days[0].isoformat()}..{days[-1].isoformat()} failed and was "
                f"rolled back (stored partitions are unchanged): {exc}"
            ) from exc
        return job

    # ------------------------------------------------------------------------------------- read

    def read_window(self, table: TableRef, partitions: Sequence[date], schema: pl.Schema) -> pl.DataFrame:
        from google.cloud import bigquery

        days = sorted(set(partitions))
        self._last_read = JobStats()
        stored = self._stored_columns(table, schema) if days else None
        if stored is None:
            return pl.DataFrame(schema=schema)
        spec = ddl.table_spec(table.dataset, table.table, schema)
        select = ", ".join(
            name if name in stored else f"CAST(NULL AS {spec.column_types[name]}) AS {name}" for name in schema.names()
        )
        contiguous = (days[-1] - days[0]).days + 1 == len(days)
        where = f"{PARTITION_COLUMN} BETWEEN @first AND @last"
        params = [
            bigquery.ScalarQueryParameter("first", "DATE", days[0]),
            bigquery.ScalarQueryParameter("last", "DATE", days[-1]),
        ]
        if not contiguous:
            where += f" AND {PARTITION_COLUMN} IN UNNEST(@days)"
            params.append(bigquery.ArrayQueryParameter("days", "DATE", days))
        sql = f"SELECT {select} FROM {self._sql_name(table.dataset, table.table)} WHERE {where}"
        job, rows = self._query(sql, params)
        arrow = rows.to_arrow(create_bqstorage_client=bool(self.use_storage_api))
        self._last_read = _stats([job])
        if arrow.num_rows == 0:
            return pl.DataFrame(schema=schema)
        frame = pl.from_arrow(arrow)
        assert isinstance(frame, pl.DataFrame)
        try:
            return frame.select(schema.names()).cast(dict(schema), strict=True)
        except pl.exceptions.PolarsError as exc:
            raise StorageError(f"{table}: stored rows do not cast to the declared schema: {exc}") from exc

    # ------------------------------------------------------------------------------------- registry

    def _registry_days(self, table: TableRef, first: date | None = None, last: date | None = None) -> list[date]:
        from google.api_core.exceptions import NotFound
        from google.cloud import bigquery

        registry = self._sql_name(table.dataset, ddl.PARTITIONS_TABLE)
        where = "table_name = @table_name"
        params = [bigquery.ScalarQueryParameter("table_name", "STRING", table.table)]
        if first is not None and last is not None:
            where += f" AND {PARTITION_COLUMN} BETWEEN @first AND @last"
            params += [
                bigquery.ScalarQueryParameter("first", "DATE", first),
                bigquery.ScalarQueryParameter("last", "DATE", last),
            ]
        try:
            _, rows = self._query(f"SELECT DISTINCT {PARTITION_COLUMN} FROM {registry} WHERE {where}", params)
        except NotFound:
            return []
        return sorted(row[0] for row in rows)

    def missing_partitions(self, table: TableRef, partitions: Sequence[date]) -> list[date]:
        days = sorted(set(partitions))
        if not days:
            return []
        stored = set(self._registry_days(table, days[0], days[-1]))
        return [d for d in days if d not in stored]

    def stored_partitions(self, table: TableRef) -> list[date]:
        return self._registry_days(table)

    def delete_window(self, table: TableRef, first: date, last: date) -> int:
        from google.api_core.exceptions import NotFound
        from google.cloud import bigquery

        removed = len(self._registry_days(table, first, last))
        target = self._sql_name(table.dataset, table.table)
        registry = self._sql_name(table.dataset, ddl.PARTITIONS_TABLE)
        window = f"{PARTITION_COLUMN} BETWEEN @first AND @last"
        sql = f"""BEGIN TRANSACTION;
DELETE FROM {target} WHERE {window};
DELETE FROM {registry} WHERE table_name = @table_name AND {window};
COMMIT TRANSACTION;"""
        params = [
            bigquery.ScalarQueryParameter("first", "DATE", first),
            bigquery.ScalarQueryParameter("last", "DATE", last),
            bigquery.ScalarQueryParameter("table_name", "STRING", table.table),
        ]
        try:
            self._query(sql, params)
        except NotFound:
            return 0
        return removed

    # ------------------------------------------------------------------------------------- cost

    def estimate_backfill(self, tables: Sequence[TableRef], first: date, last: date) -> list[CostEstimate]:
        """Dry-run (free, nothing executed) the window read and the window delete of each table."""
        from google.api_core.exceptions import NotFound
        from google.cloud import bigquery

        params = [
            bigquery.ScalarQueryParameter("first", "DATE", first),
            bigquery.ScalarQueryParameter("last", "DATE", last),
        ]
        out = []
        for table in tables:
            name = self._sql_name(table.dataset, table.table)
            for kind, sql in (
                ("read", f"SELECT * FROM {name} WHERE {PARTITION_COLUMN} BETWEEN @first AND @last"),
                ("delete", f"DELETE FROM {name} WHERE {PARTITION_COLUMN} BETWEEN @first AND @last"),
            ):
                config = self._job_config(dry_run=True, use_query_cache=False, query_parameters=params)
                try:
                    job = self.client.query(sql, job_config=config, timeout=self._timeout)
                except NotFound:
                    continue
                out.append(CostEstimate(str(table), kind, int(job.total_bytes_processed or 0)))
        return out


def _schema_field(name: str, sql_type: str):
    """A nullable ``SchemaField`` for a GoogleSQL type written by ``nba_assets.ddl``."""
    from google.cloud import bigquery

    mode = "NULLABLE"
    if sql_type.startswith("ARRAY<"):
        mode, sql_type = "REPEATED", sql_type[len("ARRAY<") : -1]
    if sql_type.startswith("STRUCT<"):
        inner = _split_struct(sql_type[len("STRUCT<") : -1])
        return bigquery.SchemaField(name, "STRUCT", mode=mode, fields=[_schema_field(n, t) for n, t in inner])
    return bigquery.SchemaField(name, sql_type, mode=mode)


def _split_struct(body: str) -> list[tuple[str, str]]:
    parts, depth, current = [], 0, ""
    for ch in body:
        depth += ch == "<"
        depth -= ch == ">"
        if ch == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += ch
    if current.strip():
        parts.append(current.strip())
    return [tuple(p.split(" ", 1)) for p in parts]  # type: ignore[misc]


def logical_bytes(frame: pl.DataFrame) -> int:
    """Bytes BigQuery bills for scanning ``frame`` (its logical size): 8 per INT64/FLOAT64/DATE/
    TIMESTAMP value, 1 per BOOL, 2 + UTF-8 length per STRING, 16 per NUMERIC, NULLs 0."""
    total = 0
    for name, dtype in frame.schema.items():
        col = frame.get_column(name)
        total += _column_bytes(col, dtype)
    return total


def _column_bytes(col: pl.Series, dtype: pl.DataType) -> int:
    present = col.len() - col.null_count()
    if present == 0:
        return 0
    if dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum):
        return int(col.cast(pl.String).str.len_bytes().sum()) + 2 * present
    if dtype == pl.Binary:
        return int(col.bin.size().sum()) + 2 * present
    if dtype == pl.Boolean:
        return present
    if isinstance(dtype, pl.Decimal):
        return 16 * present
    if isinstance(dtype, (pl.List, pl.Array)):
        inner = col.explode() if isinstance(dtype, pl.List) else col.arr.explode()
        return _column_bytes(inner, dtype.inner)
    if isinstance(dtype, pl.Struct):
        frame = col.struct.unnest()
        return sum(_column_bytes(frame.get_column(f.name), f.dtype) for f in dtype.fields)
    return 8 * present


def lake_sizes(lake_dir: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Rows and BigQuery logical bytes of every declared table of a local lake."""
    from nba_assets.schemas import TABLES

    store = LocalParquetStore(lake_dir)
    out = []
    for (dataset, table), schema in sorted(TABLES.items()):
        ref = TableRef(dataset, table)
        days = store.stored_partitions(ref)
        frame = store.read_window(ref, days, schema) if days else pl.DataFrame(schema=schema)
        game_days = frame["game_date"].n_unique() if frame.height else 0
        out.append(
            {
                "table": str(ref),
                "partitions": len(days),
                "first": days[0].isoformat() if days else None,
                "last": days[-1].isoformat() if days else None,
                "game_days": game_days,
                "rows": frame.height,
                "logical_bytes": logical_bytes(frame),
            }
        )
    return out


# Billing facts the cost model uses (on-demand; docs/production.md states the sources and date).
MIN_BYTES_PER_TABLE = 10 * 1024**2  # each table a query references is billed at least 10 MB
WRITE_STATEMENT_TABLE_REFS = 4  # DELETE target, INSERT from staging, DELETE + INSERT of the registry
FREE_TIB_PER_MONTH = 1.0
STORAGE_USD_PER_GIB_MONTH = 0.02  # active logical storage
FREE_STORAGE_GIB = 10.0
SEASON_MONTHS = 6  # regular season: late October to mid April


def lake_edges(graph) -> list[tuple[TableRef, TableRef, int]]:
    """(asset, upstream lake table, calendar days of upstream read per partition) of an asset graph
    (``Definitions.resolve_asset_graph()``)."""
    from nba_assets.schemas import TABLES

    out = []
    for key in graph.get_all_asset_keys():
        for parent in graph.get(key).parent_keys:
            if tuple(parent.path) not in TABLES:
                continue
            mapping = graph.get_partition_mapping(key, parent)
            start, end = getattr(mapping, "start_offset", 0), getattr(mapping, "end_offset", 0)
            out.append((TableRef(*key.path[:2]), TableRef(*parent.path), end - start + 1))
    return out


def cost_model(
    sizes: list[dict[str, Any]],
    refreshes_per_game_day: int,
    game_days_per_season: float,
    edges: list[tuple[TableRef, TableRef, int]],
) -> dict:
    """Monthly on-demand BigQuery cost of keeping a season current, from measured table sizes.

    Per refresh of one game date: every lake table is written once (4 table references of a
    transaction, each billed at least 10 MB) and every upstream edge is read once (the window's
    bytes, at least 10 MB) plus one registry lookup (10 MB)."""
    per_day = {r["table"]: (r["logical_bytes"] / r["game_days"] if r["game_days"] else 0.0) for r in sizes}
    per_calendar_day = {t: b * game_days_per_season / CALENDAR_DAYS_PER_YEAR for t, b in per_day.items()}
    written = {str(child) for child, _, _ in edges if str(child) in per_day} | {str(p) for _, p, _ in edges}
    write_bytes = len(written) * WRITE_STATEMENT_TABLE_REFS * MIN_BYTES_PER_TABLE
    read_bytes = 0.0
    for _, parent, days in edges:
        read_bytes += max(MIN_BYTES_PER_TABLE, per_calendar_day.get(str(parent), 0.0) * days) + MIN_BYTES_PER_TABLE
    refresh = write_bytes + read_bytes
    monthly_game_days = game_days_per_season / SEASON_MONTHS
    monthly = refresh * refreshes_per_game_day * monthly_game_days
    season_storage = sum(per_day.values()) * game_days_per_season
    return {
        "tables_written": len(written),
        "edges": len(edges),
        "bytes_per_refresh": refresh,
        "refreshes_per_month": refreshes_per_game_day * monthly_game_days,
        "bytes_per_month": monthly,
        "usd_per_month_list": monthly / TIB * ON_DEMAND_USD_PER_TIB,
        "usd_per_month_after_free_tier": max(0.0, monthly / TIB - FREE_TIB_PER_MONTH) * ON_DEMAND_USD_PER_TIB,
        "season_storage_bytes": season_storage,
        "storage_usd_per_month_list": season_storage / 1024**3 * STORAGE_USD_PER_GIB_MONTH,
    }


@lru_cache(maxsize=4)
def store_from_settings(settings: BigQuerySettings) -> BigQueryStore:
    """One store (one client, one set of ensured tables) per settings in a process."""
    return BigQueryStore(settings)
