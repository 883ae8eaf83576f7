"""Triggers at the edge: the schedule, odds and box-score sensors.

The edge (the ``ingest`` group, keys ``landing/*_payloads``) is the only place where time decides
anything; the stored schedule (``nba_raw/nbac_schedule``) decides which days have games and when:

- ``nba_schedule_daily`` (05:00 ET): the schedule of today's partition is refetched. A sensor that
  fires when 05:00 passes between two evaluations, not a ``ScheduleDefinition``: Dagster's
  schedules only know the wall clock, and every sensor here reads the ``clock`` resource.
- ``odds_snapshot_sensor``: on a game day, one props snapshot per slot (06:00, 10:00, 13:00, 16:00
  ET, 90 and 30 minutes before the first tip-off), only slots before the first tip-off, only the
  latest slot when several are due (a missed slot is never replayed late). A day without games
  gets one request at 06:00 (no API call is made for it: the day's tables are stored empty).
- ``box_score_sensor``: for each of the last days, once the last game should be over (last tip-off
  + 3 h): if the stored schedule does not show every game final, the schedule is refetched
  (``schedule:D:after-games``); once it does, the box scores (``boxscores:D:nightly``). At 09:00 ET
  the next morning, a day whose stored box scores miss a final game is fetched again
  (``boxscores:D:recovery``, and ``schedule:D:recovery`` if the schedule is still not final).

Every request carries a run key (``<feed>:<game date>:<slot>``): Dagster never launches the same
key twice for a sensor, and the cursor keeps the keys already requested.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import dagster as dg
import polars as pl

from nba_assets.clock import Clock
from nba_assets.facts import dates_between
from nba_assets.lake import Lake
from nba_assets.stored_schedule import (
    ET,
    GameDay,
    game_day,
    read_schedule,
    read_table,
    today_et,
)

SCHEDULE_PAYLOADS = dg.AssetKey(["landing", "nba_schedule_payloads"])
STATS_PAYLOADS = dg.AssetKey(["landing", "bdl_stats_payloads"])
PROPS_PAYLOADS = dg.AssetKey(["landing", "odds_player_points_payloads"])

SCHEDULE_AT_ET = time(5, 0)  # today's schedule, before the first snapshot
SNAPSHOT_TIMES_ET = (time(6, 0), time(10, 0), time(13, 0), time(16, 0))
SNAPSHOT_LEADS = (timedelta(minutes=90), timedelta(minutes=30))  # before the first tip-off
GAME_LENGTH = timedelta(hours=3)  # a game is over this long after its tip-off
RECOVERY_AT_ET = time(9, 0)  # the morning after
BOX_SCORE_DAYS = 3  # days the box-score sensor keeps watching (today and the two before)
EDGE_SENSOR_INTERVAL = 300
EDGE_ENV = "NBA_EDGE_SENSORS"


@dataclass(frozen=True)
class EdgeRequest:
    """One request of ingest assets for one game date."""

    run_key: str
    assets: tuple[dg.AssetKey, ...]
    partition_key: str
    reason: str

    def run_request(self) -> dg.RunRequest:
        return dg.RunRequest(
            run_key=self.run_key,
            asset_selection=list(self.assets),
            partition_key=self.partition_key,
            tags={"nba/edge_request": self.run_key, "nba/reason": self.reason[:200]},
        )


# ------------------------------------------------------------------------------------- day facts


def _at(day: date, clock: time) -> datetime:
    return datetime.combine(day, clock, ET).astimezone(UTC)


def _hhmm(moment: datetime) -> str:
    return moment.astimezone(ET).strftime("%H%M")


# ------------------------------------------------------------------------------------- plans (pure)


def snapshot_slots(
    info: GameDay, times: Sequence[time] = SNAPSHOT_TIMES_ET, leads: Sequence[timedelta] = SNAPSHOT_LEADS
) -> list[datetime]:
    """The snapshot times (UTC) of a game day, all strictly before its first tip-off."""
    if not info.has_games or info.first_tip is None:
        return []
    slots = {_at(info.day, t) for t in times} | {info.first_tip - lead for lead in leads}
    return sorted(s for s in slots if s < info.first_tip)


def plan_snapshot(
    now: datetime,
    info: GameDay | None,
    times: Sequence[time] = SNAPSHOT_TIMES_ET,
    leads: Sequence[timedelta] = SNAPSHOT_LEADS,
) -> EdgeRequest | None:
    """The props snapshot due at ``now`` for today (``info`` None: schedule not stored yet)."""
    if info is None:
        return None
    key = info.day.isoformat()
    if not info.has_games:
        if now >= _at(info.day, min(times)):
            return EdgeRequest(f"props:{key}:no-games", (PROPS_PAYLOADS,), key, "no games: the day is stored empty")
        return None
    if now >= info.first_tip:
        return None  # closed: nothing after the first tip-off
    due = [s for s in snapshot_slots(info, times, leads) if s <= now]
    if not due:
        return None
    slot = due[-1]
    return EdgeRequest(
        f"props:{key}:{_hhmm(slot)}",
        (PROPS_PAYLOADS,),
        key,
        f"snapshot slot {_hhmm(slot)} ET, first tip-off {_hhmm(info.first_tip)} ET",
    )


def plan_box_scores(now: datetime, info: GameDay, box_games: int | None, requested: set[str]) -> EdgeRequest | None:
    """What the box-score feed of ``info.day`` needs at ``now``. ``box_games``: distinct games in the
    stored box scores (None: never stored); ``requested``: run keys already requested."""
    key = info.day.isoformat()
    recovery = now >= _at(info.day + timedelta(days=1), RECOVERY_AT_ET)
    if not info.has_games:
        over = _at(info.day + timedelta(days=1), time(0, 0))
        nightly = f"boxscores:{key}:nightly"
        if now >= over and box_games is None and nightly not in requested:
            return EdgeRequest(nightly, (STATS_PAYLOADS,), key, "no games: the day is stored empty")
        return None
    assert info.last_tip is not None
    if now < info.last_tip + GAME_LENGTH:
        return None
    if info.final < info.played:
        for slot, allowed in (("after-games", True), ("recovery", recovery)):
            run_key = f"schedule:{key}:{slot}"
            if allowed and run_key not in requested:
                return EdgeRequest(
                    run_key, (SCHEDULE_PAYLOADS,), key, f"{info.final}/{info.played} games final in the stored schedule"
                )
        return None
    complete = box_games is not None and box_games >= info.played
    if complete:
        return None
    nightly = f"boxscores:{key}:nightly"
    if nightly not in requested:
        return EdgeRequest(nightly, (STATS_PAYLOADS,), key, f"{info.played} games final")
    if recovery and f"boxscores:{key}:recovery" not in requested:
        return EdgeRequest(
            f"boxscores:{key}:recovery",
            (STATS_PAYLOADS,),
            key,
            f"morning recovery: {box_games or 0}/{info.played} games in the stored box scores",
        )
    return None


# ------------------------------------------------------------------------------------- cursors


def daily_tick_passed(cursor: str | None, now: datetime, at: time) -> tuple[date | None, str]:
    """A cron schedule's tick on the clock: the day whose ``at`` (ET) falls in (the previous
    evaluation, ``now``], and the new cursor (``now``). The first evaluation only records the time,
    as a schedule started late does not fire for a tick before it started."""
    new = now.astimezone(UTC).isoformat()
    if not cursor:
        return None, new
    try:
        previous = datetime.fromisoformat(cursor)
    except ValueError:  # a cursor of another format: start again
        return None, new
    day = today_et(now)
    tick = _at(day, at)
    return (day if previous < tick <= now else None), new


def _load(cursor: str | None) -> dict[str, list[str]]:
    return json.loads(cursor) if cursor else {}


def _dump(keys: dict[str, list[str]], today: date, keep_days: int) -> str:
    oldest = (today - timedelta(days=keep_days)).isoformat()
    return json.dumps({day: sorted(v) for day, v in sorted(keys.items()) if day >= oldest})


def edge_default_status(
    replayed_clock: bool = False, *, edge_sensors: str = "", replaying: bool = False
) -> dg.DefaultSensorStatus:
    """Edge triggers call the real APIs: RUNNING by default against the real services or on a
    replayed clock (``make gameday``: the archive answers as the clock allows), STOPPED when
    replaying an archive on the wall clock (``make dev`` on recorded data: ``replaying``) unless
    ``edge_sensors`` (``NBA_EDGE_SENSORS``) is ``on``."""
    value = edge_sensors.strip().lower()
    if value in {"on", "1", "true", "running"}:
        return dg.DefaultSensorStatus.RUNNING
    if value in {"off", "0", "false", "stopped"}:
        return dg.DefaultSensorStatus.STOPPED
    if replayed_clock:
        return dg.DefaultSensorStatus.RUNNING
    return dg.DefaultSensorStatus.STOPPED if replaying else dg.DefaultSensorStatus.RUNNING


# ------------------------------------------------------------------------------------- definitions


def build_edge_triggers(
    *,
    interval: int = EDGE_SENSOR_INTERVAL,
    status: dg.DefaultSensorStatus | None = None,
    snapshot_times: Sequence[time] = SNAPSHOT_TIMES_ET,
    snapshot_leads: Sequence[timedelta] = SNAPSHOT_LEADS,
) -> list[dg.SensorDefinition]:
    """The schedule, odds and box-score sensors. They read the time from the ``clock`` resource and
    the stored schedule through the ``lake`` resource (its table store, the IO manager's own)."""
    status = status or edge_default_status()

    @dg.sensor(
        name="nba_schedule_daily",
        target=dg.AssetSelection.assets(SCHEDULE_PAYLOADS),
        minimum_interval_seconds=interval,
        default_status=status,
        description="05:00 ET by the clock: refetch the schedule for today's partition (postponements, "
        "tip-off times). A sensor, not a cron schedule: Dagster's schedules only know the wall clock.",
    )
    def nba_schedule_daily(context: dg.SensorEvaluationContext, clock: Clock):
        now = clock.now(context.instance)
        passed, cursor = daily_tick_passed(context.cursor, now, SCHEDULE_AT_ET)
        context.update_cursor(cursor)
        if passed is None:
            return dg.SkipReason(f"{today_et(now)}: no {SCHEDULE_AT_ET:%H:%M} ET tick since the last evaluation")
        run_key = f"schedule:{passed}:morning"
        return [EdgeRequest(run_key, (SCHEDULE_PAYLOADS,), passed.isoformat(), "05:00 ET schedule").run_request()]

    @dg.sensor(
        name="odds_snapshot_sensor",
        target=dg.AssetSelection.assets(PROPS_PAYLOADS),
        minimum_interval_seconds=interval,
        default_status=status,
        description="Props snapshots through game day (06:00, 10:00, 13:00, 16:00 ET, 90 and 30 min before the "
        "first tip-off), never after the first tip-off.",
    )
    def odds_snapshot_sensor(context: dg.SensorEvaluationContext, clock: Clock, lake: Lake):
        now = clock.now(context.instance)
        today = today_et(now)
        schedule, stored = read_schedule(lake.tables(), [today])
        info = game_day(today, schedule) if today in stored else None
        plan = plan_snapshot(now, info, snapshot_times, snapshot_leads)
        if plan is None:
            why = "schedule not stored yet" if info is None else "no snapshot slot due"
            return dg.SkipReason(f"{today}: {why}")
        if context.cursor == plan.run_key:
            return dg.SkipReason(f"{plan.run_key} already requested")
        context.update_cursor(plan.run_key)
        return [plan.run_request()]

    @dg.sensor(
        name="box_score_sensor",
        target=dg.AssetSelection.assets(SCHEDULE_PAYLOADS, STATS_PAYLOADS),
        minimum_interval_seconds=interval,
        default_status=status,
        description="Box scores once the day's games are over (last tip-off + 3 h), a morning recovery at "
        "09:00 ET for a day still missing games.",
    )
    def box_score_sensor(context: dg.SensorEvaluationContext, clock: Clock, lake: Lake):
        now = clock.now(context.instance)
        today = today_et(now)
        days = dates_between(today - timedelta(days=BOX_SCORE_DAYS - 1), today)[::-1]  # today first
        done = _load(context.cursor)
        requests = requests_for_box_scores(lake.tables(), now, days, done)
        if not requests:
            return dg.SkipReason(f"nothing due for {days[-1]}..{days[0]}")
        for request in requests:
            done.setdefault(request.partition_key, []).append(request.run_key)
        context.update_cursor(_dump(done, today, BOX_SCORE_DAYS + 2))
        return [r.run_request() for r in requests]

    return [nba_schedule_daily, odds_snapshot_sensor, box_score_sensor]


def requests_for_box_scores(
    store, now: datetime, days: Sequence[date], done: dict[str, list[str]]
) -> list[EdgeRequest]:
    """The box-score sensor's requests at ``now`` for ``days`` given the keys ``done`` per day."""
    schedule, stored = read_schedule(store, days)
    box, box_stored = read_table(store, "nba_raw", "bdl_player_boxscores", days)
    requests = []
    for day in days:
        if day not in stored:
            continue
        info = game_day(day, schedule)
        games = box.filter(pl.col("game_date") == day)["game_id"].n_unique() if day in box_stored else None
        plan = plan_box_scores(now, info, games, set(done.get(day.isoformat(), [])))
        if plan is not None:
            requests.append(plan)
    return requests
