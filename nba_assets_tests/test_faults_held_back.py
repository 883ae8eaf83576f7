"""A bad day is held back, and only that day (issue 14), through the replay server on 127.0.0.1.

The archive is cut from the real data (2024-11-25..2024-11-28: three game days, Thanksgiving has
none). For the faulty run, a copy of it answers balldontlie ``/v1/stats`` of 2024-11-26 with a
non-numeric ``pts`` (the real value as a JSON string) in one row; every base URL points at the
replay server, with dummy keys, as against the real services.
"""

from __future__ import annotations

import gzip
import json
import shutil
from datetime import date
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from nba_assets.assets import ingest, raw
from nba_assets.io.storage import LocalParquetStore, TableRef
from nba_assets.partitions import dates_between
from nba_assets.replay import ReplayServer, build_archive

from .conftest import BOX_SCORES, LINES, lake_resources
from .test_ingest import INGEST_KEYS, RANGE_END, RANGE_START, RAW_KEYS, read
from .test_ingest_faults import fault_apis

pytestmark = pytest.mark.skipif(
    not (BOX_SCORES.is_file() and LINES.is_file()), reason="real data files are not present"
)

WINDOW = (date(2024, 11, 25), date(2024, 11, 28))
BAD_DAY = date(2024, 11, 26)
DAYS = dates_between(*WINDOW)
BOX = ("nba_raw", "bdl_player_boxscores")
REJECTIONS = ("nba_raw", "payload_rejections")
KEYS = [*INGEST_KEYS, *RAW_KEYS, REJECTIONS, ("nba_raw", "unresolved_player_names")]


def _between(first: date, last: date) -> pl.Expr:
    return pl.col("game_date").is_between(pl.lit(first.isoformat()), pl.lit(last.isoformat()))


@pytest.fixture(scope="module")
def archives(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, int]:
    """(the good archive, the archive with the fault, the index of the faulty row)."""
    d = tmp_path_factory.mktemp("held_back")
    pl.read_parquet(BOX_SCORES).filter(_between(*WINDOW)).write_parquet(d / "box.parquet")
    pl.read_parquet(LINES).filter(_between(*WINDOW)).write_parquet(d / "lines.parquet")
    good = build_archive([d / "box.parquet"], [d / "lines.parquet"], d / "replay")
    bad = d / "replay_bad"
    shutil.copytree(good, bad)
    stats = bad / "balldontlie" / "v1" / "stats" / f"{BAD_DAY}.json"
    body = json.loads(stats.read_bytes())
    index = next(i for i, r in enumerate(body["data"]) if r["pts"])
    body["data"][index]["pts"] = str(body["data"][index]["pts"])  # "23" where 23 belongs
    stats.write_bytes(json.dumps(body, sort_keys=True, separators=(",", ":")).encode())
    return good, bad, index


def _run(
    lake: Path, archive: Path, first: date, last: date, monkeypatch: pytest.MonkeyPatch
) -> tuple[dg.ExecuteInProcessResult, str]:
    """Ingest + raw over first..last in one run; returns the result and the run's whole log."""
    with ReplayServer(archive) as server, dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize(
            [*dg.load_assets_from_modules([ingest, raw])],
            selection=[dg.AssetKey(list(k)) for k in KEYS],
            resources={**lake_resources(lake), "apis": fault_apis(server, lake)},
            instance=instance,
            tags={RANGE_START: first.isoformat(), RANGE_END: last.isoformat()},
        )
        log = "\n".join(str(entry.user_message) for entry in instance.all_logs(result.run_id))
    return result, log


