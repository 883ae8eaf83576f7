"""``similarity_balanced_v1``: the weighted mean of the player's most similar past games.

Every attribute is computed from the box-score history, as of the date of the game it describes
(strictly before it):

- opponent tier: the opponent's points allowed per game over its last 10 games, ranked among all
  teams as of that date, in terciles (1 = stingiest third, 3 = most generous);
- rest bucket: days of rest before the game, 0 (back-to-back), 1, 2 or more;
- venue: home or away;
- form: the player's last-5 points average against his season average before the game: hot /
  cold when the gap exceeds the standard error of a 5-game mean (his last-10 points standard
  deviation / √5), else neutral.

Each of the player's games in the LOOKBACK_DAYS before D scores one point per attribute it shares
with tonight (balanced weights); games scoring at least MIN_SCORE are the matches and the
prediction is their points' mean weighted by score. Fewer than MIN_MATCHES matches: no prediction
(the system says PASS).
"""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from nba_assets.facts import HISTORY_DAYS
from nba_assets.predictors.days import rows_dated
from nba_assets.predictors.league_context import with_rest

SYSTEM_ID = "similarity_balanced_v1"
LOOKBACK_DAYS = HISTORY_DAYS
OPP_WINDOW = 10
MIN_SCORE = 3
MIN_MATCHES = 5
USES = ["days_rest", "is_home", "pts_avg_l5", "pts_avg_season", "pts_std_l10", "opponent"]


def team_games(history: pl.DataFrame) -> pl.DataFrame:
    """One row per team game (team, game_date, game_id, opp_pts), sorted by date: the rows of a
    date range of it are the team games of that range of ``history``."""
    return (
        history.select("team", "game_date", "game_id", pl.col("opp_pts").cast(pl.Float64))
        .unique(["team", "game_id"])
        .sort("game_date", "team")
    )


def _team_allowed(history: pl.DataFrame, games: pl.DataFrame | None = None) -> pl.DataFrame:
    """Per team game: the team's points allowed per game over its last OPP_WINDOW games through it.

    ``games``: ``team_games(history)``, when already at hand."""
    return (
        (team_games(history) if games is None else games)
        .sort("team", "game_date")
        .with_columns(pl.col("opp_pts").rolling_mean(OPP_WINDOW, min_samples=1).over("team").alias("allowed"))
        .select("team", pl.col("game_date").alias("_through"), "allowed")
    )


def opponent_tiers(history: pl.DataFrame, dates: pl.Series, games: pl.DataFrame | None = None) -> pl.DataFrame:
    """(game_date, team, tier 1..3) for every team with history before each date (``games``:
    ``team_games(history)``, when already at hand)."""
    allowed = _team_allowed(history, games)
    teams = allowed.select("team").unique()
    # Sorted by date and team, so equal figures rank the same way in every run (ordinal ranks).
    grid = pl.DataFrame({"game_date": dates.unique()}).join(teams, how="cross").sort("game_date", "team")
    asof = grid.join_asof(
        allowed.sort("team", "_through"),
        left_on="game_date",
        right_on="_through",
        by="team",
        strategy="backward",
        allow_exact_matches=False,
        check_sortedness=False,
    ).filter(pl.col("allowed").is_not_null())
    asof = asof.sort("game_date", "allowed", "team")
    return asof.with_columns(
        (pl.col("allowed").rank("ordinal").over("game_date") * 3 / pl.len().over("game_date"))
        .ceil()
        .clip(1, 3)
        .cast(pl.Int64)
        .alias("tier")
    ).select("game_date", "team", "tier")


def _rest_bucket(days: pl.Expr) -> pl.Expr:
    return pl.when(days.is_null()).then(None).when(days <= 0).then(0).when(days == 1).then(1).otherwise(2)


def _form(l5: pl.Expr, season: pl.Expr, std: pl.Expr) -> pl.Expr:
    se = std / (5**0.5)
    gap = l5 - season
    return pl.when(gap.is_null() | se.is_null()).then(None).when(gap > se).then(1).when(gap < -se).then(-1).otherwise(0)


