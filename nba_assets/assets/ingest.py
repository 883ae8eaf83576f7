"""Phase 1: call the APIs and land their bodies untouched; nothing here parses into tables.

Each asset fetches what its feed needs for every game date of the run's window (one run serves one
day or four seasons), lands every body (``landing/<source>/<game_date>/``) and appends one fetch
record per complete day (``landing/_fetches/<feed>/<game_date>/``, see ``sources/landing.py``). The
raw tables in ``assets/raw.py`` parse those landed files only, so they can be rebuilt from landing
at any time without calling an API. One concurrency pool per API; a ``RetryPolicy`` re-runs a step
whose requests kept failing after the HTTP layer's own bounded retries.
"""

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import dagster as dg
import polars as pl

from nba_assets.assets.common import lake_asset, same_day
from nba_assets.partitions import window_dates
from nba_assets.resources import NbaApis
from nba_assets.sources.clients import ET, season_of
from nba_assets.sources.http import BadBodyError, RequestRejected
from nba_assets.sources.landing import fetch_records, write_fetch

LANDING = "landing"
SCHEDULE_FEED = "nba_schedule"
STATS_FEED = "bdl_stats"
PROPS_FEED = "odds_player_points"
PROPS_REGIONS = "us,us_dfs"
# A past day's historical snapshots, taken this long before each tip-off (the live plan of today's
# snapshots is the edge's: ``nba_assets.edge.SNAPSHOT_LEADS``).
HISTORICAL_SNAPSHOT_LEADS = (timedelta(hours=6), timedelta(minutes=30))
# Steps whose requests still failed after the HTTP retries run again later (rate limits, outages).
INGEST_RETRY = dg.RetryPolicy(max_retries=2, delay=30, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)


class OddsIngestConfig(dg.Config):
    """Past days' historical snapshots never change: a day already landed is skipped (no quota spent,
    also when a Dagster retry re-runs the window) unless ``refetch_history`` is set."""

    refetch_history: bool = False


def _ingest_asset(feed: str, *, description: str, pool: str, ins=None):
    """The landing asset of ``feed``: the game-date factory with the feed's API pool and the retry policy."""
    return lake_asset(
        LANDING,
        f"{feed}_payloads",
        group="ingest",
        description=description,
        ins=ins,
        metadata={"landing_feed": feed},
        columns=False,
        pool=pool,
        retry_policy=INGEST_RETRY,
    )


def _landing_root(apis: NbaApis) -> Path:
    return apis.landing_root()


def _final(failure: Exception) -> Exception:
    """A body that is not JSON after every attempt, or a request the API rejected (4xx but 429:
    a bad key, a bad request), is not retried by Dagster either."""
    if isinstance(failure, BadBodyError | RequestRejected):
        return dg.Failure(description=str(failure), allow_retries=False)
    return failure


@_ingest_asset(
    SCHEDULE_FEED,
    pool="nba_cdn",
    description=(
        "Lands NBA.com scheduleLeagueV2 (CDN for the current season, stats.nba.com for past seasons) "
        "once per season of the window, with a fetch record for every game date it covers."
    ),
)
def nba_schedule_payloads(context: dg.AssetExecutionContext, apis: NbaApis) -> dg.MaterializeResult:
    days = window_dates(context)
    root = _landing_root(apis)
    client = apis.schedule()
    landed = 0
    for season in sorted({season_of(d) for d in days}):
        season_days = [d for d in days if season_of(d) == season]
        try:
            fetched = client.season_schedule(season, season_days[0])
        except Exception as exc:
            raise _final(exc) from exc
        landed += 1
        for day in season_days:
            write_fetch(root, SCHEDULE_FEED, day, [(fetched.path, "schedule")], copy=apis.mirror_landed)
    context.log.info(f"schedule: landed {landed} season bodies for {len(days)} days")
    return dg.MaterializeResult(metadata={"files_landed": landed, "days": len(days), "landing": str(root)})


