"""The tables' histories (``nba_assets/io/history.py``): the local store serves long windows from one
frame of every stored partition, kept in memory and in ``<table>/.history.parquet``, and what it
serves is what a scan of the partition files returns (rows, order, types, one chunk):

- the storage contract holds on a store that serves every window from the history;
- a history read by another store (another process: a new store, its file) serves the same rows;
- a day rewritten, deleted or added by a store of this process, or replaced behind every store's
  back (another process), is read from its file; so is a day whose file was younger than
  ``RACY_NS`` when the history read it (a stored history does not vouch for it);
- a window of other columns or types, a history that would not fit in memory, a broken history
  file: served as the scan serves them, and a broken file is replaced.

Rows are cut from the real box scores in ``data/`` (two months of partitions).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest

from nba_assets.io import history
from nba_assets.io.storage import LocalParquetStore, TableRef
from nba_assets.partitions import dates_between

from . import test_storage_contract as contract
from .conftest import BOX_SCORES, raw_box_from_box_scores

pytestmark = pytest.mark.skipif(not BOX_SCORES.exists(), reason="the real box scores are not in data/")

REPO = Path(__file__).resolve().parent.parent
SCHEMA = contract.SCHEMA
REF = TableRef("nba_raw", "bdl_player_boxscores")
DAYS = dates_between(date(2023, 11, 1), date(2023, 12, 31))  # 61 days, Christmas and all
CACHE = 256 * 2**20

# The storage contract again, on a store that serves every window (one day and up) from the history.
globals().update(contract.suite())


@pytest.fixture
def store(tmp_path) -> LocalParquetStore:
    return LocalParquetStore(tmp_path / "lake", window_cache_bytes=CACHE, history_min_days=1)


@pytest.fixture(scope="module")
def two_months(box_scores) -> pl.DataFrame:
    return raw_box_from_box_scores(box_scores.filter(pl.col("game_date").is_between(DAYS[0], DAYS[-1])))


@pytest.fixture(autouse=True)
def settled_at_once(monkeypatch):
    """Files count as settled as soon as they are written (the tests that need the rule set it back)."""
    monkeypatch.setattr(history, "RACY_NS", 0)


def _lake(tmp_path: Path, rows: pl.DataFrame) -> Path:
    root = tmp_path / "lake"
    LocalParquetStore(root).write_partitions(REF, rows, DAYS, SCHEMA)
    return root


def _cached(root: Path, **kw) -> LocalParquetStore:
    return LocalParquetStore(root, window_cache_bytes=kw.pop("cache", CACHE), **kw)


def _same(served: pl.DataFrame, root: Path, days, schema=SCHEMA) -> None:
    scanned = LocalParquetStore(root).read_window(REF, days, schema)  # no cache: one scan of the files
    assert served.schema == scanned.schema
    assert served.equals(scanned)
    assert served.n_chunks() == 1
    assert served.height == scanned.height


def _history_file(root: Path) -> Path:
    return root / REF.dataset / REF.table / history.FILE_NAME


def test_windows_from_the_history_are_the_scans_of_the_files(tmp_path, two_months) -> None:
    root = _lake(tmp_path, two_months)
    cached = _cached(root)
    windows = [DAYS, DAYS[10:45], DAYS[-40:] + [DAYS[-1] + timedelta(days=3)], DAYS[::2]]
    for days in windows:
        _same(cached.read_window(REF, days, SCHEMA), root, days)
    assert _history_file(root).is_file()
    # Another process: a new store reads the stored history, and serves the same rows.
    stored = history.load(str(_history_file(root)), lambda d: 0)
    assert stored is not None and sorted(stored.days) == [d for d in DAYS if cached.partition_file(REF, d).exists()]
    other = _cached(root)
    for days in windows:
        _same(other.read_window(REF, days, SCHEMA), root, days)
    # A narrower schema: the history's columns, narrowed.
    narrow = pl.Schema({name: SCHEMA[name] for name in ("player_id", "game_date", "pts")})
    _same(other.read_window(REF, DAYS, narrow), root, DAYS, narrow)
    # A history first made for a narrow read holds every column of the files: a later read of all
    # of them is served by it, with no second scan of the files.
    _history_file(root).unlink()
    first = _cached(root)
    _same(first.read_window(REF, DAYS, narrow), root, DAYS, narrow)
    assert dict(first._histories[str(root / REF.dataset / REF.table)].schema) == dict(SCHEMA)
    assert dict(history.load(str(_history_file(root)), lambda d: 0).schema) == dict(SCHEMA)
    scans = []
    first._scan_by_file = lambda files, schema: scans.append(files)  # no file read from here on
    _same(first.read_window(REF, DAYS, SCHEMA), root, DAYS)
    assert scans == []
    # Shorter windows than history_min_days are scanned as before (and cached by the window cache).
    short = _cached(root, history_min_days=len(DAYS) + 1)
    _same(short.read_window(REF, DAYS, SCHEMA), root, DAYS)
    assert short._cache.misses == 1 and not short._histories


def test_a_day_rewritten_deleted_or_added_is_read_from_its_file(tmp_path, two_months) -> None:
    root = _lake(tmp_path, two_months)
    cached = _cached(root)
    before = cached.read_window(REF, DAYS, SCHEMA)
    writer = LocalParquetStore(root)  # another store of the process
    day = DAYS[5]
    writer.write_partitions(REF, before.filter(pl.col("game_date") == day).head(3), [day], SCHEMA)
    after = cached.read_window(REF, DAYS, SCHEMA)
    _same(after, root, DAYS)
    assert after.filter(pl.col("game_date") == day).height == 3
    # The next window is served from the history brought up to date in memory.
    assert cached._histories[str(root / REF.dataset / REF.table)].days[day].rows == 3
    # Replaced behind every store's back (another process), with a file of the same rows.
    path = cached.partition_file(REF, DAYS[6])
    staged = path.with_suffix(".new")
    pl.read_parquet(path).write_parquet(staged)
    os.replace(staged, path)
    _same(cached.read_window(REF, DAYS, SCHEMA), root, DAYS)
    # Deleted; then a day after the last stored one written.
    writer.delete_window(REF, DAYS[7], DAYS[8])
    later = DAYS + [DAYS[-1] + timedelta(days=1)]
    writer.write_partitions(REF, before.filter(pl.col("game_date") == DAYS[0]).head(0), [later[-1]], SCHEMA)
    served = cached.read_window(REF, later, SCHEMA)
    _same(served, root, later)
    assert served.filter(pl.col("game_date").is_in(DAYS[7:9])).height == 0


def test_a_day_rewritten_by_another_process_is_seen_by_a_stored_history(tmp_path, two_months) -> None:
    root = _lake(tmp_path, two_months)
    _cached(root).read_window(REF, DAYS, SCHEMA)
    assert _history_file(root).is_file()
    day = DAYS[12]
    code = (
        "import sys, polars as pl; from datetime import date;"
        "from nba_assets.io.storage import LocalParquetStore, TableRef;"
        "from nba_assets.schemas import schema_for;"
        "s = LocalParquetStore(sys.argv[1]); ref = TableRef('nba_raw', 'bdl_player_boxscores');"
        "d = date.fromisoformat(sys.argv[2]); sch = schema_for('nba_raw', 'bdl_player_boxscores');"
        "rows = s.read_window(ref, [d], sch);"
        "s.write_partitions(ref, rows.with_columns(pl.col('pts') + 100), [d], sch)"
    )
    subprocess.run([sys.executable, "-c", code, str(root), day.isoformat()], cwd=REPO, check=True, timeout=120)
    served = _cached(root).read_window(REF, DAYS, SCHEMA)
    _same(served, root, DAYS)
    assert served.filter(pl.col("game_date") == day)["pts"].min() >= 100


def test_a_history_vouches_only_for_files_older_than_racy_ns(tmp_path, two_months, monkeypatch) -> None:
    root = _lake(tmp_path, two_months)
    _cached(root).read_window(REF, DAYS, SCHEMA)  # every day settled (RACY_NS = 0 here)
    writer = LocalParquetStore(root)
    older, young = DAYS[20:22], DAYS[30:32]
    writer.write_partitions(REF, writer.read_window(REF, older, SCHEMA), older, SCHEMA)
    time.sleep(0.4)
    writer.write_partitions(REF, writer.read_window(REF, young, SCHEMA), young, SCHEMA)
    # The rule back, at a scale the test can wait for: the days written 0.4 s ago are settled, the
    # days just written are too young for a stored history to vouch for them.
    monkeypatch.setattr(history, "RACY_NS", 200_000_000)
    # Four days no longer current, fewer than STALE_DAYS: read from their files, the history in the
    # lake left as it was (the old versions of the four days).
    _same(_cached(root).read_window(REF, DAYS, SCHEMA), root, DAYS)
    stored = history.load(str(_history_file(root)), lambda d: 0)
    assert stored is not None and set(older + young) <= set(stored.days)
    assert not any(stored.current(d, _version(writer, d), 0) for d in older + young)
    # More than STALE_DAYS: brought up to date over every stored day and stored again, without the
    # young days; a store reading it serves those from their files.
    monkeypatch.setattr(history, "STALE_DAYS", 3)
    _same(_cached(root).read_window(REF, DAYS, SCHEMA), root, DAYS)
    stored = history.load(str(_history_file(root)), lambda d: 0)
    assert stored is not None
    assert all(stored.current(d, _version(writer, d), 0) for d in older)
    assert set(stored.days) == {d for d in DAYS if writer.partition_file(REF, d).exists()} - set(young)
    _same(_cached(root).read_window(REF, DAYS, SCHEMA), root, DAYS)
    # More young days than STALE_DAYS: not stored at all (the next store would rebuild it anyway).
    _history_file(root).unlink()
    writer.write_partitions(REF, writer.read_window(REF, DAYS, SCHEMA), DAYS, SCHEMA)
    _same(_cached(root).read_window(REF, DAYS, SCHEMA), root, DAYS)
    assert not _history_file(root).exists()


def _version(store: LocalParquetStore, day: date):
    from nba_assets.io.storage import _file_version

    return _file_version(str(store.partition_file(REF, day)))


def test_other_columns_a_type_clash_no_room_or_a_broken_file_serve_the_scan(tmp_path, two_months) -> None:
    root = _lake(tmp_path, two_months)
    cached = _cached(root)
    narrow = pl.Schema({name: SCHEMA[name] for name in ("game_date", "player_id", "pts")})
    _same(cached.read_window(REF, DAYS, narrow), root, DAYS, narrow)
    # A column the history lacks (here one no file has: read as nulls): a history of both.
    wider = pl.Schema({**dict(narrow.items()), "not_stored": pl.Int32})
    served = cached.read_window(REF, DAYS, wider)
    _same(served, root, DAYS, wider)
    assert served["not_stored"].null_count() == served.height
    # (a history is made of every column the files hold, whatever the first read asked for)
    assert set(cached._histories[str(root / REF.dataset / REF.table)].schema) == set(SCHEMA) | {"not_stored"}
    # Another type for a column the history has: the scan itself, and its error.
    clash = pl.Schema({"game_date": pl.Date, "pts": pl.Float64})
    errors = []
    for reader in (LocalParquetStore(root), cached):
        with pytest.raises(pl.exceptions.SchemaError) as raised:
            reader.read_window(REF, DAYS, clash)
        errors.append(str(raised.value))
    assert errors[0] == errors[1] and "pts" in errors[0]
    # A history larger than the memory it may take: not used, the window as scanned.
    tiny = _cached(root, cache=1000)
    _same(tiny.read_window(REF, DAYS, SCHEMA), root, DAYS)
    assert not tiny._histories
    tiny._updated = None  # the next window of that table is not even tried on a history
    _same(tiny.read_window(REF, DAYS, SCHEMA), root, DAYS)
    # A broken history file: ignored, the window scanned, and the file replaced by a good one.
    _history_file(root).write_bytes(b"not parquet")
    _same(_cached(root).read_window(REF, DAYS, SCHEMA), root, DAYS)
    assert history.load(str(_history_file(root)), lambda d: 0) is not None


def test_a_consumer_changing_its_frame_in_place_leaves_the_history_as_read(tmp_path, two_months) -> None:
    root = _lake(tmp_path, two_months)
    cached = _cached(root)
    for _ in range(2):
        frame = cached.read_window(REF, DAYS[3:40], SCHEMA)
        frame[0, "player_id"] = -1
        frame.insert_column(0, pl.Series("extra", [0] * frame.height))
        frame.drop_in_place("game_date")
    _same(cached.read_window(REF, DAYS[3:40], SCHEMA), root, DAYS[3:40])
    _same(cached.read_window(REF, DAYS, SCHEMA), root, DAYS)


def test_a_write_of_this_process_is_seen_even_where_a_file_keeps_its_stat(tmp_path, two_months, monkeypatch) -> None:
    """A rewrite can leave a file's stat fields as they were (a coarse file clock, the old inode
    again, the same size): the store's own writes and deletes are counted per day as well."""
    from nba_assets.io import storage

    real = storage._file_version
    monkeypatch.setattr(storage, "_file_version", lambda path: None if real(path) is None else (0, 0, 0, 0, 0))
    root = _lake(tmp_path, two_months)
    cached = _cached(root)
    before = cached.read_window(REF, DAYS, SCHEMA)
    writer = LocalParquetStore(root)
    day = DAYS[9]
    writer.write_partitions(
        REF, before.filter(pl.col("game_date") == day).with_columns(pl.col("pts") + 100), [day], SCHEMA
    )
    served = cached.read_window(REF, DAYS, SCHEMA)
    _same(served, root, DAYS)
    assert served.filter(pl.col("game_date") == day)["pts"].min() >= 100
    writer.delete_window(REF, DAYS[10], DAYS[10])
    assert cached.read_window(REF, DAYS, SCHEMA).filter(pl.col("game_date") == DAYS[10]).height == 0
