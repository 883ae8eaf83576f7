"""Who is probably out tonight (``nba_precompute.player_availability``), from pre-tip lines only."""

import dagster as dg
import polars as pl

from nba_assets.assets.common import days_before, lake_asset, partition_metadata, same_day
from nba_assets.partitions import window_dates
from nba_assets.transforms import availability


def _day_metadata(day: pl.DataFrame) -> dict:
    if day.height == 0:
        return {"players": 0}
    signal = day.filter(pl.col("lines_signal"))
    return {
        "players": day.height,
        "rotation_players": int(day["is_rotation"].sum()),
        "lines_signal": signal.height > 0,
        "probably_out": int(signal["probably_out"].sum()) if signal.height else None,
    }


@lake_asset(
    availability.DATASET,
    availability.TABLE,
    group="precompute",
    ins={
        "schedule": same_day("nba_raw", "nbac_schedule"),
        "props": same_day("nba_raw", "odds_api_player_points_props"),
        # Each day cuts this to the 365 days strictly before it: the same rows whatever the run's range.
        "history": days_before("nba_analytics", "player_game_summary", availability.HISTORY_DAYS),
    },
    description="One row per player who appeared for a team playing on D in its last 10 games: his recent "
    "minutes, usage and points shares, role change, whether he has a pre-tip line tonight, probably_out "
    "(a rotation player without a line while teammates have one; null where the game has no line at all), "
    "and the minutes / usage / points shares his probably-out teammates vacate. Pre-tip information only.",
)
def player_availability(
    context: dg.AssetExecutionContext, schedule: pl.DataFrame, props: pl.DataFrame, history: pl.DataFrame
) -> pl.DataFrame:
    frame = availability.player_availability(schedule, props, history, window_dates(context))
    partition_metadata(context, frame, _day_metadata)
    return frame


@lake_asset(
    "nba_predictions",
    availability.MINUTES_TABLE,
    group="precompute",
    ins={
        "today": same_day(availability.DATASET, availability.TABLE),
        # The training days' availability is recomputed from what was known before each of them.
        "schedule": days_before("nba_raw", "nbac_schedule", availability.MINUTES_TRAIN_DAYS),
        "props": days_before("nba_raw", "odds_api_player_points_props", availability.MINUTES_TRAIN_DAYS),
        "history": days_before(
            "nba_analytics", "player_game_summary", availability.MINUTES_TRAIN_DAYS + availability.HISTORY_DAYS
        ),
    },
    description="The minutes model: expected minutes of every player of D's availability table (0 when he "
    "sits), a ridge fitted for D on the 91 days before it (recent minutes, games played, rotation, and "
    "where lines exist: has a line, probably out, vacated minutes × his share), and expected points = "
    "expected minutes × his recent points per minute.",
)
def player_minutes(
    context: dg.AssetExecutionContext,
    today: pl.DataFrame,
    schedule: pl.DataFrame,
    props: pl.DataFrame,
    history: pl.DataFrame,
) -> pl.DataFrame:
    frame = availability.minutes_from_history(today, schedule, props, history, window_dates(context))
    partition_metadata(context, frame, lambda day: {"players": day.height})
    return frame
