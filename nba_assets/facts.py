"""Facts of the domain, defined once and imported everywhere (pure: no Dagster, no I/O)."""

from __future__ import annotations

# The history a game date may use: the 365 days strictly before it. History inputs
# (``assets.common.days_before``) and every per-day cut in the transforms and predictors use it.
HISTORY_DAYS = 365
# Days of a calendar year (the BigQuery cost model spreads a season's game days over them).
CALENDAR_DAYS_PER_YEAR = 365
