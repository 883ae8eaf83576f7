"""Phase 2: raw tables parsed from the landing zone only (the ``landing/*`` assets call the APIs).

Re-materializing a raw table replays the current parsers over the bodies already landed for its
window, without any request: schedule and box scores from the newest complete fetch of each day,
props from every snapshot ever landed for the day (snapshots accumulate). Every asset computes its
whole partition window in one run (``BackfillPolicy.single_run()``).
"""

import os
from collections import defaultdict
from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg
import polars as pl

from nba_assets import config
from nba_assets.assets.common import days_before, lake_asset, partition_metadata, same_day
from nba_assets.assets.ingest import PROPS_FEED, SCHEDULE_FEED, STATS_FEED, final_game_days
from nba_assets.partitions import window_dates
from nba_assets.schemas import schema_for
from nba_assets.sources.landing import LandedFile, fetch_records, latest_fetches
from nba_assets.transforms.raw import (
    attach_games_and_players,
    parse_bdl_stats,
    parse_event_snapshot,
    parse_schedule,
    unresolved_names,
)

RAW = "nba_raw"
ROSTER_HISTORY_DAYS = 365
UNRESOLVED_CHECK = "unresolved_names_per_day"
UNRESOLVED_THRESHOLD_ENV = "NBA_UNRESOLVED_NAMES_WARN_THRESHOLD"
UNRESOLVED_THRESHOLD_DEFAULT = 5


def unresolved_threshold() -> int:
    """Most unresolved names a day may have before the check warns (``$NBA_UNRESOLVED_NAMES_WARN_THRESHOLD``)."""
    return int(os.environ.get(UNRESOLVED_THRESHOLD_ENV) or UNRESOLVED_THRESHOLD_DEFAULT)


def _landing() -> Path:
    return config.landing_dir()


def _require(records: dict[date, object], days: list[date], asset: str) -> None:
    missing = [d for d in days if d not in records]
    if missing:
        shown = ", ".join(d.isoformat() for d in missing[:5])
        raise dg.Failure(
            description=(
                f"no complete landing of {asset} for {len(missing)} game date(s) ({shown}"
                f"{', ...' if len(missing) > 5 else ''}) under {_landing()}: materialize {asset} for them first"
            ),
            allow_retries=False,
        )


@lake_asset(
    RAW,
    "nbac_schedule",
    group="raw",
    deps=[dg.AssetKey(["landing", "nba_schedule_payloads"])],
    description="NBA.com scheduleLeagueV2 (from landing): one row per game with ET game date, tip-off (UTC), teams.",
)
def nbac_schedule(context: dg.AssetExecutionContext) -> pl.DataFrame:
    days = window_dates(context)
    root = _landing()
    records = latest_fetches(root, SCHEDULE_FEED, days)
    _require(records, days, "landing/nba_schedule_payloads")
    days_by_file: dict[str, set[date]] = defaultdict(set)
    for day, record in records.items():
        for file in record.files:
            days_by_file[file.path].add(day)
    frames = [
        parse_schedule([LandedFile(path, "schedule").body(root)], wanted, source=f"nba schedule landing/{path}")
        for path, wanted in sorted(days_by_file.items())
    ]
    frame = pl.concat(frames).unique("game_id", keep="last").sort("game_date", "game_id")
    context.log.info(f"schedule: {frame.height} games on {frame['game_date'].n_unique()} of {len(days)} days")
    return frame


@lake_asset(
    RAW,
    "bdl_player_boxscores",
    group="raw",
    deps=[dg.AssetKey(["landing", "bdl_stats_payloads"])],
    ins={"nbac_schedule": same_day(RAW, "nbac_schedule")},
    description="balldontlie /v1/stats (from landing): one row per player per game played, keyed by nba.com ids.",
)
def bdl_player_boxscores(context: dg.AssetExecutionContext, nbac_schedule: pl.DataFrame) -> pl.DataFrame:
    root = _landing()
    days = final_game_days(nbac_schedule)
    records = latest_fetches(root, STATS_FEED, days)
    _require(records, days, "landing/bdl_stats_payloads")
    pages = {day: [(f"landing/{f.path}", f.raw(root)) for f in records[day].files] for day in days}
    frame = parse_bdl_stats(pages, nbac_schedule)
    unresolved = frame.filter(pl.col("player_id").is_null())
    if unresolved.height:
        context.log.warning(
            f"{unresolved.height} box-score rows have no nba.com player id: "
            f"{unresolved['player_name'].unique().head(10).to_list()}"
        )
    return frame


