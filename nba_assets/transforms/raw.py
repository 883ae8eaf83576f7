"""Pure parsers: landed API bodies -> typed raw tables (phase 2).

Every body is validated against its typed model (``nba_assets.sources.payloads``) first: a body
that lacks a field, or has one of the wrong type, raises ``PayloadError`` naming the landing
file, the field path and the game date, so a partition fails loudly instead of storing junk.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any

import polars as pl
from pydantic import ValidationError

from nba_assets.identity import bdl_teams, canonical_lookup, resolve_player_ids
from nba_assets.schemas import schema_for
from nba_assets.sources.payloads import (
    BdlStatsPage,
    OddsEventOdds,
    OddsHistoricalEventOdds,
    PayloadError,
    ScheduleEnvelope,
    ScheduleGame,
    describe,
    first_field,
    validate,
)

__all__ = [
    "PayloadError",
    "attach_games_and_players",
    "box_completeness",
    "parse_bdl_stats",
    "parse_bdl_stats_by_day",
    "parse_event_props",
    "props_by_day",
    "parse_event_snapshot",
    "parse_schedule",
    "parse_schedule_by_day",
    "unresolved_names",
]

DFS_BOOKS = frozenset({"prizepicks", "underdog", "betr", "pick6", "dabble", "sleeper"})


def _utc(value: str | None) -> datetime | None:
    """An ISO-8601 instant as UTC (naive means UTC); raises ``ValueError`` when it is none."""
    if not value:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


# ---------------------------------------------------------------- schedule (NBA.com)


def decode_json(body: Any, file: str, game_date: str) -> Any:
    """A landed body as JSON (bytes are decoded here; anything else is taken as decoded already)."""
    if not isinstance(body, bytes | bytearray):
        return body
    try:
        return json.loads(body) if body.strip() else None
    except (ValueError, RecursionError) as exc:  # not JSON, not UTF-8, or nested beyond reason
        raise PayloadError(
            f"{file} (game date {game_date}): body is not JSON: {str(exc)[:120]}",
            file=file,
            field="<body>",
            game_date=game_date,
        ) from None


def _game_day(game: Any, game_date: Any) -> date | None:  # game_date: its gameDates[] entry's "gameDate"
    """The ET game date of one raw schedule game: its ``gameDateEst``, else its ``gameDates[]``
    entry's ``gameDate`` (``MM/DD/YYYY 00:00:00``); None when neither reads as a date."""
    try:
        return date.fromisoformat(str(game["gameDateEst"])[:10])
    except (KeyError, TypeError, ValueError):
        pass
    try:
        return datetime.strptime(str(game_date)[:10], "%m/%d/%Y").date()
    except (TypeError, ValueError):
        return None


def _schedule_error(source: str, day: str, path: str, detail: str) -> PayloadError:
    return PayloadError(
        f"{source} (game date {day}): unexpected schedule shape: {detail}", file=source, field=path, game_date=day
    )


def parse_schedule_by_day(
    bodies: Iterable[Any], days: set[date], source: str = "nba schedule"
) -> tuple[pl.DataFrame, dict[date, PayloadError]]:
    """Games of ``scheduleLeagueV2`` bodies whose ET game date is in ``days``, validated **per game**.

    A game that fails validation rejects its own game date only (returned as ``{day: PayloadError}``;
    that day has no rows); every other day parses. Only a body whose envelope is unreadable
    (no ``leagueSchedule.seasonYear`` / ``gameDates`` list), or a bad game whose date cannot be read,
    fails the whole window (raised).
    """
    window = f"{min(days)}..{max(days)}" if days else "none"
    rows = []
    rejected: dict[date, PayloadError] = {}
    for body in bodies:
        body = decode_json(body, source, window)
        try:
            envelope = ScheduleEnvelope.model_validate(body)
        except ValidationError as exc:
            raise _schedule_error(source, window, first_field(exc), describe(exc)) from None
        season = envelope.leagueSchedule.seasonYear
        for i, game_date in enumerate(envelope.leagueSchedule.gameDates):
            for j, raw_game in enumerate(game_date.games):
                day = _game_day(raw_game, game_date.gameDate)
                path = f"leagueSchedule.gameDates[{i}].games[{j}]"
                if day is not None and day not in days:
                    continue
                try:
                    game = ScheduleGame.model_validate(raw_game)
                    row = _schedule_row(game, season)
                except ValidationError as exc:
                    field = f"{path}.{first_field(exc)}"
                    error = _schedule_error(source, str(day or window), field, describe(exc, prefix=path))
                except (ValueError, OverflowError) as exc:  # a date or time that does not parse
                    error = _schedule_error(source, str(day or window), path, f"game {path}: {exc}")
                else:
                    rows.append(row)
                    continue
                if day is None:
                    raise error
                rejected.setdefault(day, error)
    schema = schema_for("nba_raw", "nbac_schedule")
    rows = [r for r in rows if r["game_date"] not in rejected]
    frame = pl.DataFrame(rows, schema=schema, orient="row") if rows else pl.DataFrame(schema=schema)
    # Regular-season and later games only: preseason ids start 001, the All-Star game 003.
    frame = (
        frame.filter(~pl.col("game_id").str.slice(0, 3).is_in(["001", "003"]))
        .unique("game_id", keep="last")
        .sort("game_date", "game_id")
    )
    return frame, rejected


