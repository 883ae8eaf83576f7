"""Declarative automation: when each lake asset materializes by itself.

Only the edge (the ingest assets) is triggered by sensors and schedules (``nba_assets.sensors``).
Everything downstream carries an ``AutomationCondition`` set by the shared wiring
(``nba_assets.assets.common.lake_asset``) from the asset's group, refined once the whole graph is
known (``refine_conditions``):

- ``daily_eager(days)``: materialize a partition among the latest ``days`` game dates when one of
  its parents updated (or when the partition appears), once every same-day parent exists, none is
  in progress and every blocking check upstream passed. ``AutomationCondition.eager()`` looks at
  the latest partition only (today, with ``end_offset=1``); box scores of D land on D+1, so the
  raw, analytics, grading and export phases look back ``RECENT_DAYS`` days (D+1's morning grades
  D; a box-score recovery two days late still flows through).
- ``pre_tip_eager()`` (predictions, features): today's partition only, and only before the first
  tip-off of that day (``BeforeFirstTipoff`` reads the tip-off times from the lake's
  ``nba_raw/nbac_schedule``). A line snapshot landing after the first tip-off never refreshes
  the day's predictions.
- ``models_of_the_day()`` (group ``models``): today's partition once a day at 04:00 ET, after the
  night's box scores (a week's model is trained once, on Monday, from the days before the week).
- ``weekly_on_new_period()`` for assets on other (weekly) partitions, should any appear.

Two refinements need the graph and are applied by ``refine_conditions`` over the Definitions:

- *same-day parents*: a partition waits for the parents it reads for the same game date (its
  ``any_deps_missing`` only looks at them). History windows (``days_before``: the 365 days strictly
  before D) never block: their missing days load as no rows, as the IO manager documents.
- *nearest parents*: a parent that also reaches the asset through another same-day parent is
  ignored by ``any_deps_updated`` (the props table reaches the predictions through the feature
  store), so a line snapshot refreshes the predictions once, after the features, not twice.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import dagster as dg
import polars as pl

from nba_assets.clock import Clock
from nba_assets.config import DEFAULT_DEADLINE_ET
from nba_assets.partitions import GAME_TZ

ET = ZoneInfo(GAME_TZ)
RECENT_DAYS = 3  # how many game dates back the daily phases react (today, yesterday, the day before)
SCHEDULE_KEY = dg.AssetKey(["nba_raw", "nbac_schedule"])
INGEST_GROUP = "ingest"

# Which phases are "pre-tip": their partition for D is only refreshed before D's first tip-off.
PRE_TIP_GROUPS = frozenset({"predictions"})
# The groups whose assets get no condition: they are requested by sensors and schedules.
EDGE_GROUPS = frozenset({INGEST_GROUP})

LABEL_UPDATED = "any_deps_updated"
LABEL_MISSING = "any_deps_missing"
MANUAL_TAG = "nba/manual_only"  # an asset that opted out of automation (``automation_condition=None``)
LABEL_IN_PROGRESS = "any_deps_in_progress"
LABEL_CHECKS = "all_deps_blocking_checks_passed"


# ------------------------------------------------------------------------------------- the lake

StoreFactory = Callable[[], object]


def default_store():
    """No store: a condition declared before the definitions exist (``lake_asset``) is rebuilt by
    ``refine_conditions`` with the lake resource's store; reaching this means it was not."""
    raise dg.DagsterInvariantViolationError(
        "this automation condition has no store: the definitions pass the lake resource's (refine_conditions)"
    )


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


def first_tipoffs(schedule: pl.DataFrame) -> dict[date, datetime | None]:
    """Per game date of ``schedule``: the first tip-off (UTC) of its games that are played, or None
    when no game is played that day (no games, all postponed). Games without a known tip-off time
    count as 19:00 ET, the league's usual first tip."""
    out: dict[date, datetime | None] = {}
    for day in schedule["game_date"].unique().to_list():
        out[day] = None
    played = schedule.filter(~pl.col("postponed").fill_null(False))
    for (day,), games in played.partition_by("game_date", as_dict=True).items():
        known = games["tipoff_utc"].drop_nulls()
        default = datetime.combine(day, datetime.min.time(), ET).replace(hour=19).astimezone(UTC)
        times = [t.replace(tzinfo=UTC) if t.tzinfo is None else t for t in known.to_list()]
        if games["tipoff_utc"].null_count():
            times.append(default)
        out[day] = min(times)
    return out


def today_et(now: datetime) -> date:
    return now.astimezone(ET).date()


# ------------------------------------------------------------------------------------- conditions
#
# Dagster's time-based conditions (``in_latest_time_window``, ``cron_tick_passed``, ``newly_missing``
# for a partition that "appears") read the evaluation time, which is the daemon's wall clock. The
# project's own conditions below read the ``Clock`` instead (given through their constructor:
# conditions cannot take resources), so a replayed day decides exactly as a real one.


