"""Phase 3: per-player and per-team game summaries from the raw box scores (same game date).

Formulas (box-score columns; ``Tm`` = the player's team in that game):

- usage = 100·(FGA+0.44·FTA+TOV)·48 / (MIN·(TmFGA+0.44·TmFTA+TmTOV)), null when MIN = 0 or the
  team used no possession, capped at 50;
- TS% = PTS/(2·(FGA+0.44·FTA)), eFG% = (FGM+0.5·3PM)/FGA, null without attempts;
- points by kind: two = 2·(FGM−3PM), three = 3·3PM, free throws = FTM;
- possessions = FGA + 0.44·FTA + TOV − OREB; game minutes = 48 + 5·OT periods, the OT periods
  read from the team's summed player minutes (whole minutes, so 238..242 is regulation);
  pace = 48·(possessions + opponent possessions)/2 / game minutes;
  offensive rating = 100·PTS/possessions, defensive rating = 100·opponent PTS/opponent possessions.

DNP: a row with no minutes and no counting stat is a did-not-play row (the raw parser already
drops them; they are dropped here too, so a summary row always means the player took the floor).
A player with 0 whole minutes but a stat (seconds on the floor) is kept; his usage is null.
"""

from __future__ import annotations

import polars as pl

from nba_assets.schemas import schema_for
from nba_assets.transforms.lines import consensus_lines

COUNTING = ["pts", "reb", "oreb", "dreb", "ast", "stl", "blk", "tov", "pf", "fgm", "fga", "fg3m", "fg3a", "ftm", "fta"]
REGULATION_MINUTES = 48.0
OT_MINUTES = 5.0


def _ratio(num: pl.Expr, den: pl.Expr) -> pl.Expr:
    return pl.when(den > 0).then(num / den).otherwise(None)


def is_dnp(box: pl.DataFrame) -> pl.Series:
    """True for did-not-play rows: no minutes and no counting stat."""
    stats = pl.sum_horizontal([pl.col(c).fill_null(0).abs() for c in COUNTING if c in box.columns])
    return box.select(((pl.col("minutes").fill_null(0) == 0) & (stats == 0)).alias("dnp")).to_series()


def points_by_kind() -> list[pl.Expr]:
    return [
        (2 * (pl.col("fgm") - pl.col("fg3m"))).alias("pts_two"),
        (3 * pl.col("fg3m")).alias("pts_three"),
        pl.col("ftm").alias("pts_ft"),
    ]


def player_game_summary(box: pl.DataFrame, schedule: pl.DataFrame, props: pl.DataFrame) -> pl.DataFrame:
    """One row per player per game played, with shooting efficiency, usage and the pre-tip line.

    Rows whose player could not be identified (null player_id) and DNP rows are left out.
    """
    schema = schema_for("nba_analytics", "player_game_summary")
    box = box.filter(pl.col("player_id").is_not_null())
    box = box.filter(~is_dnp(box))
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
            *points_by_kind(),
            (pl.col("team_pts") > pl.col("opp_pts")).alias("team_won"),
            _ratio(pl.col("pts").cast(pl.Float64), 2.0 * (pl.col("fga") + 0.44 * pl.col("fta"))).alias("ts_pct"),
            _ratio(pl.col("fgm") + 0.5 * pl.col("fg3m"), pl.col("fga").cast(pl.Float64)).alias("efg_pct"),
            usage.clip(upper_bound=50.0).alias("usage_rate"),
            _ratio(pl.col("pts").cast(pl.Float64), pl.col("minutes").cast(pl.Float64)).alias("pts_per_minute"),
            (pl.col("pts") - pl.col("points_line")).alias("line_margin"),
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


def team_offense_game_summary(box: pl.DataFrame, schedule: pl.DataFrame) -> pl.DataFrame:
    """One row per team per game: team totals, possessions, offensive rating, pace, scoring shares."""
    schema = schema_for("nba_analytics", "team_offense_game_summary")
    box = box.filter(pl.col("team").is_not_null())
    box = box.filter(~is_dnp(box))
    if box.height == 0:
        return pl.DataFrame(schema=schema)
    team = (
        box.group_by("game_date", "game_id", "team", "opponent")
        .agg(
            (pl.col("home_away").first() == "H").alias("is_home"),
            *[pl.col(c).sum() for c in COUNTING],
            pl.col("minutes").sum().alias("team_minutes"),
            (pl.col("minutes") > 0).sum().cast(pl.Int64).alias("players_used"),
        )
        .with_columns(
            (pl.col("fga") + 0.44 * pl.col("fta") + pl.col("tov") - pl.col("oreb")).alias("possessions"),
            ((pl.col("team_minutes") / 5.0 - REGULATION_MINUTES) / OT_MINUTES)
            .round(0)
            .clip(lower_bound=0)
            .cast(pl.Int64)
            .alias("overtime_periods"),
            *points_by_kind(),
        )
    )
    opp = team.select(
        "game_id",
        pl.col("team").alias("opponent"),
        pl.col("pts").alias("opp_pts"),
        pl.col("possessions").alias("opp_possessions"),
    )
    game_minutes = REGULATION_MINUTES + OT_MINUTES * pl.col("overtime_periods")
    out = (
        team.join(opp, on=["game_id", "opponent"], how="left")
        .join(schedule.select("game_id", "season"), on="game_id", how="left")
        .with_columns(
            (pl.col("pts") > pl.col("opp_pts")).alias("won"),
            _ratio(100.0 * pl.col("pts"), pl.col("possessions")).alias("off_rating"),
            _ratio(100.0 * pl.col("opp_pts"), pl.col("opp_possessions")).alias("def_rating"),
            (REGULATION_MINUTES * (pl.col("possessions") + pl.col("opp_possessions")) / 2.0 / game_minutes).alias(
                "pace"
            ),
            _ratio(pl.col("fgm").cast(pl.Float64), pl.col("fga")).alias("fg_pct"),
            _ratio(pl.col("fg3m").cast(pl.Float64), pl.col("fg3a")).alias("fg3_pct"),
            _ratio(pl.col("ftm").cast(pl.Float64), pl.col("fta")).alias("ft_pct"),
            _ratio(pl.col("fgm") + 0.5 * pl.col("fg3m"), pl.col("fga").cast(pl.Float64)).alias("efg_pct"),
            _ratio(pl.col("pts_two").cast(pl.Float64), pl.col("pts")).alias("pts_share_two"),
            _ratio(pl.col("pts_three").cast(pl.Float64), pl.col("pts")).alias("pts_share_three"),
            _ratio(pl.col("pts_ft").cast(pl.Float64), pl.col("pts")).alias("pts_share_ft"),
        )
    )
    return out.select(schema.names()).cast(dict(schema)).sort("game_date", "game_id", "team")


