"""The repository's real data (``data/``) as the raw tables, for the bench and the tests.

``real_raw_tables()`` gives (box scores, schedule, props) for every date of the data: the box
scores in the ``nba_raw.bdl_player_boxscores`` schema (ids already nba.com), the schedule they
imply (tip-off unknown, every game final) and the lines as pre-tip props snapshots (one quote per
book, 60 minutes before tip-off, no prices), as the replay archive records them.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import polars as pl

from nba_assets.identity import canonical_lookup, nba_teams
from nba_assets.schemas import schema_for

DATA = Path(__file__).resolve().parent.parent / "data"
BOX_SCORES = DATA / "player_box_scores.parquet"
LINES = DATA / "player_points_lines_dfs.parquet"


def schedule_from_box_scores(box: pl.DataFrame) -> pl.DataFrame:
    """The nbac_schedule rows implied by real box scores (tip-off unknown, every game final)."""
    ids = nba_teams().select("abbreviation", "team_id")
    games = (
        box.group_by("game_date", "game_id", "season", "home_team", "away_team")
        .agg(
            pl.col("pts").filter(pl.col("home_away") == "H").sum().alias("home_score"),
            pl.col("pts").filter(pl.col("home_away") == "A").sum().alias("away_score"),
        )
        .join(ids.rename({"abbreviation": "home_team", "team_id": "home_team_id"}), on="home_team")
        .join(ids.rename({"abbreviation": "away_team", "team_id": "away_team_id"}), on="away_team")
        .with_columns(
            pl.lit(None, pl.Datetime("us", "UTC")).alias("tipoff_utc"),
            pl.lit(3, pl.Int64).alias("game_status"),
            pl.lit(False).alias("postponed"),
        )
    )
    schema = schema_for("nba_raw", "nbac_schedule")
    return games.select(schema.names()).cast(dict(schema)).sort("game_date", "game_id")


def raw_box_from_box_scores(box: pl.DataFrame) -> pl.DataFrame:
    """Real box scores in the nba_raw.bdl_player_boxscores schema (ids already nba.com)."""
    schema = schema_for("nba_raw", "bdl_player_boxscores")
    out = canonical_lookup(box, "player_name").with_columns(
        pl.col("game_id").cast(pl.Int64).alias("bdl_game_id"), pl.col("player_id").alias("bdl_player_id")
    )
    return out.select(schema.names()).cast(dict(schema))


def props_from_lines(lines: pl.DataFrame) -> pl.DataFrame:
    """The real PrizePicks/Underdog lines as ``nba_raw.odds_api_player_points_props`` rows, the way
    the replay archive records them: one pre-tip quote per book, stamped 60 minutes before tip-off
    (the source keeps no quote time), no prices."""
    schema = schema_for("nba_raw", "odds_api_player_points_props")
    out = canonical_lookup(lines, "player_name").with_columns(
        (pl.col("commence_utc") - timedelta(minutes=60)).alias("snapshot_utc"),
        pl.lit(60.0).alias("minutes_before_tipoff"),
        pl.lit("us_dfs").alias("region"),
        pl.lit(None, pl.Int64).alias("over_price"),
        pl.lit(None, pl.Int64).alias("under_price"),
    )
    return out.select(schema.names()).cast(dict(schema))


def real_raw_tables() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(box, schedule, props): the real raw tables for every date of the data."""
    box_scores = pl.read_parquet(BOX_SCORES).with_columns(pl.col("game_date").str.to_date())
    lines = pl.read_parquet(LINES).with_columns(pl.col("game_date").str.to_date())
    return raw_box_from_box_scores(box_scores), schedule_from_box_scores(box_scores), props_from_lines(lines)
