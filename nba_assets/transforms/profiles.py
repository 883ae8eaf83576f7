"""Phase 4: rolling player statistics, shot profiles and team defense profiles, strictly before D.

The box scores carry 2PA/3PA/FTA, not shot locations, so a "shot profile" is the share of points
from twos (2·(FGM−3PM)), threes (3·3PM) and free throws (FTM). A team's defense profile is the
same shares of the points it *allowed*, over its last 15 games before D, against the league
average of the same figures on D (the mean over every team's own last-15 value as of D).
"""

from __future__ import annotations

import polars as pl

from nba_assets.schemas import schema_for
from nba_assets.transforms.asof import (
    FIXED_POINT,
    asof_within,
    fixed,
    unfixed,
    window_count,
    window_mean,
    window_std,
    window_sum,
)
from nba_assets.transforms.contexts import scheduled_teams

PROFILE_GAMES = 10  # player shot profile: last 10 games
DEFENSE_GAMES = 15  # team defense profile: last 15 games
KINDS = ("two", "three", "ft")


def _rsum(col: str | pl.Expr, n: int, over: str) -> pl.Expr:
    expr = pl.col(col) if isinstance(col, str) else col
    return window_sum(expr.cast(pl.Float64), n, over)


def _rcount(col: str, n: int, over: str) -> pl.Expr:
    return window_count(pl.col(col), n, over)


def _div(num: pl.Expr, den: pl.Expr) -> pl.Expr:
    return pl.when(den > 0).then(num / den).otherwise(None)


def _rmean(col: str, n: int, over: str) -> pl.Expr:
    """Mean of the non-null values among the last ``n`` rows."""
    return _div(_rsum(col, n, over), _rcount(col, n, over))


def _span(p: str, games: int) -> pl.Expr:
    """Date of the earliest game a last-``games`` statistic through this game depends on."""
    return pl.coalesce(pl.col("game_date").shift(games - 1), pl.col("game_date").min()).over(p).alias("_span")


def player_rolling(history: pl.DataFrame, p: str = "player_id") -> pl.DataFrame:
    """Per player game: statistics *through* that game; taken strictly before D by as-of joins."""
    h = history.sort(p, "game_date", "game_id").with_columns(
        pl.col("pts").cast(pl.Float64).alias("_pts"),
        pl.col("minutes").cast(pl.Float64).alias("_min"),
        (pl.col("fga") + 0.44 * pl.col("fta")).cast(pl.Float64).alias("_tsa"),
        (pl.col("fgm") + 0.5 * pl.col("fg3m")).cast(pl.Float64).alias("_efg_num"),
    )
    season = [p, "season"]
    n_season = pl.int_range(1, pl.len() + 1).over(season)
    return h.select(
        p,
        pl.col("game_date").alias("_g"),
        pl.col("game_date").alias("last_game_date"),
        pl.col("season").alias("_last_season"),
        _span(p, 10),
        window_mean(pl.col("_pts"), 5, p).alias("pts_avg_l5"),
        window_mean(pl.col("_pts"), 10, p).alias("pts_avg_l10"),
        window_std(pl.col("_pts"), 10, p).alias("pts_std_l10"),
        window_mean(pl.col("_pts"), 2, p, min_samples=2).alias("pts_avg_last2"),
        # games 3..5 back: the last 5 minus the last 2
        pl.when(window_count(pl.col("_pts"), 5, p) == 5)
        .then((window_sum(pl.col("_pts"), 5, p) - window_sum(pl.col("_pts"), 2, p)) * (1.0 / 3.0))
        .alias("pts_avg_prev3"),
        window_mean(pl.col("_min"), 10, p).alias("minutes_avg_l10"),
        _div(_rsum("_pts", 10, p), _rsum("_min", 10, p)).alias("pts_per_minute_l10"),
        _div(_rsum("_pts", 10, p), 2.0 * _rsum("_tsa", 10, p)).alias("ts_pct_l10"),
        _div(_rsum("_efg_num", 10, p), _rsum("fga", 10, p)).alias("efg_pct_l10"),
        _rmean("usage_rate", 7, p).alias("usage_rate_l7"),
        _rmean("usage_rate", 10, p).alias("usage_rate_l10"),
        window_mean(pl.col("fga"), 10, p).alias("fga_avg_l10"),
        window_mean(pl.col("fta"), 10, p).alias("fta_avg_l10"),
        (pl.col("_pts").cum_sum().over(season) / n_season).alias("_season_pts"),
        (pl.col("_min").cum_sum().over(season) / n_season).alias("_season_min"),
        _div(
            unfixed(fixed(pl.col("usage_rate").fill_null(0.0)).cum_sum()).over(season),
            pl.col("usage_rate").is_not_null().cast(pl.Float64).cum_sum().over(season),
        ).alias("_season_usage"),
        n_season.cast(pl.Int64).alias("_season_games"),
    )


def player_daily_cache(context: pl.DataFrame, history: pl.DataFrame) -> pl.DataFrame:
    """One row per player expected on D (``context``): rolling windows over his games before D."""
    schema = schema_for("nba_precompute", "player_daily_cache")
    targets = context.select("game_date", "game_id", "player_id", "player_lookup", "team", "season")
    if targets.height == 0:
        return pl.DataFrame(schema=schema)
    out = asof_within(targets, history, player_rolling)
    same = pl.col("_last_season") == pl.col("season")
    out = out.with_columns(
        pl.when(same).then(pl.col("_season_games")).otherwise(0).alias("games_played_season"),
        pl.when(same).then(pl.col("_season_pts")).alias("pts_avg_season"),
        pl.when(same).then(pl.col("_season_min")).alias("minutes_avg_season"),
        pl.when(same).then(pl.col("_season_usage")).alias("usage_rate_season"),
    )
    return out.select(schema.names()).cast(dict(schema)).sort("game_date", "game_id", "team", "player_id")