def team_defense_game_summary(offense: pl.DataFrame) -> pl.DataFrame:
    """One row per team per game: what the opponent scored and shot against it (its offense mirrored)."""
    schema = schema_for("nba_analytics", "team_defense_game_summary")
    if offense.height == 0:
        return pl.DataFrame(schema=schema)
    own = offense.select(
        "game_date", "game_id", "season", "team", "opponent", "is_home", "won", "pace", "overtime_periods",
        "dreb", "stl", "blk", "pf",
    )  # fmt: skip
    allowed = offense.select(
        "game_id",
        pl.col("team").alias("opponent"),
        pl.col("pts").alias("pts_allowed"),
        pl.col("possessions").alias("opp_possessions"),
        *[
            pl.col(c).alias(f"opp_{c}")
            for c in ["fgm", "fga", "fg3m", "fg3a", "ftm", "fta", "oreb", "tov", "fg_pct", "fg3_pct", "efg_pct"]
        ],
        pl.col("pts_two").alias("pts_allowed_two"),
        pl.col("pts_three").alias("pts_allowed_three"),
        pl.col("pts_ft").alias("pts_allowed_ft"),
        pl.col("pts_share_two").alias("allowed_share_two"),
        pl.col("pts_share_three").alias("allowed_share_three"),
        pl.col("pts_share_ft").alias("allowed_share_ft"),
    )
    out = own.join(allowed, on=["game_id", "opponent"], how="inner").with_columns(
        _ratio(100.0 * pl.col("pts_allowed"), pl.col("opp_possessions")).alias("def_rating")
    )
    return out.select(schema.names()).cast(dict(schema)).sort("game_date", "game_id", "team")


# A team-game value outside these bounds cannot come from a complete box score (partial box
# scores undercount possessions: a pace of 54 is four or five players' possessions, not a team's).
GAME_POSSIBLE: dict[str, tuple[float, float]] = {
    "pace": (60.0, 140.0),
    "off_rating": (50.0, 200.0),
    "def_rating": (50.0, 200.0),
}


def impossible_days(frame: pl.DataFrame, bounds: dict[str, tuple[float, float]], label: str = "team") -> pl.DataFrame:
    """One row per (game_date, field) where some row of ``frame`` holds a value outside ``bounds``:
    ``rows`` (how many), ``min``, ``max`` and ``examples`` (up to five of the rows' ``label``
    values). Nulls are not impossible (they are missing, counted elsewhere)."""
    out_schema = {
        "game_date": pl.Date,
        "field": pl.String,
        "rows": pl.Int64,
        "min": pl.Float64,
        "max": pl.Float64,
        "examples": pl.String,
    }
    parts = []
    for name, (low, high) in bounds.items():
        if name not in frame.columns or frame.height == 0:
            continue
        col = pl.col(name).cast(pl.Float64)
        bad = frame.filter((col < low) | (col > high))
        if bad.height:
            parts.append(
                bad.group_by("game_date")
                .agg(
                    pl.len().cast(pl.Int64).alias("rows"),
                    col.min().alias("min"),
                    col.max().alias("max"),
                    pl.col(label).cast(pl.String).unique().sort().head(5).str.join(", ").alias("examples"),
                )
                .with_columns(pl.lit(name).alias("field"))
            )
    if not parts:
        return pl.DataFrame(schema=out_schema)
    return pl.concat(parts, how="diagonal").select(list(out_schema)).cast(out_schema).sort("game_date", "field")


def describe_impossible(bad: pl.DataFrame, bounds: dict[str, tuple[float, float]], table: str) -> dict[str, str]:
    """``impossible_days`` rows of one day -> the held-back metadata of that day (field, error)."""
    fields = bad["field"].to_list()
    error = "; ".join(
        f"{r['rows']} row(s) of {table} with {r['field']} outside the possible "
        f"[{bounds[r['field']][0]:g}, {bounds[r['field']][1]:g}] (min {r['min']:.1f}, max {r['max']:.1f}; "
        f"{r['examples']})"
        for r in bad.iter_rows(named=True)
    )
    return {"held_back_field": ", ".join(fields), "held_back_error": error[:2000]}