def _partition_days(context) -> tuple[object, dict[date, str]]:
    candidates = context.candidate_subset
    if candidates.is_empty or not candidates.is_partitioned:
        return candidates, {}
    return candidates, {date.fromisoformat(k): k for k in candidates.expensively_compute_partition_keys()}


def _keys_result(context, candidates, keys: set[str]) -> dg.AutomationResult:
    return dg.AutomationResult(context=context, true_subset=candidates.compute_intersection_with_partition_keys(keys))


class InClockWindow(dg.AutomationCondition):
    """The game-date partitions among the latest ``days`` by the clock (today and the days before):
    ``in_latest_time_window`` on the project's clock."""

    def __init__(self, clock: Clock, days: int = 1):
        self.clock = clock
        self.days = days

    @property
    def name(self) -> str:
        return f"in_clock_window({self.days}d)"

    @property
    def requires_cursor(self) -> bool:
        return False

    def evaluate(self, context):  # type: ignore[override]
        candidates, days = _partition_days(context)
        if not days:
            return dg.AutomationResult(context=context, true_subset=context.get_empty_subset())
        today = today_et(self.clock.now(context.asset_graph_view.instance))
        first = today - timedelta(days=self.days - 1)
        keys = {key for day, key in days.items() if first <= day <= today}
        return _keys_result(context, candidates, keys)


class ClockPassed(dg.AutomationCondition):
    """Today's partition (by the clock) once the clock has passed ``at`` (ET) on that day. With
    ``newly_true()`` it is the project's ``cron_tick_passed`` for a daily tick."""

    def __init__(self, clock: Clock, at: time):
        self.clock = clock
        self.at = at

    @property
    def name(self) -> str:
        return f"clock_passed({self.at:%H:%M} ET)"

    @property
    def requires_cursor(self) -> bool:
        return False

    def evaluate(self, context):  # type: ignore[override]
        candidates, days = _partition_days(context)
        if not days:
            return dg.AutomationResult(context=context, true_subset=context.get_empty_subset())
        now = self.clock.now(context.asset_graph_view.instance)
        today = today_et(now)
        due = today in days and now >= datetime.combine(today, self.at, ET)
        keys = {days[today]} if due else set()
        return _keys_result(context, candidates, keys)


def any_deps_updated() -> dg.AutomationCondition:
    return dg.AutomationCondition.any_deps_updated().with_label(LABEL_UPDATED)


def any_deps_missing() -> dg.AutomationCondition:
    return dg.AutomationCondition.any_deps_missing().with_label(LABEL_MISSING)


def _eager_core(window: dg.AutomationCondition) -> dg.AutomationCondition:
    # "newly missing" on the clock: a partition that enters the window (D at midnight ET) and is missing
    appeared = (window & dg.AutomationCondition.missing()).newly_true()
    return (
        window
        & (appeared | any_deps_updated()).since_last_handled()
        & ~any_deps_missing()
        & ~dg.AutomationCondition.any_deps_in_progress()
        & ~dg.AutomationCondition.in_progress()
        & dg.AutomationCondition.all_deps_blocking_checks_passed()
    )


def daily_eager(clock: Clock, days: int = RECENT_DAYS) -> dg.AutomationCondition:
    """Eager over the latest ``days`` game dates by the clock (``eager()`` alone only sees today)."""
    return _eager_core(InClockWindow(clock, days)).with_label(f"daily_eager({days}d)")


class BeforeFirstTipoff(dg.AutomationCondition):
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

    @property
    def requires_cursor(self) -> bool:
        return False

    def evaluate(self, context):  # type: ignore[override]
        candidates, days = _partition_days(context)
        if not days:
            return dg.AutomationResult(context=context, true_subset=context.get_empty_subset())
        open_keys = open_partitions(self.store(), days.values(), self.clock.now(context.asset_graph_view.instance))
        return dg.AutomationResult(
            context=context, true_subset=candidates.compute_intersection_with_partition_keys(open_keys)
        )


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


def pre_tip_eager(clock: Clock, store: StoreFactory = default_store) -> dg.AutomationCondition:
    """Today's partition (by the clock), refreshed on new parent data, never after its first tip-off."""
    return (_eager_core(InClockWindow(clock, 1)) & BeforeFirstTipoff(clock, store)).with_label("pre_tip_eager")


WEEKLY_CRON = "0 4 * * 1"  # Monday 04:00 ET: after Sunday's box scores, before the 06:00 snapshot


