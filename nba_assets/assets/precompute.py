"""Phase 4: rolling caches, profiles, composite factors and the feature store, from before D only."""

from datetime import date

import dagster as dg
import polars as pl

from nba_assets.assets.analytics import HELD_BACK_CHECK, held_back_check, hold_back_impossible
from nba_assets.assets.common import days_before, lake_asset, partition_metadata, same_day
from nba_assets.partitions import FIRST_GAME_DATE, window_dates
from nba_assets.transforms import composite, profiles
from nba_assets.transforms.asof import HISTORY_DAYS
from nba_assets.transforms.features import (
    FEATURE_VERSION,
    FEATURES,
    LINE_FIELDS,
    RANGES,
    feature_store,
    history_gaps,
    possible_bounds,
    zero_variance,
)

PRECOMPUTE = "nba_precompute"
ANALYTICS = "nba_analytics"
STORE = [PRECOMPUTE, "ml_feature_store"]
UNIQUE_CHECK = "unique_game_date_player"
POSSIBLE_CHECK = "feature_values_possible"
VARIANCE_CHECK = "no_zero_variance_feature"
HISTORY_CHECK = "history_complete"
RANGE_CHECKS = {name: f"range_{name}" for name in RANGES}

CONTEXT = same_day(ANALYTICS, "upcoming_player_game_context")
HISTORY = days_before(ANALYTICS, "player_game_summary", HISTORY_DAYS)


@lake_asset(
    PRECOMPUTE,
    "player_daily_cache",
    group="precompute",
    ins={"players": CONTEXT, "history": HISTORY},
    description="One row per player expected on D: points, minutes, usage, efficiency over his last 5/10 "
    "games and the season, strictly before D.",
)
def player_daily_cache(context: dg.AssetExecutionContext, players: pl.DataFrame, history: pl.DataFrame) -> pl.DataFrame:
    return profiles.player_daily_cache(players, history)


@lake_asset(
    PRECOMPUTE,
    "player_shot_profile",
    group="precompute",
    ins={"players": CONTEXT, "history": HISTORY},
    description="One row per player expected on D: share of his points from 2PT/3PT/FT over his last 10 "
    "games before D, and his primary scoring kind.",
)
def player_shot_profile(
    context: dg.AssetExecutionContext, players: pl.DataFrame, history: pl.DataFrame
) -> pl.DataFrame:
    return profiles.player_shot_profile(players, history)


@lake_asset(
    PRECOMPUTE,
    "team_defense_profile",
    group="precompute",
    ins={
        "schedule": same_day("nba_raw", "nbac_schedule"),
        "defense": days_before(ANALYTICS, "team_defense_game_summary", HISTORY_DAYS),
    },
    description="One row per team playing on D: share of points allowed from 2PT/3PT/FT, defensive rating "
    "and pace over its last 15 games before D, against the league average as of D.",
)
def team_defense_profile(
    context: dg.AssetExecutionContext, schedule: pl.DataFrame, defense: pl.DataFrame
) -> pl.DataFrame:
    return profiles.team_defense_profile(schedule, defense)


@lake_asset(
    PRECOMPUTE,
    "player_composite_factors",
    group="precompute",
    ins={
        "players": CONTEXT,
        "teams": same_day(ANALYTICS, "upcoming_team_game_context"),
        "cache": same_day(PRECOMPUTE, "player_daily_cache"),
        "shots": same_day(PRECOMPUTE, "player_shot_profile"),
        "defense": same_day(PRECOMPUTE, "team_defense_profile"),
    },
    description="One row per player expected on D: fatigue, pace, usage spike, matchup, rest advantage, "
    "injury risk (games missed), recent trend and minutes change.",
)
def player_composite_factors(
    context: dg.AssetExecutionContext,
    players: pl.DataFrame,
    teams: pl.DataFrame,
    cache: pl.DataFrame,
    shots: pl.DataFrame,
    defense: pl.DataFrame,
) -> pl.DataFrame:
    return composite.player_composite_factors(players, teams, cache, shots, defense)


def _check_specs() -> list[dg.AssetCheckSpec]:
    specs = [
        dg.AssetCheckSpec(UNIQUE_CHECK, asset=STORE, blocking=True, description="One row per (game_date, player_id)."),
        dg.AssetCheckSpec(
            POSSIBLE_CHECK,
            asset=STORE,
            blocking=True,
            description="No stored feature holds an impossible value (a day that has one is held back).",
        ),
        dg.AssetCheckSpec(
            HELD_BACK_CHECK,
            asset=STORE,
            blocking=False,
            description="Lists the game dates held back because a feature is impossible on them (their "
            "partitions were not written; the other days were).",
        ),
        dg.AssetCheckSpec(
            HISTORY_CHECK,
            asset=STORE,
            blocking=False,
            description="Rows whose 365-day history misses game days (box scores held back, incomplete or "
            "never landed): a non-empty missing_history_dates. Warns, with the days.",
        ),
        dg.AssetCheckSpec(
            VARIANCE_CHECK,
            asset=STORE,
            description="No feature has a single real value on a full game day (documented exemptions listed).",
        ),
    ]
    for name, check in RANGE_CHECKS.items():
        (lo, hi), (hard_lo, hard_hi) = RANGES[name]
        specs.append(
            dg.AssetCheckSpec(
                check,
                asset=STORE,
                description=f"{name} within [{lo}, {hi}] (warning); outside [{hard_lo}, {hard_hi}] is impossible.",
            )
        )
    return specs


def _count(dates: str | None) -> int:
    """How many dates a ``missing_history_dates`` value lists."""
    return len(dates.split(",")) if dates else 0