def _snapshot_frames(root: Path, file: LandedFile, day: date) -> pl.DataFrame:
    """One landed event-odds body: a historical body carries its snapshot time; a live body's
    snapshot is the moment it was fetched (from its ``.meta.json``)."""
    meta = file.meta(root)
    historical = "/historical/" in meta["url"]
    return parse_event_snapshot(file.raw(root), historical, _utc(meta["fetched_at"]), day, file=f"landing/{file.path}")


def _utc(value: str | None) -> datetime | None:
    if not value:
        return None
    if "-" not in value[:8]:  # a landing stamp: 20241101T143000123456Z
        return datetime.strptime(value, "%Y%m%dT%H%M%S%fZ").replace(tzinfo=UTC)
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


@lake_asset(
    RAW,
    "odds_api_player_points_props",
    group="raw",
    deps=[dg.AssetKey(["landing", "odds_player_points_payloads"])],
    ins={
        "nbac_schedule": same_day(RAW, "nbac_schedule"),
        "box_history": days_before(RAW, "bdl_player_boxscores", ROSTER_HISTORY_DAYS),
    },
    description=(
        "The Odds API player_points lines (regions us and us_dfs; from landing): every snapshot ever landed × "
        "book × player × line, with minutes_before_tipoff. Past dates use historical snapshots before tip-off."
    ),
)
def odds_api_player_points_props(
    context: dg.AssetExecutionContext, nbac_schedule: pl.DataFrame, box_history: pl.DataFrame
) -> pl.DataFrame:
    root = _landing()
    frames = []
    game_days = sorted(nbac_schedule.filter(~pl.col("postponed"))["game_date"].unique().to_list())
    files_by_day: dict = {}
    for day in game_days:
        # Every complete fetch of the day, oldest first; a snapshot landed twice keeps its newest copy.
        seen: dict[str, LandedFile] = {}
        for record in fetch_records(root, PROPS_FEED, day):
            for file in record.files:
                if file.kind == "event_odds":
                    seen[file.path] = file
        day_frames = [_snapshot_frames(root, f, day) for f in seen.values()]
        files_by_day[day] = len(day_frames)
        props = [f for f in day_frames if f.height]
        if not props:
            continue
        day_props = pl.concat(props, how="diagonal_relaxed").unique(
            ["event_id", "snapshot_utc", "bookmaker", "player_name_quoted", "line"], keep="last", maintain_order=True
        )
        rosters = (
            box_history.filter(pl.col("game_date") < day).sort("game_date").select("player_lookup", "player_id", "team")
        )
        frames.append(attach_games_and_players(day_props, nbac_schedule, rosters))
    frame = pl.concat(frames) if frames else pl.DataFrame(schema=schema_for(RAW, "odds_api_player_points_props"))
    context.log.info(f"odds: parsed {sum(files_by_day.values())} landed files of {len(files_by_day)} game days")
    partition_metadata(
        context,
        frame,
        lambda day: {
            "landed_files_parsed": files_by_day.get(day["game_date"][0]) if day.height else None,
            "snapshots": day["snapshot_utc"].n_unique(),
        },
    )
    return frame


@lake_asset(
    RAW,
    "unresolved_player_names",
    group="raw",
    ins={
        "props": same_day(RAW, "odds_api_player_points_props"),
        "box": same_day(RAW, "bdl_player_boxscores"),
    },
    check_specs=[
        dg.AssetCheckSpec(
            UNRESOLVED_CHECK,
            asset=[RAW, "unresolved_player_names"],
            blocking=False,
            description=(
                f"Warns when a game date has more unresolved player names than ${UNRESOLVED_THRESHOLD_ENV} "
                f"(default {UNRESOLVED_THRESHOLD_DEFAULT}); add them to reference/player_aliases.csv."
            ),
        )
    ],
    description=(
        "Names (book-quoted or balldontlie) that matched no nba.com player id after the exact, alias and "
        "same-game fuzzy steps: one row per game date, source and name, with how many rows carried it."
    ),
)
def unresolved_player_names(context: dg.AssetExecutionContext, props: pl.DataFrame, box: pl.DataFrame):
    frame = unresolved_names(props, box)
    yield dg.Output(frame)
    threshold = unresolved_threshold()
    per_day = frame.group_by("game_date").agg(pl.col("player_name").n_unique().alias("names")).sort("game_date")
    over = per_day.filter(pl.col("names") > threshold)
    yield dg.AssetCheckResult(
        check_name=UNRESOLVED_CHECK,
        passed=over.height == 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "threshold": threshold,
            "days_over_threshold": over.height,
            "max_names_per_day": int(per_day["names"].max() or 0),
            "examples": str(over.head(5).rows()),
            "unresolved_rows": frame.height,
        },
    )
