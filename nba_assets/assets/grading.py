"""Phase 6: grading every prediction once the box scores are in."""

from datetime import UTC, datetime

import dagster as dg
import polars as pl

from nba_assets.assets.common import lake_asset, same_day
from nba_assets.transforms.grading import grade, summarize


@lake_asset(
    "nba_predictions",
    "prediction_accuracy",
    group="grading",
    ins={
        "predictions": same_day("nba_predictions", "player_prop_predictions"),
        "actuals": same_day("nba_analytics", "player_game_summary"),
    },
    description="Each prediction graded: absolute error, correct/incorrect/push, void when the player did not play.",
)
def prediction_accuracy(
    context: dg.AssetExecutionContext, predictions: pl.DataFrame, actuals: pl.DataFrame
) -> pl.DataFrame:
    frame = grade(predictions, actuals, datetime.now(UTC))
    context.add_output_metadata({k: v for k, v in summarize(frame).items() if v is not None})
    return frame
