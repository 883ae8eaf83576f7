"""Phase 2: raw tables parsed from the landing zone only (the ``landing/*`` assets call the APIs).

Re-materializing a raw table replays the current parsers over the bodies already landed for its
window, without any request: schedule and box scores from the newest complete fetch of each day,
props from every snapshot ever landed for the day (snapshots accumulate). Every asset computes its
whole partition window in one run (``BackfillPolicy.single_run()``).
"""

import re
from collections import defaultdict
from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg
import polars as pl

from nba_assets.assets.common import days_before, lake_asset, same_day
from nba_assets.assets.ingest import PROPS_FEED, SCHEDULE_FEED, STATS_FEED, final_game_days
from nba_assets.facts import HISTORY_DAYS
from nba_assets.io.manager import hold_back
from nba_assets.io.storage import TableRef
from nba_assets.lake import Lake
from nba_assets.partitions import window_dates
from nba_assets.resources import (
    UNMATCHED_ODDS_THRESHOLD_DEFAULT,
    UNRESOLVED_THRESHOLD_DEFAULT,
    RawCheckThresholds,
)
from nba_assets.schemas import schema_for
from nba_assets.sources.landing import LandedFile, fetch_records, latest_fetches
from nba_assets.sources.payloads import PayloadError
from nba_assets.transforms.raw import (
    TEAM_MINUTES,
    box_completeness,
    parse_bdl_stats_by_day,
    parse_event_snapshot,
    parse_schedule_by_day,
    props_by_day,
    unresolved_names,
)

RAW = "nba_raw"
ROSTER_HISTORY_DAYS = HISTORY_DAYS
UNRESOLVED_CHECK = "unresolved_names_per_day"
UNRESOLVED_THRESHOLD_ENV = "NBA_UNRESOLVED_NAMES_WARN_THRESHOLD"
UNMATCHED_ODDS_CHECK = "odds_events_match_schedule"
UNMATCHED_ODDS_THRESHOLD_ENV = "NBA_UNMATCHED_ODDS_WARN_THRESHOLD"
ODDS_LANDED_CHECK = "odds_landed_for_game_days"
HELD_BACK_CHECK = "held_back_days"
BOX_COMPLETE_CHECK = "box_scores_complete"


def _require(records: dict[date, object], days: list[date], asset: str, root: Path) -> None:
    missing = [d for d in days if d not in records]
    if missing:
        shown = ", ".join(d.isoformat() for d in missing[:5])
        raise dg.Failure(
            description=(
                f"no complete landing of {asset} for {len(missing)} game date(s) ({shown}"
                f"{', ...' if len(missing) > 5 else ''}) under {root}: materialize {asset} for them first"
            ),
            allow_retries=False,
        )


def _hold(context: dg.AssetExecutionContext, source: str, day: date, error: PayloadError) -> None:
    """Holds ``day`` back (its partition is not written) and says so: run log and that day's metadata."""
    context.log.warning(
        f"held back {context.asset_key.to_user_string()} for {day.isoformat()}: {source} payload rejected "
        f"(file {error.file or '?'}, field {error.field or '?'}): {error}"
    )
    hold_back(
        context,
        day,
        {
            "held_back_source": source,
            "held_back_file": error.file,
            "held_back_field": error.field,
            "held_back_error": str(error)[:500],
        },
    )


def _missing_upstream(lake: Lake, table: str, days: list[date]) -> dict[date, PayloadError]:
    """Days whose ``nba_raw.<table>`` partition is not stored (held back, or never materialized):
    they are held back here too, so a table never stores a day its input could not give. Asked of
    the lake resource's table store (the IO manager's own)."""
    missing = lake.tables().missing_partitions(TableRef(RAW, table), days)
    return {
        d: PayloadError(
            f"nba_raw.{table} has no partition for game date {d} (held back or never materialized)",
            file=f"nba_raw.{table}",
            field="game_date",
            game_date=d.isoformat(),
        )
        for d in missing
    }


