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


def test_partitions_staged_on_threads_are_the_files_of_one_thread(tmp_path, summary_history):
    """A write of every real game date of a season-and-more (empty days included) on two threads
    stores the very bytes the one-thread write stores, partition by partition, with the same stats."""
    table = TableRef("nba_analytics", "player_game_summary")
    schema = schema_for("nba_analytics", "player_game_summary")
    first, last = date(2023, 10, 1), date(2024, 12, 15)
    days = dates_between(first, last)
    frame = summary_history.filter(pl.col("game_date").is_between(first, last))
    one, two = (
        LocalParquetStore(tmp_path / "one", write_workers=1),
        LocalParquetStore(tmp_path / "two", write_workers=2),
    )
    stats_one = one.write_partitions(table, frame, days, schema)
    stats_two = two.write_partitions(table, frame, days, schema)
    assert stats_one == stats_two and stats_two.partitions == len(days) and stats_two.rows == frame.height
    assert 0 < stats_two.empty_partitions < len(days)
    assert one.stored_partitions(table) == two.stored_partitions(table) == days
    for day in days:
        assert one.partition_file(table, day).read_bytes() == two.partition_file(table, day).read_bytes(), day
    assert not list(two.table_dir(table).glob(".staging-*"))


def test_a_failed_threaded_write_names_its_first_partition_and_keeps_the_stored_ones(tmp_path, box_scores, monkeypatch):
    """Two partitions fail to stage (a full disk) while the others are staged on the other thread:
    the error names the first of them in date order, nothing stored is replaced, no staging is left."""
    import errno
    from pathlib import Path

    store = LocalParquetStore(tmp_path / "lake", write_workers=2)
    days = dates_between(date(2024, 1, 1), date(2024, 1, 8))
    frame = _raw_box(box_scores, days[0], days[-1])
    store.write_partitions(TABLE, frame, days, SCHEMA)
    before = {d: store.partition_file(TABLE, d).read_bytes() for d in days}
    write_bytes = Path.write_bytes

    def full_disk(path, data):
        if path.name in ("2024-01-03.parquet", "2024-01-06.parquet"):
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return write_bytes(path, data)

    monkeypatch.setattr(Path, "write_bytes", full_disk)
    with pytest.raises(StorageError) as info:
        store.write_partitions(TABLE, frame.head(5), days, SCHEMA)
    message = str(info.value)
    assert "failed at partition 2024-01-03" in message and "No space left on device" in message
    assert "every stored partition is unchanged" in message
    monkeypatch.undo()
    assert {d: store.partition_file(TABLE, d).read_bytes() for d in days} == before
    assert not list(store.table_dir(TABLE).glob(".staging-*"))
