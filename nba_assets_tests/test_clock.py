"""The replayed clock waits for the daemon: at each waypoint and after each run it stands still
until every tick sensor has finished a tick it started after the pause began (``ticked_after``),
``hold_seconds`` / ``settle_seconds`` being the minimum.

The ticks are ``InstigatorTick`` records built as the sensor daemon builds them (a STARTED tick at
the evaluation's start, ``with_status`` at its end), and read back from a real instance's schedule
storage, so the function is tested on what ``Clock.now`` reads in every process."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.definitions.sensor_definition import SensorType
from dagster._core.remote_origin import InProcessCodeLocationOrigin, RemoteInstigatorOrigin, RemoteRepositoryOrigin
from dagster._core.scheduler.instigation import (
    InstigatorState,
    InstigatorStatus,
    InstigatorTick,
    InstigatorType,
    SensorInstigatorData,
    TickData,
    TickStatus,
)
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from dagster._utils.error import SerializableErrorInfo

from nba_assets.clock import (
    CACHE_SECONDS,
    Clock,
    ReplayState,
    finished_ticks,
    recorded,
    replayed_now,
    sensor_ids,
    tick_intervals,
    ticked_after,
    write_state,
)

START = datetime(2024, 12, 10, 4, 58, tzinfo=UTC)  # 23:58 ET the evening before
ANCHOR = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
T0 = ANCHOR.timestamp()
SENSOR = "automation_all"


def _close(a: datetime, b: datetime) -> bool:
    """Equal but for float rounding (at 6000x a microsecond of wall time is 6 ms)."""
    return abs((a - b).total_seconds()) < 0.1


def _tick(
    tick_id: int,
    started: float,
    ended: float | None,
    status: TickStatus = TickStatus.SKIPPED,
    ids: tuple[str, str] = ("origin", "selector"),
) -> InstigatorTick:
    """A sensor tick as the daemon records it: STARTED at ``started``, finished at ``ended``."""
    tick = InstigatorTick(
        tick_id,
        TickData(
            instigator_origin_id=ids[0],
            instigator_name=SENSOR,
            instigator_type=InstigatorType.SENSOR,
            status=TickStatus.STARTED,
            timestamp=started,
            selector_id=ids[1],
        ),
    )
    if ended is None:
        return tick
    extra = {"run_ids": ["r"]} if status == TickStatus.SUCCESS else {}
    if status == TickStatus.FAILURE:
        extra = {"error": SerializableErrorInfo("database is locked", [], "OperationalError")}
    finished = tick.with_status(status, **extra)  # stamps the real wall time: the daemon's end ...
    return finished._replace(tick_data=finished.tick_data._replace(end_timestamp=ended))  # ... here ours


def _state(**changes) -> ReplayState:
    """6000x (the gameday test's speed) from 23:58 ET, a waypoint at 04:00 ET, 10 s holds."""
    base = ReplayState(
        START,
        speed=6000,
        anchor=ANCHOR,
        settle_seconds=10,
        waypoints=(START + timedelta(hours=4, minutes=2),),
        hold_seconds=10,
        tick_sensors=(SENSOR,),
    )
    return replace(base, **changes)


WAYPOINT = START + timedelta(hours=4, minutes=2)
REACHED = T0 + (WAYPOINT - START).total_seconds() / 6000  # the wall instant the clock gets there: +2.42 s


def test_tick_intervals_keep_the_ticks_that_evaluated():
    ticks = [
        _tick(3, T0 + 30, T0 + 33, TickStatus.SUCCESS),
        _tick(1, T0 + 10, T0 + 12),  # SKIPPED: evaluated, nothing to request
        _tick(2, T0 + 20, T0 + 21, TickStatus.FAILURE),  # failed: its conditions were not evaluated
        _tick(4, T0 + 40, None),  # still running
    ]
    assert tick_intervals(ticks) == ((T0 + 10, T0 + 12), (T0 + 30, T0 + 33))


def test_the_clock_holds_at_a_waypoint_until_a_tick_begun_there_finished():
    state = _state()
    # the daemon's ticks: one begun before the clock got there (it read an earlier time), one begun
    # 0.3 s after (under CACHE_SECONDS: a cached reading from before the waypoint is possible), then
    # a slow one begun 15 s after (past the 10 s hold) and finished 9 s later
    ticks = {
        SENSOR: tick_intervals(
            [
                _tick(1, REACHED - 1, REACHED + 1),
                _tick(2, REACHED + 0.3, REACHED + 3),
                _tick(3, REACHED + 15, REACHED + 24),
            ]
        )
    }
    assert ticked_after(state, ticks, REACHED) == REACHED + 24
    assert _close(replayed_now(state, REACHED - 0.1, [], ticks), WAYPOINT - timedelta(seconds=600))  # 0.1 s at 6000x
    for wall in (REACHED + 0.01, REACHED + 10, REACHED + 15, REACHED + 23.9, REACHED + 24):
        assert replayed_now(state, wall, [], ticks) == WAYPOINT, wall
    assert _close(replayed_now(state, REACHED + 25, [], ticks), WAYPOINT + timedelta(seconds=6000))
    # the slow tick still running at +20 s: the clock still holds (causal: only what has happened counts)
    running = {SENSOR: tick_intervals([_tick(1, REACHED - 1, REACHED + 1), _tick(3, REACHED + 15, None)])}
    assert replayed_now(state, REACHED + 20, [], running) == WAYPOINT
    assert replayed_now(state, REACHED + 200, [], running) == WAYPOINT
    # without tick sensors the 10 s hold alone: the clock had left before the slow tick began
    alone = replace(state, tick_sensors=())
    assert _close(replayed_now(alone, REACHED + 15, [], ticks), WAYPOINT + timedelta(seconds=5 * 6000))


def test_the_hold_stays_the_minimum_when_the_daemon_is_fast():
    state = _state()
    ticks = {SENSOR: tick_intervals([_tick(1, REACHED + 1, REACHED + 2)])}
    assert ticked_after(state, ticks, REACHED) == REACHED + 2
    assert replayed_now(state, REACHED + 9.9, [], ticks) == WAYPOINT
    assert _close(replayed_now(state, REACHED + 11, [], ticks), WAYPOINT + timedelta(seconds=6000))


def test_every_tick_sensor_must_have_ticked_and_the_wait_is_bounded():
    state = _state(tick_sensors=(SENSOR, "odds_snapshot_sensor"), tick_wait_seconds=60)
    ticks = {
        SENSOR: tick_intervals([_tick(1, REACHED + 1, REACHED + 2)]),
        "odds_snapshot_sensor": ((REACHED + 4, REACHED + 30),),
    }
    assert ticked_after(state, ticks, REACHED) == REACHED + 30
    assert replayed_now(state, REACHED + 29, [], ticks) == WAYPOINT
    # a sensor that never ticks (stopped in the UI): the clock moves on after tick_wait_seconds
    stopped = {SENSOR: ticks[SENSOR]}
    assert ticked_after(state, stopped, REACHED) == REACHED + 60
    assert replayed_now(state, REACHED + 59, [], stopped) == WAYPOINT
    assert _close(replayed_now(state, REACHED + 61, [], stopped), WAYPOINT + timedelta(seconds=6000))


def test_after_a_run_the_clock_waits_for_a_tick_begun_after_its_end():
    state = _state(waypoints=())
    run = (T0 + 1, T0 + 5)  # created at +1 s, ended at +5 s
    ticks = {SENSOR: tick_intervals([_tick(1, T0 + 4, T0 + 6), _tick(2, T0 + 20, T0 + 26)])}
    assert ticked_after(state, ticks, run[1]) == T0 + 26
    at_creation = START + timedelta(seconds=6000)
    assert replayed_now(state, T0 + 3, [run], ticks) == at_creation  # in flight
    assert replayed_now(state, T0 + 16, [run], ticks) == at_creation  # settled, the daemon not yet
    assert replayed_now(state, T0 + 26, [run], ticks) == at_creation
    assert _close(replayed_now(state, T0 + 27, [run], ticks), at_creation + timedelta(seconds=6000))
    # a run still in flight holds the clock whatever the ticks
    assert replayed_now(state, T0 + 100, [(T0 + 1, None)], ticks) == at_creation


def test_a_slow_daemon_sees_every_waypoint():
    """The flaky game day in numbers: 6000x, 10 s holds, a daemon whose automation ticks begin
    every 20 s and take 12 s. With the hold alone the clock leaves 04:00 (and other instants)
    before any tick evaluated it; waiting for the ticks, each waypoint is evaluated by a tick that
    begins and ends with the clock standing on it, and the clock never goes back."""
    day = START + timedelta(minutes=2)  # midnight ET
    waypoints = tuple(day + timedelta(hours=h) for h in (4, 5, 6, 7, 18.5, 24.5))
    ticks = {SENSOR: tick_intervals([_tick(i, T0 + 3 + 20 * i, T0 + 15 + 20 * i) for i in range(200)])}

    def seen(state: ReplayState) -> set[datetime]:
        return {
            replayed_now(state, s, [], ticks)
            for s, e in ticks[SENSOR]
            if replayed_now(state, s, [], ticks) == replayed_now(state, e, [], ticks)
        }

    alone = _state(waypoints=waypoints, tick_sensors=())
    assert not set(waypoints) <= seen(alone)  # the hold alone misses some
    assert datetime(2024, 12, 10, 9, 0, tzinfo=UTC) not in seen(alone)  # 04:00 ET among them
    waiting = _state(waypoints=waypoints)
    assert set(waypoints) <= seen(waiting)
    readings = [replayed_now(waiting, T0 + 0.25 * i, [], ticks) for i in range(4 * 400)]
    assert readings == sorted(readings) and readings[-1] > waypoints[-1]


def test_the_state_file_keeps_the_tick_sensors():
    state = _state()
    assert ReplayState.from_json(state.to_json()) == state
    old = state.to_json().replace('"tick_sensors"', '"_"').replace('"tick_wait_seconds"', '"__"')
    data = ReplayState.from_json(_without(old, ("_", "__")))  # a file written before the tick sensors
    assert data.tick_sensors == () and data.tick_wait_seconds == 300.0


def _without(text: str, keys: tuple[str, ...]) -> str:
    import json

    data = json.loads(text)
    return json.dumps({k: v for k, v in data.items() if k not in keys})


def _sensor_state(name: str) -> InstigatorState:
    origin = RemoteInstigatorOrigin(
        RemoteRepositoryOrigin(
            InProcessCodeLocationOrigin(LoadableTargetOrigin(python_file=__file__), location_name="nba_assets"),
            "__repository__",
        ),
        name,
    )
    data = SensorInstigatorData(min_interval=1, sensor_type=SensorType.AUTOMATION)
    return InstigatorState(origin, InstigatorType.SENSOR, InstigatorStatus.DECLARED_IN_CODE, data)


@pytest.mark.parametrize("storage", ["project", "stock"])
def test_clock_now_reads_the_ticks_from_the_instance(tmp_path: Path, storage: str):
    """``Clock.now`` on a real instance: the sensor found by name, its finished ticks read (the
    later ones incrementally by the same clock), the same answer as ``replayed_now`` on ``recorded``."""
    from nba_assets.instance import write_instance

    write_instance(tmp_path / "home", storage)
    with dg.DagsterInstance.from_config(str(tmp_path / "home")) as instance:
        state_ = _sensor_state(SENSOR)
        instance.add_instigator_state(state_)
        ids = (state_.instigator_origin_id, state_.selector_id)
        assert sensor_ids(instance, [SENSOR, "not_a_sensor"]) == {SENSOR: ids}

        now = time.time()
        anchor = now - 30
        state = ReplayState(
            START,
            speed=60,
            anchor=datetime.fromtimestamp(anchor, UTC),
            waypoints=(START + timedelta(minutes=2),),  # reached 2 s after the anchor
            hold_seconds=1,
            tick_sensors=(SENSOR,),
        )
        clock_file = write_state(tmp_path / "home" / "replay_clock.json", state)
        reached = anchor + 2

        def record(tick: InstigatorTick) -> None:
            created = instance.create_tick(tick.tick_data._replace(status=TickStatus.STARTED, end_timestamp=None))
            if tick.status != TickStatus.STARTED:
                instance.update_tick(created._replace(tick_data=tick.tick_data))

        record(_tick(0, reached - 1, reached + 1, ids=ids))  # begun before the waypoint: does not count
        record(_tick(0, reached + 3, reached + 4, TickStatus.FAILURE, ids))  # failed: does not count
        record(_tick(0, reached + 5, None, ids=ids))  # running (a dangling STARTED tick)
        assert finished_ticks(instance, ids, anchor - 3600) == ((reached - 1, reached + 1),)
        clock = Clock(state_file=str(clock_file))
        assert clock.now(instance) == START + timedelta(minutes=2)  # 28 s later, still waiting

        record(_tick(0, reached + 6, reached + 8, ids=ids))
        time.sleep(CACHE_SECONDS + 0.1)
        wall = time.time()
        runs, ticks = recorded(instance, state)
        assert ticks == {SENSOR: ((reached - 1, reached + 1), (reached + 6, reached + 8))}
        moved = clock.now(instance)
        expected = replayed_now(state, wall, runs, ticks)
        assert abs((moved - expected).total_seconds()) < 60 * 0.5  # read within half a second of ``wall``
        assert moved > START + timedelta(minutes=2, seconds=60 * 19)  # on for ~20 s since reached + 8


def test_the_game_day_starts_the_clock_only_after_finished_ticks(tmp_path: Path):
    """``gameday`` anchors the clock once each sensor has *finished* a tick: an automation sensor's
    first tick is its conditions' initial evaluation, which must not read the running clock."""
    from nba_assets.gameday import _all_sensors_ticked
    from nba_assets.instance import write_instance

    write_instance(tmp_path / "home")
    with dg.DagsterInstance.from_config(str(tmp_path / "home")) as instance:
        sensor = _sensor_state(SENSOR)
        instance.add_instigator_state(sensor)
        ids = (sensor.instigator_origin_id, sensor.selector_id)
        assert not _all_sensors_ticked(instance, {SENSOR})
        first = instance.create_tick(_tick(0, time.time(), None, ids=ids).tick_data)  # the first evaluation, running
        assert not _all_sensors_ticked(instance, {SENSOR})
        instance.update_tick(first.with_status(TickStatus.SKIPPED))
        assert _all_sensors_ticked(instance, {SENSOR})
        assert not _all_sensors_ticked(instance, {SENSOR, "odds_snapshot_sensor"})  # no state, no tick
