"""The line a prediction is made against: pre-tip snapshots only.

A snapshot taken at or after tip-off never counts (in-game odds once leaked into the seed
platform's line feature). Per book, the latest pre-tip snapshot; per book and player, the main
line (prices closest to even; without prices, the median of the lines offered); across books,
the median ("consensus").
"""

from __future__ import annotations

import polars as pl

LINE_COLUMNS = ["game_date", "game_id", "player_id", "player_lookup", "points_line", "line_source", "n_books"]


def pretip(props: pl.DataFrame) -> pl.DataFrame:
    return props.filter(pl.col("snapshot_utc") < pl.col("commence_utc"))


def consensus_lines(props: pl.DataFrame) -> pl.DataFrame:
    """One row per (game, player) with a pre-tip line; player_id may be null (unresolved name)."""
    snap = pretip(props).filter(pl.col("game_id").is_not_null())
    if snap.height == 0:
        return pl.DataFrame(
            schema={
                "game_date": pl.Date,
                "game_id": pl.String,
                "player_id": pl.Int64,
                "player_lookup": pl.String,
                "points_line": pl.Float64,
                "line_source": pl.String,
                "n_books": pl.Int64,
            }
        )
    keys = ["game_date", "game_id", "player_lookup"]
    latest = snap.filter(pl.col("snapshot_utc") == pl.col("snapshot_utc").max().over([*keys, "bookmaker"]))
    imbalance = (pl.col("over_price").cast(pl.Float64) - pl.col("under_price").cast(pl.Float64)).abs()
    per_book = (
        latest.with_columns(imbalance.alias("_imb"))
        .group_by([*keys, "bookmaker"])
        .agg(
            pl.col("player_id").drop_nulls().first(),
            pl.when(pl.col("_imb").is_not_null().any())
            .then(pl.col("line").sort_by("_imb").first())
            .otherwise(pl.col("line").median())
            .first()
            .alias("book_line"),
        )
    )
    return (
        per_book.sort("bookmaker")
        .group_by(keys)
        .agg(
            pl.col("player_id").drop_nulls().first(),
            pl.col("book_line").median().alias("points_line"),
            pl.col("bookmaker").str.join(",").alias("line_source"),
            pl.len().cast(pl.Int64).alias("n_books"),
        )
        .select(LINE_COLUMNS)
        .sort(keys)
    )
