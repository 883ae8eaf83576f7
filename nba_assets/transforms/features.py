"""Phase 4: ``ml_feature_store``, one row per player expected on D, from what was known before D.

The store joins the day's phase-3 contexts and phase-4 tables (every one of them computed from
windows strictly before D with strict as-of joins, so a backfill equals day-by-day runs). Each
feature in ``FEATURES`` that lacks real data for a row gets a documented default, and the row's
``feature_quality_score`` is the share of ``FEATURES`` that came from real data;
``is_quality_ready`` says the row is fit for a model (score ≥ ``QUALITY_READY`` and the player's
own scoring history is real). Line fields (``points_line``, ``opening_line``, ``line_movement``,
``teammates_without_line``) stay null without a line and are not part of the score.

The graph that feeds it (which table is built from which, over which window) is the assets'
(``nba_assets/assets/analytics.py``, ``precompute.py``); the tests run those assets themselves.
"""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from nba_assets.schemas import schema_for
from nba_assets.transforms import profiles
from nba_assets.transforms.asof import HISTORY_DAYS
from nba_assets.transforms.contexts import MAX_REST_DAYS, expected_players, scheduled_teams
from nba_assets.transforms.raw import box_completeness

__all__ = ["expected_players", "scheduled_teams", "feature_store", "history_gaps"]

FEATURE_VERSION = "v2-2024.11"
QUALITY_READY = 0.8
LEAGUE_WIN_PCT = 0.5  # the league-wide win rate is 1/2 by construction (one winner per game)

# Feature -> how a missing value is filled. "median": the median of the rows of the same game
# date that have a real value; "zero": the neutral value of an adjustment score; a column name:
# that column (a fallback of the same quantity), then the day's median.
FEATURES: dict[str, str | None] = {
    "pts_avg_l5": "median",
    "pts_avg_l10": "median",
    "pts_avg_season": "pts_avg_l10",
    "pts_std_l10": "median",
    "minutes_avg_l10": "median",
    "minutes_avg_season": "minutes_avg_l10",
    "pts_per_minute_l10": "median",
    "games_played_season": None,  # a count: always real (0 before the player's first game)
    "games_in_last_7_days": None,
    "minutes_in_last_7_days": None,
    "days_rest": "max_rest",
    "is_back_to_back": "false",
    "is_home": None,
    "is_playoff": None,
    "fatigue_score": None,  # computed from real counts only
    "pace_score": "zero",
    "usage_spike_score": "zero",
    "matchup_score": "zero",
    "rest_advantage": "zero",
    "injury_risk": "zero",
    "recent_trend": "zero",
    "minutes_change": "zero",
    "usage_rate_l10": "median",
    "ts_pct_l10": "median",
    "pts_share_two": "median",
    "pts_share_three": "median",
    "pts_share_ft": "median",
    "opp_def_rating": "median",
    "opp_pace": "median",
    "opp_allowed_share_two_vs_league": "zero",
    "opp_allowed_share_three_vs_league": "zero",
    "opp_allowed_share_ft_vs_league": "zero",
    "opp_pts_allowed_l10": "median",
    "team_pace": "median",
    "team_off_rating": "median",
    "team_win_pct": "league_win_pct",
    "star_teammates_out": None,
    "has_line": None,
}
LINE_FIELDS = ["points_line", "opening_line", "line_movement", "teammates_without_line"]

