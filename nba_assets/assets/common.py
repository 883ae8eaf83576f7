"""The wiring every asset shares: game-date partitions, single-run backfills, lake keys."""

import dagster as dg

from nba_assets.partitions import game_date_partitions, history_before
from nba_assets.schemas import column_schema


def lake_asset(dataset: str, table: str, *, group: str, description: str, ins=None, metadata=None, **kwargs):
    """``@asset`` for the lake table ``dataset/table``: daily game-date partitions, one run per
    backfill, its declared schema published as ``dagster/column_schema``."""
    return dg.asset(
        key=[dataset, table],
        partitions_def=game_date_partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        group_name=group,
        ins=ins or {},
        metadata={"dagster/column_schema": column_schema(dataset, table), **(metadata or {})},
        description=description,
        **kwargs,
    )


def same_day(dataset: str, table: str) -> dg.AssetIn:
    """The upstream table's partitions of the same game dates."""
    return dg.AssetIn(key=[dataset, table])


def days_before(dataset: str, table: str, days: int) -> dg.AssetIn:
    """The upstream table's ``days`` partitions strictly before each game date, as one frame."""
    return dg.AssetIn(key=[dataset, table], partition_mapping=history_before(days))
