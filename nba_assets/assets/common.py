"""The wiring every asset shares: game-date partitions, single-run backfills, lake keys."""

import dagster as dg

from nba_assets.automation import MANUAL_TAG, condition_for_group
from nba_assets.partitions import game_date_partitions, history_before, window_dates
from nba_assets.schemas import column_schema

_PHASE_DEFAULT = object()


def lake_asset(
    dataset: str,
    table: str,
    *,
    group: str,
    description: str,
    ins=None,
    metadata=None,
    automation_condition=_PHASE_DEFAULT,
    **kwargs,
):
    """``@asset`` for the lake table ``dataset/table``: daily game-date partitions, one run per
    backfill, its declared schema published as ``dagster/column_schema``, and the automation
    condition of its phase (``nba_assets.automation.condition_for_group``; pass
    ``automation_condition=`` to override it, ``None`` for none)."""
    if automation_condition is _PHASE_DEFAULT:
        automation_condition = condition_for_group(group)
    elif automation_condition is None:  # materialized by hand or by a sensor only
        kwargs["tags"] = {**kwargs.get("tags", {}), MANUAL_TAG: "true"}
    return dg.asset(
        key=[dataset, table],
        partitions_def=game_date_partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        group_name=group,
        ins=ins or {},
        metadata={"dagster/column_schema": column_schema(dataset, table), **(metadata or {})},
        description=description,
        automation_condition=automation_condition,
        **kwargs,
    )


def same_day(dataset: str, table: str) -> dg.AssetIn:
    """The upstream table's partitions of the same game dates."""
    return dg.AssetIn(key=[dataset, table])


def days_before(dataset: str, table: str, days: int) -> dg.AssetIn:
    """The upstream table's ``days`` partitions strictly before each game date, as one frame."""
    return dg.AssetIn(key=[dataset, table], partition_mapping=history_before(days))


def all_stored(dataset: str, table: str) -> dg.AssetIn:
    """Every stored partition of the upstream table, as one frame: the input of a season-wide
    (unpartitioned) document, whose as-of date is what is stored, never the calendar's last day."""
    from nba_assets.io.manager import STORED_PARTITIONS

    return dg.AssetIn(key=[dataset, table], metadata={STORED_PARTITIONS: True})


def partition_metadata(context: dg.AssetExecutionContext, frame, describe) -> None:
    """Per partition of the run's window, ``describe(rows of that day)`` as that day's own metadata.

    A ranged run's output covers many partitions; metadata added to the output would repeat the
    run's totals on every partition. This attaches each day's figures to that day only (days of the
    window without rows get ``describe`` of an empty frame).
    """
    by_day = {k[0]: v for k, v in frame.partition_by("game_date", as_dict=True).items()} if frame.height else {}
    for day in window_dates(context):
        meta = {k: v for k, v in describe(by_day.get(day, frame.clear())).items() if v is not None}
        if meta:
            context.add_asset_metadata(meta, partition_key=day.isoformat())