def test_a_non_numeric_pts_holds_back_that_day_only_and_a_rerun_fills_it(
    archives: tuple[Path, Path, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, box_scores: pl.DataFrame
) -> None:
    good, bad, index = archives
    lake = tmp_path / "lake"
    result, log = _run(lake, bad, *WINDOW, monkeypatch)
    assert result.success

    # Every other game day's box scores landed; the bad day has no partition at all (a fresh lake).
    store = LocalParquetStore(lake)
    real = box_scores.filter(pl.col("game_date").is_between(*WINDOW) & (pl.col("minutes") > 0))
    assert store.missing_partitions(TableRef(*BOX), DAYS) == [BAD_DAY]
    stored = read(lake, BOX, DAYS)
    for day in DAYS:
        expected = real.filter(pl.col("game_date") == day).height
        assert stored.filter(pl.col("game_date") == day).height == (0 if day == BAD_DAY else expected), day
    assert stored.filter(pl.col("game_date") != BAD_DAY).height > 400
    # The schedule and the odds of the bad day are fine, so they landed.
    assert read(lake, ("nba_raw", "nbac_schedule"), [BAD_DAY]).height == 5
    assert read(lake, ("nba_raw", "odds_api_player_points_props"), [BAD_DAY]).height > 0

    # The run's output names the day, the file and the field.
    field = f"data[{index}].pts"
    assert f"held back nba_raw/bdl_player_boxscores for {BAD_DAY}" in log and field in log, log[-3000:]
    assert f"landing/balldontlie/{BAD_DAY}/" in log
    # ...and so does that day's own materialization, and only that day's.
    mats = {
        m.partition: m.metadata
        for m in (e.materialization for e in result.get_asset_materialization_events())
        if m.asset_key == dg.AssetKey(list(BOX))
    }
    assert sorted(mats) == [d.isoformat() for d in DAYS]
    held = mats[BAD_DAY.isoformat()]
    assert held["held_back"].value is True and held["held_back_field"].value == field
    assert f"landing/balldontlie/{BAD_DAY}/" in held["held_back_file"].value
    assert "dagster/row_count" not in held
    for day in DAYS:
        if day != BAD_DAY:
            meta = mats[day.isoformat()]
            assert "held_back" not in meta, day
            assert meta["dagster/row_count"].value == real.filter(pl.col("game_date") == day).height, day

    # The days that landed are complete against the schedule (real data: both teams, ~240 minutes).
    (complete,) = [c for c in result.get_asset_check_evaluations() if c.check_name == "box_scores_complete"]
    assert complete.passed and complete.metadata["games_final"].value == 9 + 14

    # The rejections table has the row; the landing file with the bad body is kept.
    rejections = read(lake, REJECTIONS, DAYS)
    assert rejections.select("game_date", "source", "field").rows() == [(BAD_DAY, "bdl_stats", field)]
    (file,) = rejections["file"].to_list()
    landed = lake / "landing" / file.removeprefix("balldontlie stats landing/")
    assert landed.is_file() and b'"pts":"' in gzip.decompress(landed.read_bytes())
    assert rejections["first_seen"].null_count() == 0 and "Input should be a valid integer" in rejections["error"][0]
    # The non-blocking check lists the held-back day.
    (check,) = [c for c in result.get_asset_check_evaluations() if c.check_name == "held_back_days"]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert check.metadata["held_back_days"].value == 1 and BAD_DAY.isoformat() in check.metadata["days"].value

    # A consumer of the box scores loads the missing day as no rows, and counts it on its input.
    (loaded,) = [
        e
        for e in result.all_events
        if e.event_type == dg.DagsterEventType.LOADED_INPUT
        and e.step_key == "nba_raw__unresolved_player_names"
        and e.event_specific_data.input_name == "box"
    ]
    counted = loaded.event_specific_data.metadata
    assert counted["partitions_missing"].value == 1 and counted["first_missing"].value == BAD_DAY.isoformat()
    assert counted["partitions_requested"].value == len(DAYS)

    # With the fault gone, a run of that one day fills it, and the day's rejection is cleared.
    result, _ = _run(lake, good, BAD_DAY, BAD_DAY, monkeypatch)
    assert result.success
    assert store.missing_partitions(TableRef(*BOX), DAYS) == []
    assert read(lake, BOX, [BAD_DAY]).height == real.filter(pl.col("game_date") == BAD_DAY).height
    assert read(lake, REJECTIONS, DAYS).height == 0
    (check,) = [c for c in result.get_asset_check_evaluations() if c.check_name == "held_back_days"]
    assert check.passed


def test_one_bad_game_in_the_season_schedule_holds_back_its_day_only(
    archives: tuple[Path, Path, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The schedule is one body per season; one game of 2024-11-26 has a number for its home tricode.
    That day is held back in the schedule and in the tables parsed with it; the other days land."""
    good, _, _ = archives
    edited = tmp_path / "replay"
    shutil.copytree(good, edited)
    (path,) = (edited / "nba_cdn" / "scheduleLeagueV2").glob("*.json")
    body = json.loads(path.read_bytes())
    games = [g for d in body["leagueSchedule"]["gameDates"] for g in d["games"]]
    game = next(g for g in games if g["gameDateEst"][:10] == BAD_DAY.isoformat())
    game["homeTeam"]["teamTricode"] = game["homeTeam"]["teamId"]
    path.write_bytes(json.dumps(body).encode())

    lake = tmp_path / "lake"
    result, log = _run(lake, edited, *WINDOW, monkeypatch)
    assert result.success
    store = LocalParquetStore(lake)
    for key in [("nba_raw", "nbac_schedule"), BOX, ("nba_raw", "odds_api_player_points_props")]:
        assert store.missing_partitions(TableRef(*key), DAYS) == [BAD_DAY], key
    assert read(lake, ("nba_raw", "nbac_schedule"), DAYS)["game_date"].unique().sort().to_list() == [
        date(2024, 11, 25),
        date(2024, 11, 27),
    ]
    assert read(lake, BOX, DAYS).height > 400
    rejections = read(lake, REJECTIONS, DAYS)
    assert rejections.select("game_date", "source").rows() == [(BAD_DAY, "nba_schedule")]
    assert rejections["field"][0].startswith("leagueSchedule.gameDates[") and "teamTricode" in rejections["field"][0]
    assert f"held back nba_raw/nbac_schedule for {BAD_DAY}" in log
    assert f"held back nba_raw/bdl_player_boxscores for {BAD_DAY}" in log


def test_rejections_validate_only_what_has_landed(
    archives: tuple[Path, Path, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rejections table can run before the stats and odds have landed (automation may ask for it
    as soon as the schedule lands): nothing landed is nothing rejected, and the run succeeds."""
    good, _, _ = archives
    lake = tmp_path / "lake"
    with ReplayServer(good) as server, dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize(
            [*dg.load_assets_from_modules([ingest, raw])],
            selection=[dg.AssetKey(list(k)) for k in (INGEST_KEYS[0], RAW_KEYS[0], REJECTIONS)],
            resources={**lake_resources(lake), "apis": fault_apis(server, lake)},
            instance=instance,
            tags={RANGE_START: WINDOW[0].isoformat(), RANGE_END: WINDOW[1].isoformat()},
        )
    assert result.success
    assert not (lake / "landing" / "_fetches" / "bdl_stats").exists()
    assert LocalParquetStore(lake).missing_partitions(TableRef(*REJECTIONS), DAYS) == []
    assert read(lake, REJECTIONS, DAYS).height == 0
    (check,) = [c for c in result.get_asset_check_evaluations() if c.check_name == "held_back_days"]
    assert check.passed
