"""Phase 4: who is expected to play on D, and their features, from what was known before D.

Everything here is computed from ``history`` (player game summaries) with *strict* as-of joins
(``allow_exact_matches=False``): a feature for game date D sees games dated before D only, never
D itself. The same code serves one day or a whole season in one call: each target date gets its
own as-of cut.

Expected players for D: the scheduled teams' players who appeared in one of the team's last
``ROSTER_GAMES`` games before D and whose latest team is still that team, plus players with a
pre-tip line for one of D's games (rookies, new signings).
"""

from __future__ import annotations

import polars as pl

from nba_assets.schemas import schema_for

FEATURE_VERSION = "v1-thin"
ROSTER_GAMES = 3  # measured 2022-01..2024-12: recall 0.943, precision 0.771 (k=5: 0.965, 0.730)
MAX_REST_DAYS = 30

_TARGET = ["game_date", "game_id", "team", "opponent", "is_home", "season"]


def scheduled_teams(schedule: pl.DataFrame) -> pl.DataFrame:
    """Two rows per scheduled game: each team with its opponent (postponed games left out)."""
    games = schedule.filter(~pl.col("postponed"))
    home = games.select(
        "game_date",
        "game_id",
        pl.col("home_team").alias("team"),
        pl.col("away_team").alias("opponent"),
        pl.lit(True).alias("is_home"),
        "season",
    )
    away = games.select(
        "game_date",
        "game_id",
        pl.col("away_team").alias("team"),
        pl.col("home_team").alias("opponent"),
        pl.lit(False).alias("is_home"),
        "season",
    )
    return pl.concat([home, away]).sort("game_date", "game_id", "team")


def _team_games(history: pl.DataFrame) -> pl.DataFrame:
    return (
        history.select("team", "game_date", "game_id", "opp_pts")
        .unique(["team", "game_id"])
        .sort("team", "game_date")
        .with_columns(pl.int_range(pl.len()).over("team").alias("team_seq"))
    )


def expected_players(schedule: pl.DataFrame, history: pl.DataFrame, lines: pl.DataFrame) -> pl.DataFrame:
    """(target columns, player_id, player_lookup, player_name) for every scheduled game date."""
    targets = scheduled_teams(schedule)
    cols = [*_TARGET, "player_id", "player_lookup", "player_name"]
    if targets.height == 0:
        return pl.DataFrame(
            schema={**targets.schema, "player_id": pl.Int64, "player_lookup": pl.String, "player_name": pl.String}
        ).select(cols)
    team_games = _team_games(history)
    # The team's last game strictly before D, by its sequence number.
    last = targets.sort("game_date").join_asof(
        team_games.select("team", pl.col("game_date").alias("_last_date"), "team_seq").sort("_last_date"),
        left_on="game_date",
        right_on="_last_date",
        by="team",
        strategy="backward",
        allow_exact_matches=False,
        check_sortedness=False,
    )
    # A player who played for the team in its game k is on the roster for targets whose last game
    # is k..k+ROSTER_GAMES-1.
    appearances = (
        history.select("player_id", "team", "game_id")
        .join(team_games.select("team", "game_id", "team_seq"), on=["team", "game_id"])
        .with_columns(pl.int_ranges("team_seq", pl.col("team_seq") + ROSTER_GAMES).alias("team_seq"))
        .explode("team_seq")
        .unique(["team", "team_seq", "player_id"])
    )
    roster = last.join(appearances.select("team", "team_seq", "player_id"), on=["team", "team_seq"])
    # ... and whose latest game before D was for this team (not traded away since).
    latest = history.select(
        "player_id",
        pl.col("game_date").alias("_seen"),
        pl.col("team").alias("_latest_team"),
        "player_lookup",
        "player_name",
    ).sort("_seen")
    roster = (
        roster.sort("game_date")
        .join_asof(
            latest,
            left_on="game_date",
            right_on="_seen",
            by="player_id",
            strategy="backward",
            allow_exact_matches=False,
            check_sortedness=False,
        )
        .filter(pl.col("_latest_team") == pl.col("team"))
    )
    roster = roster.select(cols)
    # Players with a pre-tip line on D whom the roster rule did not find.
    if lines.height:
        lined = (
            lines.filter(pl.col("player_id").is_not_null())
            .select("game_date", "game_id", "player_id")
            .join(roster.select("game_date", "player_id"), on=["game_date", "player_id"], how="anti")
            .sort("game_date")
            .join_asof(
                latest,
                left_on="game_date",
                right_on="_seen",
                by="player_id",
                strategy="backward",
                allow_exact_matches=False,
                check_sortedness=False,
            )
            .rename({"_latest_team": "team"})
            .join(targets, on=["game_date", "game_id", "team"], how="inner")
            .select(cols)
        )
        roster = pl.concat([roster, lined])
    return roster.unique(["game_date", "player_id"], keep="first").sort("game_date", "game_id", "team", "player_id")