# Checks on the store: (warn_low, warn_high) plausible range; (low, high) possible range — a value
# outside it is impossible and fails the blocking check.
#
# The plausible ranges hold every value of the four seasons of real data in data/ (2021-10-19..
# 2024-12-15, 105,155 feature rows; the observed min..max is noted where a bound was widened to it),
# so a warning means something the real league never produced. Small samples are why the observed
# spread is wider than season figures suggest: ratings and pace over a team's first games of a
# season (off/def rating 77.8..129.9, pace 92.2..114.8, points allowed over 10 games 83..138), a
# low-volume shooter's TS% over 10 games (free throws with few shots reach 1.5), a one-minute
# appearance's points per minute (3.0) or usage (50), five games in seven days (rescheduled games
# of 2021-22).
RANGES: dict[str, tuple[tuple[float, float], tuple[float, float]]] = {
    "pts_avg_l5": ((0, 50), (0, 100)),  # observed max 46
    "pts_avg_l10": ((0, 50), (0, 100)),  # 46
    "pts_avg_season": ((0, 50), (0, 100)),  # 46
    "pts_std_l10": ((0, 30), (0, 100)),  # 26.2
    "minutes_avg_l10": ((0, 48), (0, 68)),  # 47
    "minutes_avg_season": ((0, 48), (0, 68)),  # 47
    "pts_per_minute_l10": ((0, 3.5), (0, 20)),  # 3.0
    "games_played_season": ((0, 85), (0, 90)),
    "games_in_last_7_days": ((0, 5), (0, 7)),  # 5
    "minutes_in_last_7_days": ((0, 200), (0, 7 * 68)),  # 180
    "days_rest": ((0, MAX_REST_DAYS), (0, MAX_REST_DAYS)),
    "fatigue_score": ((40, 100), (0, 100)),
    "pace_score": ((-3, 3), (-3, 3)),
    "usage_spike_score": ((-3, 3), (-3, 3)),
    "matchup_score": ((-10, 10), (-10, 10)),
    "rest_advantage": ((-3, 3), (-3, 3)),
    "injury_risk": ((0, 1), (0, 1)),
    "recent_trend": ((-2, 2), (-2, 2)),
    "minutes_change": ((-2, 2), (-2, 2)),
    "usage_rate_l10": ((0, 50), (0, 50)),  # 50.0
    "ts_pct_l10": ((0, 1.5), (0, 1.5)),  # 1.5
    "pts_share_two": ((0, 1), (0, 1)),
    "pts_share_three": ((0, 1), (0, 1)),
    "pts_share_ft": ((0, 1), (0, 1)),
    "opp_def_rating": ((75, 135), (50, 200)),  # 77.8..129.1
    "opp_pace": ((88, 118), (60, 140)),  # 92.8..114.8
    "opp_allowed_share_two_vs_league": ((-0.2, 0.2), (-1, 1)),  # -0.141..0.168
    "opp_allowed_share_three_vs_league": ((-0.25, 0.2), (-1, 1)),  # -0.197..0.146
    "opp_allowed_share_ft_vs_league": ((-0.15, 0.15), (-1, 1)),
    "opp_pts_allowed_l10": ((80, 140), (50, 200)),  # 83..138
    "team_pace": ((88, 118), (60, 140)),  # 92.2..114.8
    "team_off_rating": ((75, 135), (50, 200)),  # 77.8..129.9
    "team_win_pct": ((0, 1), (0, 1)),
    "star_teammates_out": ((0, 3), (0, 3)),
    "points_line": ((0.5, 45), (0, 100)),  # 1.5..34.25
    "opening_line": ((0.5, 45), (0, 100)),
    "line_movement": ((-5, 5), (-50, 50)),
    "teammates_without_line": ((0, 3), (0, 3)),
    "feature_quality_score": ((0.45, 1), (0, 1)),  # 0.474
}

# Zero-variance rule. Constant by construction in this data, never judged:
STRUCTURAL_CONSTANTS = {
    "is_playoff": "the data is regular season only (every game id starts 002)",
    "line_movement": "the recorded lines have one snapshot per game (the source keeps no quote times), "
    "so the opening line is the current line",
}
# Constant on a day for a stated, checked reason: exempt on the days the condition holds.
DAY_CONDITIONS: dict[str, tuple[pl.Expr, str]] = {
    "calendar_gap": (pl.col("games_in_last_7_days").max() == 0, "no player of the day played in the last 7 days"),
    "season_opener": (pl.col("games_played_season").max() == 0, "no player of the day has played this season"),
    "all_rested": (pl.col("days_rest").min() >= 3, "every player has ≥3 days of rest: the +5 meets the 100 cap"),
    "all_rest_capped": (pl.col("days_rest").min() >= MAX_REST_DAYS, "no player of the day played in 30 days"),
    "no_back_to_back": (~(pl.col("days_rest") == 0).any(), "no player of the day played the day before"),
    "no_line": (~pl.col("has_line").any(), "no pre-tip line for any game of the day"),
    "no_scorer_out": (~(pl.col("star_teammates_out") > 0).any(), "every usual scorer of the day is expected"),
    "equal_rest": ((pl.col("rest_advantage") == 0).all(), "every game of the day pairs equally rested teams"),
}
SITUATIONAL_CONSTANTS: dict[str, list[str]] = {
    "games_played_season": ["season_opener"],
    "games_in_last_7_days": ["calendar_gap"],
    "minutes_in_last_7_days": ["calendar_gap"],
    "days_rest": ["all_rest_capped"],
    "fatigue_score": ["calendar_gap", "all_rested"],
    "is_back_to_back": ["no_back_to_back"],
    "has_line": ["no_line"],
    "star_teammates_out": ["no_scorer_out"],
    "rest_advantage": ["equal_rest"],
}
FULL_DAY_GAMES = 5  # a "full day" for the zero-variance rule has at least 5 games
MIN_REAL_VALUES = 10  # ... and a feature is judged on days where ≥ 10 rows carry a real value
WARMUP_DAYS = 28  # the data's first 4 weeks: windows (L10, season vs L10) are not yet filled