def game_attributes(history: pl.DataFrame, tiers: pl.DataFrame | None = None) -> pl.DataFrame:
    """Every past game with its attributes as of that game (from games of ``history`` strictly before it).

    ``tiers``: opponent tiers by (game_date, team), when already computed over the same history."""
    h = with_rest(history)  # sorted by player and date
    pts = pl.col("pts").cast(pl.Float64)
    season_key = ["player_id", "season"]
    h = h.with_columns(
        pts.shift(1).rolling_mean(5, min_samples=3).over("player_id").alias("_l5"),
        pts.shift(1).rolling_std(10, min_samples=3).over("player_id").alias("_std"),
        (pts.cum_sum().shift(1) / pl.int_range(0, pl.len())).over(season_key).alias("_season"),
    )
    if tiers is None:
        tiers = opponent_tiers(history, h["game_date"])
    return h.join(
        tiers.rename({"team": "opponent", "tier": "opp_tier"}), on=["game_date", "opponent"], how="left"
    ).select(
        "player_id",
        pl.col("game_date").alias("past_date"),
        pts.alias("past_pts"),
        "opp_tier",
        _rest_bucket(pl.col("_rest")).alias("rest_bucket"),
        (pl.col("home_away") == "H").alias("is_home"),
        _form(pl.col("_l5"), pl.col("_season"), pl.col("_std")).alias("form"),
    )


def history_of(history: pl.DataFrame, day) -> pl.DataFrame:
    """The one fixed set of rows the system uses for game date ``day``: the LOOKBACK_DAYS before it.

    Every attribute of a past game is computed inside this set, so D's prediction is the same whether
    D is computed alone, in a 15-day run or in the four-season run (``history`` is sorted by date)."""
    return rows_dated(history, day - timedelta(days=LOOKBACK_DAYS), day)


def predict(features: pl.DataFrame, history: pl.DataFrame) -> pl.DataFrame:
    """game_date, game_id, player_id, predicted_points (null below MIN_MATCHES), sample_size (matches)."""
    out_schema = {
        "game_date": pl.Date,
        "game_id": pl.String,
        "player_id": pl.Int64,
        "predicted_points": pl.Float64,
        "sample_size": pl.Int64,
    }
    if features.height == 0:
        return pl.DataFrame(schema=out_schema)
    keys = features.select("game_date", "game_id", "player_id")
    history = history.sort("game_date", "game_id", "player_id")
    games = team_games(history)
    parts = []
    for (day,), chunk in features.partition_by("game_date", as_dict=True, maintain_order=True).items():
        cut = history_of(history, day)
        if cut.height == 0:
            continue
        games_cut = history_of(games, day)  # the team games of the same date range
        tiers = opponent_tiers(cut, cut["game_date"].append(pl.Series([day], dtype=pl.Date)), games_cut)
        players = chunk["player_id"].unique()
        past = game_attributes(cut.filter(pl.col("player_id").is_in(players.implode())), tiers)
        targets = chunk.join(
            tiers.rename({"team": "opponent", "tier": "t_tier"}), on=["game_date", "opponent"], how="left"
        ).select(
            "game_date",
            "game_id",
            "player_id",
            "t_tier",
            _rest_bucket(pl.col("days_rest")).alias("t_rest"),
            pl.col("is_home").alias("t_home"),
            _form(pl.col("pts_avg_l5"), pl.col("pts_avg_season"), pl.col("pts_std_l10")).alias("t_form"),
        )
        scored = (
            targets.join(past, on="player_id", how="inner")
            .with_columns(
                (
                    (pl.col("opp_tier") == pl.col("t_tier")).fill_null(False).cast(pl.Int64)
                    + (pl.col("rest_bucket") == pl.col("t_rest")).fill_null(False).cast(pl.Int64)
                    + (pl.col("is_home") == pl.col("t_home")).fill_null(False).cast(pl.Int64)
                    + (pl.col("form") == pl.col("t_form")).fill_null(False).cast(pl.Int64)
                ).alias("score")
            )
            .filter(pl.col("score") >= MIN_SCORE)
            .group_by("game_date", "game_id", "player_id")
            .agg(
                ((pl.col("past_pts") * pl.col("score")).sum() / pl.col("score").sum()).alias("_mean"),
                pl.len().cast(pl.Int64).alias("sample_size"),
            )
        )
        parts.append(scored)
    matched = (
        pl.concat(parts) if parts else pl.DataFrame(schema={**out_schema, "_mean": pl.Float64}).drop("predicted_points")
    )
    return (
        keys.join(matched, on=["game_date", "game_id", "player_id"], how="left")
        .with_columns(
            pl.col("sample_size").fill_null(0),
            pl.when(pl.col("sample_size").fill_null(0) >= MIN_MATCHES).then(pl.col("_mean")).alias("predicted_points"),
        )
        .select(list(out_schema))
        .cast(out_schema)
    )
