"""Real runs of the Definitions' own phase-3/4 assets over a test lake.

The leakage, backfill-equals-single-days and range suites materialize the very assets of the code
location (``nba_assets.definitions.build_definitions``: their partition mappings, IO manager and
checks), never a hand-written copy of the graph. Each run is an ``execute_in_process`` of the
location's asset job, subset to the assets under test, on a fresh instance of the project's own
configuration (``nba_assets.instance``: its batching event storage); a range is one single-run
backfill, as ``make run`` launches it.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from datetime import date
from pathlib import Path

import dagster as dg
import polars as pl

from nba_assets.instance import write_instance
from nba_assets.io.storage import LocalParquetStore, TableRef
from nba_assets.real_data import props_from_lines, real_raw_tables
from nba_assets.schemas import schema_for

__all__ = [
    "PHASE3",
    "PHASE4",
    "PHASE34",
    "RAW",
    "props_from_lines",
    "read",
    "real_raw_tables",
    "execute",
    "run",
    "write_raw",
    "write_tables",
]

RAW = ["nbac_schedule", "bdl_player_boxscores", "odds_api_player_points_props"]
# Phase 3: each day's summaries from that day's raw rows.
PHASE3 = [
    ("nba_analytics", "player_game_summary"),
    ("nba_analytics", "team_offense_game_summary"),
    ("nba_analytics", "team_defense_game_summary"),
]
# Phase 4: each day's contexts, caches, profiles, factors and features from the history before it.
PHASE4 = [
    ("nba_analytics", "upcoming_player_game_context"),
    ("nba_analytics", "upcoming_team_game_context"),
    ("nba_precompute", "player_daily_cache"),
    ("nba_precompute", "player_shot_profile"),
    ("nba_precompute", "team_defense_profile"),
    ("nba_precompute", "player_composite_factors"),
    ("nba_precompute", "ml_feature_store"),
]
PHASE34 = PHASE3 + PHASE4
RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"


def write_tables(lake: Path, tables: dict[tuple[str, str], pl.DataFrame], days: list[date]) -> None:
    """Store each table's rows of ``days`` as those days' partitions (a day without rows is an
    empty partition, as a run writes it)."""
    store = LocalParquetStore(lake)
    for key, frame in tables.items():
        rows = frame.filter(pl.col("game_date").is_between(days[0], days[-1]))
        store.write_partitions(TableRef(*key), rows, days, schema_for(*key))


def write_raw(lake: Path, raw: tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame], days: list[date]) -> None:
    box, schedule, props = raw
    write_tables(lake, {("nba_raw", RAW[0]): schedule, ("nba_raw", RAW[1]): box, ("nba_raw", RAW[2]): props}, days)


def definitions(lake: Path) -> dg.Definitions:
    """The code location's own Definitions, configured to store in ``lake``."""
    from nba_assets.definitions import build_definitions

    from .conftest import lake_settings

    return build_definitions(settings=lake_settings(lake))


def execute(
    lake: Path, first: date, last: date, keys: Iterable[tuple[str, str]] | dg.AssetSelection = PHASE34
) -> tuple[dg.ExecuteInProcessResult, str]:
    """One run of the location's assets ``keys`` (table keys or a selection) over first..last, as
    one single-run backfill: its result and its whole log (every message, one per line)."""
    defs = definitions(lake)
    with tempfile.TemporaryDirectory(prefix="dagster_home") as home:
        write_instance(Path(home))  # the project's instance: its batching event storage, as make run uses
        with dg.DagsterInstance.from_config(home) as instance:
            if isinstance(keys, dg.AssetSelection):
                selection = set(keys.resolve(defs.resolve_asset_graph()))
            else:
                selection = {dg.AssetKey(list(k)) for k in keys}
            job = defs.resolve_implicit_global_asset_job_def().get_subset(asset_selection=selection)
            result = job.execute_in_process(
                instance=instance, tags={RANGE_START: first.isoformat(), RANGE_END: last.isoformat()}
            )
            log = "\n".join(str(entry.user_message) for entry in instance.all_logs(result.run_id))
    return result, log


def run(
    lake: Path, first: date, last: date, keys: Iterable[tuple[str, str]] | dg.AssetSelection = PHASE34
) -> dg.ExecuteInProcessResult:
    """``execute``, which must succeed."""
    result, _ = execute(lake, first, last, keys)
    assert result.success
    return result


def read(lake: Path, key: tuple[str, str], days: list[date]) -> pl.DataFrame:
    return LocalParquetStore(lake).read_window(TableRef(*key), days, schema_for(*key))
