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


PRICE_COLUMNS = ["best_over_price", "best_over_book", "best_under_price", "best_under_book"]


def best_prices(props: pl.DataFrame, lines: pl.DataFrame) -> pl.DataFrame:
    """Per (game, player) line: the best over and under price across books quoting that line.

    The latest pre-tip snapshot of each book, at the consensus line; American odds, the highest
    is the best for the bettor. Books without prices (DFS pick'em) give nulls.
    """
    keys = ["game_id", "player_lookup"]
    schema = {
        "game_id": pl.String,
        "player_lookup": pl.String,
        "best_over_price": pl.Int64,
        "best_over_book": pl.String,
        "best_under_price": pl.Int64,
        "best_under_book": pl.String,
    }
    snap = pretip(props).filter(pl.col("game_id").is_not_null())
    if snap.height == 0 or lines.height == 0:
        return pl.DataFrame(schema=schema)
    latest = snap.filter(pl.col("snapshot_utc") == pl.col("snapshot_utc").max().over([*keys, "bookmaker"]))
    at_line = latest.join(lines.select(*keys, "points_line"), on=keys).filter(pl.col("line") == pl.col("points_line"))
    return (
        at_line.group_by(keys)
        .agg(
            pl.col("over_price").max().alias("best_over_price"),
            pl.col("bookmaker").sort_by("over_price", descending=True, nulls_last=True).first().alias("best_over_book"),
            pl.col("under_price").max().alias("best_under_price"),
            pl.col("bookmaker")
            .sort_by("under_price", descending=True, nulls_last=True)
            .first()
            .alias("best_under_book"),
        )
        .with_columns(
            pl.when(pl.col("best_over_price").is_not_null()).then(pl.col("best_over_book")).alias("best_over_book"),
            pl.when(pl.col("best_under_price").is_not_null()).then(pl.col("best_under_book")).alias("best_under_book"),
        )
        .select(list(schema))
        .cast(schema)
    )
