"""A whole game day through the real daemon (``dg dev``: webserver + daemon), on a replayed clock.

``nba_assets.gameday.play`` (what ``make gameday`` runs) cuts an archive from the real data for
2024-12-10 and the days before, prepares a lake with the history strictly before it (one
``dg launch``), writes the replayed clock and starts ``dg dev`` on a temporary instance; the
daemon then plays the day by itself until D is graded. To stay within a few minutes of CI time:
a day of two games, three days of history, the clock at 6000x (holding at each instant something
is due and after each run for 10 s and until the sensors the replay paces each finished a tick
begun after it: a loaded machine makes the day slower, not different), one automation sensor
for every phase and two snapshot slots (06:00 ET and 30 minutes before the first tip-off;
production has six). The assertions read what the daemon did from the instance.
"""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from nba_assets import automation, sensors
from nba_assets.clock import read_state, recorded, replayed_now, ticked_after
from nba_assets.gameday import BOX_SCORES, LINES, play
from nba_assets.io.storage import LocalParquetStore

D = date(2024, 12, 10)  # two games (NBA Cup quarter-finals), tip-offs 19:00 and 21:30 ET
DG = Path(sys.executable).parent / "dg"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (BOX_SCORES.is_file() and LINES.is_file()), reason="real data files are not present"),
    pytest.mark.skipif(not DG.exists(), reason=f"dg is not installed next to {sys.executable}"),
]


def K(path: str) -> dg.AssetKey:
    return dg.AssetKey.from_user_string(path)


PREDICTIONS = K("nba_predictions/player_prop_predictions")
ACCURACY = K("nba_predictions/prediction_accuracy")
EXPORT = K("exports/predictions_json")
BOX = K("nba_raw/bdl_player_boxscores")
MODEL = K("nba_predictions/points_model_lightgbm")


def _materializations(instance: dg.DagsterInstance, key: dg.AssetKey, day: date):
    return instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=key, asset_partitions=[day.isoformat()]), limit=100
    ).records


