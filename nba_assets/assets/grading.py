"""Phase 6: grading every prediction once the box scores are in; daily figures; the backtest report."""

import base64
import hashlib
import io
import json
from datetime import UTC, datetime

import dagster as dg
import polars as pl

from nba_assets.assets.common import all_stored, lake_asset, partition_metadata, same_day, season_document
from nba_assets.lake import Lake
from nba_assets.transforms.grading import (
    backtest,
    backtest_markdown,
    backtest_plot,
    daily_performance,
    grade,
    summarize,
)

REPORT = "reports/backtest"  # the backtest report's folder in the lake (and in its object store)


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


@season_document(
    "nba_predictions",
    "backtest_report",
    group="grading",
    kinds={"polars", "matplotlib"},
    ins={
        "accuracy": all_stored("nba_predictions", "prediction_accuracy"),
        # backtest() reads the season-average baseline only
        "features": all_stored(
            "nba_precompute", "ml_feature_store", columns=["game_date", "game_id", "player_id", "pts_avg_season"]
        ),
    },
    description="Walk-forward backtest over every graded game date stored (a season-wide report, not a daily "
    "partition): every system next to the line and a season-average baseline on the same player-games, hit "
    "rates with Wilson intervals, Brier vs 0.25, a P(over) calibration table; Markdown with the plot, also "
    "under reports/backtest/ in the lake.",
)
def backtest_report(
    context: dg.AssetExecutionContext, lake: Lake, accuracy: pl.DataFrame, features: pl.DataFrame
) -> dg.MaterializeResult:
    report = backtest(accuracy, features)
    graded = accuracy.filter(pl.col("played")) if accuracy.height else accuracy
    if graded.height == 0:
        context.log.warning("backtest_report: no graded prediction is stored")
        return dg.MaterializeResult(metadata={"same_rows": 0, "first_day": "none", "last_day": "none"})
    first, last = graded["game_date"].min(), graded["game_date"].max()
    reports = lake.reports()
    out = reports.path(REPORT)
    out.mkdir(parents=True, exist_ok=True)
    markdown = backtest_markdown(report)
    metadata = {
        "first_day": first.isoformat(),
        "last_day": last.isoformat(),
        "same_rows": report["same_rows"],
        "line_mae": report["line_mae"] if report["line_mae"] is not None else "none",
        "report_json": dg.MetadataValue.path(str(out / "latest.json")),
    }
    span = {"first_day": first.isoformat(), "last_day": last.isoformat()}
    report_json = (json.dumps({**report, **span}, indent=1) + "\n").encode()
    if report["systems"]:
        plot = out / "latest.png"
        # The plot is a function of the report: the report it was drawn from is recorded beside it
        # (a digest), and an equal report (a re-run of a day whose games change nothing) keeps the
        # plot, without matplotlib's ~1 s. A new plot: the record removed, the plot put (staged and
        # renamed, and mirrored, by the object store), then the record written, so a run cut short
        # anywhere leaves no record that vouches for another report's plot.
        digest = hashlib.sha256(report_json).hexdigest()
        drawn_from = out / "latest.png.report-sha256"
        if plot.exists() and drawn_from.exists() and drawn_from.read_text() == digest:
            reports.copy_file(plot)
        else:
            drawn_from.unlink(missing_ok=True)
            png = io.BytesIO()
            backtest_plot(report, png)
            reports.put(f"{REPORT}/latest.png", png.getvalue())
            drawn_from.write_text(digest)
        # The plot inside the Markdown, so the UI shows it (a file path would not render there).
        image = base64.b64encode(plot.read_bytes()).decode()
        markdown = f"{markdown}\n\n![backtest](data:image/png;base64,{image})"
    reports.put(f"{REPORT}/latest.md", (markdown + "\n").encode())
    reports.put(f"{REPORT}/latest.json", report_json)
    metadata["report"] = dg.MetadataValue.md(markdown)
    return dg.MaterializeResult(metadata=metadata)