def _schedule_row(game: ScheduleGame, season: str) -> dict[str, Any]:
    return {
        "game_date": date.fromisoformat(game.gameDateEst[:10]),
        "game_id": game.gameId,
        "season": season,
        "tipoff_utc": _utc(game.gameDateTimeUTC),
        "home_team": game.homeTeam.teamTricode,
        "away_team": game.awayTeam.teamTricode,
        "home_team_id": game.homeTeam.teamId,
        "away_team_id": game.awayTeam.teamId,
        "game_status": game.gameStatus,
        "home_score": game.homeTeam.score,
        "away_score": game.awayTeam.score,
        "postponed": game.postponedStatus not in ("N", "", None),
    }


def parse_schedule(bodies: Iterable[Any], days: set[date], source: str = "nba schedule") -> pl.DataFrame:
    """Games of ``scheduleLeagueV2`` bodies whose ET game date is in ``days``; raises the first
    rejected day's ``PayloadError`` (``parse_schedule_by_day`` returns them instead)."""
    frame, rejected = parse_schedule_by_day(bodies, days, source)
    if rejected:
        raise rejected[min(rejected)]
    return frame


# ---------------------------------------------------------------- box scores (balldontlie)


_MINUTES = re.compile(r"^\s*(\d{1,3})(?:\.\d+)?(?::\d{1,2}(?:\.\d+)?)?\s*$")


def _minutes(value: str | int | None, where: str, *, file: str, field: str, game_date: str) -> int:
    """balldontlie's ``min``: ``"38"``, ``"38:12"``, ``"12.5"``, an int, or null/"" for none."""
    if value in (None, ""):
        return 0
    if isinstance(value, int):
        return value
    match = _MINUTES.match(value)
    if match is None:
        raise PayloadError(
            f"{where}: field 'min' = {value[:40]!r} is not minutes", file=file, field=field, game_date=game_date
        )
    return int(match.group(1))


STAT_FIELDS = ("pts", "reb", "oreb", "dreb", "ast", "stl", "blk", "pf", "fgm", "fga", "fg3m", "fg3a", "ftm", "fta")


def parse_bdl_stats(
    pages_by_day: Mapping[date, Iterable[tuple[str, dict[str, Any] | bytes]]], schedule: pl.DataFrame
) -> pl.DataFrame:
    """``parse_bdl_stats_by_day``, raising the first rejected day's ``PayloadError``."""
    frame, rejected = parse_bdl_stats_by_day(pages_by_day, schedule)
    if rejected:
        raise rejected[min(rejected)]
    return frame


