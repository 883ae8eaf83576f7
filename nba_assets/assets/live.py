"""The live export: games as they happen (issue 15).

Two assets on the game-date partitions:

- ``landing/live_payloads`` (group ``ingest``, an edge asset: requested by ``live_games_sensor``
  every 3 minutes while D's games are on, never by an automation condition): lands stats.nba.com
  ``scoreboardv2`` and balldontlie ``/v1/box_scores`` for each game date of the window that has
  games in the stored schedule, untouched, with a fetch record per day
  (``landing/_fetches/live/<date>/``; a day without games gets an empty record).
- ``exports/live_json`` (group ``live``): parses the newest live fetch of each day **from landing
  only** and writes ``exports/v1/live/{date}.json`` (each game's status, score, period and clock,
  each lined player's points so far) and ``exports/v1/live-grading/{date}.json`` (each OVER/UNDER
  call of D's ``player_prop_predictions``: pending, on_track, hit, missed, push, void). Its
  condition is its phase's (``daily_eager``): it follows each landed live fetch within one
  automation tick, and never runs for a day whose live feed was never fetched.

A live snapshot is a function of its day and of what the feeds said when they were fetched; once
D's games are final it is a function of D alone (a past day's export simply says final).
"""

from datetime import UTC, datetime

import dagster as dg
import polars as pl

from nba_assets.assets.common import lake_asset, same_day
from nba_assets.assets.ingest import INGEST_RETRY, _final
from nba_assets.io.manager import hold_back
from nba_assets.lake import EXPORTS_PREFIX as EXPORTS
from nba_assets.lake import Lake
from nba_assets.partitions import window_dates
from nba_assets.resources import NbaApis
from nba_assets.sources.landing import latest_fetches, write_fetch
from nba_assets.sources.payloads import PayloadError
from nba_assets.transforms.live import (
    GAMES_SCHEMA,
    PLAYERS_SCHEMA,
    live_documents,
    parse_box_scores,
    parse_scoreboard,
)

LIVE_FEED = "live"
LIVE_PAYLOADS = dg.AssetKey(["landing", "live_payloads"])
LIVE_JSON = dg.AssetKey(["exports", "live_json"])


@lake_asset(
    *LIVE_PAYLOADS.path,
    group="ingest",
    columns=False,
    ins={"nbac_schedule": same_day("nba_raw", "nbac_schedule")},
    pool="balldontlie",
    retry_policy=INGEST_RETRY,
    metadata={"landing_feed": LIVE_FEED},
    description=(
        "Lands the live feeds of each game date of the window with games in the stored schedule: "
        "stats.nba.com scoreboardv2 (status, period, clock, score) and balldontlie /v1/box_scores (each "
        "player's line), one fetch record per day. Requested every 3 minutes while games are on by "
        "live_games_sensor."
    ),
)
def live_payloads(
    context: dg.AssetExecutionContext, apis: NbaApis, nbac_schedule: pl.DataFrame
) -> dg.MaterializeResult:
    root = apis.landing_root()
    clients = apis.live()
    played = nbac_schedule.filter(~pl.col("postponed").fill_null(False))
    game_days = set(played["game_date"].unique().to_list())
    fetched = 0
    for day in window_dates(context):
        files = []
        if day in game_days:
            try:
                scoreboard = clients.scoreboard.scoreboard(day)
                box = clients.box_scores.box_scores(day)
            except Exception as exc:
                raise _final(exc) from exc
            files = [(scoreboard.path, "scoreboard"), (box.path, "box_scores")]
            fetched += 1
        write_fetch(root, LIVE_FEED, day, files, copy=apis.mirror_landed)
    context.log.info(f"live: landed the scoreboard and box scores of {fetched} game days")
    return dg.MaterializeResult(metadata={"game_days_fetched": fetched, "files_landed": 2 * fetched})


@lake_asset(
    *LIVE_JSON.path,
    group="live",
    columns=False,
    kinds={"polars", "json"},
    deps=[LIVE_PAYLOADS],
    ins={
        "predictions": same_day("nba_predictions", "player_prop_predictions"),
        "schedule": same_day("nba_raw", "nbac_schedule"),
    },
    description=(
        "exports/v1/live/{date}.json (each game's status scheduled/in_progress/final, score, period and clock "
        "where the feed gives them, each lined player's points so far) and exports/v1/live-grading/{date}.json "
        "(each OVER/UNDER call: pending, on_track, hit, missed, push, void), parsed from the newest live fetch "
        "in landing. A day whose landed body is malformed is held back (its earlier files stay; the run log and "
        "that day's metadata name the file, the field and the date)."
    ),
)
def live_json(context: dg.AssetExecutionContext, lake: Lake, predictions: pl.DataFrame, schedule: pl.DataFrame) -> None:
    exports, landing = lake.exports(), lake.landing_dir()
    generated = datetime.now(UTC)
    days = window_dates(context)
    records = latest_fetches(landing, LIVE_FEED, days)
    feeds = []  # (day, games, players, fetched_at) of every day whose newest fetch parses
    for day in days:
        record = records.get(day)
        if record is None:
            context.log.warning(f"live_json: no live fetch is landed for {day}; nothing exported for it")
            continue
        files = {f.kind: f for f in record.files}
        if files:
            board, box = files["scoreboard"], files["box_scores"]
            try:
                games = parse_scoreboard(board.body(landing), file=f"landing/{board.path}", day=day)
                players = parse_box_scores(box.body(landing), file=f"landing/{box.path}", day=day)
            except PayloadError as error:  # the day is held back: its earlier files stay as they were
                context.log.warning(
                    f"held back {LIVE_JSON.to_user_string()} for {day}: live payload rejected "
                    f"(file {error.file}, field {error.field}): {error}"
                )
                hold_back(
                    context,
                    day,
                    {"held_back_file": error.file, "held_back_field": error.field, "held_back_error": str(error)[:500]},
                )
                continue
        else:  # no games that day: an empty record
            games, players = pl.DataFrame(schema=GAMES_SCHEMA), pl.DataFrame(schema=PLAYERS_SCHEMA)
        fetched_at = datetime.strptime(record.fetched_at, "%Y%m%dT%H%M%S%fZ").replace(tzinfo=UTC)
        feeds.append((day, games, players, fetched_at))
    written = 0
    for day, live, grading in live_documents(feeds, predictions, schedule, generated):
        exports.put_json(f"{EXPORTS}/live/{day.isoformat()}.json", live)
        exports.put_json(f"{EXPORTS}/live-grading/{day.isoformat()}.json", grading)
        written += 1
        context.add_asset_metadata(
            {
                "dagster/row_count": len(grading["calls"]),
                **{f"games_{k}": v for k, v in live["games_by_status"].items()},
                **{f"calls_{k}": v for k, v in grading["counts"].items()},
            },
            partition_key=day.isoformat(),
        )
    context.log.info(f"live_json: {2 * written} files written under {lake.exports_dir()}")
