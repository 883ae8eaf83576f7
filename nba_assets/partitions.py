"""The one partitioning of the lake: game dates, US Eastern."""

from __future__ import annotations

from datetime import date, timedelta

import dagster as dg

from nba_assets.facts import GAME_TZ, HISTORY_DAYS, dates_between, week_of  # noqa: F401  (re-exported for the wiring)

FIRST_GAME_DATE = "2021-10-19"

game_date_partitions = dg.DailyPartitionsDefinition(
    start_date=FIRST_GAME_DATE,
    timezone=GAME_TZ,
    end_offset=1,  # today's games have a partition before they are played
)


def history_before(days: int) -> dg.TimeWindowPartitionMapping:
    """The ``days`` partitions strictly before the downstream partition (never the day itself)."""
    return dg.TimeWindowPartitionMapping(start_offset=-days, end_offset=-1, allow_nonexistent_upstream_partitions=True)


def days_in_window(window: dg.TimeWindow) -> list[date]:
    """The game dates of a window of game-date partitions (its end is exclusive), in order."""
    return dates_between(window.start.date(), window.end.date() - timedelta(days=1))


def weeks_in_window(window: dg.TimeWindow) -> list[date]:
    """Week starts (Mondays) of every week overlapping a window of game-date partitions."""
    return sorted({week_of(d) for d in days_in_window(window)})


def window_dates(context: dg.AssetExecutionContext) -> list[date]:
    """Every game date of the run's partition window, inclusive, in order."""
    return days_in_window(context.partition_time_window)
