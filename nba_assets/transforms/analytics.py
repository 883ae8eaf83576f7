"""Phase 3: per-player game summaries from the raw box scores."""

from __future__ import annotations

import polars as pl

from nba_assets.schemas import schema_for
from nba_assets.transforms.lines import consensus_lines


def _ratio(num: pl.Expr, den: pl.Expr) -> pl.Expr:
    return pl.when(den > 0).then(num / den).otherwise(None)


def player_game_summary(box: pl.DataFrame, schedule: pl.DataFrame, props: pl.DataFrame) -> pl.DataFrame:
    """One row per player per game played, with shooting efficiency, usage and the pre-tip line.

    usage = 100·(FGA+0.44·FTA+TOV)·48 / (MIN·(TmFGA+0.44·TmFTA+TmTOV)), null when not
    computable, capped at 50. TS% = PTS/(2·(FGA+0.44·FTA)); eFG% = (FGM+0.5·3PM)/FGA.
    Rows whose player could not be identified (null player_id) are left out.
    """
    schema = schema_for("nba_analytics", "player_game_summary")
    box = box.filter(pl.col("player_id").is_not_null())
    if box.height == 0:
        return pl.DataFrame(schema=schema)
    team = box.group_by("game_id", "team").agg(
        pl.col("pts").sum().alias("team_pts"),
        (pl.col("fga").sum() + 0.44 * pl.col("fta").sum() + pl.col("tov").sum()).alias("_team_poss_used"),
    )
    opp = team.select("game_id", pl.col("team").alias("opponent"), pl.col("team_pts").alias("opp_pts"))
    lines = (
        consensus_lines(props).select("game_id", "player_id", "points_line").filter(pl.col("player_id").is_not_null())
    )
    used = pl.col("fga") + 0.44 * pl.col("fta") + pl.col("tov")
    usage = _ratio(100.0 * used * 48.0, pl.col("minutes") * pl.col("_team_poss_used"))
    out = (
        box.join(team, on=["game_id", "team"], how="left")
        .join(opp, on=["game_id", "opponent"], how="left")
        .join(schedule.select("game_id", "season"), on="game_id", how="left")
        .join(lines, on=["game_id", "player_id"], how="left")
        .with_columns(
            (pl.col("team_pts") > pl.col("opp_pts")).alias("team_won"),
            _ratio(pl.col("pts").cast(pl.Float64), 2.0 * (pl.col("fga") + 0.44 * pl.col("fta"))).alias("ts_pct"),
            _ratio(pl.col("fgm") + 0.5 * pl.col("fg3m"), pl.col("fga").cast(pl.Float64)).alias("efg_pct"),
            usage.clip(upper_bound=50.0).alias("usage_rate"),
            pl.when(pl.col("points_line").is_null())
            .then(None)
            .when(pl.col("pts") > pl.col("points_line"))
            .then(pl.lit("OVER"))
            .when(pl.col("pts") < pl.col("points_line"))
            .then(pl.lit("UNDER"))
            .otherwise(pl.lit("PUSH"))
            .alias("line_result"),
        )
    )
    return out.select(schema.names()).cast(dict(schema)).sort("game_date", "game_id", "team", "player_id")
