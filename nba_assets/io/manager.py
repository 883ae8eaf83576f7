"""The lakehouse IO manager: polars frames in and out, any window of game-date partitions.

- Output: the frame may span every partition of the run's window; it is split by ``game_date``
  and each partition is replaced atomically (a partition with no rows is stored empty).
- A partition the asset *held back* (``hold_back``: its payload failed validation) is not written
  at all: a lake that had it keeps it as it was, a fresh lake has none. The other partitions of
  the window are written as usual (on BigQuery too: the window replace names its days).
- Input: whatever partitions the dependency's partition mapping asks for (one day, or a window
  such as the 365 days strictly before D) arrive as **one** ``polars.DataFrame`` from one scan.

The storage backend sits behind ``PartitionedTableStore``; this class only maps Dagster's
contexts onto it. The nested ``Lake`` resource (``nba_assets/lake.py``) picks it from its config:
``backend: local`` (Parquet under ``lake_dir``) or ``bigquery`` (``nba_assets.io.bigquery``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import dagster as dg
import polars as pl

from nba_assets.io.model_store import (
    Artifact,
    ModelStore,
    StoredArtifact,
    week_of,
)
from nba_assets.io.storage import PartitionedTableStore, TableRef
from nba_assets.lake import Lake
from nba_assets.partitions import dates_between, days_in_window, weeks_in_window
from nba_assets.schemas import schema_for


def artifact_metadata(meta: dict[str, Any]) -> dict[str, Any]:
    """The JSON metadata as Dagster metadata values (lists and dicts as JSON)."""
    out: dict[str, Any] = {}
    for key, value in meta.items():
        if isinstance(value, (dict, list)):
            out[key] = dg.MetadataValue.json(value)
        elif value is None:
            out[key] = "none"
        else:
            out[key] = value
    return out


def table_ref(asset_key: dg.AssetKey) -> TableRef:
    path = asset_key.path
    if len(path) != 2:
        raise dg.DagsterInvariantViolationError(
            f"asset {asset_key.to_user_string()} must be keyed <dataset>/<table> to live in the lake"
        )
    return TableRef(dataset=path[0], table=path[1])


def _window(time_window: dg.TimeWindow) -> list[date]:
    first = time_window.start.date()
    last_exclusive = time_window.end.date()
    return dates_between(first, last_exclusive)[:-1] if last_exclusive > first else []


HELD_BACK = "held_back"


def hold_back(context: dg.AssetExecutionContext, day: date, metadata: dict[str, object]) -> None:
    """Marks ``day`` of the running asset as held back: the IO manager will not write its partition.

    ``metadata`` (file, field, error, ...) goes to that day's materialization only, next to
    ``held_back: True``, so the UI shows which day was kept back and why.
    """
    context.add_asset_metadata({HELD_BACK: True, **metadata}, partition_key=day.isoformat())


def held_back_days(context: dg.OutputContext, days: list[date]) -> list[date]:
    """The days of ``days`` the asset marked with ``hold_back`` in this step."""
    try:
        step = context.step_context
    except Exception:  # noqa: BLE001 - a context built outside a run (tests) has no step
        return []
    out = []
    for day in days:
        meta = step.get_asset_metadata(context.asset_key, day.isoformat()) or {}
        value = meta.get(HELD_BACK)
        if getattr(value, "value", value) is True:
            out.append(day)
    return out


# Input metadata of an unpartitioned consumer (``assets.common.all_stored``): read every stored partition.
STORED_PARTITIONS = "nba/stored_partitions"
# Input metadata: the only columns the consumer reads (a list of names of the table's schema). The
# scan then reads just those (Parquet column chunks; BigQuery's SELECT list).
READ_COLUMNS = "nba/read_columns"


def read_schema(table: TableRef, schema: pl.Schema, columns: Sequence[str] | None) -> pl.Schema:
    """``schema`` narrowed to ``columns`` (in the schema's order); a name the table lacks is an error."""
    if not columns:
        return schema
    unknown = [c for c in columns if c not in schema]
    if unknown:
        raise ValueError(f"{table}: {READ_COLUMNS} names columns the table does not have: {unknown}")
    wanted = set(columns)
    return pl.Schema([(name, dtype) for name, dtype in schema.items() if name in wanted])


class LakehouseIOManager(dg.ConfigurableIOManager):
    """Partitioned polars tables in the lake (local Parquet; BigQuery in production): the ``lake``
    resource's table store, nested so the IO manager and every sensor read the same one."""

    lake: Lake

    def store(self) -> PartitionedTableStore:
        return self.lake.tables()

    def handle_output(self, context: dg.OutputContext, obj: pl.DataFrame) -> None:
        if not isinstance(obj, pl.DataFrame):
            raise TypeError(f"{context.asset_key.to_user_string()}: expected a polars DataFrame, got {type(obj)}")
        table = table_ref(context.asset_key)
        window = _window(context.asset_partitions_time_window)
        held = set(held_back_days(context, window))
        days = [d for d in window if d not in held]
        if held:
            context.log.warning(
                f"{table}: {len(held)} partition(s) held back, not written (the stored ones, if any, are kept): "
                + ", ".join(d.isoformat() for d in sorted(held))
            )
            if obj.height and "game_date" in obj.columns:
                obj = obj.filter(~pl.col("game_date").is_in(sorted(held)))
        if not days:
            return
        stats = self.store().write_partitions(table, obj, days, schema_for(table.dataset, table.table))
        # Run-wide totals go to the run log; a partition's materialization carries only what is its own
        # (its row count). The column schema, table and descriptions are declared on the definition.
        jobs = stats.jobs.metadata("bigquery")
        context.log.info(
            f"{table}: wrote {stats.rows:,} rows to {stats.partitions} partitions "
            f"{days[0].isoformat()}..{days[-1].isoformat()} ({stats.empty_partitions} empty)"
            + (f"; {jobs}" if jobs else "")
        )
        step = context.step_context
        for day, rows in stats.rows_by_partition.items():
            step.add_asset_metadata(
                {"dagster/row_count": rows}, asset_key=context.asset_key, partition_key=day.isoformat()
            )

    def load_input(self, context: dg.InputContext) -> pl.DataFrame:
        table = table_ref(context.asset_key)
        metadata = context.definition_metadata or {}
        schema = read_schema(table, schema_for(table.dataset, table.table), metadata.get(READ_COLUMNS))
        days = self._upstream_days(context)
        store = self.store()
        season_wide = bool(metadata.get(STORED_PARTITIONS))
        if season_wide:
            # An unpartitioned consumer (a season-wide document) reads every stored partition: what
            # is stored decides its as-of date, not the wall clock's latest partition.
            wanted = set(days)
            days = [d for d in store.stored_partitions(table) if d in wanted]
        frame = store.read_window(table, days, schema)
        read = store.last_read
        if read is not None and read.job_ids:
            context.log.info(
                f"{table}: read {frame.height:,} rows of {len(days)} partitions; "
                f"{read.bytes_processed or 0:,} bytes processed, {read.slot_millis or 0:,} slot ms ({read.job_ids[0]})"
            )
        missing = [] if season_wide else store.missing_partitions(table, days)
        if missing:
            context.log.warning(
                f"{table}: {len(missing)} of {len(days)} requested partitions were never materialized "
                f"(first {missing[0].isoformat()}); they load as no rows"
            )
            # Counted on the LOADED_INPUT event (for a one-day input also as an asset observation;
            # Dagster cannot attach an observation to a multi-partition input and raises after the
            # metadata is recorded, hence the broad except).
            try:
                context.add_input_metadata(
                    {
                        "partitions_requested": len(days),
                        "partitions_missing": len(missing),
                        "first_missing": missing[0].isoformat(),
                        "last_missing": missing[-1].isoformat(),
                    }
                )
            except Exception:  # noqa: BLE001, S110
                pass
        return frame

    @staticmethod
    def _upstream_days(context: dg.InputContext) -> list[date]:
        if not context.has_asset_partitions:
            return []
        try:
            return _window(context.asset_partitions_time_window)
        except dg.DagsterInvariantViolationError:
            # A window that lies wholly before the first partition maps to no upstream keys.
            return []


class ModelStoreIOManager(dg.ConfigurableIOManager):
    """Weekly model / calibration artifacts in the lake (``dict[week, Artifact]`` in and out)."""

    lake: Lake

    def store(self) -> ModelStore:
        return self.lake.models()

    def handle_output(self, context: dg.OutputContext, obj: dict[date, Artifact]) -> None:
        if not isinstance(obj, dict):
            raise TypeError(f"{context.asset_key.to_user_string()}: expected dict[week, Artifact], got {type(obj)}")
        dataset, table = context.asset_key.path
        store = self.store()
        for week, artifact in sorted(obj.items()):
            store.write(dataset, table, week, artifact)
        # Each game-date partition shows the artifact of its week (the one a prediction that day uses).
        step = context.step_context
        for day in days_in_window(context.asset_partitions_time_window):
            artifact = obj.get(week_of(day))
            if artifact is not None:
                step.add_asset_metadata(
                    artifact_metadata(artifact.metadata), asset_key=context.asset_key, partition_key=day.isoformat()
                )
        context.log.info(
            f"{dataset}.{table}: wrote {len(obj)} weeks "
            f"({min(obj).isoformat() if obj else '-'}..{max(obj).isoformat() if obj else '-'}) to {store.root}"
        )

    def load_input(self, context: dg.InputContext) -> dict[date, StoredArtifact]:
        dataset, table = context.asset_key.path
        try:
            window = context.asset_partitions_time_window
        except dg.DagsterInvariantViolationError:
            return {}  # the window lies wholly before the first model week
        store = self.store()
        found = {}
        for week in weeks_in_window(window):
            stored = store.read(dataset, table, week)
            if stored is not None:
                found[week] = stored
        return found
