"""Phase 5: predictions against the pre-tip line."""

from datetime import UTC, datetime

import dagster as dg
import polars as pl

from nba_assets.assets.common import lake_asset, same_day
from nba_assets.predictors import moving_average
from nba_assets.schemas import schema_for
from nba_assets.transforms.lines import consensus_lines

PREDICTIONS = "nba_predictions"


@lake_asset(
    PREDICTIONS,
    "player_prop_predictions",
    group="predictions",
    ins={
        "features": same_day("nba_precompute", "ml_feature_store"),
        "props": same_day("nba_raw", "odds_api_player_points_props"),
    },
    description="One row per player expected on D and system: predicted points, line, OVER/UNDER/PASS/NO_LINE.",
)
def player_prop_predictions(
    context: dg.AssetExecutionContext, features: pl.DataFrame, props: pl.DataFrame
) -> pl.DataFrame:
    schema = schema_for(PREDICTIONS, "player_prop_predictions")
    lines = consensus_lines(props)
    frame = moving_average.predict(features, lines).with_columns(
        pl.lit(datetime.now(UTC)).cast(pl.Datetime("us", "UTC")).alias("created_at")
    )
    counts = frame["recommendation"].value_counts().sort("recommendation")
    context.add_output_metadata({"recommendations": dict(counts.iter_rows())})
    return frame.select(schema.names()).sort("game_date", "game_id", "player_id", "system_id")