def schedule_window(
    root: Path, days: list[date], require: bool = True
) -> tuple[pl.DataFrame, dict[date, PayloadError]]:
    """The schedule of ``days`` from their newest complete fetches, and the days rejected.

    Each game is validated on its own: a bad game rejects its own day; a body whose envelope is
    unreadable rejects the days it serves (and only those). ``require``: a day without a complete
    fetch fails (else it is skipped)."""
    records = latest_fetches(root, SCHEDULE_FEED, days)
    if require:
        _require(records, days, "landing/nba_schedule_payloads", root)
    days_by_file: dict[str, set[date]] = defaultdict(set)
    for day, record in records.items():
        for file in record.files:
            days_by_file[file.path].add(day)
    frames, rejected = [], {}
    for path, wanted in sorted(days_by_file.items()):
        source = f"nba schedule landing/{path}"
        try:
            frame, bad = parse_schedule_by_day([LandedFile(path, "schedule").raw(root)], wanted, source=source)
        except PayloadError as exc:
            bad = dict.fromkeys(wanted, exc)
            frame = pl.DataFrame(schema=schema_for(RAW, "nbac_schedule"))
        frames.append(frame)
        rejected.update(bad)
    frame = pl.concat(frames) if frames else pl.DataFrame(schema=schema_for(RAW, "nbac_schedule"))
    frame = frame.unique("game_id", keep="last")
    frame = frame.filter(~pl.col("game_date").is_in(sorted(rejected))).sort("game_date", "game_id")
    return frame, rejected


def stats_window(
    root: Path, schedule: pl.DataFrame, require: bool = True
) -> tuple[pl.DataFrame, dict[date, PayloadError]]:
    """Box scores of the final game days of ``schedule`` from their newest complete fetches, and the
    days rejected (each day stands alone). ``require``: a day without a complete fetch fails (else
    it is skipped)."""
    days = final_game_days(schedule)
    records = latest_fetches(root, STATS_FEED, days)
    if require:
        _require(records, days, "landing/bdl_stats_payloads", root)
    pages = {day: [(f"landing/{f.path}", f.raw(root)) for f in records[day].files] for day in days if day in records}
    return parse_bdl_stats_by_day(pages, schedule)


@lake_asset(
    RAW,
    "nbac_schedule",
    group="raw",
    deps=[dg.AssetKey(["landing", "nba_schedule_payloads"])],
    description=(
        "NBA.com scheduleLeagueV2 (from landing): one row per game with ET game date, tip-off (UTC), teams. "
        "Validated per game: a day with a bad game is held back (see nba_raw/payload_rejections)."
    ),
)
def nbac_schedule(context: dg.AssetExecutionContext, lake: Lake) -> pl.DataFrame:
    days = window_dates(context)
    frame, rejected = schedule_window(lake.landing_dir(), days)
    for day, error in sorted(rejected.items()):
        _hold(context, "nba_schedule", day, error)
    context.log.info(
        f"schedule: {frame.height} games on {frame['game_date'].n_unique()} of {len(days)} days"
        + (f"; {len(rejected)} day(s) held back" if rejected else "")
    )
    return frame


@lake_asset(
    RAW,
    "bdl_player_boxscores",
    group="raw",
    deps=[dg.AssetKey(["landing", "bdl_stats_payloads"])],
    ins={"nbac_schedule": same_day(RAW, "nbac_schedule")},
    check_specs=[
        dg.AssetCheckSpec(
            BOX_COMPLETE_CHECK,
            asset=[RAW, "bdl_player_boxscores"],
            blocking=False,
            description=(
                "Warns when a final scheduled game's box score is incomplete: a team missing, or a team's "
                f"minutes outside {TEAM_MINUTES[0]}..{TEAM_MINUTES[1]} (240 in regulation); its missing "
                "players would be graded void."
            ),
        )
    ],
    description=(
        "balldontlie /v1/stats (from landing): one row per player per game played, keyed by nba.com ids. "
        "A day whose pages fail validation is held back (see nba_raw/payload_rejections)."
    ),
)
def bdl_player_boxscores(context: dg.AssetExecutionContext, lake: Lake, nbac_schedule: pl.DataFrame):
    frame, rejected = stats_window(lake.landing_dir(), nbac_schedule)
    held = {**_missing_upstream(lake, "nbac_schedule", window_dates(context)), **rejected}
    for day, error in sorted(held.items()):
        _hold(context, "bdl_stats" if day in rejected else "nba_schedule", day, error)
    unresolved = frame.filter(pl.col("player_id").is_null())
    if unresolved.height:
        context.log.warning(
            f"{unresolved.height} box-score rows have no nba.com player id: "
            f"{unresolved['player_name'].unique().head(10).to_list()}"
        )
    # Box scores against the schedule: both teams present, minutes near 240 per team.
    games = box_completeness(frame, nbac_schedule.filter(~pl.col("game_date").is_in(sorted(held))))
    incomplete = games.filter(~pl.col("complete"))
    for (day,), part in games.partition_by("game_date", as_dict=True).items() if games.height else []:
        context.add_asset_metadata(
            {"games_final": part.height, "games_incomplete": int((~part["complete"]).sum())},
            partition_key=day.isoformat(),
        )
    yield dg.Output(frame)
    yield dg.AssetCheckResult(
        check_name=BOX_COMPLETE_CHECK,
        passed=incomplete.height == 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "games_final": games.height,
            "games_incomplete": incomplete.height,
            "days_incomplete": incomplete["game_date"].n_unique(),
            "examples": ", ".join(
                f"{d} {a}@{h} ({am}+{hm} min)"
                for d, h, a, hm, am in incomplete.select(
                    "game_date", "home_team", "away_team", "home_minutes", "away_minutes"
                )
                .head(10)
                .iter_rows()
            ),
        },
    )


