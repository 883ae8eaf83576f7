"""Phase 6: grading every prediction once the box scores are in; daily figures; the backtest report."""

import json
from datetime import UTC, datetime

import dagster as dg
import polars as pl

from nba_assets import config
from nba_assets.assets.common import lake_asset, partition_metadata, same_day
from nba_assets.partitions import game_date_partitions
from nba_assets.transforms.grading import (
    backtest,
    backtest_markdown,
    backtest_plot,
    daily_performance,
    grade,
    summarize,
)


@lake_asset(
    "nba_predictions",
    "prediction_accuracy",
    group="grading",
    ins={
        "predictions": same_day("nba_predictions", "player_prop_predictions"),
        "actuals": same_day("nba_analytics", "player_game_summary"),
    },
    description="Each prediction graded: error, correct/incorrect/push, void when the player did not play, "
    "units won at the best price (else -110).",
)
def prediction_accuracy(
    context: dg.AssetExecutionContext, predictions: pl.DataFrame, actuals: pl.DataFrame
) -> pl.DataFrame:
    frame = grade(predictions, actuals, datetime.now(UTC))
    partition_metadata(context, frame, summarize)
    return frame


@lake_asset(
    "nba_predictions",
    "system_daily_performance",
    group="grading",
    ins={"accuracy": same_day("nba_predictions", "prediction_accuracy")},
    description="Per system and game date: MAE, bias, hit rate (OVER / UNDER, by edge bucket), within 3/5 "
    "points, Brier and log loss of P(over), ROI at the actual prices (else at -110).",
)
def system_daily_performance(context: dg.AssetExecutionContext, accuracy: pl.DataFrame) -> pl.DataFrame:
    return daily_performance(accuracy)


@dg.asset(
    key=["nba_predictions", "backtest_report"],
    partitions_def=game_date_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="grading",
    ins={
        "accuracy": same_day("nba_predictions", "prediction_accuracy"),
        "features": same_day("nba_precompute", "ml_feature_store"),
    },
    description="Walk-forward backtest over the run's game dates: every system next to the line and a "
    "season-average baseline on the same player-games, hit rates with Wilson intervals, Brier vs 0.25, "
    "a P(over) calibration table; Markdown and a PNG plot (also under $NBA_LAKE_DIR/reports/backtest/).",
)
def backtest_report(
    context: dg.AssetExecutionContext, accuracy: pl.DataFrame, features: pl.DataFrame
) -> dg.MaterializeResult:
    report = backtest(accuracy, features)
    window = context.partition_time_window
    name = f"{window.start.date().isoformat()}_{window.end.date().isoformat()}"
    out = config.lake_dir() / "reports" / "backtest"
    out.mkdir(parents=True, exist_ok=True)
    markdown = backtest_markdown(report)
    (out / f"{name}.md").write_text(markdown + "\n")
    (out / f"{name}.json").write_text(json.dumps(report, indent=1) + "\n")
    metadata = {
        "report": dg.MetadataValue.md(markdown),
        "report_json": dg.MetadataValue.path(str(out / f"{name}.json")),
        "same_rows": report["same_rows"],
        "line_mae": report["line_mae"] if report["line_mae"] is not None else "none",
    }
    if report["systems"]:
        backtest_plot(report, out / f"{name}.png")
        metadata["plot"] = dg.MetadataValue.path(str(out / f"{name}.png"))
    return dg.MaterializeResult(metadata=metadata)
