"""``moving_average``: 0.5·L5 + 0.3·L10 + 0.2·season points average.

Weights of missing parts (no game yet this season) are redistributed over the parts present.
OVER/UNDER when |predicted − line| > 2, PASS otherwise, NO_LINE without a line.
Confidence (0–100) = |2·P(over) − 1|·100, with P(over) from a normal around the prediction
whose spread is the player's L10 points standard deviation (at least 3; 6 when unknown).
"""

from __future__ import annotations

import math

import polars as pl

SYSTEM_ID = "moving_average"
WEIGHTS = {"pts_avg_l5": 0.5, "pts_avg_l10": 0.3, "pts_avg_season": 0.2}
EDGE_THRESHOLD = 2.0
MIN_SIGMA, DEFAULT_SIGMA = 3.0, 6.0


def _normal_cdf(x: pl.Expr) -> pl.Expr:
    return x.map_batches(
        lambda s: pl.Series(
            [None if v is None else 0.5 * (1.0 + math.erf(v / math.sqrt(2.0))) for v in s], dtype=pl.Float64
        ),
        return_dtype=pl.Float64,
    )


def predict(features: pl.DataFrame, lines: pl.DataFrame) -> pl.DataFrame:
    """features: ml_feature_store rows; lines: consensus pre-tip lines (game_id, player_id, ...)."""
    num = sum(pl.col(c).fill_null(0.0) * w for c, w in WEIGHTS.items())
    den = sum(pl.when(pl.col(c).is_not_null()).then(w).otherwise(0.0) for c, w in WEIGHTS.items())
    sigma = pl.col("pts_std_l10").fill_null(DEFAULT_SIGMA).clip(lower_bound=MIN_SIGMA)
    edge = pl.col("predicted_points") - pl.col("points_line")
    p_over = _normal_cdf(edge / sigma)
    out = (
        features.join(
            lines.filter(pl.col("player_id").is_not_null()).select(
                "game_id", "player_id", "points_line", "line_source"
            ),
            on=["game_id", "player_id"],
            how="left",
        )
        .with_columns(pl.when(den > 0).then(num / den).otherwise(None).alias("predicted_points"))
        .with_columns(edge.alias("edge"))
        .with_columns(
            pl.lit(SYSTEM_ID).alias("system_id"),
            pl.when(pl.col("points_line").is_null())
            .then(pl.lit("NO_LINE"))
            .when(pl.col("edge") > EDGE_THRESHOLD)
            .then(pl.lit("OVER"))
            .when(pl.col("edge") < -EDGE_THRESHOLD)
            .then(pl.lit("UNDER"))
            .otherwise(pl.lit("PASS"))
            .alias("recommendation"),
            ((2.0 * p_over - 1.0).abs() * 100.0).round(1).alias("confidence"),
        )
    )
    return out