def _snapshot_frames(root: Path, file: LandedFile, day: date) -> pl.DataFrame:
    """One landed event-odds body: a historical body carries its snapshot time; a live body's
    snapshot is the moment it was fetched (from its ``.meta.json``)."""
    meta = file.meta(root)
    historical = "/historical/" in meta["url"]
    return parse_event_snapshot(file.raw(root), historical, _utc(meta["fetched_at"]), day, file=f"landing/{file.path}")


def _day_snapshots(root: Path, day: date) -> list[pl.DataFrame]:
    """Every landed event-odds body of every complete fetch of ``day``, oldest first (a snapshot
    landed twice keeps its newest copy); raises the first ``PayloadError``."""
    seen: dict[str, LandedFile] = {}
    for record in fetch_records(root, PROPS_FEED, day):
        for file in record.files:
            if file.kind == "event_odds":
                seen[file.path] = file
    return [_snapshot_frames(root, f, day) for f in seen.values()]


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
    check_specs=[
        dg.AssetCheckSpec(
            UNMATCHED_ODDS_CHECK,
            asset=[RAW, "odds_api_player_points_props"],
            blocking=False,
            description=(
                "Warns when a game date has more odds rows whose event matches no scheduled game (null game_id; "
                f"no line is made from them) than ${UNMATCHED_ODDS_THRESHOLD_ENV} (default "
                f"{UNMATCHED_ODDS_THRESHOLD_DEFAULT})."
            ),
        ),
        dg.AssetCheckSpec(
            ODDS_LANDED_CHECK,
            asset=[RAW, "odds_api_player_points_props"],
            blocking=False,
            description="Warns when a game date with scheduled games has no landed odds at all (its predictions "
            "would all be NO_LINE).",
        ),
    ],
    description=(
        "The Odds API player_points lines (regions us and us_dfs; from landing): every snapshot ever landed × "
        "book × player × line, with minutes_before_tipoff. Past dates use historical snapshots before tip-off."
    ),
)
def odds_api_player_points_props(
    context: dg.AssetExecutionContext,
    lake: Lake,
    raw_checks: RawCheckThresholds,
    nbac_schedule: pl.DataFrame,
    box_history: pl.DataFrame,
):
    root = lake.landing_dir()
    window = window_dates(context)
    scheduled = nbac_schedule.filter(~pl.col("postponed"))
    games_by_day = dict(scheduled.group_by("game_date").len().iter_rows())
    snapshots: dict[date, list[pl.DataFrame]] = {}
    held = _missing_upstream(lake, "nbac_schedule", window)
    for day in sorted(games_by_day):
        try:
            snapshots[day] = _day_snapshots(root, day)
        except PayloadError as error:
            held[day] = error
    files_by_day = {day: len(frames) for day, frames in snapshots.items()}
    for day, error in sorted(held.items()):
        _hold(context, "odds_player_points", day, error)
    frame = props_by_day(snapshots, nbac_schedule, box_history).filter(~pl.col("game_date").is_in(sorted(held)))
    context.log.info(f"odds: parsed {sum(files_by_day.values())} landed files of {len(files_by_day)} game days")

    # Per day: what was parsed, what matched no scheduled game, whether anything landed at all.
    by_day = {k[0]: v for k, v in frame.partition_by("game_date", as_dict=True).items()} if frame.height else {}
    outcomes = {}
    for day in window:
        if day in held:
            continue
        rows = by_day.get(day, frame.clear())
        unmatched = rows.filter(pl.col("game_id").is_null())
        games = int(games_by_day.get(day, 0))
        outcomes[day] = {
            "games": games,
            "landed_files_parsed": files_by_day.get(day, 0),
            "snapshots": rows["snapshot_utc"].n_unique(),
            "unmatched_event_rows": unmatched.height,
            "unmatched_events": unmatched["event_id"].n_unique(),
            "no_odds_landed": games > 0 and files_by_day.get(day, 0) == 0,
        }
        context.add_asset_metadata(outcomes[day], partition_key=day.isoformat())
    yield dg.Output(frame)

    threshold = raw_checks.unmatched_odds_rows_per_day
    over = {d: o for d, o in outcomes.items() if o["unmatched_event_rows"] > threshold}
    yield dg.AssetCheckResult(
        check_name=UNMATCHED_ODDS_CHECK,
        passed=not over,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "threshold": threshold,
            "days_over_threshold": len(over),
            "unmatched_event_rows": sum(o["unmatched_event_rows"] for o in outcomes.values()),
            "days": ", ".join(f"{d} ({o['unmatched_event_rows']})" for d, o in sorted(over.items())[:20]),
        },
    )
    dry = sorted(d for d, o in outcomes.items() if o["no_odds_landed"])
    yield dg.AssetCheckResult(
        check_name=ODDS_LANDED_CHECK,
        passed=not dry,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "game_days": sum(1 for o in outcomes.values() if o["games"]),
            "game_days_without_odds": len(dry),
            "days": ", ".join(d.isoformat() for d in dry[:20]) + (", ..." if len(dry) > 20 else ""),
        },
    )


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
def unresolved_player_names(
    context: dg.AssetExecutionContext, raw_checks: RawCheckThresholds, props: pl.DataFrame, box: pl.DataFrame
):
    frame = unresolved_names(props, box)
    yield dg.Output(frame)
    threshold = raw_checks.unresolved_names_per_day
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