def parse_bdl_stats_by_day(
    pages_by_day: Mapping[date, Iterable[tuple[str, dict[str, Any] | bytes]]], schedule: pl.DataFrame
) -> tuple[pl.DataFrame, dict[date, PayloadError]]:
    """balldontlie ``/v1/stats`` pages, by game date, as (file name, body: decoded or raw JSON bytes)
    -> player box scores keyed by nba.com ids, and the days rejected (``{day: PayloadError}``).

    Each day stands alone: a page that fails validation, or a game not in that day's schedule,
    rejects its day (no rows for it) and every other day parses. Rows with no minutes and no
    counting stat are did-not-play rows and are dropped; a null statistic stays null (never 0).
    Games map to nba.com ``game_id`` through the schedule (date, home, visitor); players through
    their normalized names (balldontlie ids are not nba.com ids).
    """
    teams = dict(bdl_teams().select("bdl_team_id", "abbreviation").iter_rows())
    rows = []
    rejected: dict[date, PayloadError] = {}
    files: dict[date, str] = {}
    for game_date, pages in pages_by_day.items():
        pages = list(pages)
        files[game_date] = pages[0][0] if pages else ""
        try:
            rows.extend(_bdl_rows(pages, game_date, teams))
        except PayloadError as exc:
            rejected[game_date] = exc
    schema = schema_for("nba_raw", "bdl_player_boxscores")
    if not rows:
        return pl.DataFrame(schema=schema), rejected
    frame = pl.DataFrame(rows, schema=_BDL_ROW_SCHEMA)
    games = schedule.select(
        "game_date", "game_id", pl.col("home_team").alias("_home"), pl.col("away_team").alias("_away")
    )
    frame = frame.join(games, on=["game_date", "_home", "_away"], how="left")
    unmatched = frame.filter(pl.col("game_id").is_null()).select("game_date", "_home", "_away").unique()
    for (day,), part in unmatched.partition_by("game_date", as_dict=True).items():
        pairs = [f"{a}@{h}" for _, h, a in part.sort("_home").iter_rows()]
        rejected[day] = PayloadError(
            f"balldontlie stats {files.get(day, '')} (game date {day}): games {pairs[:5]} are not in the "
            "schedule for that date",
            file=f"balldontlie stats {files.get(day, '')}",
            field="data[].game",
            game_date=day.isoformat(),
        )
    if rejected:
        frame = frame.filter(~pl.col("game_date").is_in(list(rejected)))
    frame = canonical_lookup(frame, "player_name")
    frame = resolve_player_ids(frame.with_columns(pl.lit(None, pl.Int64).alias("player_id")))
    out = frame.select(schema.names()).cast(dict(schema)).sort("game_date", "game_id", "team", "player_id")
    return out, rejected


_BDL_ROW_SCHEMA = {
    "game_date": pl.Date,
    "bdl_game_id": pl.Int64,
    "bdl_player_id": pl.Int64,
    "player_name": pl.String,
    "team": pl.String,
    "opponent": pl.String,
    "home_away": pl.String,
    "_home": pl.String,
    "_away": pl.String,
    "minutes": pl.Int64,
    **{f: pl.Int64 for f in STAT_FIELDS},
    "tov": pl.Int64,
}


def _bdl_rows(
    pages: Iterable[tuple[str, dict[str, Any] | bytes]], game_date: date, teams: dict[int, str]
) -> list[dict[str, Any]]:
    rows = []
    for file, body in pages:
        label = f"balldontlie stats {file}"
        page = validate(BdlStatsPage, body, file=label, partition=game_date.isoformat())
        for i, stat in enumerate(page.data):
            where = f"{label} (game date {game_date}) data[{i}]"
            values = {f: getattr(stat, f) for f in STAT_FIELDS}  # null stays null: a missing stat is no 0
            values["tov"] = stat.turnover
            minutes = _minutes(stat.min, where, file=label, field=f"data[{i}].min", game_date=game_date.isoformat())
            if minutes == 0 and not any(values.values()):
                continue
            home, away = teams.get(stat.game.home_team_id), teams.get(stat.game.visitor_team_id)
            if home is None or away is None:
                raise PayloadError(
                    f"{where}: unknown balldontlie team id in game.home_team_id/visitor_team_id",
                    file=label,
                    field=f"data[{i}].game",
                    game_date=game_date.isoformat(),
                )
            team_abbr = stat.team.abbreviation
            rows.append(
                {
                    "game_date": game_date,
                    "bdl_game_id": stat.game.id,
                    "bdl_player_id": stat.player.id,
                    "player_name": f"{stat.player.first_name} {stat.player.last_name}".strip(),
                    "team": team_abbr,
                    "opponent": away if team_abbr == home else home,
                    "home_away": "H" if team_abbr == home else "A",
                    "_home": home,
                    "_away": away,
                    "minutes": minutes,
                    **values,
                }
            )
    return rows


TEAM_MINUTES = (230, 345)  # a complete team box score: 240 in regulation (237+ as truncated), +25 per OT