def _player_rolling(history: pl.DataFrame) -> pl.DataFrame:
    """Per player game: rolling stats *through* that game (as-of joins then take them strictly before D)."""
    h = history.sort("player_id", "game_date")
    pts = pl.col("pts").cast(pl.Float64)
    season_key = ["player_id", "season"]
    return h.select(
        "player_id",
        pl.col("game_date").alias("_last_game"),
        pl.col("season").alias("_last_season"),
        pts.rolling_mean(5, min_samples=1).over("player_id").alias("pts_avg_l5"),
        pts.rolling_mean(10, min_samples=1).over("player_id").alias("pts_avg_l10"),
        pts.rolling_std(10, min_samples=2).over("player_id").alias("pts_std_l10"),
        pl.col("minutes").cast(pl.Float64).rolling_mean(10, min_samples=1).over("player_id").alias("minutes_avg_l10"),
        (pts.cum_sum().over(season_key) / pl.int_range(1, pl.len() + 1).over(season_key)).alias("_season_avg"),
        pl.int_range(1, pl.len() + 1).over(season_key).cast(pl.Int64).alias("_season_games"),
    ).sort("_last_game")


def _opponent_allowed(history: pl.DataFrame) -> pl.DataFrame:
    tg = _team_games(history)
    return tg.select(
        pl.col("team").alias("opponent"),
        pl.col("game_date").alias("_opp_last"),
        pl.col("opp_pts").cast(pl.Float64).rolling_mean(10, min_samples=1).over("team").alias("opp_pts_allowed_l10"),
    ).sort("_opp_last")


def feature_store(schedule: pl.DataFrame, history: pl.DataFrame, lines: pl.DataFrame) -> pl.DataFrame:
    """``ml_feature_store`` rows for every game date in ``schedule``."""
    schema = schema_for("nba_precompute", "ml_feature_store")
    players = expected_players(schedule, history, lines)
    if players.height == 0:
        return pl.DataFrame(schema=schema)
    out = (
        players.sort("game_date")
        .join_asof(
            _player_rolling(history),
            left_on="game_date",
            right_on="_last_game",
            by="player_id",
            strategy="backward",
            allow_exact_matches=False,
            check_sortedness=False,
        )
        .join_asof(
            _opponent_allowed(history),
            left_on="game_date",
            right_on="_opp_last",
            by="opponent",
            strategy="backward",
            allow_exact_matches=False,
            check_sortedness=False,
        )
    )
    same_season = pl.col("_last_season") == pl.col("season")
    has_line = (
        lines.filter(pl.col("player_id").is_not_null())
        .select("game_date", "player_id", pl.lit(True).alias("has_line"))
        .unique(["game_date", "player_id"])
    )
    out = out.join(has_line, on=["game_date", "player_id"], how="left").with_columns(
        pl.lit(FEATURE_VERSION).alias("feature_version"),
        pl.when(same_season).then(pl.col("_season_games")).otherwise(0).alias("games_played_season"),
        pl.when(same_season).then(pl.col("_season_avg")).otherwise(None).alias("pts_avg_season"),
        ((pl.col("game_date") - pl.col("_last_game")).dt.total_days() - 1)
        .clip(upper_bound=MAX_REST_DAYS)
        .alias("days_rest"),
        pl.col("has_line").fill_null(False),
    )
    return out.select(schema.names()).cast(dict(schema)).sort("game_date", "game_id", "team", "player_id")