_STAMP = re.compile(r"(\d{8}T\d{12}Z)")


def _first_seen(file: str) -> datetime | None:
    """When the rejected body was landed: the UTC stamp its landing file name starts with."""
    match = _STAMP.search(file)
    return _utc(match.group(1)) if match else None


def rejection_rows(source: str, rejected: dict[date, PayloadError]) -> list[dict]:
    return [
        {
            "game_date": day,
            "source": source,
            "file": error.file,
            "field": error.field,
            "error": str(error)[:2000],
            "first_seen": _first_seen(error.file),
        }
        for day, error in sorted(rejected.items())
    ]


@lake_asset(
    RAW,
    "payload_rejections",
    group="raw",
    deps=[
        dg.AssetKey(["landing", "nba_schedule_payloads"]),
        dg.AssetKey(["landing", "bdl_stats_payloads"]),
        dg.AssetKey(["landing", "odds_player_points_payloads"]),
    ],
    ins={"nbac_schedule": same_day(RAW, "nbac_schedule")},
    check_specs=[
        dg.AssetCheckSpec(
            HELD_BACK_CHECK,
            asset=[RAW, "payload_rejections"],
            blocking=False,
            description=(
                "Lists the game dates held back because a landed payload failed validation (their raw "
                "partitions were not written); fix the source or the parser, then rerun those days."
            ),
        )
    ],
    description=(
        "Landed payloads that failed validation, one row per game date and source (schedule, balldontlie "
        "stats, odds) with the landing file, the field, the error and when the body was first landed. "
        "Those days are held back from the raw tables; the landing files are kept."
    ),
)
def payload_rejections(context: dg.AssetExecutionContext, lake: Lake, nbac_schedule: pl.DataFrame):
    # What has landed is validated as the raw tables validate it; what has not landed yet is no rejection.
    root = lake.landing_dir()
    days = window_dates(context)
    _, schedule_bad = schedule_window(root, days, require=False)
    rows = rejection_rows("nba_schedule", schedule_bad)
    scheduled = nbac_schedule.filter(~pl.col("game_date").is_in(sorted(schedule_bad)))
    _, stats_bad = stats_window(root, scheduled, require=False)
    rows += rejection_rows("bdl_stats", stats_bad)
    odds_bad = {}
    for day in sorted(nbac_schedule.filter(~pl.col("postponed"))["game_date"].unique().to_list()):
        try:
            _day_snapshots(root, day)
        except PayloadError as error:
            odds_bad[day] = error
    rows += rejection_rows("odds_player_points", odds_bad)
    schema = schema_for(RAW, "payload_rejections")
    frame = pl.DataFrame(rows, schema=schema, orient="row") if rows else pl.DataFrame(schema=schema)
    frame = frame.sort("game_date", "source")
    for day, part in frame.partition_by("game_date", as_dict=True).items() if frame.height else []:
        context.add_asset_metadata(
            {"rejected_sources": ", ".join(part["source"].to_list())}, partition_key=day[0].isoformat()
        )
    yield dg.Output(frame)
    held = frame.select("game_date", "source", "file", "field").unique().sort("game_date", "source")
    yield dg.AssetCheckResult(
        check_name=HELD_BACK_CHECK,
        passed=held.height == 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "held_back_days": held["game_date"].n_unique(),
            "days": ", ".join(
                f"{d.isoformat()} {source} ({field} in {file})" for d, source, file, field in held.head(20).iter_rows()
            )
            + (", ..." if held.height > 20 else ""),
        },
    )
