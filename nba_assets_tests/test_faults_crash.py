"""Crash safety of the lake (issue 14): a range run killed with SIGKILL during its data work, a
``dg launch`` killed while it holds a concurrency-pool slot (the next run frees it), and two
processes writing overlapping windows of one table at the same time.

Everything is cut from the real data in ``data/``: a replay archive of 2024-11-01..2024-11-10 for
the killed run, real box-score rows for the concurrent writers.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from nba_assets.gameday import child_env
from nba_assets.io import history
from nba_assets.io.storage import LocalParquetStore, TableRef
from nba_assets.partitions import dates_between
from nba_assets.replay import build_archive
from nba_assets.schemas import TABLES, schema_for

from .conftest import BOX_SCORES, LINES, REPO, raw_box_from_box_scores

pytestmark = pytest.mark.skipif(
    not (BOX_SCORES.is_file() and LINES.is_file()), reason="real data files are not present"
)

WINDOW = (date(2024, 11, 1), date(2024, 11, 10))
RAW_TABLES = [k for k in sorted(TABLES) if k[0] == "nba_raw"]

# The job a `make run` of ingest + raw would execute, in its own process (env: the lake, the archive).
RUN_SCRIPT = textwrap.dedent(
    """
    import sys
    import dagster as dg
    from nba_assets.assets import ingest, raw
    from nba_assets.io.manager import LakehouseIOManager
    from nba_assets.lake import Lake
    from nba_assets.resources import NbaApis, RawCheckThresholds

    lake, archive, first, last = sys.argv[1:5]
    apis = NbaApis(replay_dir=archive, lake=Lake(lake_dir=lake), balldontlie_api_key="k", odds_api_key="k")
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize(
            [*dg.load_assets_from_modules([ingest, raw])],
            resources={
                "lake": Lake(lake_dir=lake),
                "io_manager": LakehouseIOManager(lake=Lake(lake_dir=lake)),
                "raw_checks": RawCheckThresholds(),
                "apis": apis,
            },
            instance=instance,
            tags={"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last},
        )
    sys.exit(0 if result.success else 1)
    """
)


def _between(first: date, last: date) -> pl.Expr:
    return pl.col("game_date").is_between(pl.lit(first.isoformat()), pl.lit(last.isoformat()))


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("crash_archive")
    pl.read_parquet(BOX_SCORES).filter(_between(*WINDOW)).write_parquet(d / "box.parquet")
    pl.read_parquet(LINES).filter(_between(*WINDOW)).write_parquet(d / "lines.parquet")
    return build_archive([d / "box.parquet"], [d / "lines.parquet"], d / "replay")


def _start(script: Path, lake: Path, archive: Path) -> subprocess.Popen:
    env = {**os.environ, "NBA_LAKE_DIR": str(lake), "NBA_REPLAY_DIR": str(archive), "PYTHONPATH": str(REPO)}
    args = [sys.executable, str(script), str(lake), str(archive), WINDOW[0].isoformat(), WINDOW[1].isoformat()]
    return subprocess.Popen(args, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _tables(lake: Path) -> dict[tuple[str, str], pl.DataFrame]:
    store = LocalParquetStore(lake)
    days = dates_between(*WINDOW)
    return {key: store.read_window(TableRef(*key), days, schema_for(*key)) for key in RAW_TABLES}


def test_a_range_run_killed_during_its_writes_leaves_whole_files_and_a_rerun_equals_a_clean_run(
    archive: Path, tmp_path: Path
) -> None:
    script = tmp_path / "run_range.py"
    script.write_text(RUN_SCRIPT)
    clean, crashed = tmp_path / "clean", tmp_path / "crashed"
    proc = _start(script, clean, archive)
    assert proc.wait(timeout=300) == 0, proc.stderr.read().decode()[-3000:]

    # Kill -9 as soon as the raw tables are being written (the first schedule partition is in place).
    proc = _start(script, crashed, archive)
    schedule_dir = crashed / "nba_raw" / "nbac_schedule"
    deadline = time.monotonic() + 300
    while not (schedule_dir.is_dir() and any(schedule_dir.glob("game_date=*/part-0.parquet"))):
        assert proc.poll() is None, "the run ended before it was killed"
        assert time.monotonic() < deadline
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait(timeout=30) == -signal.SIGKILL
    store = LocalParquetStore(crashed)
    stored = {key: store.stored_partitions(TableRef(*key)) for key in RAW_TABLES}
    assert any(len(days) < len(dates_between(*WINDOW)) for days in stored.values()), "killed too late"

    # Every Parquet file that is there reads whole, in its table's schema; nothing half-written is
    # stored under a partition's name (leftovers of the killed writer are only in .staging-*).
    for path in crashed.rglob("*.parquet"):
        if any(part.startswith(".staging-") for part in path.parts):
            continue
        if path.name == history.FILE_NAME:  # a table's history (a reader's): whole, or not there
            assert history.load(str(path), lambda d: 0) is not None, path
            continue
        assert path.name == "part-0.parquet", path
        dataset, table = path.parts[-4], path.parts[-3]
        frame = pl.read_parquet(path)
        assert frame.schema == schema_for(dataset, table), path
        assert frame["game_date"].unique().to_list() in ([], [date.fromisoformat(path.parts[-2][10:])]), path
    # The dead writer holds no lock: a writer of every table gets it at once.
    for key in RAW_TABLES:
        with store.locked(TableRef(*key)):
            pass

    # A rerun of the same range leaves the tables exactly as the clean run did, and no leftovers.
    proc = _start(script, crashed, archive)
    assert proc.wait(timeout=300) == 0, proc.stderr.read().decode()[-3000:]
    want, got = _tables(clean), _tables(crashed)
    for key in RAW_TABLES:
        assert store.stored_partitions(TableRef(*key)) == dates_between(*WINDOW), key
        assert_frame_equal(got[key], want[key], check_row_order=False)
    assert not list(crashed.glob("nba_raw/*/.staging-*"))


# ------------------------------------------------------------------------ concurrent writers

WRITER_SCRIPT = textwrap.dedent(
    """
    import sys
    from datetime import date
    import polars as pl
    from nba_assets.io.storage import LocalParquetStore, TableRef
    from nba_assets.partitions import dates_between
    from nba_assets.schemas import schema_for

    lake, source, first, last, rounds = sys.argv[1:6]
    table, schema = TableRef("nba_raw", "bdl_player_boxscores"), schema_for("nba_raw", "bdl_player_boxscores")
    days = dates_between(date.fromisoformat(first), date.fromisoformat(last))
    frame = pl.read_parquet(source).filter(pl.col("game_date").is_in(days))
    store = LocalParquetStore(lake)
    for _ in range(int(rounds)):
        store.write_partitions(table, frame, days, schema)
    """
)
BOX_KEY = ("nba_raw", "bdl_player_boxscores")
TABLE = TableRef(*BOX_KEY)
A_DAYS = (date(2024, 11, 1), date(2024, 11, 10))
B_DAYS = (date(2024, 11, 6), date(2024, 11, 15))


def test_two_processes_writing_overlapping_windows_never_tear_or_duplicate_a_partition(
    tmp_path: Path, box_scores: pl.DataFrame
) -> None:
    """Writer A stores every real row of its days; writer B (overlapping days) only the home
    players' rows (a real cut), so every stored partition says whose it is. While both rewrite their
    windows over and over, and after, each partition is whole: A's rows or B's, never a mix, never
    a row twice; and the overlapping days all come from the same writer (the window is atomic
    relative to the other writer)."""
    raw = raw_box_from_box_scores(box_scores.filter(pl.col("game_date").is_between(A_DAYS[0], B_DAYS[1])))
    a_rows, b_rows = tmp_path / "a.parquet", tmp_path / "b.parquet"
    raw.write_parquet(a_rows)
    raw.filter(pl.col("home_away") == "H").write_parquet(b_rows)
    by_day = {
        name: {k[0]: v for k, v in pl.read_parquet(p).partition_by("game_date", as_dict=True).items()}
        for name, p in (("A", a_rows), ("B", b_rows))
    }
    script = tmp_path / "writer.py"
    script.write_text(WRITER_SCRIPT)
    lake = tmp_path / "lake"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    writers = [
        subprocess.Popen(
            [sys.executable, str(script), str(lake), str(rows), first.isoformat(), last.isoformat(), "25"],
            env=env,
            stderr=subprocess.PIPE,
        )
        for rows, (first, last) in ((a_rows, A_DAYS), (b_rows, B_DAYS))
    ]
    store = LocalParquetStore(lake)
    overlap = dates_between(B_DAYS[0], A_DAYS[1])

    def whose(day: date, frame: pl.DataFrame) -> str:
        assert frame.filter(pl.struct("game_id", "player_id").is_duplicated()).height == 0, day
        if day not in by_day["A"] and day not in by_day["B"]:  # no games (2024-11-05): empty either way
            assert frame.height == 0, day
            return "-"
        for name in ("A", "B"):
            expected = by_day[name].get(day)
            if expected is not None and frame.height == expected.height:
                assert_frame_equal(frame.sort("game_id", "player_id"), expected.sort("game_id", "player_id"))
                return name
        raise AssertionError(f"{day}: {frame.height} rows are neither writer's partition")

    reads = 0
    schema = schema_for("nba_raw", "bdl_player_boxscores")
    while any(w.poll() is None for w in writers):
        # Readers during the writes: every file found (read in one go) is one writer's whole
        # partition, and so is every window read through the store.
        for day in overlap:
            path = store.partition_file(TABLE, day)
            if path.exists():
                whose(day, pl.read_parquet(io.BytesIO(path.read_bytes())))
                reads += 1
        window = store.read_window(TABLE, overlap, schema)
        if window.height:
            for (day,), part in window.partition_by("game_date", as_dict=True).items():
                whose(day, part)
    for writer in writers:
        assert writer.wait(timeout=120) == 0, writer.stderr.read().decode()[-3000:]
    assert reads > 0

    final = {d: whose(d, store.read_window(TABLE, [d], schema)) for d in dates_between(A_DAYS[0], B_DAYS[1])}
    assert {final[d] for d in dates_between(A_DAYS[0], date(2024, 11, 5))} - {"-"} == {"A"}
    assert {final[d] for d in dates_between(date(2024, 11, 11), B_DAYS[1])} - {"-"} == {"B"}
    assert len({final[d] for d in overlap} - {"-"}) == 1, final  # one writer's window, not a mix of both
    assert store.stored_partitions(TABLE) == dates_between(A_DAYS[0], B_DAYS[1])
    assert not list(store.table_dir(TABLE).glob(".staging-*"))


# ----------------------------------------------------------------------------- a full disk

FULL_DISK_SCRIPT = textwrap.dedent(
    """
    import resource, signal, sys
    from datetime import date
    import polars as pl
    from nba_assets.io.storage import LocalParquetStore, StorageError, TableRef
    from nba_assets.partitions import dates_between
    from nba_assets.schemas import schema_for

    lake, source, first, last = sys.argv[1:5]
    frame = pl.read_parquet(source)
    days = dates_between(date.fromisoformat(first), date.fromisoformat(last))
    # The disk is "full" for this process: no file may grow beyond 4 KiB (EFBIG instead of SIGXFSZ).
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
    try:
        LocalParquetStore(lake).write_partitions(
            TableRef("nba_raw", "bdl_player_boxscores"), frame, days, schema_for("nba_raw", "bdl_player_boxscores")
        )
    except StorageError as exc:
        print(exc)
        sys.exit(3)
    """
)


def test_a_full_disk_fails_the_write_clearly_and_keeps_every_stored_partition(
    tmp_path: Path, box_scores: pl.DataFrame
) -> None:
    """Simulated with a file-size limit on the writer (CI runs as root, which ignores permissions)."""
    first, last = date(2024, 11, 1), date(2024, 11, 6)
    raw = raw_box_from_box_scores(box_scores.filter(pl.col("game_date").is_between(first, last)))
    lake = tmp_path / "lake"
    store = LocalParquetStore(lake)
    earlier = dates_between(first, date(2024, 11, 3))
    store.write_partitions(TABLE, raw.filter(pl.col("game_date") <= earlier[-1]), earlier, schema_for(*BOX_KEY))
    before = {d: store.partition_file(TABLE, d).read_bytes() for d in earlier}
    source = tmp_path / "rows.parquet"
    raw.write_parquet(source)

    script = tmp_path / "full_disk.py"
    script.write_text(FULL_DISK_SCRIPT)
    proc = subprocess.run(
        [sys.executable, str(script), str(lake), str(source), first.isoformat(), last.isoformat()],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        timeout=120,
    )
    message = proc.stdout.decode()
    assert proc.returncode == 3, proc.stderr.decode()[-2000:]
    assert "nba_raw.bdl_player_boxscores: writing to" in message and "failed at partition 2024-11-01" in message
    assert "File too large" in message and "every stored partition is unchanged" in message, message
    assert {d: store.partition_file(TABLE, d).read_bytes() for d in earlier} == before
    assert store.stored_partitions(TABLE) == earlier
    assert not list(store.table_dir(TABLE).glob(".staging-*"))


# ------------------------------------------------------------------ pool slots of a killed run


def _claimed(home: Path) -> dict[str, list[str]]:
    """Pool -> the run ids holding one of its slots, on the instance of ``home``."""
    import dagster as dg

    from nba_assets.instance import POOLS

    with dg.DagsterInstance.from_config(str(home)) as instance:
        infos = instance.event_log_storage.get_concurrency_infos(list(POOLS))
        return {pool: [s.run_id for s in info.claimed_slots] for pool, info in infos.items() if info.claimed_slots}


def test_a_killed_run_holds_no_pool_slot_once_the_next_run_starts(archive: Path, tmp_path: Path) -> None:
    """``dg launch`` of ingest + raw on an instance with the project's pools (limit 1 per API),
    killed with SIGKILL while its odds landing step holds the ``odds_api`` slot: the slot is held
    by a dead run. The next run, started as ``make run`` starts it (``python -m nba_assets.instance``
    then ``dg launch``), frees it, marks the dead run failed, and completes; afterwards no slot is held."""
    import dagster as dg

    from nba_assets.instance import write_instance

    home, lake = tmp_path / "home", tmp_path / "lake"
    write_instance(home)
    env = child_env(home, lake, archive, drop=("NBA_GCS_BUCKET",))
    launch = [
        str(Path(sys.executable).parent / "dg"),
        "launch",
        "--assets",
        "group:ingest or group:raw",
        "--partition-range",
        f"{WINDOW[0]}...{WINDOW[1]}",
    ]
    proc = subprocess.Popen(
        launch, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    odds = lake / "landing" / "odds_api"
    deadline = time.monotonic() + 300
    while not (odds.is_dir() and any(odds.rglob("*.json.gz"))):
        assert proc.poll() is None, "the run ended before it was killed"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    assert proc.wait(timeout=30) == -signal.SIGKILL
    held = _claimed(home)
    assert list(held) == ["odds_api"], held  # the dead run's slot: what the next run would wait for
    (dead,) = held["odds_api"]

    # The next run, as `make run` starts it.
    prepare = subprocess.run(
        [sys.executable, "-m", "nba_assets.instance", str(home)], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert prepare.returncode == 0, prepare.stderr[-3000:]
    assert f"freed the pool slots of 1 run(s) whose process is gone: {dead}" in prepare.stdout, prepare.stdout
    assert _claimed(home) == {}
    rerun = subprocess.run(launch, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert "blocked by limit" not in rerun.stderr
    assert _claimed(home) == {}
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert instance.get_run_by_id(dead).status == dg.DagsterRunStatus.FAILURE
        assert instance.event_log_storage.get_concurrency_run_ids() == set()
    store = LocalParquetStore(lake)
    for key in RAW_TABLES:
        assert store.stored_partitions(TableRef(*key)) == dates_between(*WINDOW), key
