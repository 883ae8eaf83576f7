"""Nothing is dropped without a word (issue 14): odds that match no scheduled game, game days
without any landed odds and box scores that are incomplete against the schedule are counted per
partition and warned by non-blocking checks; a bad odds body holds back that day's props only.

Runs ingest + raw through the replay server over the two real days of ``test_ingest``'s archive.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from nba_assets.io.storage import LocalParquetStore, TableRef
from nba_assets.partitions import dates_between
from nba_assets.replay import Fault, ReplayServer

from .conftest import BOX_SCORES, LINES
from .test_ingest import DAYS, INGEST_KEYS, RAW_KEYS, read, run
from .test_ingest import archive as archive  # noqa: F401, PLC0414 - the module's replay archive fixture
from .test_ingest_faults import fault_apis

pytestmark = pytest.mark.skipif(
    not (BOX_SCORES.is_file() and LINES.is_file()), reason="real data files are not present"
)

PROPS = ("nba_raw", "odds_api_player_points_props")


def _checks(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {c.check_name: c for c in result.get_asset_check_evaluations()}


def _props_metadata(result: dg.ExecuteInProcessResult) -> dict[str, dict]:
    return {
        m.partition: {k: v.value for k, v in m.metadata.items()}
        for m in (e.materialization for e in result.get_asset_materialization_events())
        if m.asset_key == dg.AssetKey(list(PROPS))
    }


def test_odds_of_an_event_that_matches_no_scheduled_game_are_counted_and_warned(
    archive: Path,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A book lists one real event with home and away swapped: its rows cannot be matched to the
    scheduled game (null game_id, so no line is made from them); the day counts them and the check warns."""
    edited = tmp_path / "replay"
    shutil.copytree(archive, edited)
    event_id = sorted(p.name for p in (edited / "odds_api" / "event_odds").iterdir())[0]
    swapped = 0
    for path in (edited / "odds_api" / "events").glob("*.json"):  # the server answers teams from the events
        events = json.loads(path.read_text())
        for event in events:
            if event["id"] == event_id:
                event["home_team"], event["away_team"] = event["away_team"], event["home_team"]
                swapped += 1
        path.write_text(json.dumps(events))
    assert swapped == 1
    lake = tmp_path / "lake"
    with ReplayServer(edited) as server:
        result = run(lake, fault_apis(server, lake), INGEST_KEYS + RAW_KEYS, *DAYS, monkeypatch)
    assert result.success

    props = read(lake, PROPS, dates_between(*DAYS))
    unmatched = props.filter(pl.col("game_id").is_null())
    assert unmatched["event_id"].unique().to_list() == [event_id]
    meta = _props_metadata(result)
    (day,) = unmatched["game_date"].unique().to_list()
    assert meta[day.isoformat()]["unmatched_event_rows"] == unmatched.height > 0
    assert meta[day.isoformat()]["unmatched_events"] == 1
    assert all(m["unmatched_event_rows"] == 0 for d, m in meta.items() if d != day.isoformat())
    check = _checks(result)["odds_events_match_schedule"]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert check.metadata["unmatched_event_rows"].value == unmatched.height
    assert day.isoformat() in check.metadata["days"].value
    assert _checks(result)["odds_landed_for_game_days"].passed


