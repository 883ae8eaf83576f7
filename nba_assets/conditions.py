"""The automation conditions of the lake's phases, each built once with the parents it looks at.

- ``daily_eager(days)``: materialize a partition among the latest ``days`` game dates when one of
  its parents updated (or when the partition appears), once every same-day parent exists, none is
  in progress and every blocking check upstream passed. ``AutomationCondition.eager()`` looks at
  the latest partition only (today, with ``end_offset=1``); box scores of D land on D+1, so the
  raw, analytics, grading and export phases look back ``RECENT_DAYS`` days (D+1's morning grades
  D; a box-score recovery two days late still flows through).
- ``pre_tip_eager()`` (predictions): today's partition only, and only before the first tip-off of
  that day (``BeforeFirstTipoff`` reads the tip-off times from the lake's
  ``nba_raw/nbac_schedule``). A line snapshot landing after the first tip-off never refreshes
  the day's predictions.
- ``models_of_the_day()`` (models): today's partition once a day at 04:00 ET, after the night's
  box scores (a week's model is trained once, on Monday, from the days before the week).
- ``season_eager()`` (the unpartitioned season-wide documents): rebuilt once after any parent
  updates.

Each builder takes ``needed``, the parents the partition reads for itself (history windows never
block: their missing days load as no rows), and ``ignored``, the parents reached through another
same-day parent (the props table reaches the predictions through the feature store: a snapshot
refreshes the predictions once, after the features). ``nba_assets.automation`` computes both from
the graph and calls the builder of each asset's phase once.

Dagster's time-based conditions (``in_latest_time_window``, ``cron_tick_passed``, ``newly_missing``
for a partition that "appears") read the evaluation time, which is the daemon's wall clock. The
project's own conditions below read the ``Clock`` instead (given through their constructor:
conditions cannot take resources), so a replayed day decides exactly as a real one.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta

import dagster as dg

from nba_assets.clock import Clock
from nba_assets.facts import dates_between
from nba_assets.stored_schedule import ET, StoreFactory, default_store, first_tipoffs, read_schedule, today_et

RECENT_DAYS = 3  # how many game dates back the daily phases react (today, yesterday, the day before)
MODELS_AT_ET = time(4, 0)  # after the night's box scores, before the 06:00 snapshot

LABEL_UPDATED = "any_deps_updated"
LABEL_MISSING = "any_deps_missing"
LABEL_IN_PROGRESS = "any_deps_in_progress"
LABEL_CHECKS = "all_deps_blocking_checks_passed"

Parents = Iterable[dg.AssetKey] | None  # None: every parent


# ------------------------------------------------------------------------------------- the clock


def _partition_days(candidates, window: tuple[date, date] | None) -> dict[date, str]:
    """The game dates (date -> key) of a partitioned subset, only those within ``window`` (first,
    last; inclusive) when given. A daemon tick's candidates are mostly every partition (~1,900 days since
    2021, enumerated through Dagster's cron iterator: ~25 ms each time); a condition that can only
    be true within a few days looks at those days' keys alone."""
    if window is None:
        keys = candidates.expensively_compute_partition_keys()
    else:
        partitions = candidates.partitions_def
        lo, hi = partitions.get_first_partition_key(), partitions.get_last_partition_key()
        if lo is None or hi is None:
            return {}
        first, last = window
        near = {k for k in (d.isoformat() for d in dates_between(first, last)) if lo <= k <= hi}
        keys = candidates.compute_intersection_with_partition_keys(near).expensively_compute_partition_keys()
    return {date.fromisoformat(k): k for k in keys}


class _ClockCondition(dg.AutomationCondition):
    """A condition on the game-date partitions that reads the project's clock: true for the
    partition keys ``_keys(days, now)`` returns (``days``: candidate date -> key; ``now``: the
    clock's time), which all lie within ``_window(now)`` when that is not None. Unpartitioned
    candidates are never true. No cursor."""

    clock: Clock

    @property
    def requires_cursor(self) -> bool:
        return False

    def _window(self, now: datetime) -> tuple[date, date] | None:
        """The first and last game date ``_keys`` can return at ``now`` (None: any)."""
        return None

    def _keys(self, days: dict[date, str], now: datetime) -> set[str]:
        raise NotImplementedError

    def evaluate(self, context):  # type: ignore[override]
        candidates = context.candidate_subset
        if candidates.is_empty or not candidates.is_partitioned:
            return dg.AutomationResult(context=context, true_subset=context.get_empty_subset())
        now = self.clock.now(context.asset_graph_view.instance)
        days = _partition_days(candidates, self._window(now))
        if not days:
            return dg.AutomationResult(context=context, true_subset=context.get_empty_subset())
        keys = self._keys(days, now)
        return dg.AutomationResult(
            context=context, true_subset=candidates.compute_intersection_with_partition_keys(keys)
        )


class InClockWindow(_ClockCondition):
    """The game-date partitions among the latest ``days`` by the clock (today and the days before):
    ``in_latest_time_window`` on the project's clock."""

    def __init__(self, clock: Clock, days: int = 1):
        self.clock = clock
        self.days = days

    @property
    def name(self) -> str:
        return f"in_clock_window({self.days}d)"

    def _window(self, now: datetime) -> tuple[date, date]:
        today = today_et(now)
        return today - timedelta(days=self.days - 1), today

    def _keys(self, days: dict[date, str], now: datetime) -> set[str]:
        first, today = self._window(now)
        return {key for day, key in days.items() if first <= day <= today}


