"""Phases 1–2: call the APIs (bodies landed untouched first), parse into raw tables.

Every asset computes its whole partition window in one run (``BackfillPolicy.single_run()``), so
the same code serves one game date or four seasons.
"""

from datetime import UTC, date, datetime, time, timedelta

import dagster as dg
import polars as pl

from nba_assets.assets.common import days_before, lake_asset, same_day
from nba_assets.partitions import window_dates
from nba_assets.resources import NbaApis
from nba_assets.schemas import schema_for
from nba_assets.sources.clients import ET, season_of
from nba_assets.transforms.raw import attach_games_and_players, parse_bdl_stats, parse_event_props, parse_schedule

RAW = "nba_raw"
SNAPSHOT_LEADS = (timedelta(hours=6), timedelta(minutes=30))  # historical snapshots before each tip-off
ROSTER_HISTORY_DAYS = 365


def _today_et() -> date:
    return datetime.now(ET).date()


@lake_asset(
    RAW,
    "nbac_schedule",
    group="raw",
    description="NBA.com scheduleLeagueV2: one row per game with ET game date, tip-off (UTC), teams, status.",
    pool="nba_cdn",
)
def nbac_schedule(context: dg.AssetExecutionContext, apis: NbaApis) -> pl.DataFrame:
    days = window_dates(context)
    client = apis.schedule()
    bodies = []
    for season in sorted({season_of(d) for d in days}):
        first = min(d for d in days if season_of(d) == season)
        bodies.append(client.season_schedule(season, first))
    frame = parse_schedule(bodies, set(days))
    context.log.info(f"schedule: {frame.height} games on {frame['game_date'].n_unique()} of {len(days)} days")
    return frame


@lake_asset(
    RAW,
    "bdl_player_boxscores",
    group="raw",
    ins={"nbac_schedule": same_day(RAW, "nbac_schedule")},
    description="balldontlie /v1/stats: one row per player per game played, keyed by nba.com ids.",
    pool="balldontlie",
)
def bdl_player_boxscores(context: dg.AssetExecutionContext, apis: NbaApis, nbac_schedule: pl.DataFrame) -> pl.DataFrame:
    client = apis.balldontlie()
    final_days = sorted(
        nbac_schedule.filter((pl.col("game_status") == 3) & ~pl.col("postponed"))["game_date"].unique().to_list()
    )
    frame = parse_bdl_stats({day: client.stats(day) for day in final_days}, nbac_schedule)
    unresolved = frame.filter(pl.col("player_id").is_null())
    if unresolved.height:
        context.log.warning(
            f"{unresolved.height} box-score rows have no nba.com player id: "
            f"{unresolved['player_name'].unique().head(10).to_list()}"
        )
    return frame


@lake_asset(
    RAW,
    "odds_api_player_points_props",
    group="raw",
    ins={
        "nbac_schedule": same_day(RAW, "nbac_schedule"),
        "box_history": days_before(RAW, "bdl_player_boxscores", ROSTER_HISTORY_DAYS),
    },
    description=(
        "The Odds API player_points lines (regions us and us_dfs): every snapshot × book × player × line, "
        "with minutes_before_tipoff. Past dates use historical snapshots taken before each tip-off."
    ),
    pool="odds_api",
)
def odds_api_player_points_props(
    context: dg.AssetExecutionContext, apis: NbaApis, nbac_schedule: pl.DataFrame, box_history: pl.DataFrame
) -> pl.DataFrame:
    client = apis.odds()
    regions = "us,us_dfs"
    now = datetime.now(UTC)
    frames = []
    game_days = sorted(nbac_schedule.filter(~pl.col("postponed"))["game_date"].unique().to_list())
    for day in game_days:
        live = day >= _today_et()
        at = None if live else min(now, datetime.combine(day, time(10), ET).astimezone(UTC))
        _, events = client.events(day, at)
        day_frames = []
        for event in events:
            commence = datetime.fromisoformat(event["commence_time"].replace("Z", "+00:00"))
            if live:
                if commence > now:
                    snap, body = client.event_player_points(event["id"], regions, day, None)
                    day_frames.append(parse_event_props(body, snap, day))
                continue
            seen = set()
            for lead in SNAPSHOT_LEADS:
                snap, body = client.event_player_points(event["id"], regions, day, commence - lead)
                if snap in seen:
                    continue
                seen.add(snap)
                day_frames.append(parse_event_props(body, snap, day))
        props = [f for f in day_frames if f.height]
        if not props:
            continue
        rosters = (
            box_history.filter(pl.col("game_date") < day).sort("game_date").select("player_lookup", "player_id", "team")
        )
        frames.append(attach_games_and_players(pl.concat(props, how="diagonal_relaxed"), nbac_schedule, rosters))
    frame = pl.concat(frames) if frames else pl.DataFrame(schema=schema_for(RAW, "odds_api_player_points_props"))
    context.add_output_metadata({"odds_api_quota": dict(client.quota), "snapshots": frame["snapshot_utc"].n_unique()})
    return frame
