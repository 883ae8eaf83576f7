"""Phase 4: composite adjustment factors per player expected on D (the seed platform's formulas,
adapted to what the box scores carry; docs/features.md lists every adaptation).

- fatigue: 100; back-to-back −15; ≥3 days of rest +5; ≥4 games in the last 7 days −10; >240
  minutes in the last 7 days −10; >35 minutes per game over the last 7 days −8; ≥2 back-to-backs
  in the last 14 days −12 (exactly one −5); clamp 0..100. (The seed's age term is left out: the
  data has no birth dates.)
- pace: (expected game pace − league pace)/2, clamp ±3; expected game pace = mean of both teams'
  last-15 pace, league pace = mean of every team's last-15 pace, both as of D.
- usage spike: (projected usage − usage over the last 7 games)·0.3, ×1.15 with one usual scorer
  of the team out, ×1.30 with two or more, clamp ±3; projected usage = the player's season usage
  before D (his last-10 usage when he has no game this season).
- matchup: the opponent's allowed share (last 15 games) minus the league's, in percentage points,
  in the player's primary scoring kind (2PT/3PT/FT over his last 10 games), ×min(share/0.5, 1),
  clamp ±10.
- rest advantage: team days of rest − opponent days of rest, clamp ±3.
- injury risk: share of the team's last 10 games before D (since the player's first game for the
  team) that he missed: there is no injury feed, missed games are the real signal.
- recent trend: mean points of the last 2 games − mean of the 3 before; ≥5 → +2, ≥2 → +1,
  mirrored, else 0.
- minutes change: (minutes L10 − season)/season; ≥20 % → +2, ≥10 % → +1, mirrored, else 0.
"""

from __future__ import annotations

import polars as pl

from nba_assets.schemas import schema_for

KEYS = ["game_date", "game_id", "player_id"]


def _bucket(x: pl.Expr, big: float, small: float) -> pl.Expr:
    return (
        pl.when(x.is_null())
        .then(None)
        .when(x >= big)
        .then(2)
        .when(x >= small)
        .then(1)
        .when(x <= -big)
        .then(-2)
        .when(x <= -small)
        .then(-1)
        .otherwise(0)
    )


def fatigue_score() -> pl.Expr:
    g7, m7, b2b14 = pl.col("games_last_7_days"), pl.col("minutes_last_7_days"), pl.col("back_to_backs_last_14_days")
    mpg7 = pl.when(g7 > 0).then(m7 / g7).otherwise(0.0)
    score = (
        pl.lit(100.0)
        - pl.when(pl.col("is_back_to_back").fill_null(False)).then(15.0).otherwise(0.0)
        + pl.when(pl.col("days_rest").fill_null(0) >= 3).then(5.0).otherwise(0.0)
        - pl.when(g7.fill_null(0) >= 4).then(10.0).otherwise(0.0)
        - pl.when(m7.fill_null(0) > 240).then(10.0).otherwise(0.0)
        - pl.when(mpg7.fill_null(0.0) > 35).then(8.0).otherwise(0.0)
        - pl.when(b2b14.fill_null(0) >= 2).then(12.0).when(b2b14.fill_null(0) == 1).then(5.0).otherwise(0.0)
    )
    return score.clip(0.0, 100.0)


def player_composite_factors(
    context: pl.DataFrame,
    team_context: pl.DataFrame,
    cache: pl.DataFrame,
    shot_profile: pl.DataFrame,
    defense_profile: pl.DataFrame,
) -> pl.DataFrame:
    schema = schema_for("nba_precompute", "player_composite_factors")
    if context.height == 0:
        return pl.DataFrame(schema=schema)
    pace = defense_profile.select("game_date", "team", "pace_l15", "league_pace_l15")
    opp = defense_profile.select(
        "game_date",
        pl.col("team").alias("opponent"),
        pl.col("pace_l15").alias("_opp_pace"),
        *[pl.col(f"allowed_share_{k}_vs_league").alias(f"_opp_{k}") for k in ("two", "three", "ft")],
    )
    team_rest = team_context.select("game_date", "team", pl.col("rest_advantage").alias("_team_rest_adv"))
    out = (
        context.select(
            *KEYS,
            "player_lookup",
            "team",
            "opponent",
            "season",
            "days_rest",
            "is_back_to_back",
            "games_last_7_days",
            "minutes_last_7_days",
            "back_to_backs_last_14_days",
            "star_teammates_out",
            "team_games_window",
            "team_games_missed",
        )  # fmt: skip
        .join(
            cache.select(
                *KEYS,
                "usage_rate_l7",
                "usage_rate_l10",
                "usage_rate_season",
                "pts_avg_last2",
                "pts_avg_prev3",
                "minutes_avg_l10",
                "minutes_avg_season",
            ),  # fmt: skip
            on=KEYS,
            how="left",
        )
        .join(shot_profile.select(*KEYS, "primary_scoring", "primary_share"), on=KEYS, how="left")
        .join(pace, on=["game_date", "team"], how="left")
        .join(opp, on=["game_date", "opponent"], how="left")
        .join(team_rest, on=["game_date", "team"], how="left")
    )
    opp_vs_league = (
        pl.when(pl.col("primary_scoring") == "two")
        .then(pl.col("_opp_two"))
        .when(pl.col("primary_scoring") == "three")
        .then(pl.col("_opp_three"))
        .when(pl.col("primary_scoring") == "ft")
        .then(pl.col("_opp_ft"))
    )
    stars = pl.col("star_teammates_out").fill_null(0)
    multiplier = pl.when(stars >= 2).then(1.30).when(stars == 1).then(1.15).otherwise(1.0)
    projected = pl.coalesce("usage_rate_season", "usage_rate_l10")
    out = out.with_columns(
        ((pl.col("pace_l15") + pl.col("_opp_pace")) * 0.5 - pl.col("league_pace_l15")).alias("pace_differential"),
        projected.alias("projected_usage_rate"),
        (pl.col("pts_avg_last2") - pl.col("pts_avg_prev3")).alias("trend_delta"),
        pl.when(pl.col("minutes_avg_season") > 0)
        .then((pl.col("minutes_avg_l10") - pl.col("minutes_avg_season")) / pl.col("minutes_avg_season"))
        .alias("minutes_change_pct"),
        (100.0 * opp_vs_league).alias("matchup_opp_vs_league"),
    ).with_columns(
        fatigue_score().alias("fatigue_score"),
        (pl.col("pace_differential") * 0.5).clip(-3.0, 3.0).alias("pace_score"),
        ((pl.col("projected_usage_rate") - pl.col("usage_rate_l7")) * 0.3 * multiplier)
        .clip(-3.0, 3.0)
        .alias("usage_spike_score"),
        (pl.col("matchup_opp_vs_league") * pl.min_horizontal(pl.col("primary_share") * 2.0, pl.lit(1.0)))
        .clip(-10.0, 10.0)
        .alias("matchup_score"),
        pl.col("_team_rest_adv").clip(-3, 3).alias("rest_advantage"),
        pl.when(pl.col("team_games_window") > 0)
        .then(pl.col("team_games_missed") / pl.col("team_games_window"))
        .alias("injury_risk"),
        _bucket(pl.col("trend_delta"), 5.0, 2.0).alias("recent_trend"),
        _bucket(pl.col("minutes_change_pct"), 0.20, 0.10).alias("minutes_change"),
    )
    return out.select(schema.names()).cast(dict(schema)).sort("game_date", "game_id", "team", "player_id")
