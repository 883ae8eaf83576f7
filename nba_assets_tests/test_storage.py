"""The local Parquet lake: atomic replace, idempotent reruns, one-frame window reads."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from nba_assets.io.storage import LocalParquetStore, StorageError, TableRef
from nba_assets.partitions import dates_between
from nba_assets.schemas import schema_for

TABLE = TableRef("nba_raw", "bdl_player_boxscores")
SCHEMA = schema_for("nba_raw", "bdl_player_boxscores")


def _raw_box(box_scores: pl.DataFrame, first: date, last: date) -> pl.DataFrame:
    """Real box-score rows in the raw table's schema."""
    rows = box_scores.filter(pl.col("game_date").is_between(first, last))
    return rows.with_columns(
        pl.col("game_id").cast(pl.Int64).alias("bdl_game_id"),
        pl.col("player_id").alias("bdl_player_id"),
        pl.col("player_name").str.to_lowercase().str.replace_all(r"[^a-z]", "").alias("player_lookup"),
    ).select(SCHEMA.names())


@pytest.fixture
def store(tmp_path) -> LocalParquetStore:
    return LocalParquetStore(tmp_path / "lake")


def test_window_read_is_one_frame_equal_to_single_reads(store, box_scores):
    first, last = date(2023, 12, 20), date(2023, 12, 31)  # includes Dec 24, a day without games
    days = dates_between(first, last)
    frame = _raw_box(box_scores, first, last)
    stats = store.write_partitions(TABLE, frame, days, SCHEMA)
    assert stats.partitions == len(days) and stats.rows == frame.height
    assert stats.empty_partitions == 1

    window = store.read_window(TABLE, days, SCHEMA)
    singles = pl.concat([store.read_window(TABLE, [d], SCHEMA) for d in days])
    assert isinstance(window, pl.DataFrame)
    assert window.schema == SCHEMA
    assert window.equals(singles)
    assert window.sort("game_date", "game_id", "player_id").equals(frame.sort("game_date", "game_id", "player_id"))
    empty_day = store.read_window(TABLE, [date(2023, 12, 24)], SCHEMA)
    assert empty_day.height == 0 and empty_day.schema == SCHEMA


def test_rewrite_replaces_never_appends(store, box_scores):
    days = dates_between(date(2024, 1, 1), date(2024, 1, 3))
    frame = _raw_box(box_scores, days[0], days[-1])
    store.write_partitions(TABLE, frame, days, SCHEMA)
    store.write_partitions(TABLE, frame, days, SCHEMA)
    again = store.read_window(TABLE, days, SCHEMA)
    assert again.height == frame.height
    # Rewriting one day with fewer rows replaces that day only.
    one = frame.filter(pl.col("game_date") == days[1]).head(5)
    store.write_partitions(TABLE, one, [days[1]], SCHEMA)
    after = store.read_window(TABLE, days, SCHEMA)
    assert after.filter(pl.col("game_date") == days[1]).height == 5
    assert after.filter(pl.col("game_date") != days[1]).height == frame.filter(pl.col("game_date") != days[1]).height


def test_bad_output_is_refused_and_stored_partitions_survive(store, box_scores):
    days = dates_between(date(2024, 1, 1), date(2024, 1, 2))
    frame = _raw_box(box_scores, days[0], days[-1])
    store.write_partitions(TABLE, frame, days, SCHEMA)
    with pytest.raises(StorageError, match="missing \\['pts'\\]"):
        store.write_partitions(TABLE, frame.drop("pts"), days, SCHEMA)
    with pytest.raises(StorageError, match="fall outside the partitions"):
        store.write_partitions(TABLE, frame, [days[0]], SCHEMA)
    with pytest.raises(StorageError, match="cannot cast columns \\['minutes'\\]"):
        store.write_partitions(TABLE, frame.with_columns(pl.lit("x").alias("minutes")), days, SCHEMA)
    assert store.read_window(TABLE, days, SCHEMA).height == frame.height
    assert not list(store.table_dir(TABLE).glob(".staging-*"))


def test_delete_window(store, box_scores):
    days = dates_between(date(2024, 1, 1), date(2024, 1, 5))
    store.write_partitions(TABLE, _raw_box(box_scores, days[0], days[-1]), days, SCHEMA)
    assert store.delete_window(TABLE, days[1], days[2]) == 2
    assert store.stored_partitions(TABLE) == [days[0], days[3], days[4]]
