"""Tonight mode: an archive of box scores before D and lines up to D predicts D.

The live services list tonight's games before any box score exists; the replay archive does too
(its games come from ``data/schedule.csv``). Two archives are built from cuts of ``data/`` with the
committed schedule, over the same short window ending at D = 2024-12-10 (two NBA Cup
quarter-finals, PrizePicks/Underdog lines):

* *tonight*: box scores of START..D-1, lines of START..D (D's games are scheduled, not played);
* *full*: box scores of START..D, the same lines.

The whole graph runs over START..D once per archive (one single-run window each, as ``make run``
does), and D's predictions must be there in the first and equal, value for value, to the second's
(the black-box leakage proof). START = 2024-11-21 is the shortest window with all six systems on
D: the ML models of D's week (from 2024-12-09) need 1,000 feature-store rows before it, and the
ensemble of that week needs the ML predictions of the week before (from 2024-12-02), whose models
need 1,000 rows before 2024-12-02 (from 2024-11-28 on, D gets no ensemble; from 2024-12-03 on, no
ML system at all).
"""

from __future__ import annotations

import json
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import httpx
import polars as pl
import pytest

from nba_assets.partitions import dates_between
from nba_assets.replay import ReplayServer, build_archive
from nba_assets.replay.schedule import DEFAULT_SCHEDULE
from nba_assets.schemas import TABLES
from nba_assets_tests.test_automation import memory_dir
from nba_assets_tests.test_ingest import errors
from nba_assets_tests.test_pipeline import _assert_same_rows, _export, _read, _run, _without_generated_at

from .conftest import BOX_SCORES, LINES

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (BOX_SCORES.is_file() and LINES.is_file() and DEFAULT_SCHEDULE.is_file()),
        reason="real data files are not present",
    ),
]

D = date(2024, 12, 10)
START = date(2024, 11, 21)
SYSTEMS = {"moving_average", "zone_matchup_v1", "similarity_balanced_v1", "xgboost_v1", "lightgbm_v1", "ensemble_v1"}
PREDICTIONS = ("nba_predictions", "player_prop_predictions")
BEFORE_D = dates_between(START, D - timedelta(days=1))
# D's tables that may know D's results (grading) or record them (the raw box scores, the schedule's
# status and scores, the analytics of played games); every other table of D must be equal.
RESULT_TABLES = {
    ("nba_raw", "nbac_schedule"),
    ("nba_raw", "bdl_player_boxscores"),
    ("nba_analytics", "player_game_summary"),
    ("nba_analytics", "team_offense_game_summary"),
    ("nba_analytics", "team_defense_game_summary"),
    ("nba_predictions", "prediction_accuracy"),
    ("nba_predictions", "system_daily_performance"),
}


def _between(first: date, last: date) -> pl.Expr:
    return pl.col("game_date").is_between(pl.lit(first.isoformat()), pl.lit(last.isoformat()))


@dataclass
class Lake:
    archive: Path
    lake: Path
    result: dg.ExecuteInProcessResult


def _lake(work: Path, name: str, box_last: date) -> Lake:
    box = work / f"box_{name}.parquet"
    pl.read_parquet(BOX_SCORES).filter(_between(START, box_last)).write_parquet(box)
    lines = work / "lines.parquet"
    if not lines.exists():
        pl.read_parquet(LINES).filter(_between(START, D)).write_parquet(lines)
    archive = build_archive([box], [lines], work / f"replay_{name}", schedule=DEFAULT_SCHEDULE)
    lake = work / f"lake_{name}"
    result = _run(lake, archive, work / "dagster_home", START, D, raise_on_error=False)
    assert result.success, errors(result)
    return Lake(archive, lake, result)


@pytest.fixture(scope="module")
def work():
    """In memory when the machine has a tmpfs (the instance's SQLite commits dominate the runs), as
    test_automation does: the same code, only a faster disk."""
    with ExitStack() as stack:
        yield memory_dir(stack)


@pytest.fixture(scope="module")
def tonight(work: Path) -> Lake:
    return _lake(work, "tonight", D - timedelta(days=1))


@pytest.fixture(scope="module")
def full(work: Path) -> Lake:
    return _lake(work, "full", D)


