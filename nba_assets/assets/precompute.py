"""Phase 4: the feature store, from history strictly before each game date."""


import dagster as dg
import polars as pl

from nba_assets.partitions import game_date_partitions, history_before
from nba_assets.schemas import column_schema
from nba_assets.transforms.features import FEATURE_VERSION, feature_store
from nba_assets.transforms.lines import consensus_lines

PRECOMPUTE = "nba_precompute"
HISTORY_DAYS = 365


@dg.asset(
    key=[PRECOMPUTE, "ml_feature_store"],
    partitions_def=game_date_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="precompute",
    ins={
        "schedule": dg.AssetIn(key=["nba_raw", "nbac_schedule"]),
        "props": dg.AssetIn(key=["nba_raw", "odds_api_player_points_props"]),
        # The days strictly before each game date: D itself is never loaded as history.
        "history": dg.AssetIn(key=["nba_analytics", "player_game_summary"],
                              partition_mapping=history_before(HISTORY_DAYS)),
    },
    metadata={"dagster/column_schema": column_schema(PRECOMPUTE, "ml_feature_store"),
              "feature_version": FEATURE_VERSION},
    description="One row per player expected to play on D, features from games before D only.",
)
def ml_feature_store(context: dg.AssetExecutionContext, schedule: pl.DataFrame, props: pl.DataFrame,
                     history: pl.DataFrame) -> pl.DataFrame:
    return feature_store(schedule, history, consensus_lines(props))