def feature_store(
    context: pl.DataFrame,
    team_context: pl.DataFrame,
    cache: pl.DataFrame,
    shot_profile: pl.DataFrame,
    defense_profile: pl.DataFrame,
    factors: pl.DataFrame,
    gaps: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """``ml_feature_store`` rows for every player of ``context`` (one or many game dates).

    ``gaps`` (``history_gaps``) gives each game date's missing history days; without it they are
    unknown (null)."""
    schema = schema_for("nba_precompute", "ml_feature_store")
    if context.height == 0:
        return pl.DataFrame(schema=schema)
    keys = ["game_date", "game_id", "player_id"]
    team = team_context.select(
        "game_date",
        "team",
        pl.col("pace_l10").alias("team_pace"),
        pl.col("off_rating_l10").alias("team_off_rating"),
        pl.col("win_pct_season").alias("team_win_pct"),
    )
    opp = defense_profile.select(
        "game_date",
        pl.col("team").alias("opponent"),
        pl.col("def_rating_l15").alias("opp_def_rating"),
        pl.col("pace_l15").alias("opp_pace"),
        pl.col("pts_allowed_l10").alias("opp_pts_allowed_l10"),
        *[pl.col(f"allowed_share_{k}_vs_league").alias(f"opp_allowed_share_{k}_vs_league") for k in profiles.KINDS],
    )
    out = (
        context.select(
            *keys,
            "player_lookup",
            "player_name",
            "team",
            "opponent",
            "season",
            "is_home",
            "days_rest",
            "is_back_to_back",
            pl.col("games_last_7_days").alias("games_in_last_7_days"),
            pl.col("minutes_last_7_days").cast(pl.Float64).alias("minutes_in_last_7_days"),
            "star_teammates_out",
            "teammates_without_line",
            "points_line",
            "opening_line",
            "line_movement",
            "has_line",
        )  # fmt: skip
        .join(
            cache.select(
                *keys,
                "games_played_season",
                "pts_avg_l5",
                "pts_avg_l10",
                "pts_avg_season",
                "pts_std_l10",
                "minutes_avg_l10",
                "minutes_avg_season",
                "pts_per_minute_l10",
                "usage_rate_l10",
                "ts_pct_l10",
            ),  # fmt: skip
            on=keys,
            how="left",
        )
        .join(shot_profile.select(*keys, *[f"pts_share_{k}" for k in profiles.KINDS]), on=keys, how="left")
        .join(
            factors.select(
                *keys,
                "fatigue_score",
                "pace_score",
                "usage_spike_score",
                "matchup_score",
                "rest_advantage",
                "injury_risk",
                "recent_trend",
                "minutes_change",
            ),  # fmt: skip
            on=keys,
            how="left",
        )
        .join(team, on=["game_date", "team"], how="left")
        .join(opp, on=["game_date", "opponent"], how="left")
        .with_columns(
            pl.col("game_id").str.starts_with("004").alias("is_playoff"),
            pl.col("games_played_season").fill_null(0),
        )
    )
    real = {name: pl.col(name).is_not_null() for name in FEATURES}
    out = out.with_columns(
        pl.sum_horizontal(real.values()).alias("_n_real"),
        pl.concat_str(
            [pl.when(pl.col(n).is_null()).then(pl.lit(n)) for n in FEATURES], separator=",", ignore_nulls=True
        ).alias("defaulted_features"),
    )
    out = out.with_columns(_defaults())
    n = len(FEATURES)
    out = out.with_columns(
        pl.lit(FEATURE_VERSION).alias("feature_version"),
        (pl.col("_n_real") * (1.0 / n)).clip(0.0, 1.0).alias("feature_quality_score"),
        (n - pl.col("_n_real")).cast(pl.Int64).alias("n_default_features"),
    ).with_columns(
        (
            (pl.col("feature_quality_score") >= QUALITY_READY)
            & pl.col("games_played_season").gt(0)
            & pl.col("_real_core")
        ).alias("is_quality_ready")
    )
    if gaps is None:
        out = out.with_columns(pl.lit(None).alias("missing_history_dates"))
    else:
        out = out.join(gaps.select("game_date", "missing_history_dates"), on="game_date", how="left").with_columns(
            pl.col("missing_history_dates").fill_null("")
        )
    return out.select(schema.names()).cast(dict(schema)).sort("game_date", "game_id", "team", "player_id")


def history_gaps(days: list, schedule_history: pl.DataFrame, summary_history: pl.DataFrame) -> pl.DataFrame:
    """For each game date D of ``days``: the game days of the ``HISTORY_DAYS`` before D whose box
    scores are missing or incomplete in ``summary_history`` (``player_game_summary``): a final,
    not postponed game of ``schedule_history`` without both teams, or a team with fewer minutes than
    a complete box score has (``transforms.raw.box_completeness``). A day held back upstream, or
    never landed, is such a day. Only days of the stored schedule are known to have had games.

    Columns: ``game_date``, ``missing_history_days`` (count, for the checks and metadata),
    ``missing_history_dates`` (ISO dates, oldest first, comma-separated; "" when none: the feature
    store's column). A function of [D − 365, D − 1] only."""
    targets = pl.DataFrame({"game_date": sorted(set(days))}, schema={"game_date": pl.Date})
    incomplete = (
        box_completeness(summary_history, schedule_history)
        .filter(~pl.col("complete"))
        .select(pl.col("game_date").alias("gap"))
        .unique()
    )
    window = targets.join(incomplete, how="cross").filter(
        (pl.col("gap") < pl.col("game_date")) & (pl.col("gap") >= pl.col("game_date") - timedelta(days=HISTORY_DAYS))
    )
    per_day = window.group_by("game_date").agg(
        pl.len().cast(pl.Int64).alias("missing_history_days"),
        pl.col("gap").sort().dt.strftime("%Y-%m-%d").str.join(",").alias("missing_history_dates"),
    )
    return targets.join(per_day, on="game_date", how="left").with_columns(
        pl.col("missing_history_days").fill_null(0), pl.col("missing_history_dates").fill_null("")
    )


def possible_bounds() -> dict[str, tuple[float, float]]:
    """Each checked column's possible range (a value outside it is impossible)."""
    return {name: hard for name, (_, hard) in RANGES.items()}


def _defaults() -> list[pl.Expr]:
    exprs: list[pl.Expr] = [
        pl.all_horizontal(pl.col(c).is_not_null() for c in ("pts_avg_l5", "pts_avg_l10", "pts_std_l10")).alias(
            "_real_core"
        )
    ]
    for name, rule in FEATURES.items():
        col = pl.col(name)
        median = col.median().over("game_date")
        if rule is None:
            continue
        if rule == "median":
            filled = col.fill_null(median)
        elif rule == "zero":
            filled = col.fill_null(0)
        elif rule == "false":
            filled = col.fill_null(False)
        elif rule == "max_rest":
            filled = col.fill_null(MAX_REST_DAYS)
        elif rule == "league_win_pct":
            filled = col.fill_null(LEAGUE_WIN_PCT)
        else:  # a fallback column of the same quantity, then the day's median
            filled = pl.coalesce(col, pl.col(rule), median)
        exprs.append(filled.alias(name))
    return exprs


def zero_variance(frame: pl.DataFrame, games_per_day: pl.DataFrame, first_day) -> dict[str, object]:
    """(feature, day) pairs where a feature has a single distinct real value on a full day.

    Defaulted values (``defaulted_features``) are not real and are left out; a feature is judged
    on a day with ≥ ``FULL_DAY_GAMES`` games where ≥ ``MIN_REAL_VALUES`` rows carry it, outside
    the data's first ``WARMUP_DAYS`` days (``first_day``); structural constants are never judged,
    situational ones not on the days their condition holds.
    """
    full = games_per_day.filter(
        (pl.col("games") >= FULL_DAY_GAMES) & (pl.col("game_date") >= first_day + timedelta(days=WARMUP_DAYS))
    )["game_date"]
    names = [f for f in [*FEATURES, *LINE_FIELDS] if f not in STRUCTURAL_CONSTANTS]
    defaulted = pl.col("defaulted_features").fill_null("").str.split(",")
    day = frame.filter(pl.col("game_date").is_in(full.implode())).with_columns(
        pl.when(defaulted.list.contains(f)).then(None).otherwise(pl.col(f)).alias(f) for f in FEATURES
    )
    stats = day.group_by("game_date").agg(
        *[pl.col(f).drop_nulls().n_unique().alias(f"{f}__u") for f in names],
        *[pl.col(f).is_not_null().sum().alias(f"{f}__n") for f in names],
        *[cond.alias(f"_{name}") for name, (cond, _) in DAY_CONDITIONS.items()],
    )
    bad: list[tuple[str, str]] = []
    exempted: dict[str, int] = {}
    for f in names:
        const = stats.filter((pl.col(f"{f}__n") >= MIN_REAL_VALUES) & (pl.col(f"{f}__u") == 1))
        for cond in SITUATIONAL_CONSTANTS.get(f, []):
            held = const.filter(pl.col(f"_{cond}").fill_null(False))
            if held.height:
                exempted[f"{f}: {cond}"] = held.height
            const = const.filter(~pl.col(f"_{cond}").fill_null(False))
        bad.extend((f, d.isoformat()) for d in const["game_date"])
    return {
        "full_days": full.len(),
        "features_judged": len(names),
        "offending": bad,
        "structural_exempt": STRUCTURAL_CONSTANTS,
        "situational_exempt": {f: [DAY_CONDITIONS[c][1] for c in cs] for f, cs in SITUATIONAL_CONSTANTS.items()},
        "situational_exemptions_used": exempted,
    }