def test_a_game_day_without_any_landed_odds_is_counted_and_warned(
    archive: Path,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every event-odds request answers 204 (no lines): the days still have their games, and
    instead of silent NO_LINE predictions each day says no odds landed and the check warns."""
    lake = tmp_path / "lake"
    with ReplayServer(archive, faults=[Fault("/odds", no_content=True, times=None)]) as server:
        result = run(lake, fault_apis(server, lake), INGEST_KEYS + RAW_KEYS, *DAYS, monkeypatch)
    assert result.success
    assert read(lake, PROPS, dates_between(*DAYS)).height == 0
    games = read(lake, ("nba_raw", "nbac_schedule"), dates_between(*DAYS)).group_by("game_date").len()
    meta = _props_metadata(result)
    for day, count in games.iter_rows():
        assert meta[day.isoformat()]["games"] == count > 0
        assert meta[day.isoformat()]["no_odds_landed"] is True and meta[day.isoformat()]["landed_files_parsed"] == 0
    check = _checks(result)["odds_landed_for_game_days"]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert check.metadata["game_days_without_odds"].value == games.height
    assert all(d.isoformat() in check.metadata["days"].value for d in games["game_date"])
    assert _checks(result)["odds_events_match_schedule"].passed


def test_a_box_score_missing_a_team_is_counted_and_warned(
    archive: Path,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A half-landed day: the stats of one team of one game are not in balldontlie's answer (the
    other rows are the real ones). The box scores land, the day counts the incomplete game and the
    check warns instead of grading that team's players void without a word."""
    edited = tmp_path / "replay"
    shutil.copytree(archive, edited)
    day = DAYS[1]
    stats = edited / "balldontlie" / "v1" / "stats" / f"{day}.json"
    body = json.loads(stats.read_bytes())
    first = body["data"][0]
    team_id, game_id = first["team"]["id"], first["game"]["id"]
    body["data"] = [r for r in body["data"] if not (r["team"]["id"] == team_id and r["game"]["id"] == game_id)]
    stats.write_bytes(json.dumps(body).encode())
    lake = tmp_path / "lake"
    with ReplayServer(edited) as server:
        result = run(lake, fault_apis(server, lake), INGEST_KEYS + RAW_KEYS[:2], *DAYS, monkeypatch)
    assert result.success
    box = read(lake, ("nba_raw", "bdl_player_boxscores"), [day])
    assert box.height > 0 and first["team"]["abbreviation"] not in set(
        box.filter(pl.col("bdl_game_id") == game_id)["team"]
    )
    mats = {
        m.partition: {k: v.value for k, v in m.metadata.items()}
        for m in (e.materialization for e in result.get_asset_materialization_events())
        if m.asset_key == dg.AssetKey(["nba_raw", "bdl_player_boxscores"])
    }
    assert mats[day.isoformat()]["games_incomplete"] == 1
    assert mats[DAYS[0].isoformat()]["games_incomplete"] == 0 and mats[DAYS[0].isoformat()]["games_final"] > 0
    check = _checks(result)["box_scores_complete"]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert check.metadata["games_incomplete"].value == 1 and day.isoformat() in check.metadata["examples"].value
    assert " 0+" in check.metadata["examples"].value or "+0 min" in check.metadata["examples"].value


def test_a_bad_odds_body_holds_back_that_days_props_only(
    archive: Path,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The odds of the first day's game have ``line`` where ``point`` belongs: that day's props are
    held back and recorded; the second day's props, and both days' schedule and box scores, land."""
    lake = tmp_path / "lake"
    keys = [*INGEST_KEYS, *RAW_KEYS, ("nba_raw", "payload_rejections")]
    (event,) = json.loads((archive / "odds_api" / "events" / f"{DAYS[0]}.json").read_text())
    fault = Fault(f"/events/{event['id']}/odds", rename={"point": "line"}, times=None)
    with ReplayServer(archive, faults=[fault]) as server:
        result = run(lake, fault_apis(server, lake), keys, *DAYS, monkeypatch)
    assert result.success
    store = LocalParquetStore(lake)
    assert store.missing_partitions(TableRef(*PROPS), list(DAYS)) == [DAYS[0]]
    assert read(lake, PROPS, [DAYS[1]]).height > 0
    for key in [("nba_raw", "nbac_schedule"), ("nba_raw", "bdl_player_boxscores")]:
        assert store.missing_partitions(TableRef(*key), list(DAYS)) == [], key
    rejections = read(lake, ("nba_raw", "payload_rejections"), list(DAYS))
    assert rejections.select("game_date", "source").rows() == [(DAYS[0], "odds_player_points")]
    assert rejections["field"][0].endswith(".point") and "landing/odds_api/" in rejections["file"][0]
    meta = _props_metadata(result)[DAYS[0].isoformat()]
    assert meta["held_back"] is True and meta["held_back_field"] == rejections["field"][0]
