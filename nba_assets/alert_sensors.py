"""Alert sensors: every failed run, and the failed checks of successful runs, posted to the
webhook (``nba_assets.alerts``)."""

from __future__ import annotations

import dagster as dg

from nba_assets import alerts

ALERT_INTERVAL = 60


def _run_url(base: str, run_id: str) -> str | None:
    """The run's page in the UI under ``base`` (``NBA_DAGSTER_URL``), None without one."""
    base = base.rstrip("/")
    return f"{base}/runs/{run_id}" if base else None


def _partition_of(run: dg.DagsterRun) -> str | None:
    tags = run.tags
    if "dagster/partition" in tags:
        return tags["dagster/partition"]
    start, end = tags.get("dagster/asset_partition_range_start"), tags.get("dagster/asset_partition_range_end")
    return f"{start}...{end}" if start and end else None


def failed_checks(instance: dg.DagsterInstance, run_id: str) -> list[tuple[str, str, str, str | None]]:
    """(asset, check, severity, description) of every failed check evaluation in the run."""
    out = []
    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION):
        evaluation = entry.dagster_event.event_specific_data
        if evaluation.passed:
            continue
        out.append(
            (
                evaluation.asset_key.to_user_string(),
                evaluation.check_name,
                evaluation.severity.value,
                evaluation.description,
            )
        )
    return out


def build_alert_sensors(dagster_url: str = "") -> list[dg.SensorDefinition]:
    """Run-failure and failed-check alerts; ``dagster_url``: the UI the alerts link to."""

    @dg.run_failure_sensor(
        name="alert_on_run_failure",
        minimum_interval_seconds=ALERT_INTERVAL,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Posts every failed run (and its failed checks) to ${alerts.WEBHOOK_ENV} (Slack format).",
    )
    def alert_on_run_failure(context: dg.RunFailureSensorContext):
        run = context.dagster_run
        step_events = context.get_step_failure_events()
        steps = sorted({e.step_key for e in step_events if e.step_key})
        error = context.failure_event.message or ""
        for event in step_events[:5]:
            cause = event.step_failure_data.error if event.step_failure_data else None
            while cause is not None and cause.cause is not None:  # the user code's own error
                cause = cause.cause
            if cause is not None:
                error += f"\n{event.step_key}: {cause.message.strip()[:400]}"
        checks = failed_checks(context.instance, run.run_id)
        if checks:
            error += "\nfailed checks: " + "; ".join(f"{a} {c}: {d or 'failed'}" for a, c, _, d in checks)
        alerts.send(
            alerts.run_failure_alert(
                job=run.job_name,
                run_id=run.run_id,
                partition=_partition_of(run),
                error=error,
                failed_steps=steps,
                url=_run_url(dagster_url, run.run_id),
            ),
            logger=context.log,
        )

    @dg.run_status_sensor(
        name="alert_on_failed_checks",
        run_status=dg.DagsterRunStatus.SUCCESS,
        minimum_interval_seconds=ALERT_INTERVAL,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Posts failed checks of successful runs (freshness deadlines, non-blocking checks).",
    )
    def alert_on_failed_checks(context: dg.RunStatusSensorContext):
        run = context.dagster_run
        checks = failed_checks(context.instance, run.run_id)
        if not checks:
            # Nothing to post. No SkipReason: a tick that also covers a run with failed checks
            # would mix a SkipReason with run reactions, fail, never advance its cursor and post
            # the same alert on every tick.
            context.log.debug(f"run {run.run_id}: no failed check")
            return None
        alerts.send(
            alerts.check_failure_alert(
                failures=checks, run_id=run.run_id, job=run.job_name, url=_run_url(dagster_url, run.run_id)
            ),
            logger=context.log,
        )

    return [alert_on_run_failure, alert_on_failed_checks]
