"""The morning deadline: today's predictions (and their export) by 07:00 ET, judged by the clock.

A check per deadline asset (``freshness_check``), partition-aware: at or after the deadline of day D
(by the ``Clock`` resource) it wants partition D (with ``end_offset=1`` the latest partition is
today), before it the previous day's. Days without games count too: the edge stores them empty by
06:00 ET, so their (empty) predictions exist. The deadline is ``NBA_PREDICTIONS_DEADLINE_ET``
(HH:MM, ET, default 07:00), read by the settings and passed in by the definitions. The checks are
non-blocking with severity ERROR;
``freshness_checks_sensor`` runs them once a day when the deadline passes (by the clock) and
``alert_on_failed_checks`` posts a failure to the webhook.

Dagster's ``build_time_partition_freshness_checks`` did the same by the wall clock only, so a
replayed day could not be judged; these read the one clock.
"""

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

import dagster as dg

from nba_assets.automation import DEADLINE_ASSETS, ET, deadline_et, today_et
from nba_assets.clock import Clock
from nba_assets.sensors import daily_tick_passed

FRESHNESS_SENSOR = "freshness_checks_sensor"
CHECK_NAME = "freshness_check"


def expected_partition(now: datetime, deadline: tuple[int, int] | None = None) -> date:
    """The game date whose partition must exist at ``now``: today after the deadline, else yesterday."""
    today = today_et(now)
    hour, minute = deadline or deadline_et()
    return today if now >= datetime.combine(today, time(hour, minute), ET) else today - timedelta(days=1)


def _deadline_check(key: dg.AssetKey, deadline: tuple[int, int]) -> dg.AssetChecksDefinition:
    hour, minute = deadline

    @dg.asset_check(
        asset=key,
        name=CHECK_NAME,
        blocking=False,
        description=f"Today's partition exists by {hour:02d}:{minute:02d} ET (by the clock); before the "
        "deadline, yesterday's.",
    )
    def freshness_check(context: dg.AssetCheckExecutionContext, clock: Clock) -> dg.AssetCheckResult:
        now = clock.now(context.instance)
        day = expected_partition(now, deadline).isoformat()
        records = context.instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=key, asset_partitions=[day]), limit=1
        ).records
        passed = bool(records)
        state = "materialized" if passed else "not materialized"
        at = now.astimezone(ET).strftime("%Y-%m-%d %H:%M ET")
        return dg.AssetCheckResult(
            passed=passed,
            severity=dg.AssetCheckSeverity.ERROR,
            description=f"partition {day} of {key.to_user_string()} {state} at {at}",
            metadata={"expected_partition": day, "evaluated_at_et": at},
        )

    return freshness_check


def build_deadline_checks(
    asset_keys: Iterable[dg.AssetKey], deadline: tuple[int, int] | None = None
) -> list[dg.AssetChecksDefinition]:
    """Freshness checks of the deadline assets present in ``asset_keys`` (``deadline``: HH, MM ET)."""
    present = set(asset_keys)
    return [_deadline_check(k, deadline or deadline_et()) for k in DEADLINE_ASSETS if k in present]


def build_freshness_sensor(
    checks: list[dg.AssetChecksDefinition],
    *,
    status: dg.DefaultSensorStatus,
    interval: int = 300,
    deadline: tuple[int, int] | None = None,
) -> list[dg.SensorDefinition]:
    """Runs the deadline checks once a day, after the deadline by the clock (``deadline:<D>``)."""
    if not checks:
        return []
    keys = [k for c in checks for k in c.check_keys]

    @dg.sensor(
        name=FRESHNESS_SENSOR,
        target=dg.AssetSelection.checks(*keys),
        minimum_interval_seconds=interval,
        default_status=status,
        description="Runs the morning deadline checks once a day after the deadline (by the clock).",
    )
    def freshness_checks_sensor(context: dg.SensorEvaluationContext, clock: Clock):
        now = clock.now(context.instance)
        day, cursor = daily_tick_passed(context.cursor, now, time(*(deadline or deadline_et())))
        context.update_cursor(cursor)
        if day is None:
            return dg.SkipReason(f"{today_et(now)}: the deadline did not pass since the last evaluation")
        run_key = f"deadline:{day}"
        return [dg.RunRequest(run_key=run_key, asset_selection=[], asset_check_keys=keys)]

    return [freshness_checks_sensor]