def test_the_daemon_plays_a_game_day(tmp_path: Path):
    dirs = play(
        D,
        6000,
        tmp_path / "gameday",
        history=3,
        # The clock's correctness rests on the paced sensors' ticks (asserted below), not on this
        # minimum wall-time pause (10 s by default).
        settle_seconds=4,
        sensor_interval=1,
        timeout=600,
        extra_env={"NBA_AUTOMATION_SENSORS": "one", "NBA_SNAPSHOT_TIMES_ET": "06:00", "NBA_SNAPSHOT_LEADS_MIN": "30"},
    )
    state = read_state(dirs.clock_file)
    assert state is not None and state.anchor is not None
    with dg.DagsterInstance.from_config(str(dirs.home)) as instance:
        runs_and_ticks = recorded(instance, state)  # what every process's clock read

        def replayed(ts: float) -> datetime:
            return replayed_now(state, ts, *runs_and_ticks)

        # The clock waited for the daemon: every pause (at each instant something is due, after
        # each run) ended once each paced sensor had finished a tick begun after it, never by the
        # bound; and at each instant the automation sensor evaluated with the clock standing on it.
        ticks = runs_and_ticks[1]
        assert {"automation_all", "nba_schedule_daily", "odds_snapshot_sensor", "box_score_sensor"} <= set(
            state.tick_sensors
        ) and set(ticks) == set(state.tick_sensors), (state.tick_sensors, set(ticks))
        # each one's first evaluation (its conditions' initial one) finished before the clock ran
        assert all(finished[0][1] < state.anchor.timestamp() for finished in ticks.values()), ticks
        last = min(finished[-1][0] for finished in ticks.values())  # every sensor ticked until then
        ends = [e for _, e in runs_and_ticks[0] if e is not None and state.anchor.timestamp() < e < last - 1]
        assert ends and all(ticked_after(state, ticks, e) < e + state.tick_wait_seconds for e in ends)
        for waypoint in state.waypoints:
            standing = [s for s, e in ticks["automation_all"] if replayed(s) == waypoint == replayed(e)]
            assert standing, f"no automation tick evaluated {waypoint:%H:%M} UTC"

        records = sorted(instance.get_run_records(), key=lambda r: r.create_timestamp)

        daemon = [r for r in records if r.create_timestamp >= state.anchor]
        assert len(records) - len(daemon) == 1  # the history run, before the clock ran; the rest the daemon's
        assert all(r.dagster_run.status == dg.DagsterRunStatus.SUCCESS for r in daemon), [
            (r.dagster_run.run_id, r.dagster_run.status) for r in daemon
        ]
        # The runs the daemon launched (the history run was the only manual one, before the clock ran).
        launched_by = ("dagster/sensor_name", "dagster/from_automation_condition")
        assert all(any(r.dagster_run.tags.get(t) for t in launched_by) for r in daemon), [
            r.dagster_run.tags for r in daemon
        ]
        edge = [r.dagster_run.tags["nba/edge_request"] for r in daemon if "nba/edge_request" in r.dagster_run.tags]
        day = D.isoformat()
        assert len(edge) == len(set(edge)), f"an edge request ran twice: {edge}"  # nothing fetched twice
        schedule, stored = automation.read_schedule(LocalParquetStore(dirs.lake), [D])
        info = sensors.game_day(D, schedule)
        assert D in stored and info.played == 2 and info.first_tip is not None
        tip = info.first_tip.astimezone(UTC)
        slot = (tip - timedelta(minutes=30)).astimezone(automation.ET).strftime("%H%M")
        assert [k for k in edge if k.endswith(day) or f":{day}:" in k] == [
            f"schedule:{day}:morning",
            f"props:{day}:0600",
            f"props:{day}:{slot}",
            f"boxscores:{day}:nightly",
        ], edge

        def first_run_with(key: dg.AssetKey) -> float:
            times = [
                r.create_timestamp.timestamp()
                for r in daemon
                if key in (r.dagster_run.asset_selection or ()) and r.dagster_run.tags.get("dagster/partition") == day
            ]
            assert times, f"no daemon run of {key.to_user_string()} {day}"
            return min(times)

        def edge_run(run_key: str) -> float:
            [ts] = [
                r.create_timestamp.timestamp() for r in daemon if r.dagster_run.tags.get("nba/edge_request") == run_key
            ]
            return ts

        # The order of the day: schedule, props, predictions, box scores, grading.
        order = [
            edge_run(f"schedule:{day}:morning"),
            edge_run(f"props:{day}:0600"),
            first_run_with(PREDICTIONS),
            edge_run(f"boxscores:{day}:nightly"),
            first_run_with(ACCURACY),
        ]
        assert order == sorted(order), order
        assert replayed(edge_run(f"schedule:{day}:morning")) >= datetime.combine(
            D, sensors.SCHEDULE_AT_ET, automation.ET
        )
        assert replayed(edge_run(f"boxscores:{day}:nightly")) >= info.last_tip + sensors.GAME_LENGTH

        # Predictions of D: one per snapshot at most, none written after the first tip-off.
        predictions = _materializations(instance, PREDICTIONS, D)
        assert 1 <= len(predictions) <= 2
        written = [replayed(r.timestamp) for r in predictions]
        assert all(w < tip for w in written), (written, tip)
        assert len(_materializations(instance, MODEL, D)) == 1  # the 04:00 tick, once
        assert len(_materializations(instance, BOX, D)) == 1
        assert len(_materializations(instance, ACCURACY, D)) == 1  # graded once
        assert _materializations(instance, EXPORT, D)

    # What the day leaves: the predictions of D, their export and their grading.
    stored_predictions = pl.read_parquet(dirs.lake / "nba_predictions" / "player_prop_predictions" / f"game_date={day}")
    graded = pl.read_parquet(dirs.lake / "nba_predictions" / "prediction_accuracy" / f"game_date={day}")
    assert stored_predictions.height > 0 and graded.height == stored_predictions.height
    exports = [p for p in (dirs.lake / "exports").rglob("*.json") if day in p.read_text()]
    assert exports, "no export mentions the day"


def test_the_replayed_clock_stands_still_while_runs_are_in_flight_and_holds_at_waypoints():
    """The replayed clock's arithmetic, on the same function every process calls."""
    from nba_assets.clock import ReplayState

    start = datetime(2024, 12, 10, 9, 0, tzinfo=UTC)
    anchor = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    wall = anchor.timestamp()
    waiting = ReplayState(start, speed=60, settle_seconds=5)
    assert replayed_now(waiting, wall + 100, []) == start  # not anchored: waits at its start
    state = ReplayState(start, speed=60, anchor=anchor, settle_seconds=5)
    assert replayed_now(state, wall + 10, []) == start + timedelta(minutes=10)
    # a run from +2 s to +4 s, then 5 s of settling: 7 s of the 10 stood still
    assert replayed_now(state, wall + 10, [(wall + 2, wall + 4)]) == start + timedelta(minutes=3)
    # a run still in flight: the clock stands at its creation
    assert replayed_now(state, wall + 10, [(wall + 2, None)]) == start + timedelta(minutes=2)
    held = ReplayState(start, speed=60, anchor=anchor, waypoints=(start + timedelta(minutes=2),), hold_seconds=4)
    assert replayed_now(held, wall + 3, []) == start + timedelta(minutes=2)  # holding at the waypoint
    assert replayed_now(held, wall + 6, []) == start + timedelta(minutes=2)
    assert replayed_now(held, wall + 7, []) == start + timedelta(minutes=3)  # and on again
    assert ReplayState.from_json(held.to_json()) == held