def _shot_rolling(history: pl.DataFrame, p: str = "player_id") -> pl.DataFrame:
    h = history.sort(p, "game_date", "game_id")
    pts = _rsum("pts", PROFILE_GAMES, p)
    return h.select(
        p,
        pl.col("game_date").alias("_g"),
        _span(p, PROFILE_GAMES),
        window_count(pl.col("pts"), PROFILE_GAMES, p).alias("profile_games"),
        pts.alias("profile_pts"),
        *[_div(_rsum(f"pts_{k}", PROFILE_GAMES, p), pts).alias(f"pts_share_{k}") for k in KINDS],
        _div(_rsum("fg3a", PROFILE_GAMES, p), _rsum("fga", PROFILE_GAMES, p)).alias("fg3a_rate_l10"),
        _div(_rsum("fta", PROFILE_GAMES, p), _rsum("fga", PROFILE_GAMES, p)).alias("fta_rate_l10"),
    )


def player_shot_profile(context: pl.DataFrame, history: pl.DataFrame) -> pl.DataFrame:
    """One row per player expected on D: share of his points from 2PT/3PT/FT over his last 10 games."""
    schema = schema_for("nba_precompute", "player_shot_profile")
    targets = context.select("game_date", "game_id", "player_id", "player_lookup", "team", "season")
    if targets.height == 0:
        return pl.DataFrame(schema=schema)
    out = asof_within(targets, history, _shot_rolling)
    shares = [pl.col(f"pts_share_{k}") for k in KINDS]
    primary = (
        pl.when(pl.col("pts_share_two").is_null())
        .then(None)
        .when(
            (pl.col("pts_share_two") >= pl.col("pts_share_three")) & (pl.col("pts_share_two") >= pl.col("pts_share_ft"))
        )
        .then(pl.lit("two"))
        .when(pl.col("pts_share_three") >= pl.col("pts_share_ft"))
        .then(pl.lit("three"))
        .otherwise(pl.lit("ft"))
    )
    out = out.with_columns(
        primary.alias("primary_scoring"),
        pl.max_horizontal(shares).alias("primary_share"),
        pl.col("profile_games").fill_null(0),
    )
    return out.select(schema.names()).cast(dict(schema)).sort("game_date", "game_id", "team", "player_id")


def _defense_rolling(defense: pl.DataFrame, t: str = "team") -> pl.DataFrame:
    d = defense.sort(t, "game_date", "game_id")
    n = DEFENSE_GAMES
    allowed = _rsum("pts_allowed", n, t)
    return d.select(
        t,
        pl.col("game_date").alias("_g"),
        _span(t, n),
        window_count(pl.col("pts_allowed"), n, t).alias("profile_games"),
        *[_div(_rsum(f"pts_allowed_{k}", n, t), allowed).alias(f"allowed_share_{k}") for k in KINDS],
        _rmean("def_rating", n, t).alias("def_rating_l15"),
        _rmean("pace", n, t).alias("pace_l15"),
        _div(_rsum("pts_allowed", n, t), _rcount("pts_allowed", n, t)).alias("pts_allowed_l15"),
        window_mean(pl.col("pts_allowed"), 10, t).alias("pts_allowed_l10"),
        _div(_rsum("opp_fgm", n, t) + 0.5 * _rsum("opp_fg3m", n, t), _rsum("opp_fga", n, t)).alias("opp_efg_pct_l15"),
    )


LEAGUE_COLUMNS = ["allowed_share_two", "allowed_share_three", "allowed_share_ft", "def_rating_l15", "pace_l15"]


def team_defense_profile(schedule: pl.DataFrame, defense: pl.DataFrame) -> pl.DataFrame:
    """One row per team playing on D: its last 15 games' allowed scoring shares, rating and pace,
    and the same against the league average as of D."""
    schema = schema_for("nba_precompute", "team_defense_profile")
    targets = scheduled_teams(schedule).select("game_date", "game_id", "team", "opponent", "season")
    if targets.height == 0:
        return pl.DataFrame(schema=schema)
    # Last-15 windows from the team's games in [D - 365, D - 1] only (``asof_within``): a run's
    # history frame may reach further back, and D's profile must not depend on it.
    out = asof_within(targets, defense, _defense_rolling, by="team")
    # League: every team with a game in D's window, each at its own last-15 value as of D.
    league = asof_within(
        targets.select("game_date").unique().join(defense.select("team").unique(), how="cross"),
        defense,
        _defense_rolling,
        by="team",
    ).select("game_date", "team", *LEAGUE_COLUMNS)
    # Summed as fixed-point integers: the same teams give the same bits in any frame order.
    league = league.group_by("game_date").agg(
        (fixed(pl.col(c)).sum().cast(pl.Float64) / (pl.col(c).count() * FIXED_POINT).cast(pl.Float64)).alias(
            f"league_{c}"
        )
        for c in LEAGUE_COLUMNS
    )
    out = (
        out.join(league, on="game_date", how="left")
        .with_columns(
            (pl.col(f"allowed_share_{k}") - pl.col(f"league_allowed_share_{k}")).alias(f"allowed_share_{k}_vs_league")
            for k in KINDS
        )
        .with_columns(
            (pl.col("def_rating_l15") - pl.col("league_def_rating_l15")).alias("def_rating_vs_league"),
            pl.col("profile_games").fill_null(0),
        )
    )
    return out.select(schema.names()).cast(dict(schema)).sort("game_date", "game_id", "team")
