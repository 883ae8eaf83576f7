"""Phase 3: analytics tables (game summaries, and the context of the games of D)."""

import dagster as dg
import polars as pl

from nba_assets.assets.common import days_before, lake_asset, same_day
from nba_assets.io.manager import hold_back
from nba_assets.transforms import analytics as summaries
from nba_assets.transforms import contexts
from nba_assets.transforms.asof import HISTORY_DAYS

ANALYTICS = "nba_analytics"
UNIQUE_CHECK = "unique_game_player"
HELD_BACK_CHECK = "held_back_impossible_days"


def hold_back_impossible(context: dg.AssetExecutionContext, frame: pl.DataFrame, bounds, label: str) -> pl.DataFrame:
    """Holds back every day of ``frame`` that has a value outside ``bounds`` (its partition is not
    written; a stored one is kept), says so in the run log and in that day's metadata, and returns
    the ``impossible_days`` rows (for the check)."""
    bad = summaries.impossible_days(frame, bounds, label)
    table = context.asset_key.to_user_string()
    for (day,), part in bad.partition_by("game_date", as_dict=True).items() if bad.height else []:
        meta = summaries.describe_impossible(part, bounds, table)
        context.log.warning(f"held back {table} for {day.isoformat()}: impossible value(s): {meta['held_back_error']}")
        hold_back(context, day, {"held_back_source": table, "held_back_file": "", **meta})
    return bad


def held_back_check(bad: pl.DataFrame, what: str) -> dg.AssetCheckResult:
    """The non-blocking check that lists the days held back for impossible values (WARN)."""
    return dg.AssetCheckResult(
        check_name=HELD_BACK_CHECK,
        passed=bad.height == 0,
        severity=dg.AssetCheckSeverity.WARN,
        description=None if bad.height == 0 else f"{bad['game_date'].n_unique()} day(s) held back: {what}",
        metadata={
            "held_back_days": bad["game_date"].n_unique(),
            "days": ", ".join(
                f"{r['game_date'].isoformat()} {r['field']} ({r['rows']} rows, min {r['min']:.1f}, max {r['max']:.1f})"
                for r in bad.head(20).iter_rows(named=True)
            )
            + (", ..." if bad.height > 20 else ""),
        },
    )


@lake_asset(
    ANALYTICS,
    "player_game_summary",
    group="analytics",
    ins={
        "box": same_day("nba_raw", "bdl_player_boxscores"),
        "schedule": same_day("nba_raw", "nbac_schedule"),
        "props": same_day("nba_raw", "odds_api_player_points_props"),
    },
    check_specs=[
        dg.AssetCheckSpec(
            UNIQUE_CHECK,
            asset=[ANALYTICS, "player_game_summary"],
            blocking=True,
            description="(game_id, player_id) is unique: one row per player per game.",
        )
    ],
    description="One row per player per game played: box score, points by kind, TS%, eFG%, usage, pre-tip "
    "line and its result (did-not-play rows left out).",
)
def player_game_summary(
    context: dg.AssetExecutionContext, box: pl.DataFrame, schedule: pl.DataFrame, props: pl.DataFrame
):
    frame = summaries.player_game_summary(box, schedule, props)
    identified = box.filter(pl.col("player_id").is_not_null())
    yield dg.Output(
        frame,
        metadata={
            "rows_without_player_id_dropped": box.height - identified.height,
            "dnp_rows_dropped": int(summaries.is_dnp(identified).sum()) if identified.height else 0,
        },
    )
    dupes = frame.group_by("game_id", "player_id").len().filter(pl.col("len") > 1)
    yield dg.AssetCheckResult(
        check_name=UNIQUE_CHECK,
        passed=dupes.height == 0,
        metadata={"duplicate_keys": dupes.height, "examples": str(dupes.head(5).select("game_id", "player_id").rows())},
    )


@lake_asset(
    ANALYTICS,
    "team_offense_game_summary",
    group="analytics",
    ins={
        "box": same_day("nba_raw", "bdl_player_boxscores"),
        "schedule": same_day("nba_raw", "nbac_schedule"),
    },
    check_specs=[
        dg.AssetCheckSpec(
            HELD_BACK_CHECK,
            asset=[ANALYTICS, "team_offense_game_summary"],
            blocking=False,
            description="Lists the game dates held back because a team-game's pace or rating is impossible "
            "(partial box scores undercount possessions); their partitions were not written.",
        )
    ],
    description="One row per team per game: totals, possessions (FGA+0.44·FTA+TOV−OREB), offensive rating, "
    "pace, share of points from 2PT/3PT/FT. A day with an impossible pace or rating is held back.",
)
def team_offense_game_summary(context: dg.AssetExecutionContext, box: pl.DataFrame, schedule: pl.DataFrame):
    frame = summaries.team_offense_game_summary(box, schedule)
    bad = hold_back_impossible(context, frame, summaries.GAME_POSSIBLE, "game_id")
    yield dg.Output(frame)
    yield held_back_check(bad, "a team-game's pace or rating is impossible (partial box scores?)")


@lake_asset(
    ANALYTICS,
    "team_defense_game_summary",
    group="analytics",
    ins={"offense": same_day(ANALYTICS, "team_offense_game_summary")},
    description="One row per team per game: points and shooting allowed, defensive rating, share of points "
    "allowed from 2PT/3PT/FT.",
)
def team_defense_game_summary(context: dg.AssetExecutionContext, offense: pl.DataFrame) -> pl.DataFrame:
    return summaries.team_defense_game_summary(offense)


@lake_asset(
    ANALYTICS,
    "upcoming_player_game_context",
    group="analytics",
    ins={
        "schedule": same_day("nba_raw", "nbac_schedule"),
        "props": same_day("nba_raw", "odds_api_player_points_props"),
        # The days strictly before each game date: D's box scores are never loaded.
        "history": days_before(ANALYTICS, "player_game_summary", HISTORY_DAYS),
    },
    metadata={"roster_games": contexts.ROSTER_GAMES},
    description="One row per player expected on D (schedule + rosters of earlier games + pre-tip lines): "
    "rest, back-to-back, games and minutes in the last 7/14 days, current and opening pre-tip line.",
)
def upcoming_player_game_context(
    context: dg.AssetExecutionContext, schedule: pl.DataFrame, props: pl.DataFrame, history: pl.DataFrame
) -> dg.Output:
    frame = contexts.upcoming_player_game_context(schedule, props, history)
    sources = dict(frame["roster_source"].value_counts().iter_rows()) if frame.height else {}
    return dg.Output(frame, metadata={f"players_from_{k}": v for k, v in sources.items()})


@lake_asset(
    ANALYTICS,
    "upcoming_team_game_context",
    group="analytics",
    ins={
        "schedule": same_day("nba_raw", "nbac_schedule"),
        "offense": days_before(ANALYTICS, "team_offense_game_summary", HISTORY_DAYS),
    },
    description="One row per team playing on D: rest, back-to-back, streaks, season record, recent pace and "
    "ratings, all from games before D.",
)
def upcoming_team_game_context(
    context: dg.AssetExecutionContext, schedule: pl.DataFrame, offense: pl.DataFrame
) -> pl.DataFrame:
    return contexts.upcoming_team_game_context(schedule, offense)
