"""Phase 6: grading every prediction once the box scores are in."""


from datetime import UTC, datetime

import dagster as dg
import polars as pl

from nba_assets.partitions import game_date_partitions
from nba_assets.schemas import column_schema
from nba_assets.transforms.grading import grade, summarize


@dg.asset(
    key=["nba_predictions", "prediction_accuracy"],
    partitions_def=game_date_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="grading",
    ins={
        "predictions": dg.AssetIn(key=["nba_predictions", "player_prop_predictions"]),
        "actuals": dg.AssetIn(key=["nba_analytics", "player_game_summary"]),
    },
    metadata={"dagster/column_schema": column_schema("nba_predictions", "prediction_accuracy")},
    description="Each prediction graded: absolute error, correct/incorrect/push, void when the player did not play.",
)
def prediction_accuracy(context: dg.AssetExecutionContext, predictions: pl.DataFrame,
                        actuals: pl.DataFrame) -> pl.DataFrame:
    frame = grade(predictions, actuals, datetime.now(UTC))
    context.add_output_metadata({k: v for k, v in summarize(frame).items() if v is not None})
    return frame
