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
  time a run wrote at is the replayed time its run was requested at. The pauses are computed
  from the instance's run records (a pure function of them), so every process computes the same.
"""

from __future__ import annotations

import json
import time as _time
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
from dagster._time import get_current_datetime
from pydantic import PrivateAttr

from nba_assets.facts import ET

STATE_FILE_NAME = "replay_clock.json"
CACHE_SECONDS = 0.5  # one reading of the run records serves the evaluations of one tick


@dataclass(frozen=True)
class ReplayState:
    start: datetime  # replayed instant the clock starts at (aware)
    speed: float  # replayed seconds per idle wall-clock second
    anchor: datetime | None = None  # wall instant the clock started running (None: waits at start)
    settle_seconds: float = 10.0  # the clock stands still this long after each run
    # sensors' minimum interval while replaying: 1 s, so each daemon loop (5 s at least) evaluates them
    sensor_interval_seconds: int = 1
    # Instants something is due (the day's ticks, snapshot slots, tip-offs, end of the games): the
    # clock holds at each for ``hold_seconds`` of wall time, so the sensors (whose daemon loop is
    # 5 s or more) see every one of them at any speed.
    waypoints: tuple[datetime, ...] = ()
    hold_seconds: float = 0.0

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


def replayed_now(state: ReplayState, wall: float, runs: list[tuple[float, float | None]]) -> datetime:
    """The replayed instant at wall time ``wall`` given the runs' (created, ended) wall timestamps."""
    if state.anchor is None:
        return state.start.astimezone(UTC)
    anchor = state.anchor.timestamp()
    if wall <= anchor:
        return state.start.astimezone(UTC)
    intervals = [(created, (ended if ended is not None else wall) + state.settle_seconds) for created, ended in runs]
    idle = (wall - anchor) - busy_seconds(intervals, anchor, wall)
    return advance(state, idle)


def advance(state: ReplayState, idle: float) -> datetime:
    """The replayed instant after ``idle`` wall seconds: ``speed`` times faster, holding
    ``hold_seconds`` at each waypoint."""
    at = state.start.astimezone(UTC)
    for waypoint in sorted(w.astimezone(UTC) for w in state.waypoints if w > state.start):
        to_waypoint = (waypoint - at).total_seconds() / state.speed
        if idle <= to_waypoint:
            break
        idle -= to_waypoint
        at = waypoint
        if idle <= state.hold_seconds:
            return at
        idle -= state.hold_seconds
    return at + timedelta(seconds=idle * state.speed)


class Clock(dg.ConfigurableResource):
    """The time every decision reads. ``state_file`` empty: the wall clock; else the replayed clock
    whose state is in that JSON file (see the module's documentation)."""

    state_file: str = ""

    _cache: tuple[float, datetime] | None = PrivateAttr(default=None)

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
        if state.anchor is not None:
            instance = instance or dg.DagsterInstance.get()
            records = instance.get_run_records(filters=dg.RunsFilter(created_after=state.anchor - timedelta(hours=1)))
            runs = [(r.create_timestamp.timestamp(), r.end_time) for r in records]
        value = replayed_now(state, wall, runs)
        self._cache = (wall, value)
        return value

    def today(self, instance: dg.DagsterInstance | None = None) -> date:
        """Today's game date (US Eastern)."""

        return self.now(instance).astimezone(ET).date()

    def sensor_interval(self, default: int) -> int:
        """Sensors' minimum interval: ``default`` on the wall clock, the replay's own when replaying."""
        state = self.state()
        return state.sensor_interval_seconds if state is not None else default