@_ingest_asset(
    STATS_FEED,
    pool="balldontlie",
    ins={"nbac_schedule": same_day("nba_raw", "nbac_schedule")},
    description=(
        "Lands balldontlie /v1/stats pages (cursor pagination, per_page=100) for every game date of the "
        "window whose games are final in the schedule."
    ),
)
def bdl_stats_payloads(
    context: dg.AssetExecutionContext, apis: NbaApis, nbac_schedule: pl.DataFrame
) -> dg.MaterializeResult:
    root = _landing_root(apis)
    client = apis.balldontlie()
    days = final_game_days(nbac_schedule)
    pages = 0
    for day in days:
        try:
            fetched = client.stats(day)
        except Exception as exc:
            raise _final(exc) from exc
        pages += len(fetched)
        write_fetch(root, STATS_FEED, day, [(f.path, "stats_page") for f in fetched], copy=apis.mirror_landed)
    context.log.info(f"balldontlie stats: landed {pages} pages for {len(days)} final game days")
    return dg.MaterializeResult(metadata={"files_landed": pages, "game_days_fetched": len(days)})


def final_game_days(schedule: pl.DataFrame) -> list[date]:
    """Game dates whose games are final (box scores exist) and not postponed."""
    finals = schedule.filter((pl.col("game_status") == 3) & ~pl.col("postponed"))
    return sorted(finals["game_date"].unique().to_list())


@_ingest_asset(
    PROPS_FEED,
    pool="odds_api",
    ins={"nbac_schedule": same_day("nba_raw", "nbac_schedule")},
    description=(
        "Lands The Odds API events and player_points odds (regions us and us_dfs) for every game date of "
        "the window: live snapshots for today and later, historical snapshots before each tip-off for "
        "past dates. Every run adds snapshots; none is replaced."
    ),
)
def odds_player_points_payloads(
    context: dg.AssetExecutionContext,
    config: OddsIngestConfig,
    apis: NbaApis,
    nbac_schedule: pl.DataFrame,
) -> dg.MaterializeResult:
    root = _landing_root(apis)
    client = apis.odds()
    clock = apis.clock()  # the definitions' clock (its state file), carried by the API resource
    now = clock.now(context.instance)
    today = now.astimezone(ET).date()
    game_days = sorted(nbac_schedule.filter(~pl.col("postponed"))["game_date"].unique().to_list())
    landed = snapshots = skipped = 0
    for day in game_days:
        if day < today and not config.refetch_history and fetch_records(root, PROPS_FEED, day):
            skipped += 1
            continue
        try:
            files, day_snapshots = _fetch_props_day(client, day, now, today, replayed=clock.replayed)
        except Exception as exc:
            raise _final(exc) from exc
        landed += len(files)
        snapshots += day_snapshots
        write_fetch(root, PROPS_FEED, day, files, copy=apis.mirror_landed)
    context.log.info(
        f"odds api: landed {landed} bodies, {snapshots} event snapshots, {skipped} past days already landed, "
        f"quota {client.quota}"
    )
    return dg.MaterializeResult(
        metadata={
            "files_landed": landed,
            "event_snapshots": snapshots,
            "past_days_already_landed": skipped,
            "requests": client.requests,
            "x-requests-remaining": client.quota.get("x-requests-remaining", "n/a"),
            "x-requests-used": client.quota.get("x-requests-used", "n/a"),
        }
    )


def _fetch_props_day(
    client, day: date, now: datetime, today: date, *, replayed: bool = False
) -> tuple[list[tuple[Path | None, str]], int]:
    """Live snapshots for today and later; historical ones before each tip-off for past days. On a
    replayed clock, today and later are historical snapshots *at the clock's now* (the archive
    answers the latest snapshot before it): a live body is stamped with the wall clock's fetch
    time, which a replayed day cannot use."""
    live = day >= today and not replayed
    as_of_now = replayed and day >= today
    at = None if live else (now if as_of_now else min(now, datetime.combine(day, time(10), ET).astimezone(UTC)))
    fetched, events = client.events(day, at)
    files: list[tuple[Path | None, str]] = [(fetched.path, "events")]
    snapshots = 0
    for event in events:
        commence = datetime.fromisoformat(event["commence_time"].replace("Z", "+00:00"))
        if live:
            if commence > now:
                files.append((client.event_player_points(event["id"], PROPS_REGIONS, day, None).path, "event_odds"))
                snapshots += 1
            continue
        if as_of_now:
            if commence > now:
                files.append((client.event_player_points(event["id"], PROPS_REGIONS, day, now).path, "event_odds"))
                snapshots += 1
            continue
        for lead in HISTORICAL_SNAPSHOT_LEADS:
            odds = client.event_player_points(event["id"], PROPS_REGIONS, day, commence - lead)
            files.append((odds.path, "event_odds"))
            snapshots += 1
    return files, snapshots
