"""Grading: every prediction against what happened, once the game is final."""

from __future__ import annotations

from datetime import datetime

import polars as pl

from nba_assets.schemas import schema_for


def grade(predictions: pl.DataFrame, actuals: pl.DataFrame, graded_at: datetime) -> pl.DataFrame:
    """predictions: player_prop_predictions; actuals: player_game_summary of the same dates.

    void: the player did not play; push: the points equal the line; correct/incorrect: an
    OVER/UNDER call against the outcome; no_bet: PASS or NO_LINE.
    """
    schema = schema_for("nba_predictions", "prediction_accuracy")
    played = actuals.select("game_id", "player_id", pl.col("pts").alias("actual_points"), pl.lit(True).alias("played"))
    out = (
        predictions.join(played, on=["game_id", "player_id"], how="left")
        .with_columns(
            pl.col("played").fill_null(False),
            (pl.col("predicted_points") - pl.col("actual_points")).alias("signed_error"),
        )
        .with_columns(
            pl.col("signed_error").abs().alias("absolute_error"),
            pl.when(pl.col("actual_points").is_null() | pl.col("points_line").is_null())
            .then(None)
            .when(pl.col("actual_points") > pl.col("points_line"))
            .then(pl.lit("OVER"))
            .when(pl.col("actual_points") < pl.col("points_line"))
            .then(pl.lit("UNDER"))
            .otherwise(pl.lit("PUSH"))
            .alias("line_outcome"),
            pl.lit(graded_at).cast(pl.Datetime("us", "UTC")).alias("graded_at"),
        )
        .with_columns(
            pl.when(~pl.col("played"))
            .then(pl.lit("void"))
            .when(~pl.col("recommendation").is_in(["OVER", "UNDER"]))
            .then(pl.lit("no_bet"))
            .when(pl.col("line_outcome") == "PUSH")
            .then(pl.lit("push"))
            .when(pl.col("line_outcome") == pl.col("recommendation"))
            .then(pl.lit("correct"))
            .otherwise(pl.lit("incorrect"))
            .alias("grade")
        )
    )
    return out.select(schema.names()).cast(dict(schema)).sort("game_date", "game_id", "player_id", "system_id")


def summarize(accuracy: pl.DataFrame) -> dict[str, float | int | None]:
    """Headline figures: MAE over players who played, hit rate over graded OVER/UNDER calls."""
    played = accuracy.filter(pl.col("played") & pl.col("absolute_error").is_not_null())
    bets = accuracy.filter(pl.col("grade").is_in(["correct", "incorrect"]))
    hits = bets.filter(pl.col("grade") == "correct").height
    lined = played.filter(pl.col("points_line").is_not_null())
    line_mae = (lined["points_line"] - lined["actual_points"]).abs().mean() if lined.height else None
    return {
        "predictions": accuracy.height,
        "graded_played": played.height,
        "mae": round(float(played["absolute_error"].mean()), 3) if played.height else None,
        "mae_on_lined_rows": round(float(lined["absolute_error"].mean()), 3) if lined.height else None,
        "line_mae": round(float(line_mae), 3) if line_mae is not None else None,
        "bets": bets.height,
        "hit_rate": round(hits / bets.height, 4) if bets.height else None,
        "voids": accuracy.filter(pl.col("grade") == "void").height,
        "pushes": accuracy.filter(pl.col("grade") == "push").height,
    }
