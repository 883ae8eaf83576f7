"""Phase 4: the feature store, from history strictly before each game date."""

import dagster as dg
import polars as pl

from nba_assets.assets.common import days_before, lake_asset, same_day
from nba_assets.transforms.features import FEATURE_VERSION, feature_store
from nba_assets.transforms.lines import consensus_lines

PRECOMPUTE = "nba_precompute"
HISTORY_DAYS = 365


@lake_asset(
    PRECOMPUTE,
    "ml_feature_store",
    group="precompute",
    ins={
        "schedule": same_day("nba_raw", "nbac_schedule"),
        "props": same_day("nba_raw", "odds_api_player_points_props"),
        # The days strictly before each game date: D itself is never loaded as history.
        "history": days_before("nba_analytics", "player_game_summary", HISTORY_DAYS),
    },
    metadata={"feature_version": FEATURE_VERSION},
    description="One row per player expected to play on D, features from games before D only.",
)
def ml_feature_store(
    context: dg.AssetExecutionContext, schedule: pl.DataFrame, props: pl.DataFrame, history: pl.DataFrame
) -> pl.DataFrame:
    return feature_store(schedule, history, consensus_lines(props))
