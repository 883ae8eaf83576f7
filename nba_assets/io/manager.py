"""The lakehouse IO manager: polars frames in and out, any window of game-date partitions.

- Output: the frame may span every partition of the run's window; it is split by ``game_date``
  and each partition is replaced atomically (a partition with no rows is stored empty).
- Input: whatever partitions the dependency's partition mapping asks for (one day, or a window
  such as the 365 days strictly before D) arrive as **one** ``polars.DataFrame`` from one scan.

The storage backend sits behind ``PartitionedTableStore``; this class only maps Dagster's
contexts onto it.
"""

from __future__ import annotations

from datetime import date

import dagster as dg
import polars as pl

from nba_assets import config
from nba_assets.io.storage import LocalParquetStore, PartitionedTableStore, TableRef
from nba_assets.partitions import dates_between
from nba_assets.schemas import column_schema, schema_for


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


class LakehouseIOManager(dg.ConfigurableIOManager):
    """Partitioned polars tables in the lake (local Parquet; BigQuery in production)."""

    lake_dir: str = ""

    def store(self) -> PartitionedTableStore:
        return LocalParquetStore(self.lake_dir or config.lake_dir())

    def handle_output(self, context: dg.OutputContext, obj: pl.DataFrame) -> None:
        if not isinstance(obj, pl.DataFrame):
            raise TypeError(f"{context.asset_key.to_user_string()}: expected a polars DataFrame, got {type(obj)}")
        table = table_ref(context.asset_key)
        days = _window(context.asset_partitions_time_window)
        stats = self.store().write_partitions(table, obj, days, schema_for(table.dataset, table.table))
        context.add_output_metadata(
            {
                "dagster/column_schema": column_schema(table.dataset, table.table),
                "table": str(table),
                "run_window": f"{days[0].isoformat()}..{days[-1].isoformat()}",
                "run_window_rows": stats.rows,
                "run_window_partitions": stats.partitions,
                "run_window_empty_partitions": stats.empty_partitions,
            }
        )
        context.log.info(
            f"{table}: wrote {stats.rows:,} rows to {stats.partitions} partitions "
            f"{days[0].isoformat()}..{days[-1].isoformat()} ({stats.empty_partitions} empty)"
        )
        # Row counts per partition, so each day's materialization shows its own rows.
        step = context.step_context
        for day, rows in stats.rows_by_partition.items():
            step.add_asset_metadata(
                {"dagster/row_count": rows}, asset_key=context.asset_key, partition_key=day.isoformat()
            )

    def load_input(self, context: dg.InputContext) -> pl.DataFrame:
        table = table_ref(context.asset_key)
        schema = schema_for(table.dataset, table.table)
        days = self._upstream_days(context)
        store = self.store()
        frame = store.read_window(table, days, schema)
        missing = store.missing_partitions(table, days) if isinstance(store, LocalParquetStore) else []
        if missing:
            context.log.warning(
                f"{table}: {len(missing)} of {len(days)} requested partitions were never materialized "
                f"(first {missing[0].isoformat()}); they load as no rows"
            )
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