class ClockPassed(_ClockCondition):
    """Today's partition (by the clock) once the clock has passed ``at`` (ET) on that day. With
    ``newly_true()`` it is the project's ``cron_tick_passed`` for a daily tick."""

    def __init__(self, clock: Clock, at: time):
        self.clock = clock
        self.at = at

    @property
    def name(self) -> str:
        return f"clock_passed({self.at:%H:%M} ET)"

    def _window(self, now: datetime) -> tuple[date, date]:
        return today_et(now), today_et(now)

    def _keys(self, days: dict[date, str], now: datetime) -> set[str]:
        today = today_et(now)
        due = today in days and now >= datetime.combine(today, self.at, ET)
        return {days[today]} if due else set()


class BeforeFirstTipoff(_ClockCondition):
    """True for the partitions of game dates whose first tip-off (from the stored schedule) is still
    ahead by the clock. A day with no played games is open until its end (ET); a day whose schedule
    is not stored yet is not open (nothing to predict). The clock and the store come through the
    constructor (conditions cannot take resources)."""

    def __init__(self, clock: Clock, store: StoreFactory = default_store):
        self.clock = clock
        self.store = store

    @property
    def name(self) -> str:
        return "before_first_tipoff"

    def _keys(self, days: dict[date, str], now: datetime) -> set[str]:
        return open_partitions(self.store(), days.values(), now)


def open_partitions(store, partition_keys: Iterable[str], now: datetime) -> set[str]:
    """The game-date partition keys still open for pre-tip refreshes at ``now``."""
    days = {date.fromisoformat(k): k for k in partition_keys}
    if not days:
        return set()
    now = now.astimezone(UTC)
    schedule, stored = read_schedule(store, days)
    tips = first_tipoffs(schedule)
    out = set()
    for day, key in days.items():
        if day not in stored:
            continue  # schedule not stored: nothing known about the day yet
        first = tips.get(day)
        closes = first if first is not None else datetime.combine(day + timedelta(days=1), datetime.min.time(), ET)
        if now < closes.astimezone(UTC):
            out.add(key)
    return out


# ------------------------------------------------------------------------------------- the parents


def _only(parents: Parents) -> dg.AssetSelection | None:
    return None if parents is None else dg.AssetSelection.assets(*parents)


def any_deps_updated(ignored: Parents = None) -> dg.AutomationCondition:
    condition = dg.AutomationCondition.any_deps_updated()
    if ignored:
        condition = condition.ignore(dg.AssetSelection.assets(*ignored))
    return condition.with_label(LABEL_UPDATED)


def any_deps_missing(needed: Parents = None) -> dg.AutomationCondition:
    condition = dg.AutomationCondition.any_deps_missing()
    only = _only(needed)
    return (condition.allow(only) if only is not None else condition).with_label(LABEL_MISSING)


def any_deps_in_progress(needed: Parents = None) -> dg.AutomationCondition:
    condition = dg.AutomationCondition.any_deps_in_progress()
    only = _only(needed)
    return (condition.allow(only) if only is not None else condition).with_label(LABEL_IN_PROGRESS)


def all_deps_blocking_checks_passed(needed: Parents = None) -> dg.AutomationCondition:
    condition = dg.AutomationCondition.all_deps_blocking_checks_passed()
    only = _only(needed)
    return (condition.allow(only) if only is not None else condition).with_label(LABEL_CHECKS)


# ------------------------------------------------------------------------------------- the phases


def _eager_core(window: dg.AutomationCondition, needed: Parents, ignored: Parents) -> dg.AutomationCondition:
    # "newly missing" on the clock: a partition that enters the window (D at midnight ET) and is missing
    appeared = (window & dg.AutomationCondition.missing()).newly_true()
    return (
        window
        & (appeared | any_deps_updated(ignored)).since_last_handled()
        & ~any_deps_missing(needed)
        & ~any_deps_in_progress(needed)
        & ~dg.AutomationCondition.in_progress()
        & all_deps_blocking_checks_passed(needed)
    )


def daily_eager(
    clock: Clock, needed: Parents = None, ignored: Parents = None, days: int = RECENT_DAYS
) -> dg.AutomationCondition:
    """Eager over the latest ``days`` game dates by the clock (``eager()`` alone only sees today)."""
    return _eager_core(InClockWindow(clock, days), needed, ignored).with_label(f"daily_eager({days}d)")


def pre_tip_eager(
    clock: Clock, store: StoreFactory = default_store, needed: Parents = None, ignored: Parents = None
) -> dg.AutomationCondition:
    """Today's partition (by the clock), refreshed on new parent data, never after its first tip-off."""
    return (_eager_core(InClockWindow(clock, 1), needed, ignored) & BeforeFirstTipoff(clock, store)).with_label(
        "pre_tip_eager"
    )


def models_of_the_day(clock: Clock, needed: Parents = None) -> dg.AutomationCondition:
    """Models (one partition per game date holding the model of D's week): today's partition once a
    day at 04:00 ET by the clock, when the night's box scores are in. Not on parent updates: a
    week's model is trained once, from the days before the week (the model store keeps it), so
    Monday's run must come after Sunday's box scores, never at midnight."""
    return (
        InClockWindow(clock, 1)
        & ClockPassed(clock, MODELS_AT_ET).newly_true().since_last_handled()
        & ~any_deps_missing(needed)
        & ~any_deps_in_progress(needed)
        & ~dg.AutomationCondition.in_progress()
    ).with_label("models_of_the_day")


def season_eager(needed: Parents = None, ignored: Parents = None) -> dg.AutomationCondition:
    """A season-wide (unpartitioned) document over the stored daily partitions: rebuilt once after
    any of them updates, never while a parent or itself is running. Its as-of date is what is stored."""
    return (
        any_deps_updated(ignored).since_last_handled()
        & ~any_deps_in_progress(needed)
        & ~dg.AutomationCondition.in_progress()
    ).with_label("season_eager")
