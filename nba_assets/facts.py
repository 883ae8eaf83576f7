"""Facts of the domain, defined once and imported everywhere (pure: no Dagster, no I/O)."""

from __future__ import annotations

from datetime import date, time, timedelta
from zoneinfo import ZoneInfo

import polars as pl

# The history a game date may use: the 365 days strictly before it. History inputs
# (``assets.common.days_before``) and every per-day cut in the transforms and predictors use it.
HISTORY_DAYS = 365
# Days of a calendar year (the BigQuery cost model spreads a season's game days over them).
CALENDAR_DAYS_PER_YEAR = 365

# ------------------------------------------------------------------------------------- weeks
# Model weeks (models, calibrations, the backtest's weeks) start on Mondays, US Eastern game dates.


def week_of(day: date) -> date:
    """Monday of the week containing ``day``."""
    return day - timedelta(days=day.weekday())


def week_start(column: str | pl.Expr) -> pl.Expr:
    """``week_of`` as a polars expression over a Date column (Monday of each row's week)."""
    col = pl.col(column) if isinstance(column, str) else column
    return col - pl.duration(days=col.dt.weekday() - 1)


# ------------------------------------------------------------------------------------- days


def dates_between(first: date, last: date) -> list[date]:
    """Every date from ``first`` to ``last``, both included, in order."""
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


# ------------------------------------------------------------------------------------- tip-offs
# Game dates, tip-offs and the day's clock are US Eastern.
GAME_TZ = "America/New_York"
ET = ZoneInfo(GAME_TZ)
# A game whose tip-off time is not known counts as 19:00 ET, the league's usual first tip.
DEFAULT_TIPOFF_ET = time(19, 0)
