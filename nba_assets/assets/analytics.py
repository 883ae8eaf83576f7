"""Phase 3: analytics tables."""

import dagster as dg
import polars as pl

from nba_assets.assets.common import lake_asset, same_day
from nba_assets.transforms.analytics import player_game_summary as build_summary

ANALYTICS = "nba_analytics"
UNIQUE_CHECK = "unique_game_player"


@lake_asset(
    ANALYTICS,
    "player_game_summary",
    group="analytics",
    ins={
        "box": same_day("nba_raw", "bdl_player_boxscores"),
        "schedule": same_day("nba_raw", "nbac_schedule"),
        "props": same_day("nba_raw", "odds_api_player_points_props"),
    },
    check_specs=[
        dg.AssetCheckSpec(
            UNIQUE_CHECK,
            asset=[ANALYTICS, "player_game_summary"],
            blocking=True,
            description="(game_id, player_id) is unique: one row per player per game.",
        )
    ],
    description="One row per player per game played: box score, TS%, eFG%, usage, pre-tip line and its result.",
)
def player_game_summary(
    context: dg.AssetExecutionContext, box: pl.DataFrame, schedule: pl.DataFrame, props: pl.DataFrame
):
    frame = build_summary(box, schedule, props)
    dropped = box.filter(pl.col("player_id").is_null()).height
    yield dg.Output(frame, metadata={"rows_without_player_id_dropped": dropped})
    dupes = frame.group_by("game_id", "player_id").len().filter(pl.col("len") > 1)
    yield dg.AssetCheckResult(
        check_name=UNIQUE_CHECK,
        passed=dupes.height == 0,
        metadata={"duplicate_keys": dupes.height, "examples": str(dupes.head(5).select("game_id", "player_id").rows())},
    )