def box_completeness(box: pl.DataFrame, schedule: pl.DataFrame) -> pl.DataFrame:
    """One row per final, not postponed scheduled game: each team's players and minutes in ``box``,
    and ``complete`` (both teams present, each with ``TEAM_MINUTES[0]..[1]`` minutes)."""
    games = schedule.filter((pl.col("game_status") == 3) & ~pl.col("postponed")).select(
        "game_date", "game_id", "home_team", "away_team"
    )
    per_team = box.group_by("game_id", "team").agg(
        pl.len().cast(pl.Int64).alias("players"), pl.col("minutes").sum().cast(pl.Int64).alias("minutes")
    )
    out = games
    for side in ("home", "away"):
        out = out.join(
            per_team.rename({"team": f"{side}_team", "players": f"{side}_players", "minutes": f"{side}_minutes"}),
            on=["game_id", f"{side}_team"],
            how="left",
        )
    low, high = TEAM_MINUTES
    ok = [pl.col(f"{side}_minutes").is_between(low, high).fill_null(False) for side in ("home", "away")]
    return out.with_columns(
        pl.col("home_players", "away_players", "home_minutes", "away_minutes").fill_null(0),
        (ok[0] & ok[1]).alias("complete"),
    ).sort("game_date", "game_id")


# ---------------------------------------------------------------- props (The Odds API)


def parse_event_props(
    body: dict[str, Any] | None, snapshot_utc: datetime, game_date: date, file: str = "body"
) -> pl.DataFrame:
    """One event's ``player_points`` odds body -> one row per bookmaker, player and line.

    An empty body (204) or ``"bookmakers": []`` is a valid "no lines yet": no rows. The region of
    a row follows from its bookmaker (pick'em books are ``us_dfs``)."""
    schema = schema_for("nba_raw", "odds_api_player_points_props")
    if not body:
        return pl.DataFrame(schema=schema)
    label = f"odds api event odds {file}"
    event = validate(OddsEventOdds, body, file=label, partition=game_date.isoformat())
    try:
        commence = _utc(event.commence_time)
    except (ValueError, OverflowError):
        commence = None
    if commence is None:  # without its tip-off a snapshot cannot be told pre-tip
        raise PayloadError(
            f"{label} (game date {game_date}): field 'commence_time' = {event.commence_time[:40]!r} is not an "
            "ISO-8601 time",
            file=label,
            field="commence_time",
            game_date=game_date.isoformat(),
        )
    rows: dict[tuple, dict[str, Any]] = {}
    for book in event.bookmakers:
        for market in book.markets:
            if market.key != "player_points":
                continue
            for outcome in market.outcomes:
                point = float(outcome.point)
                row = rows.setdefault(
                    (book.key, outcome.description, point),
                    {
                        "game_date": game_date,
                        "event_id": event.id,
                        "commence_utc": commence,
                        "snapshot_utc": snapshot_utc,
                        "region": "us_dfs" if book.key in DFS_BOOKS else "us",
                        "bookmaker": book.key,
                        "player_name_quoted": outcome.description,
                        "line": point,
                        "over_price": None,
                        "under_price": None,
                        "_home": event.home_team,
                        "_away": event.away_team,
                    },
                )
                price = None if outcome.price is None else int(outcome.price)
                if outcome.name.lower() == "over":
                    row["over_price"] = price
                elif outcome.name.lower() == "under":
                    row["under_price"] = price
    if not rows:
        return pl.DataFrame(schema=schema)
    frame = pl.DataFrame(list(rows.values()), infer_schema_length=None).with_columns(
        pl.col("commence_utc", "snapshot_utc").cast(pl.Datetime("us", "UTC")),
        pl.col("over_price", "under_price").cast(pl.Int64),
        ((pl.col("commence_utc") - pl.col("snapshot_utc")).dt.total_seconds() / 60.0).alias("minutes_before_tipoff"),
    )
    return frame


def parse_event_snapshot(
    body: Any, historical: bool, fetched_at: datetime, game_date: date, file: str = "body"
) -> pl.DataFrame:
    """One landed event-odds body (decoded or raw bytes): a historical body wraps the event and
    carries its snapshot time (``timestamp``); a live body's snapshot is the moment it was fetched."""
    label = f"odds api {'historical ' if historical else ''}event odds {file}"
    body = decode_json(body, label, game_date.isoformat())
    if not historical:
        return parse_event_props(body, fetched_at, game_date, file=file)
    wrapped = validate(OddsHistoricalEventOdds, body, file=label, partition=game_date.isoformat())
    try:
        snapshot = _utc(wrapped.timestamp)
    except (ValueError, OverflowError):
        snapshot = None
    if snapshot is None:
        raise PayloadError(
            f"{label} (game date {game_date}): field 'timestamp' = {wrapped.timestamp[:40]!r} is not an ISO-8601 time",
            file=label,
            field="timestamp",
            game_date=game_date.isoformat(),
        )
    return parse_event_props(body["data"], snapshot, game_date, file=file)