def test_tonight_is_scheduled_and_predicted_without_its_box_scores(tonight: Lake) -> None:
    # The archive: D's two games are scheduled, not played; no box score of D exists.
    with ReplayServer(tonight.archive) as server:
        auth = {"Authorization": "replay-key"}
        stats = httpx.get(f"{server.base_url}/v1/stats", params={"dates[]": D.isoformat()}, headers=auth).json()
        assert stats["data"] == []
    schedule = _read(tonight.lake, ("nba_raw", "nbac_schedule"), [D])
    assert sorted(schedule["game_id"]) == ["0022401201", "0022401203"]
    assert set(schedule["game_status"]) == {1} and schedule["tipoff_utc"].null_count() == 0
    assert _read(tonight.lake, ("nba_raw", "bdl_player_boxscores"), [D]).height == 0
    assert _read(tonight.lake, ("nba_raw", "odds_api_player_points_props"), [D]).height > 0

    # D's predictions: every system, for players of both games, with lines.
    predictions = _read(tonight.lake, PREDICTIONS, [D])
    assert predictions.height > 0
    assert set(predictions["system_id"]) == SYSTEMS
    assert set(predictions["game_id"]) == set(schedule["game_id"])
    teams = set(schedule["home_team"]) | set(schedule["away_team"])
    assert set(predictions["team"]) == teams == {"MIL", "ORL", "OKC", "DAL"}
    per_system = predictions.group_by("system_id").agg(pl.col("player_id").n_unique())["player_id"]
    assert per_system.min() == per_system.max() == predictions["player_id"].n_unique() >= 40
    assert predictions["points_line"].null_count() < predictions.height

    # The exports: tonight is D, with every predicted player.
    tonight_doc = _export(tonight.lake, "tonight", "all-players.json")
    assert tonight_doc["game_date"] == D.isoformat() and set(tonight_doc["systems"]) == SYSTEMS
    assert sorted(g["game_id"] for g in tonight_doc["games"]) == sorted(schedule["game_id"])
    players = {p["player_id"] for g in tonight_doc["games"] for p in g["players"]}
    assert players == set(predictions["player_id"])
    day_doc = _export(tonight.lake, "predictions", f"{D.isoformat()}.json")
    assert _without_generated_at(day_doc) == _without_generated_at(tonight_doc)
    assert (tonight.lake / "exports" / "v1" / "tonight" / "player").is_dir()

    # Nothing to grade yet: every prediction of D is void.
    graded = _read(tonight.lake, ("nba_predictions", "prediction_accuracy"), [D])
    assert graded.height == predictions.height and set(graded["grade"]) == {"void"}


def test_tonight_predictions_equal_those_of_the_archive_with_d_box_scores(tonight: Lake, full: Lake) -> None:
    """The black-box leakage proof: D's box scores change nothing D's predictions may know."""
    blind, seen = _read(tonight.lake, PREDICTIONS, [D]), _read(full.lake, PREDICTIONS, [D])
    assert seen.height > 0 and set(seen["system_id"]) == SYSTEMS
    # every player the full archive predicts, with identical values (created_at aside), and no other
    _assert_same_rows(blind, seen, f"{'.'.join(PREDICTIONS)} on {D}")

    # The same for every table of D that is not a record of D's results, and for every table
    # before D; D's results are only in the full lake.
    for key in sorted(TABLES):
        if key not in RESULT_TABLES:
            _assert_same_rows(_read(tonight.lake, key, [D]), _read(full.lake, key, [D]), f"{'.'.join(key)} on {D}")
        _assert_same_rows(_read(tonight.lake, key, BEFORE_D), _read(full.lake, key, BEFORE_D), f"{'.'.join(key)}")
    box = ("nba_raw", "bdl_player_boxscores")
    assert _read(full.lake, box, [D]).height > 0 and _read(tonight.lake, box, [D]).height == 0
    full_schedule = _read(full.lake, ("nba_raw", "nbac_schedule"), [D])
    assert set(full_schedule["game_status"]) == {3} and (full_schedule["home_score"] > 0).all()
    graded = _read(full.lake, ("nba_predictions", "prediction_accuracy"), [D])
    assert graded["played"].sum() > 0

    # The exports of D are the same documents.
    for parts in (("tonight", "all-players.json"), ("predictions", f"{D.isoformat()}.json")):
        assert _without_generated_at(_export(tonight.lake, *parts)) == _without_generated_at(
            _export(full.lake, *parts)
        ), parts
    players = sorted(p.name for p in (tonight.lake / "exports/v1/tonight/player").glob("*.json"))
    assert players == sorted(p.name for p in (full.lake / "exports/v1/tonight/player").glob("*.json"))
    for name in players:
        a = json.loads((tonight.lake / "exports/v1/tonight/player" / name).read_text())
        b = json.loads((full.lake / "exports/v1/tonight/player" / name).read_text())
        assert _without_generated_at(a) == _without_generated_at(b), name
