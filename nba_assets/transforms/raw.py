"""Pure parsers: landed API bodies -> typed raw tables (phase 2).

Every body is validated against its typed model (``nba_assets.sources.models``) first: a body
that lacks a field, or has one of the wrong type, raises ``PayloadError`` naming the landing
file, the field path and the game date, so a partition fails loudly instead of storing junk.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any

import polars as pl
from pydantic import ValidationError

from nba_assets.identity import bdl_teams, canonical_lookup, resolve_player_ids
from nba_assets.schemas import schema_for
from nba_assets.sources.models import (
    BdlInjuriesPage,
    BdlPlayersPage,
    BdlStatsPage,
    BdlTeamsBody,
    OddsEventOdds,
    PayloadError,
    ScheduleBody,
    describe,
    validate,
)

__all__ = [
    "PayloadError",
    "attach_games_and_players",
    "parse_bdl_injuries",
    "parse_bdl_players",
    "parse_bdl_stats",
    "parse_bdl_teams",
    "parse_event_props",
    "parse_schedule",
    "unresolved_names",
]

DFS_BOOKS = frozenset({"prizepicks", "underdog", "betr", "pick6", "dabble", "sleeper"})


def _utc(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


# ---------------------------------------------------------------- schedule (NBA.com)


def _schedule_error_day(body: Any, exc: ValidationError) -> str | None:
    """The ET game date of the game a schedule validation error points into, when readable."""
    loc = exc.errors()[0]["loc"]
    try:
        if loc[:2] == ("leagueSchedule", "gameDates") and loc[3] == "games":
            game = body["leagueSchedule"]["gameDates"][loc[2]]["games"][loc[4]]
            return str(game["gameDateEst"])[:10]
    except (KeyError, IndexError, TypeError):
        pass
    return None


def parse_schedule(bodies: Iterable[dict[str, Any]], days: set[date], source: str = "nba schedule") -> pl.DataFrame:
    """Games of ``scheduleLeagueV2`` bodies whose ET game date is in ``days``."""
    rows = []
    for body in bodies:
        try:
            schedule = ScheduleBody.model_validate(body).leagueSchedule
        except ValidationError as exc:
            day = _schedule_error_day(body, exc)
            window = day or (f"{min(days)}..{max(days)}" if days else "none")
            raise PayloadError(f"{source} (game date {window}): unexpected schedule shape: {describe(exc)}") from None
        for game in (g for gd in schedule.gameDates for g in gd.games):
            day = date.fromisoformat(game.gameDateEst[:10])
            if day not in days:
                continue
            rows.append(
                {
                    "game_date": day,
                    "game_id": game.gameId,
                    "season": schedule.seasonYear,
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
            )
    schema = schema_for("nba_raw", "nbac_schedule")
    frame = pl.DataFrame(rows, schema=schema, orient="row") if rows else pl.DataFrame(schema=schema)
    # Regular-season and later games only: preseason ids start 001, the All-Star game 003.
    return (
        frame.filter(~pl.col("game_id").str.slice(0, 3).is_in(["001", "003"]))
        .unique("game_id", keep="last")
        .sort("game_date", "game_id")
    )


# ---------------------------------------------------------------- box scores (balldontlie)


def _minutes(value: str | int | None, where: str) -> int:
    if value in (None, ""):
        return 0
    if isinstance(value, int):
        return value
    head = value.split(":")[0]
    try:
        return int(float(head))
    except ValueError:
        raise PayloadError(f"{where}: field 'min' = {value!r} is not minutes") from None


STAT_FIELDS = ("pts", "reb", "oreb", "dreb", "ast", "stl", "blk", "pf", "fgm", "fga", "fg3m", "fg3a", "ftm", "fta")


def parse_bdl_stats(
    pages_by_day: Mapping[date, Iterable[tuple[str, dict[str, Any] | bytes]]], schedule: pl.DataFrame
) -> pl.DataFrame:
    """balldontlie ``/v1/stats`` pages, by game date, as (file name, body: decoded or raw JSON bytes)
    -> player box scores keyed by nba.com ids.

    Rows with no minutes and no counting stat are did-not-play rows and are dropped. Games map
    to nba.com ``game_id`` through the schedule (date, home, visitor); players through their
    normalized names (balldontlie ids are not nba.com ids).
    """
    teams = dict(bdl_teams().select("bdl_team_id", "abbreviation").iter_rows())
    rows = []
    for game_date, pages in pages_by_day.items():
        rows.extend(_bdl_rows(pages, game_date, teams))
    schema = schema_for("nba_raw", "bdl_player_boxscores")
    if not rows:
        return pl.DataFrame(schema=schema)
    frame = pl.DataFrame(rows, infer_schema_length=None)
    games = schedule.select(
        "game_date", "game_id", pl.col("home_team").alias("_home"), pl.col("away_team").alias("_away")
    )
    frame = frame.join(games, on=["game_date", "_home", "_away"], how="left")
    unmatched = frame.filter(pl.col("game_id").is_null()).select("game_date", "_home", "_away").unique()
    if unmatched.height:
        pairs = [f"{a}@{h} on {d}" for d, h, a in unmatched.sort("game_date").iter_rows()]
        raise PayloadError(f"balldontlie stats: games {pairs[:5]} are not in the schedule for that date")
    frame = canonical_lookup(frame, "player_name")
    frame = resolve_player_ids(frame.with_columns(pl.lit(None, pl.Int64).alias("player_id")))
    return frame.select(schema.names()).cast(dict(schema)).sort("game_date", "game_id", "team", "player_id")


def _bdl_rows(
    pages: Iterable[tuple[str, dict[str, Any] | bytes]], game_date: date, teams: dict[int, str]
) -> list[dict[str, Any]]:
    rows = []
    for file, body in pages:
        page = validate(BdlStatsPage, body, file=f"balldontlie stats {file}", partition=game_date.isoformat())
        for i, stat in enumerate(page.data):
            where = f"balldontlie stats {file} (game date {game_date}) data[{i}]"
            values = {f: getattr(stat, f) or 0 for f in STAT_FIELDS}
            values["tov"] = stat.turnover or 0
            minutes = _minutes(stat.min, where)
            if minutes == 0 and not any(values.values()):
                continue
            home, away = teams.get(stat.game.home_team_id), teams.get(stat.game.visitor_team_id)
            if home is None or away is None:
                raise PayloadError(f"{where}: unknown balldontlie team id in game.home_team_id/visitor_team_id")
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
    event = validate(OddsEventOdds, body, file=f"odds api event odds {file}", partition=game_date.isoformat())
    commence = _utc(event.commence_time)
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


# ---------------------------------------------------------------- balldontlie reference endpoints


def parse_bdl_players(pages: Iterable[tuple[str, Any]], partition: str) -> pl.DataFrame:
    """``/v1/players`` pages (file, body) -> one row per player, with the nba.com-style lookup."""
    rows = []
    for file, body in pages:
        for player in validate(BdlPlayersPage, body, file=f"balldontlie players {file}", partition=partition).data:
            rows.append(
                {
                    "bdl_player_id": player.id,
                    "first_name": player.first_name,
                    "last_name": player.last_name,
                    "position": player.position or None,
                    "team": player.team.abbreviation if player.team else None,
                }
            )
    schema = {
        "bdl_player_id": pl.Int64,
        "first_name": pl.String,
        "last_name": pl.String,
        "position": pl.String,
        "team": pl.String,
    }
    frame = pl.DataFrame(rows, schema=schema, orient="row")
    return canonical_lookup(
        frame.with_columns(pl.concat_str("first_name", "last_name", separator=" ").alias("_n")), "_n"
    ).drop("_n")


def parse_bdl_teams(file: str, body: Any, partition: str) -> pl.DataFrame:
    """``/v1/teams`` -> one row per team (balldontlie id, tricode, names, conference, division)."""
    teams = validate(BdlTeamsBody, body, file=f"balldontlie teams {file}", partition=partition).data
    return pl.DataFrame(
        [t.model_dump() for t in teams],
        schema={
            "id": pl.Int64,
            "abbreviation": pl.String,
            "conference": pl.String,
            "division": pl.String,
            "city": pl.String,
            "name": pl.String,
            "full_name": pl.String,
        },
        orient="row",
    ).rename({"id": "bdl_team_id"})


def parse_bdl_injuries(pages: Iterable[tuple[str, Any]], partition: str) -> pl.DataFrame:
    """``/v1/player_injuries`` pages -> one row per injured player (status, expected return, note)."""
    rows = []
    for file, body in pages:
        for injury in validate(BdlInjuriesPage, body, file=f"balldontlie injuries {file}", partition=partition).data:
            rows.append(
                {
                    "bdl_player_id": injury.player.id,
                    "player_name": f"{injury.player.first_name} {injury.player.last_name}".strip(),
                    "bdl_team_id": injury.player.team_id,
                    "status": injury.status,
                    "return_date": injury.return_date,
                    "description": injury.description,
                }
            )
    schema = {
        "bdl_player_id": pl.Int64,
        "player_name": pl.String,
        "bdl_team_id": pl.Int64,
        "status": pl.String,
        "return_date": pl.String,
        "description": pl.String,
    }
    return canonical_lookup(pl.DataFrame(rows, schema=schema, orient="row"), "player_name")
