"""Declarative automation in one pass: when each asset materializes by itself.

Only the edge (the ingest assets) is triggered by sensors (``nba_assets.edge``). Every other asset
gets its condition here, once, from the graph: its phase (group) and partitioning choose the
builder (``nba_assets.conditions``), and the graph gives the parents it looks at:

- *same-day parents*: a partition waits for the parents it reads for the same game date (its
  ``any_deps_missing`` only looks at them). History windows (``days_before``: the 365 days strictly
  before D) never block: their missing days load as no rows, as the IO manager documents.
- *nearest parents*: a parent that also reaches the asset through another same-day parent is
  ignored by ``any_deps_updated`` (the props table reaches the predictions through the feature
  store), so a line snapshot refreshes the predictions once, after the features, not twice.

The deadline assets get their UI freshness policy in the same pass (and nowhere else). An asset
that declares its own condition keeps it as declared.
"""

from __future__ import annotations

import warnings
from datetime import timedelta

import dagster as dg

from nba_assets.clock import Clock
from nba_assets.conditions import MODELS_AT_ET, daily_eager, models_of_the_day, pre_tip_eager, season_eager
from nba_assets.config import DEFAULT_DEADLINE_ET
from nba_assets.partitions import GAME_TZ
from nba_assets.stored_schedule import ET, StoreFactory, default_store, first_tipoffs, read_schedule, today_et

# Re-exported for the checks, the gameday tooling and the tests (defined in conditions / stored_schedule).
__all__ = [
    "DEADLINE_ASSETS",
    "EDGE_GROUPS",
    "ET",
    "MODELS_AT_ET",
    "apply_automation",
    "condition_for",
    "deadline_et",
    "default_store",
    "first_tipoffs",
    "freshness_policy_for",
    "read_schedule",
    "redundant_parents",
    "today_et",
]

INGEST_GROUP = "ingest"

# The groups whose assets get no condition: they are requested by sensors.
EDGE_GROUPS = frozenset({INGEST_GROUP})
# Which phases are "pre-tip": their partition for D is only refreshed before D's first tip-off.
PRE_TIP_GROUPS = frozenset({"predictions"})
# The models: today's partition once a day, after the night's box scores.
MODEL_GROUPS = frozenset({"models"})


# ------------------------------------------------------------------------------------- the graph


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


# ------------------------------------------------------------------------------------- the pass


def condition_for(
    group: str,
    partitioned: bool,
    *,
    clock: Clock,
    store: StoreFactory = default_store,
    needed: set[dg.AssetKey] | None = None,
    ignored: set[dg.AssetKey] | None = None,
) -> dg.AutomationCondition | None:
    """The condition of an asset of ``group`` (None for the edge): season-wide documents
    (unpartitioned) ``season_eager``, the pre-tip phase ``pre_tip_eager``, the models
    ``models_of_the_day``, every other daily phase ``daily_eager``; ``needed`` and ``ignored``
    as in ``nba_assets.conditions``."""
    if group in EDGE_GROUPS:
        return None
    if not partitioned:
        return season_eager(needed, ignored)
    if group in PRE_TIP_GROUPS:
        return pre_tip_eager(clock, store, needed, ignored)
    if group in MODEL_GROUPS:
        return models_of_the_day(clock, needed)
    return daily_eager(clock, needed, ignored)


def apply_automation(
    defs: dg.Definitions,
    *,
    clock: Clock,
    store: StoreFactory = default_store,
    wall_clock_deadlines: bool = True,
    deadline: tuple[int, int] | None = None,
) -> dg.Definitions:
    """Every asset's condition (``condition_for`` its group, partitioning and parents in the graph,
    on the definitions' clock and store) and the deadline assets' freshness policy, when
    ``wall_clock_deadlines``: a replayed archive never gets today's data, so judged by the wall
    clock it would show red where nothing is wrong. One pass; nothing is rewritten afterwards."""
    graph = defs.resolve_asset_graph()
    required, same_day = _graph_facts(defs)

    def apply(spec: dg.AssetSpec) -> dg.AssetSpec:
        key = spec.key
        condition = spec.automation_condition
        if condition is None:
            condition = condition_for(
                spec.group_name or "",
                graph.get(key).partitions_def is not None,
                clock=clock,
                store=store,
                needed=required.get(key, set()),
                ignored=redundant_parents(key, same_day),
            )
        freshness = spec.freshness_policy
        if freshness is None and wall_clock_deadlines and len(key.path) == 2:
            freshness = freshness_policy_for(*key.path, deadline=deadline)
        return spec.replace_attributes(automation_condition=condition, freshness_policy=freshness)

    with warnings.catch_warnings():  # map_asset_specs is a "preview" API in Dagster 1.13
        warnings.simplefilter("ignore", dg.PreviewWarning)
        return defs.map_asset_specs(func=apply)


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
