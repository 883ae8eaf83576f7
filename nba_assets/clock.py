"""The one clock: everything that decides by time reads it (edge sensors, the schedule sensor, the
custom automation conditions, the deadline checks, the ingest assets and the replay server).

- **Wall clock** (production, ``state_file`` empty): Dagster's own ``get_current_datetime``, so
  tests drive it with Dagster's ``freeze_time``.
- **Replayed clock** (``make gameday``): a small JSON file (``ReplayState``, usually
  ``$DAGSTER_HOME/replay_clock.json``) read by every process — the daemon, the code server and
  each run — so they all agree on "now". It holds the replayed start instant, the speed and the
  wall-clock instant it was anchored at (``null``: the clock waits at its start).

  The replayed clock runs ``speed`` times faster than the wall clock **while the platform is
  idle**: it stands still while a run is queued or in progress and for ``settle_seconds`` after
  a run ends (time for the sensors to react to what the run wrote). A snapshot's cascade then
  happens at the replayed moment of the snapshot, whatever the machine's speed; the replayed
  time a run wrote at is the replayed time its run was requested at.

  **The clock waits for the daemon.** A wall-time pause alone is a guess at how slow the daemon
  is: under load its ticks can come 5-20 s apart, and at 6000x a 10 s hold may end before any tick
  evaluated the instant (the 04:00 models tick, a pre-tip refresh would be missed). So every pause
  (at a waypoint, and after each run) also lasts until each sensor of ``tick_sensors`` (the ones
  the replay paces: the automation condition sensors, the edge sensors, the freshness sensor) has
  completed a tick it STARTED at least ``CACHE_SECONDS`` after the pause began: that tick read
  the clock standing at the instant (or saw what the run wrote), whatever the machine's speed.
  ``settle_seconds`` / ``hold_seconds`` stay the minimum; ``tick_wait_seconds`` bounds the wait
  (a stopped sensor slows the replay, it does not freeze it).

  The pauses are computed from the instance's run records and those sensors' finished ticks (a
  pure function of them and the wall time, ``replayed_now``), so every process computes the same.
"""

from __future__ import annotations

import bisect
import json
import math
import time as _time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
from dagster._core.scheduler.instigation import InstigatorTick, InstigatorType, TickStatus
from dagster._time import get_current_datetime
from pydantic import PrivateAttr

from nba_assets.facts import ET

STATE_FILE_NAME = "replay_clock.json"
CACHE_SECONDS = 0.5  # one reading of the run records serves the evaluations of one tick
# A tick that evaluated: SUCCESS (it requested something) or SKIPPED (nothing to request). A failed
# tick did not evaluate its conditions to the end: the clock keeps waiting for a good one.
EVALUATED = (TickStatus.SUCCESS, TickStatus.SKIPPED)
RECORDS_BEFORE_ANCHOR = timedelta(hours=1)  # runs and ticks read from this long before the anchor

Interval = tuple[float, float]  # (start, end) wall timestamps
Ticks = Mapping[str, Sequence[Interval]]  # sensor name -> its finished ticks, sorted by start


@dataclass(frozen=True)
class ReplayState:
    start: datetime  # replayed instant the clock starts at (aware)
    speed: float  # replayed seconds per idle wall-clock second
    anchor: datetime | None = None  # wall instant the clock started running (None: waits at start)
    settle_seconds: float = 10.0  # the clock stands still this long after each run
    # sensors' minimum interval while replaying: 1 s, so each daemon loop (5 s at least) evaluates them
    sensor_interval_seconds: int = 1
    # Instants something is due (the day's ticks, snapshot slots, tip-offs, end of the games): the
    # clock holds at each for ``hold_seconds`` of wall time at least, and until every sensor of
    # ``tick_sensors`` finished a tick begun there, so the sensors see every one of them at any speed.
    waypoints: tuple[datetime, ...] = ()
    hold_seconds: float = 0.0
    # The sensors whose ticks the clock waits for at each pause (see the module's documentation);
    # empty: the wall-time pauses only. ``tick_wait_seconds``: the longest wait for them.
    tick_sensors: tuple[str, ...] = ()
    tick_wait_seconds: float = 300.0

    def to_json(self) -> str:
        data = asdict(self)
        data["start"] = self.start.astimezone(UTC).isoformat()
        data["anchor"] = self.anchor.astimezone(UTC).isoformat() if self.anchor else None
        data["waypoints"] = [w.astimezone(UTC).isoformat() for w in self.waypoints]
        return json.dumps(data, indent=2)

    @classmethod
    def from_json(cls, text: str) -> ReplayState:
        data = json.loads(text)
        data["start"] = datetime.fromisoformat(data["start"])
        data["anchor"] = datetime.fromisoformat(data["anchor"]) if data.get("anchor") else None
        data["waypoints"] = tuple(datetime.fromisoformat(w) for w in data.get("waypoints", ()))
        data["tick_sensors"] = tuple(data.get("tick_sensors", ()))
        return cls(**data)


