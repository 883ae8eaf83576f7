"""The code location's sensors, by concern (this module only names them):

- ``nba_assets.edge``: the triggers at the edge (``nba_schedule_daily``, ``odds_snapshot_sensor``,
  ``box_score_sensor``), their pure plans and cursors;
- ``nba_assets.automation_sensors``: one automation condition sensor per phase (``automation_<group>``);
- ``nba_assets.alert_sensors``: failed runs and failed checks posted to the webhook;
- the deadline checks' ``freshness_checks_sensor`` lives with the checks (``nba_assets.checks``).
"""

from __future__ import annotations

from nba_assets.alert_sensors import ALERT_INTERVAL, build_alert_sensors, failed_checks
from nba_assets.automation_sensors import build_automation_sensors
from nba_assets.edge import (
    BOX_SCORE_DAYS,
    EDGE_ENV,
    EDGE_SENSOR_INTERVAL,
    GAME_LENGTH,
    PROPS_PAYLOADS,
    RECOVERY_AT_ET,
    SCHEDULE_AT_ET,
    SCHEDULE_PAYLOADS,
    SNAPSHOT_LEADS,
    SNAPSHOT_TIMES_ET,
    STATS_PAYLOADS,
    EdgeRequest,
    build_edge_triggers,
    daily_tick_passed,
    edge_default_status,
    plan_box_scores,
    plan_snapshot,
    requests_for_box_scores,
    snapshot_slots,
)
from nba_assets.stored_schedule import GameDay, game_day

__all__ = [
    "ALERT_INTERVAL",
    "BOX_SCORE_DAYS",
    "EDGE_ENV",
    "EDGE_SENSOR_INTERVAL",
    "GAME_LENGTH",
    "PROPS_PAYLOADS",
    "RECOVERY_AT_ET",
    "SCHEDULE_AT_ET",
    "SCHEDULE_PAYLOADS",
    "SNAPSHOT_LEADS",
    "SNAPSHOT_TIMES_ET",
    "STATS_PAYLOADS",
    "EdgeRequest",
    "GameDay",
    "build_alert_sensors",
    "build_automation_sensors",
    "build_edge_triggers",
    "daily_tick_passed",
    "edge_default_status",
    "failed_checks",
    "game_day",
    "plan_box_scores",
    "plan_snapshot",
    "requests_for_box_scores",
    "snapshot_slots",
]
