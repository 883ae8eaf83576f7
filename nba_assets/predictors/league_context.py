"""League context as of each game date, from box-score history strictly before it.

``league_context(history, dates)`` gives, for every date D, figures over the player games of the
``LOOKBACK_DAYS`` days before D (never D itself): the league's share of points from 2PT, 3PT and
FT, and the ratio of points per player game at home, away, on a back-to-back and otherwise to
the overall mean. The zone-matchup system scales by them; nothing in it is a hand-set constant.
"""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from nba_assets.facts import HISTORY_DAYS
from nba_assets.predictors.days import rows_dated

LOOKBACK_DAYS = HISTORY_DAYS
CONTEXT_COLUMNS = [
    "league_share_two",
    "league_share_three",
    "league_share_ft",
    "league_home_ratio",
    "league_away_ratio",
    "league_b2b_ratio",
    "league_rested_ratio",
    "league_games",
]


def with_rest(history: pl.DataFrame) -> pl.DataFrame:
    """History rows with the player's rest days before each game (null for his first game)."""
    return history.sort("player_id", "game_date").with_columns(
        ((pl.col("game_date") - pl.col("game_date").shift(1)).dt.total_days() - 1).over("player_id").alias("_rest")
    )


def league_context(history: pl.DataFrame, dates: list[date]) -> pl.DataFrame:
    """One row per date in ``dates`` with CONTEXT_COLUMNS (null when no history before it)."""
    schema = {"game_date": pl.Date, **{c: pl.Float64 for c in CONTEXT_COLUMNS}}
    if not dates:
        return pl.DataFrame(schema=schema)
    targets = pl.DataFrame({"game_date": sorted(set(dates))}, schema={"game_date": pl.Date})
    if history.height == 0:
        return targets.with_columns(*[pl.lit(None, pl.Float64).alias(c) for c in CONTEXT_COLUMNS])
    pts = pl.col("pts").cast(pl.Float64)
    aggregates = [
        pl.len().cast(pl.Float64).alias("n"),
        pts.sum().alias("pts"),
        (2 * (pl.col("fgm") - pl.col("fg3m"))).sum().cast(pl.Float64).alias("two"),
        (3 * pl.col("fg3m")).sum().cast(pl.Float64).alias("three"),
        pl.col("ftm").sum().cast(pl.Float64).alias("ft"),
        pts.filter(pl.col("home_away") == "H").sum().alias("pts_home"),
        (pl.col("home_away") == "H").sum().cast(pl.Float64).alias("n_home"),
        pts.filter(pl.col("home_away") != "H").sum().alias("pts_away"),
        (pl.col("home_away") != "H").sum().cast(pl.Float64).alias("n_away"),
        pts.filter(pl.col("_rest") == 0).sum().alias("pts_b2b"),
        (pl.col("_rest") == 0).sum().cast(pl.Float64).alias("n_b2b"),
        pts.filter(pl.col("_rest") > 0).sum().alias("pts_rested"),
        (pl.col("_rest") > 0).sum().cast(pl.Float64).alias("n_rested"),
    ]
    lookback = timedelta(days=LOOKBACK_DAYS)
    # The rest days of every game and the date of the player's previous game, once: inside the set
    # of D (below) a game's rest is the same unless its previous game falls before the set, where
    # it is null (the player's first game of the set).
    history = (
        with_rest(history)
        .with_columns(pl.col("game_date").shift(1).over("player_id").alias("_previous"))
        .sort("game_date")
    )
    rows = []
    # One fixed set of rows per date: the LOOKBACK_DAYS before it. Rest days are those inside that
    # set, so D's context never depends on where a run's history frame starts. (Every aggregate is a
    # sum of whole numbers: exact in any row order.)
    for day in targets["game_date"].to_list():
        cut = rows_dated(history, day - lookback, day)
        if cut.height == 0:
            continue
        in_set = pl.when(pl.col("_previous") >= day - lookback).then(pl.col("_rest")).alias("_rest")
        rows.append(cut.with_columns(in_set).select(aggregates).with_columns(pl.lit(day).alias("game_date")))
    if not rows:
        return targets.with_columns(*[pl.lit(None, pl.Float64).alias(c) for c in CONTEXT_COLUMNS])
    window = pl.concat(rows)
    mean = pl.col("pts") / pl.col("n")

    def ratio(p: str, n: str) -> pl.Expr:
        return pl.when(pl.col(n) > 0).then(pl.col(p) / pl.col(n) / mean).otherwise(None)

    out = window.select(
        "game_date",
        (pl.col("two") / pl.col("pts")).alias("league_share_two"),
        (pl.col("three") / pl.col("pts")).alias("league_share_three"),
        (pl.col("ft") / pl.col("pts")).alias("league_share_ft"),
        ratio("pts_home", "n_home").alias("league_home_ratio"),
        ratio("pts_away", "n_away").alias("league_away_ratio"),
        ratio("pts_b2b", "n_b2b").alias("league_b2b_ratio"),
        ratio("pts_rested", "n_rested").alias("league_rested_ratio"),
        pl.col("n").alias("league_games"),
    )
    return targets.join(out, on="game_date", how="left").select(schema.keys()).cast(schema)