def write_state(path: Path, state: ReplayState) -> Path:
    """Writes the replayed clock's state atomically (readers never see half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(state.to_json())
    tmp.replace(path)
    return path


def read_state(path: Path) -> ReplayState | None:
    return ReplayState.from_json(path.read_text()) if path.is_file() else None


def start_running(path: Path, at: datetime | None = None) -> ReplayState:
    """Anchors a waiting replayed clock at the wall instant ``at`` (now): from there it runs."""
    state = read_state(path)
    if state is None:
        raise FileNotFoundError(path)
    anchored = ReplayState(**{**asdict(state), "anchor": (at or datetime.now(UTC))})
    write_state(path, anchored)
    return anchored


def busy_seconds(intervals: list[tuple[float, float]], lo: float, hi: float) -> float:
    """Seconds of [lo, hi] covered by the union of ``intervals`` (wall timestamps)."""
    total, cursor = 0.0, lo
    for start, end in sorted(intervals):
        start, end = max(start, cursor), min(end, hi)
        if end > start:
            total += end - start
            cursor = end
    return total


def after_idle(lo: float, idle: float, intervals: list[tuple[float, float]]) -> float:
    """The wall instant at which ``idle`` seconds outside the union of ``intervals`` have passed
    since ``lo`` (``inf`` when an interval without end is in the way)."""
    cursor = lo
    for start, end in sorted(intervals):
        if end <= cursor:
            continue
        if start > cursor:
            if idle <= start - cursor:
                return cursor + idle
            idle -= start - cursor
        cursor = end
    return cursor + idle


def ticked_after(state: ReplayState, ticks: Ticks, since: float) -> float:
    """The wall instant by which every sensor of ``state.tick_sensors`` has finished a tick it
    started ``CACHE_SECONDS`` or more after ``since`` (its conditions then read a clock that had
    reached ``since``'s instant: no cached reading from before); ``inf`` while one has not, at
    most ``tick_wait_seconds`` after ``since``; ``since`` itself without tick sensors."""
    done = since
    for name in state.tick_sensors:
        finished = ticks.get(name, ())
        i = bisect.bisect_left(finished, (since + CACHE_SECONDS, -math.inf))
        done = max(done, finished[i][1] if i < len(finished) else math.inf)
    return min(done, since + state.tick_wait_seconds)


def replayed_now(
    state: ReplayState, wall: float, runs: list[tuple[float, float | None]], ticks: Ticks | None = None
) -> datetime:
    """The replayed instant at wall time ``wall`` given the runs' (created, ended) wall timestamps
    and the tick sensors' finished ticks ((started, ended), sorted, see ``tick_intervals``).

    The clock runs ``speed`` times the wall clock from the anchor except while it stands still:
    from a run's creation until ``settle_seconds`` after its end *and* until the tick sensors have
    each finished a tick started after its end; at each waypoint for ``hold_seconds`` *and* until
    they have each finished a tick started after the clock reached it (``ticked_after``). Causal:
    records from after ``wall`` (a run created later, a tick still running at ``wall``) change
    nothing before them, so the whole recorded day can be replayed afterwards."""
    start = state.start.astimezone(UTC)
    if state.anchor is None:
        return start
    anchor = state.anchor.timestamp()
    if wall <= anchor:
        return start
    ticks = ticks or {}
    still = [
        (created, math.inf if ended is None else max(ended + state.settle_seconds, ticked_after(state, ticks, ended)))
        for created, ended in runs
    ]
    at, cursor = start, anchor
    for waypoint in sorted(w.astimezone(UTC) for w in state.waypoints if w > state.start):
        reached = after_idle(cursor, (waypoint - at).total_seconds() / state.speed, still)
        if reached >= wall:
            break
        at = waypoint
        cursor = max(reached + state.hold_seconds, ticked_after(state, ticks, reached))
        if cursor >= wall:
            return at
    idle = (wall - cursor) - busy_seconds(still, cursor, wall)
    return at + timedelta(seconds=idle * state.speed)


# ------------------------------------------------------------------------------------- the records


def run_intervals(records: Iterable[dg.RunRecord]) -> list[tuple[float, float | None]]:
    """The runs' (created, ended) wall timestamps (``ended`` None: queued or in flight)."""
    return [(r.create_timestamp.timestamp(), r.end_time) for r in records]


def tick_intervals(ticks: Iterable[InstigatorTick]) -> tuple[Interval, ...]:
    """The (started, ended) wall timestamps of the ticks that evaluated (``EVALUATED``), by start."""
    return tuple(
        sorted((t.timestamp, t.end_timestamp) for t in ticks if t.status in EVALUATED and t.end_timestamp is not None)
    )


def sensor_ids(instance: dg.DagsterInstance, names: Iterable[str]) -> dict[str, tuple[str, str]]:
    """The (origin id, selector id) of the named sensors the instance has a state of."""
    wanted = set(names)
    return {
        s.name: (s.instigator_origin_id, s.selector_id)
        for s in instance.all_instigator_state(instigator_type=InstigatorType.SENSOR)
        if s.name in wanted
    }


def finished_ticks(instance: dg.DagsterInstance, ids: tuple[str, str], after: float) -> tuple[Interval, ...]:
    """``tick_intervals`` of the sensor's ticks started after the wall timestamp ``after``."""
    return tick_intervals(instance.get_ticks(*ids, after=after, statuses=list(EVALUATED)))


def recorded(instance: dg.DagsterInstance, state: ReplayState) -> tuple[list[tuple[float, float | None]], Ticks]:
    """Everything ``replayed_now`` reads, from the instance: the runs and the tick sensors' ticks
    since an hour before the anchor (a replayed day afterwards: ``replayed_now(state, ts, *recorded(...))``)."""
    if state.anchor is None:
        return [], {}
    since = state.anchor - RECORDS_BEFORE_ANCHOR
    runs = run_intervals(instance.get_run_records(filters=dg.RunsFilter(created_after=since)))
    ids = sensor_ids(instance, state.tick_sensors)
    return runs, {name: finished_ticks(instance, ids[name], since.timestamp()) for name in ids}


class Clock(dg.ConfigurableResource):
    """The time every decision reads. ``state_file`` empty: the wall clock; else the replayed clock
    whose state is in that JSON file (see the module's documentation)."""

    state_file: str = ""

    _cache: tuple[float, datetime] | None = PrivateAttr(default=None)
    # the tick sensors' finished ticks read so far, by (anchor, sensor): a finished tick never
    # changes, so each reading only asks for the ticks started after the last one known
    _ticks: dict[tuple[float, str], tuple[Interval, ...]] = PrivateAttr(default_factory=dict)
    _ids: dict[str, tuple[str, str]] = PrivateAttr(default_factory=dict)

    @property
    def replayed(self) -> bool:
        return bool(self.state_file)

    def state(self) -> ReplayState | None:
        return read_state(Path(self.state_file)) if self.state_file else None

    def now(self, instance: dg.DagsterInstance | None = None) -> datetime:
        """Now, in UTC."""
        if not self.state_file:
            return get_current_datetime().astimezone(UTC)
        wall = _time.time()
        if self._cache is not None and wall - self._cache[0] < CACHE_SECONDS:
            return self._cache[1]
        state = self.state()
        if state is None:  # the replay has not been prepared: its start is unknown
            raise FileNotFoundError(f"replayed clock state {self.state_file} does not exist")
        runs: list[tuple[float, float | None]] = []
        ticks: Ticks = {}
        if state.anchor is not None:
            instance = instance or dg.DagsterInstance.get()
            since = state.anchor - RECORDS_BEFORE_ANCHOR
            runs = run_intervals(instance.get_run_records(filters=dg.RunsFilter(created_after=since)))
            ticks = self._read_ticks(instance, state, since.timestamp())
        value = replayed_now(state, wall, runs, ticks)
        self._cache = (wall, value)
        return value

    def _read_ticks(self, instance: dg.DagsterInstance, state: ReplayState, since: float) -> Ticks:
        """``recorded``'s ticks, read incrementally (one sensor's ticks run one at a time, so a tick
        finishing later than the last known one started later)."""
        if not set(state.tick_sensors) <= self._ids.keys():
            self._ids = {**self._ids, **sensor_ids(instance, state.tick_sensors)}
        out: dict[str, tuple[Interval, ...]] = {}
        anchor = state.anchor.timestamp() if state.anchor else 0.0
        for name in state.tick_sensors:
            if name not in self._ids:
                continue  # no state yet: it has never ticked
            known = self._ticks.get((anchor, name), ())
            new = finished_ticks(instance, self._ids[name], known[-1][0] if known else since)
            known = tuple(sorted({*known, *new})) if new else known
            self._ticks = {**self._ticks, (anchor, name): known}  # replaced, not mutated: threads share it
            out[name] = known
        return out

    def today(self, instance: dg.DagsterInstance | None = None) -> date:
        """Today's game date (US Eastern)."""

        return self.now(instance).astimezone(ET).date()

    def sensor_interval(self, default: int) -> int:
        """Sensors' minimum interval: ``default`` on the wall clock, the replay's own when replaying."""
        state = self.state()
        return state.sensor_interval_seconds if state is not None else default
