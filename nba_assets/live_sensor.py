"""``live_games_sensor``: the live feeds every 3 minutes while a game day's games are on.

Game day D is *on* from its first tip-off (the stored schedule; an unknown tip-off counts as
19:00 ET, as everywhere at the edge) to 02:00 ET the next day. While D is on, each tick of the
sensor requests ``landing/live_payloads`` for D with a run key per 3-minute slot
(``live:D:<HHMM ET of the slot>``, so a slot is never fetched twice); ``exports/live_json`` follows
by its automation condition. Time is read from the project's one ``clock`` resource, so a replayed
day plays exactly as a real one. Default status: that of the edge sensors
(``sensors.edge_default_status``: it calls the real APIs), except on a replayed clock
(``make gameday``), where it is STOPPED: every slot is a run and the replayed clock stands still
while runs are in flight: an evening is up to 140 slots, each a run and its export's run, next to
the day's 56 runs.
``NBA_LIVE_SENSOR=on|off`` overrides both (a toggle in the UI wins over any default).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import dagster as dg

from nba_assets import automation
from nba_assets.assets.live import LIVE_PAYLOADS
from nba_assets.automation import ET, today_et
from nba_assets.clock import Clock
from nba_assets.lake import Lake
from nba_assets.sensors import GameDay, game_day

LIVE_INTERVAL = 180  # seconds: one live snapshot every 3 minutes while games are on
LIVE_SLOT = timedelta(seconds=LIVE_INTERVAL)
LIVE_UNTIL_ET = time(2, 0)  # the day after the game date
LIVE_ENV = "NBA_LIVE_SENSOR"


def live_default_status(
    edge_status: dg.DefaultSensorStatus, replayed_clock: bool, live_sensor: str = ""
) -> dg.DefaultSensorStatus:
    """The edge's status; STOPPED on a replayed clock; ``live_sensor`` (the settings'
    ``NBA_LIVE_SENSOR``: on|off) overrides."""
    value = live_sensor.strip().lower()
    if value in {"on", "1", "true", "running"}:
        return dg.DefaultSensorStatus.RUNNING
    if value in {"off", "0", "false", "stopped"}:
        return dg.DefaultSensorStatus.STOPPED
    return dg.DefaultSensorStatus.STOPPED if replayed_clock else edge_status


def live_window(info: GameDay) -> tuple[datetime, datetime] | None:
    """[first tip-off, 02:00 ET the next day) in UTC, or None for a day without games."""
    if not info.has_games or info.first_tip is None:
        return None
    end = datetime.combine(info.day + timedelta(days=1), LIVE_UNTIL_ET, ET).astimezone(UTC)
    return info.first_tip, end


def live_run_key(day: date, now: datetime, start: datetime) -> str:
    """The run key of the 3-minute slot (counted from the first tip-off) that ``now`` falls in."""
    slot = start + LIVE_SLOT * int((now - start) / LIVE_SLOT)
    return f"live:{day.isoformat()}:{slot.astimezone(ET):%H%M}"


def plan_live(now: datetime, days: dict[date, GameDay]) -> list[dg.RunRequest]:
    """The live snapshot requests due at ``now`` for the game days given (today and yesterday)."""
    requests = []
    for day, info in sorted(days.items()):
        window = live_window(info)
        if window is None or not (window[0] <= now < window[1]):
            continue
        run_key = live_run_key(day, now, window[0])
        requests.append(
            dg.RunRequest(
                run_key=run_key,
                asset_selection=[LIVE_PAYLOADS],
                partition_key=day.isoformat(),
                tags={"nba/edge_request": run_key, "nba/reason": f"live: {info.played} games, {info.final} final"},
            )
        )
    return requests


def build_live_sensors(
    *,
    interval: int = LIVE_INTERVAL,
    status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.STOPPED,
) -> list[dg.SensorDefinition]:
    @dg.sensor(
        name="live_games_sensor",
        target=dg.AssetSelection.assets(LIVE_PAYLOADS),
        minimum_interval_seconds=interval,
        default_status=status,
        description="Every 3 minutes from the first tip-off to 02:00 ET the next day (by the clock): the live "
        "scoreboard and box scores of the game day (landing/live_payloads), then exports/live_json by its "
        "condition.",
    )
    def live_games_sensor(context: dg.SensorEvaluationContext, clock: Clock, lake: Lake):
        now = clock.now(context.instance)
        today = today_et(now)
        days = [today - timedelta(days=1), today]
        schedule, stored = automation.read_schedule(lake.tables(), days)
        infos = {day: game_day(day, schedule) for day in stored}
        requests = plan_live(now, infos)
        if not requests:
            return dg.SkipReason(f"{now.astimezone(ET):%Y-%m-%d %H:%M} ET: no game day is on")
        return requests

    return [live_games_sensor]
