"""Real runs of the Definitions' own phase-3/4 assets over a test lake.

The leakage, backfill-equals-single-days and range suites materialize the very assets of the code
location (``nba_assets.definitions.build_definitions``: their partition mappings, IO manager and
checks), never a hand-written copy of the graph. Each run is an ``execute_in_process`` of the
location's asset job, subset to the phase-3/4 assets, on an ephemeral instance; a range is one
single-run backfill, as ``make run`` launches it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from nba_assets.identity import canonical_lookup
from nba_assets.io.storage import LocalParquetStore, TableRef
from nba_assets.schemas import schema_for

from .conftest import BOX_SCORES, LINES, raw_box_from_box_scores, schedule_from_box_scores

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


def props_from_lines(lines: pl.DataFrame) -> pl.DataFrame:
    """The real PrizePicks/Underdog lines as ``nba_raw.odds_api_player_points_props`` rows, the way
    the replay archive records them: one pre-tip quote per book, stamped 60 minutes before tip-off
    (the source keeps no quote time), no prices."""
    schema = schema_for("nba_raw", "odds_api_player_points_props")
    out = canonical_lookup(lines, "player_name").with_columns(
        (pl.col("commence_utc") - timedelta(minutes=60)).alias("snapshot_utc"),
        pl.lit(60.0).alias("minutes_before_tipoff"),
        pl.lit("us_dfs").alias("region"),
        pl.lit(None, pl.Int64).alias("over_price"),
        pl.lit(None, pl.Int64).alias("under_price"),
    )
    return out.select(schema.names()).cast(dict(schema))


def real_raw_tables() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(box, schedule, props): the real raw tables for every date of ``data/``: the box scores in
    the ``bdl_player_boxscores`` schema, the schedule they imply and the real lines as pre-tip
    snapshots (``props_from_lines``)."""
    box_scores = pl.read_parquet(BOX_SCORES).with_columns(pl.col("game_date").str.to_date())
    lines = pl.read_parquet(LINES).with_columns(pl.col("game_date").str.to_date())
    return raw_box_from_box_scores(box_scores), schedule_from_box_scores(box_scores), props_from_lines(lines)


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


@contextmanager
def definitions(lake: Path) -> Iterator[dg.Definitions]:
    """The code location's own Definitions, storing in ``lake`` while the context is open."""
    from nba_assets.definitions import build_definitions

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NBA_LAKE_DIR", str(lake))
        yield build_definitions()


def run(
    lake: Path, first: date, last: date, keys: Iterable[tuple[str, str]] | dg.AssetSelection = PHASE34
) -> dg.ExecuteInProcessResult:
    """One run of the location's assets ``keys`` (table keys or a selection) over first..last, as
    one single-run backfill."""
    with definitions(lake) as defs, dg.DagsterInstance.ephemeral() as instance:
        if isinstance(keys, dg.AssetSelection):
            selection = set(keys.resolve(defs.resolve_asset_graph()))
        else:
            selection = {dg.AssetKey(list(k)) for k in keys}
        job = defs.resolve_implicit_global_asset_job_def().get_subset(asset_selection=selection)
        result = job.execute_in_process(
            instance=instance, tags={RANGE_START: first.isoformat(), RANGE_END: last.isoformat()}
        )
    assert result.success
    return result


def read(lake: Path, key: tuple[str, str], days: list[date]) -> pl.DataFrame:
    return LocalParquetStore(lake).read_window(TableRef(*key), days, schema_for(*key))