def attach_games_and_players(props: pl.DataFrame, schedule: pl.DataFrame, rosters: pl.DataFrame) -> pl.DataFrame:
    """Maps events to nba.com games (by date and full team names) and quoted names to player ids.

    ``rosters`` holds the players' games before the game date (player_lookup, player_id, team, in
    date order). Names resolve exactly, then through aliases, then by a fuzzy match among the two
    teams' players (``identity.match_quoted_names``); unmatched names keep a null ``player_id``.
    ``team`` is the player's latest team when it is one of the game's teams.
    """
    from nba_assets.identity import match_quoted_names, nba_teams

    schema = schema_for("nba_raw", "odds_api_player_points_props")
    if props.height == 0:
        return pl.DataFrame(schema=schema)
    names = nba_teams().select("full_name", "abbreviation")
    games = schedule.select(
        "game_date", "game_id", pl.col("home_team").alias("_home_abbr"), pl.col("away_team").alias("_away_abbr")
    )
    props = (
        props.join(names.rename({"full_name": "_home", "abbreviation": "_home_abbr"}), on="_home", how="left")
        .join(names.rename({"full_name": "_away", "abbreviation": "_away_abbr"}), on="_away", how="left")
        .join(games, on=["game_date", "_home_abbr", "_away_abbr"], how="left")
    )
    distinct = props.select(
        pl.col("player_name_quoted").alias("name"),
        pl.col("_home_abbr").alias("home"),
        pl.col("_away_abbr").alias("away"),
    ).unique(maintain_order=True)
    matched = match_quoted_names(distinct, rosters).drop("match_method")
    props = props.join(
        matched.rename({"name": "player_name_quoted", "home": "_home_abbr", "away": "_away_abbr"}),
        on=["player_name_quoted", "_home_abbr", "_away_abbr"],
        how="left",
        nulls_equal=True,
    )
    return (
        props.select(schema.names())
        .cast(dict(schema))
        .sort("game_id", "snapshot_utc", "bookmaker", "player_lookup", "line")
    )


# ---------------------------------------------------------------- identity follow-up


SNAPSHOT_KEY = ["event_id", "snapshot_utc", "bookmaker", "player_name_quoted", "line"]


def props_by_day(
    snapshots: Mapping[date, list[pl.DataFrame]], schedule: pl.DataFrame, box_history: pl.DataFrame
) -> pl.DataFrame:
    """The props table of the days of ``snapshots`` (each day's parsed event-odds bodies, oldest
    first): a snapshot landed twice keeps its newest copy, and each day's quoted names resolve
    against the schedule and the rosters of the box scores strictly before that day."""
    frames = []
    for day in sorted(snapshots):
        props = [f for f in snapshots[day] if f.height]
        if not props:
            continue
        day_props = pl.concat(props, how="diagonal_relaxed").unique(SNAPSHOT_KEY, keep="last", maintain_order=True)
        rosters = (
            box_history.filter(pl.col("game_date") < day).sort("game_date").select("player_lookup", "player_id", "team")
        )
        frames.append(attach_games_and_players(day_props, schedule, rosters))
    return pl.concat(frames) if frames else pl.DataFrame(schema=schema_for("nba_raw", "odds_api_player_points_props"))


def unresolved_names(props: pl.DataFrame, box: pl.DataFrame) -> pl.DataFrame:
    """One row per (game date, source, name) that matched no nba.com player id, with its row count."""
    parts = [
        frame.filter(pl.col("player_id").is_null())
        .group_by("game_date", pl.col(name).alias("player_name"), "player_lookup")
        .agg(pl.len().cast(pl.Int64).alias("count"))
        .with_columns(pl.lit(source).alias("source"))
        for frame, name, source in ((props, "player_name_quoted", "odds_api"), (box, "player_name", "balldontlie"))
    ]
    schema = schema_for("nba_raw", "unresolved_player_names")
    return pl.concat([part.select(schema.names()).cast(dict(schema)) for part in parts]).sort(
        "game_date", "source", "player_name"
    )
