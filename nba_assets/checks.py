"""The morning deadline: today's predictions (and their export) by 07:00 ET.

``build_time_partition_freshness_checks`` is partition-aware: with the game-date partitions
(``end_offset=1``) the partition expected at the deadline of day D is D itself, so the check fails
when D's predictions are not materialized by the deadline and passes once they are. Days without
games count too: the edge stores them empty by 06:00 ET, so their (empty) predictions exist.
The deadline is ``NBA_PREDICTIONS_DEADLINE_ET`` (HH:MM, ET, default 07:00). The checks are
non-blocking with severity ERROR; ``freshness_checks_sensor`` runs them (on by default whenever the
edge sensors are: with a replay archive today's data never comes, so it is off there too) and
``alert_on_failed_checks`` posts a failure to the webhook.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable

import dagster as dg

from nba_assets.automation import DEADLINE_ASSETS, GAME_TZ, deadline_cron
from nba_assets.sensors import edge_default_status

FRESHNESS_SENSOR = "freshness_checks_sensor"


def build_deadline_checks(asset_keys: Iterable[dg.AssetKey]) -> list[dg.AssetChecksDefinition]:
    """Freshness checks of the deadline assets present in ``asset_keys``."""
    present = set(asset_keys)
    keys = [k for k in DEADLINE_ASSETS if k in present]
    if not keys:
        return []
    with warnings.catch_warnings():
        # "superseded" by FreshnessPolicy, which is not partition-aware: the deadline is per game date
        warnings.simplefilter("ignore", dg.SupersessionWarning)
        return list(
            dg.build_time_partition_freshness_checks(
                assets=keys, deadline_cron=deadline_cron(), timezone=GAME_TZ, severity=dg.AssetCheckSeverity.ERROR
            )
        )


def build_freshness_sensor(checks: list[dg.AssetChecksDefinition]) -> list[dg.SensorDefinition]:
    if not checks:
        return []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.SupersessionWarning)
        return [
            dg.build_sensor_for_freshness_checks(
                freshness_checks=checks,
                minimum_interval_seconds=300,
                name=FRESHNESS_SENSOR,
                # the deadline can only be met when the edge fetches today's data: on with the edge
                default_status=edge_default_status(),
            )
        ]