def weekly_on_new_period() -> dg.AutomationCondition:
    """Assets on weekly partitions (models, calibration), should any appear (none does today): the
    new week's partition once a week, at Monday 04:00 ET, never while a parent or itself is running.
    Dagster's cron: the wall clock only (no asset of the graph uses it)."""
    return (
        dg.AutomationCondition.in_latest_time_window()
        & dg.AutomationCondition.cron_tick_passed(WEEKLY_CRON, GAME_TZ).since_last_handled()
        & ~dg.AutomationCondition.any_deps_in_progress()
        & ~dg.AutomationCondition.in_progress()
    ).with_label("weekly_on_new_period")


MODELS_AT_ET = time(4, 0)  # after the night's box scores, before the 06:00 snapshot


def models_of_the_day(clock: Clock) -> dg.AutomationCondition:
    """Models (``group="models"``, one partition per game date holding the model of D's week):
    today's partition once a day at 04:00 ET by the clock, when the night's box scores are in. Not
    on parent updates: a week's model is trained once, from the days before the week (the model
    store keeps it), so Monday's run must come after Sunday's box scores, never at midnight."""
    return (
        InClockWindow(clock, 1)
        & ClockPassed(clock, MODELS_AT_ET).newly_true().since_last_handled()
        & ~any_deps_missing()
        & ~dg.AutomationCondition.any_deps_in_progress()
        & ~dg.AutomationCondition.in_progress()
    ).with_label("models_of_the_day")


MODEL_GROUPS = frozenset({"models"})


def season_eager() -> dg.AutomationCondition:
    """A season-wide (unpartitioned) document over the stored daily partitions: rebuilt once after
    any of them updates, never while a parent or itself is running. Its as-of date is what is stored."""
    return (
        any_deps_updated().since_last_handled()
        & ~dg.AutomationCondition.any_deps_in_progress()
        & ~dg.AutomationCondition.in_progress()
    ).with_label("season_eager")


def condition_for_group(
    group: str, clock: Clock | None = None, store: StoreFactory = default_store
) -> dg.AutomationCondition | None:
    """The condition of a table of ``group`` (None for the edge) on ``clock`` (the wall clock when
    not given: ``lake_asset`` declares it so; ``refine_conditions`` rebuilds it on the definitions'
    clock and store)."""
    clock = clock or Clock()
    if group in EDGE_GROUPS:
        return None
    if group in PRE_TIP_GROUPS:
        return pre_tip_eager(clock, store)
    if group in MODEL_GROUPS:
        return models_of_the_day(clock)
    return daily_eager(clock)


# ------------------------------------------------------------------------------------- refinement


def _is_history(mapping: dg.PartitionMapping | None) -> bool:
    """A mapping onto earlier days (``days_before``): reads history, never blocks."""
    return isinstance(mapping, dg.TimeWindowPartitionMapping) and (mapping.end_offset < 0 or mapping.start_offset < 0)


def _is_same_day(mapping: dg.PartitionMapping | None, same_def: bool) -> bool:
    if not same_def:
        return False
    if mapping is None or isinstance(mapping, dg.IdentityPartitionMapping):
        return True
    return isinstance(mapping, dg.TimeWindowPartitionMapping) and mapping.start_offset == 0 and mapping.end_offset == 0


def _graph_facts(defs: dg.Definitions):
    """Per asset: parents it needs (non-history), and same-day edges (for the nearest-parent rule)."""
    graph = defs.resolve_asset_graph()
    required: dict[dg.AssetKey, set[dg.AssetKey]] = {}
    same_day: dict[dg.AssetKey, set[dg.AssetKey]] = {}
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        required[key] = set()
        same_day[key] = set()
        for parent in node.parent_keys:
            if not graph.has(parent):
                continue
            mapping = graph.get_partition_mapping(key, parent)
            same_def = graph.get(parent).partitions_def == node.partitions_def
            if not _is_history(mapping):
                required[key].add(parent)
            if _is_same_day(mapping, same_def):
                same_day[key].add(parent)
    return required, same_day


def _same_day_ancestors(key: dg.AssetKey, same_day: dict[dg.AssetKey, set[dg.AssetKey]]) -> set[dg.AssetKey]:
    seen: set[dg.AssetKey] = set()
    stack = list(same_day.get(key, ()))
    while stack:
        parent = stack.pop()
        if parent in seen:
            continue
        seen.add(parent)
        stack.extend(same_day.get(parent, ()))
    return seen


def redundant_parents(key: dg.AssetKey, same_day: dict[dg.AssetKey, set[dg.AssetKey]]) -> set[dg.AssetKey]:
    """Same-day parents that also reach ``key`` through another same-day parent."""
    parents = same_day.get(key, set())
    out = set()
    for parent in parents:
        for other in parents - {parent}:
            if parent in _same_day_ancestors(other, same_day):
                out.add(parent)
    return out