def range_report(frame: pl.DataFrame, name: str) -> dict:
    (lo, hi), (hard_lo, hard_hi) = RANGES[name]
    col = pl.col(name).cast(pl.Float64)
    stats = frame.select(
        col.min().alias("min"),
        col.max().alias("max"),
        col.mean().alias("mean"),
        col.null_count().alias("nulls"),
        ((col < lo) | (col > hi)).sum().alias("outside_plausible"),
        ((col < hard_lo) | (col > hard_hi)).sum().alias("impossible"),
    ).row(0, named=True)
    return {**stats, "plausible_range": f"[{lo}, {hi}]", "possible_range": f"[{hard_lo}, {hard_hi}]"}


@lake_asset(
    PRECOMPUTE,
    "ml_feature_store",
    group="precompute",
    ins={
        "players": CONTEXT,
        "teams": same_day(ANALYTICS, "upcoming_team_game_context"),
        "cache": same_day(PRECOMPUTE, "player_daily_cache"),
        "shots": same_day(PRECOMPUTE, "player_shot_profile"),
        "defense": same_day(PRECOMPUTE, "team_defense_profile"),
        "factors": same_day(PRECOMPUTE, "player_composite_factors"),
        # The schedule of D and of the 365 days before it (one asset is one input): the days before
        # say which history days had games (missing_history_dates).
        "schedule": dg.AssetIn(
            key=["nba_raw", "nbac_schedule"],
            partition_mapping=dg.TimeWindowPartitionMapping(
                start_offset=-HISTORY_DAYS, end_offset=0, allow_nonexistent_upstream_partitions=True
            ),
        ),
        "history": HISTORY,
    },
    check_specs=_check_specs(),
    metadata={"feature_version": FEATURE_VERSION, "features": len(FEATURES)},
    description="One row per player expected on D: the model features (all from before D), feature_version, "
    "feature_quality_score (share of features from real data) and is_quality_ready.",
)
def ml_feature_store(
    context: dg.AssetExecutionContext,
    players: pl.DataFrame,
    teams: pl.DataFrame,
    cache: pl.DataFrame,
    shots: pl.DataFrame,
    defense: pl.DataFrame,
    factors: pl.DataFrame,
    schedule: pl.DataFrame,
    history: pl.DataFrame,
):
    days = window_dates(context)
    gaps = history_gaps(days, schedule, history)
    schedule = schedule.filter(pl.col("game_date") >= days[0])
    frame = feature_store(players, teams, cache, shots, defense, factors, gaps)
    # A day with an impossible value is held back (not written; the IO manager leaves it out), the
    # other days are stored: the checks below judge what is stored.
    bad = hold_back_impossible(context, frame, possible_bounds(), "player_lookup")
    held = bad["game_date"].unique()
    stored = frame.filter(~pl.col("game_date").is_in(held.implode()))
    partition_metadata(
        context,
        stored,
        lambda day: {
            "mean_feature_quality_score": round(float(day["feature_quality_score"].mean()), 4) if day.height else None,
            "quality_ready_rows": int(day["is_quality_ready"].sum()),
            "missing_history_days": _count(day["missing_history_dates"][0]) if day.height else None,
            "missing_history_dates": (day["missing_history_dates"][0] or None) if day.height else None,
        },
    )
    yield dg.Output(frame)
    frame = stored
    yield held_back_check(bad, "a feature is impossible on them")
    gapped = frame.filter(pl.col("missing_history_dates") != "")
    gap_days = gapped.select("missing_history_dates").unique()["missing_history_dates"].str.split(",").explode()
    yield dg.AssetCheckResult(
        check_name=HISTORY_CHECK,
        passed=gapped.height == 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "rows_with_missing_history": gapped.height,
            "game_dates_affected": gapped["game_date"].n_unique(),
            "missing_history_dates": ", ".join(sorted(set(gap_days.to_list()))[:50]),
        },
    )
    dupes = frame.group_by("game_date", "player_id").len().filter(pl.col("len") > 1)
    yield dg.AssetCheckResult(
        check_name=UNIQUE_CHECK,
        passed=dupes.height == 0,
        metadata={"duplicate_keys": dupes.height, "examples": str(dupes.head(5).rows())},
    )
    reports = {name: range_report(frame, name) for name in RANGES}
    impossible = {name: r["impossible"] for name, r in reports.items() if r["impossible"]}
    yield dg.AssetCheckResult(
        check_name=POSSIBLE_CHECK,
        passed=not impossible,
        metadata={"impossible_values": impossible, "features_checked": len(reports)},
    )
    for name, report in reports.items():
        yield dg.AssetCheckResult(
            check_name=RANGE_CHECKS[name],
            passed=report["outside_plausible"] == 0,
            severity=dg.AssetCheckSeverity.ERROR if report["impossible"] else dg.AssetCheckSeverity.WARN,
            metadata={k: (v if v is not None else "null") for k, v in report.items()},
        )
    games = schedule.filter(~pl.col("postponed").fill_null(False)).group_by("game_date").len("games")
    variance = zero_variance(frame, games, date.fromisoformat(FIRST_GAME_DATE))
    yield dg.AssetCheckResult(
        check_name=VARIANCE_CHECK,
        passed=not variance["offending"],
        metadata={
            "full_days_checked": variance["full_days"],
            "features_judged": variance["features_judged"],
            "offending": str(variance["offending"][:20]),
            "offending_count": len(variance["offending"]),
            "structural_exempt": variance["structural_exempt"],
            "situational_exempt": variance["situational_exempt"],
            "situational_exemptions_used": variance["situational_exemptions_used"],
            "line_fields_null_without_line": LINE_FIELDS,
        },
    )
