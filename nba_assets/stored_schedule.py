"""What the stored lake says about game days: the rows of a table for some days, the stored
schedule, and per day its games, first and last tip-off. The pre-tip condition and the edge
sensors read the lake through this module only (``store``: a ``PartitionedTableStore``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime

import dagster as dg
import polars as pl

from nba_assets.facts import DEFAULT_TIPOFF_ET, ET

StoreFactory = Callable[[], object]


def default_store():
    """No store: the definitions pass the lake resource's to every condition and sensor that reads
    the stored schedule (``automation.apply_automation``); reaching this means one was not."""
    raise dg.DagsterInvariantViolationError(
        "this automation condition has no store: the definitions pass the lake resource's (apply_automation)"
    )


def today_et(now: datetime) -> date:
    return now.astimezone(ET).date()


def _stored(store, table, days: list[date]) -> list[date]:
    if hasattr(store, "missing_partitions"):
        missing = set(store.missing_partitions(table, days))
    else:
        missing = set(days) - set(store.stored_partitions(table))
    return [d for d in days if d not in missing]


def read_table(store, dataset: str, table: str, days: Iterable[date]) -> tuple[pl.DataFrame, list[date]]:
    """The rows of ``dataset/table`` for ``days`` in ``store``, and which of the days are stored at all
    (a stored partition may be empty: a day without games)."""
    from nba_assets.io.storage import TableRef
    from nba_assets.schemas import schema_for

    ref = TableRef(dataset, table)
    stored = _stored(store, ref, sorted(set(days)))
    return store.read_window(ref, stored, schema_for(dataset, table)), stored


def read_schedule(store, days: Iterable[date]) -> tuple[pl.DataFrame, list[date]]:
    """The stored ``nba_raw/nbac_schedule`` rows of ``days`` and the days whose schedule is stored."""
    return read_table(store, "nba_raw", "nbac_schedule", days)


@dataclass(frozen=True)
class GameDay:
    day: date
    played: int  # games not postponed
    final: int  # of those, games final
    first_tip: datetime | None  # UTC
    last_tip: datetime | None  # UTC

    @property
    def has_games(self) -> bool:
        return self.played > 0


def game_day(day: date, schedule: pl.DataFrame) -> GameDay:
    """What the stored schedule says about ``day`` (a game without a known tip-off counts as
    ``facts.DEFAULT_TIPOFF_ET``, 19:00 ET)."""
    games = schedule.filter((pl.col("game_date") == day) & ~pl.col("postponed").fill_null(False))
    if games.is_empty():
        return GameDay(day, 0, 0, None, None)
    default = datetime.combine(day, DEFAULT_TIPOFF_ET, ET).astimezone(UTC)
    tips = [t.astimezone(UTC) if t is not None else default for t in games["tipoff_utc"].to_list()]
    final = games.filter(pl.col("game_status") == 3).height
    return GameDay(day, games.height, final, min(tips), max(tips))


def first_tipoffs(schedule: pl.DataFrame) -> dict[date, datetime | None]:
    """Per game date of ``schedule``: the first tip-off (UTC) of its games that are played, or None
    when no game is played that day (no games, all postponed); ``game_day``'s first tip-off."""
    return {day: game_day(day, schedule).first_tip for day in schedule["game_date"].unique().to_list()}