def refine_conditions(
    defs: dg.Definitions,
    *,
    wall_clock_deadlines: bool = True,
    deadline: tuple[int, int] | None = None,
    clock: Clock | None = None,
    store: StoreFactory = default_store,
) -> dg.Definitions:
    """Gives every asset outside the edge a condition (``lake_asset`` already set one on the lake
    tables; other assets get their phase's), then narrows ``any_deps_missing`` to the parents a
    partition needs and ``any_deps_updated`` to the nearest parents. The deadline assets get their
    freshness policy here (and only here) when ``wall_clock_deadlines``: a replayed archive never
    gets today's data, so judged by the wall clock it would show red where nothing is wrong."""
    graph = defs.resolve_asset_graph()
    required, same_day = _graph_facts(defs)
    daily_def = {
        k for k in graph.get_all_asset_keys() if isinstance(graph.get(k).partitions_def, dg.DailyPartitionsDefinition)
    }

    def refine(spec: dg.AssetSpec) -> dg.AssetSpec:
        key = spec.key
        if spec.group_name in EDGE_GROUPS or spec.tags.get(MANUAL_TAG) == "true":
            return spec
        condition = spec.automation_condition
        phase = condition_for_group(spec.group_name or "")
        if condition is None or (phase is not None and condition.get_label() == phase.get_label()):
            # the phase's condition (declared by ``lake_asset`` or given here), on the definitions'
            # clock and store
            if key in daily_def:
                condition = condition_for_group(spec.group_name or "", clock, store)
            elif condition is None:
                condition = weekly_on_new_period()
        if condition is None:
            return spec
        needed = dg.AssetSelection.assets(*required.get(key, set()))
        # Missing, in-progress and blocking-check tests look at the parents read for the partition
        # itself; history windows (hundreds of partitions each) never block and are not scanned.
        for label, narrowed in (
            (LABEL_MISSING, dg.AutomationCondition.any_deps_missing().allow(needed)),
            (LABEL_IN_PROGRESS, dg.AutomationCondition.any_deps_in_progress().allow(needed)),
            (LABEL_CHECKS, dg.AutomationCondition.all_deps_blocking_checks_passed().allow(needed)),
        ):
            condition = condition.replace(label, narrowed.with_label(label))
        ignored = redundant_parents(key, same_day)
        if ignored:
            updated = dg.AutomationCondition.any_deps_updated().ignore(dg.AssetSelection.assets(*ignored))
            condition = condition.replace(LABEL_UPDATED, updated.with_label(LABEL_UPDATED))
        freshness = spec.freshness_policy
        if freshness is None and wall_clock_deadlines and len(key.path) == 2:
            freshness = freshness_policy_for(*key.path, deadline=deadline)
        return spec.replace_attributes(automation_condition=condition, freshness_policy=freshness)

    with warnings.catch_warnings():  # map_asset_specs is a "preview" API in Dagster 1.13
        warnings.simplefilter("ignore", dg.PreviewWarning)
        return defs.map_asset_specs(func=refine)


# ------------------------------------------------------------------------------------- settings


def deadline_et(value: str = DEFAULT_DEADLINE_ET) -> tuple[int, int]:
    """Today's predictions are due by this ET time, ``HH:MM`` (the definitions pass the settings'
    ``NBA_PREDICTIONS_DEADLINE_ET``; default 07:00)."""
    try:
        hour, minute = (int(part) for part in value.split(":"))
        if not (0 <= hour < 24 and 0 <= minute < 60):
            raise ValueError
    except ValueError:
        raise ValueError(f"NBA_PREDICTIONS_DEADLINE_ET={value!r}: expected HH:MM (ET), e.g. 07:00") from None
    return hour, minute


# Assets due by the deadline on the morning of each game date: the day's predictions and their export.
DEADLINE_ASSETS = (
    dg.AssetKey(["nba_predictions", "player_prop_predictions"]),
    dg.AssetKey(["exports", "predictions_json"]),
)


def deadline_cron(deadline: tuple[int, int] | None = None) -> str:
    hour, minute = deadline or deadline_et()
    return f"{minute} {hour} * * *"


def freshness_policy_for(
    dataset: str, table: str, deadline: tuple[int, int] | None = None
) -> dg.FreshnessPolicy | None:
    """The UI's freshness policy of a deadline asset (not partition-aware: it looks at the latest
    materialization of any partition; the partition-aware deadline is the freshness check in
    ``nba_assets.checks``)."""
    if dg.AssetKey([dataset, table]) not in DEADLINE_ASSETS:
        return None
    hour, minute = deadline or deadline_et()
    # materialized since midnight ET (the day's first refresh) counts for that day's deadline
    window = max(timedelta(hours=hour, minutes=minute), timedelta(hours=1))
    return dg.FreshnessPolicy.cron(
        deadline_cron=deadline_cron((hour, minute)), lower_bound_delta=window, timezone=GAME_TZ
    )
