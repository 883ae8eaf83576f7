"""Pure parsers: recorded API bodies -> typed raw tables (phase 2).

A body that lacks a field, or has one of the wrong type, raises ``PayloadError`` naming the
source, the field path and the game date, so a partition fails loudly instead of storing junk.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any

import polars as pl

from nba_assets.identity import bdl_teams, canonical_lookup, resolve_player_ids
from nba_assets.schemas import schema_for

DFS_BOOKS = frozenset({"prizepicks", "underdog", "betr", "pick6", "dabble", "sleeper"})


class PayloadError(ValueError):
    pass


def _field(obj: Any, path: str, kind: type | tuple[type, ...], where: str, nullable: bool = False) -> Any:
    """Walks ``a.b.c`` in ``obj`` and checks the leaf's type."""
    node = obj
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            raise PayloadError(f"{where}: field '{path}' is missing")
        node = node[part]
    if node is None and nullable:
        return None
    if kind is int and isinstance(node, bool) or not isinstance(node, kind):
        raise PayloadError(f"{where}: field '{path}' is {type(node).__name__}, expected {kind}")
    return node


def _utc(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


# ---------------------------------------------------------------- schedule (NBA.com)


def parse_schedule(bodies: Iterable[dict[str, Any]], days: set[date], source: str = "nba schedule") -> pl.DataFrame:
    """Games of ``scheduleLeagueV2`` bodies whose ET game date is in ``days``."""
    rows = []
    for body in bodies:
        season = _field(body, "leagueSchedule.seasonYear", str, source)
        for i, game_date in enumerate(_field(body, "leagueSchedule.gameDates", list, source)):
            for j, game in enumerate(_field(game_date, "games", list, f"{source} gameDates[{i}]")):
                where = f"{source} gameDates[{i}].games[{j}]"
                day = date.fromisoformat(_field(game, "gameDateEst", str, where)[:10])
                if day not in days:
                    continue
                where = f"{where} (game date {day})"
                rows.append(
                    {
                        "game_date": day,
                        "game_id": _field(game, "gameId", str, where),
                        "season": season,
                        "tipoff_utc": _utc(_field(game, "gameDateTimeUTC", str, where, nullable=True)),
                        "home_team": _field(game, "homeTeam.teamTricode", str, where),
                        "away_team": _field(game, "awayTeam.teamTricode", str, where),
                        "home_team_id": _field(game, "homeTeam.teamId", int, where),
                        "away_team_id": _field(game, "awayTeam.teamId", int, where),
                        "game_status": _field(game, "gameStatus", int, where),
                        "home_score": _field(game, "homeTeam.score", int, where, nullable=True),
                        "away_score": _field(game, "awayTeam.score", int, where, nullable=True),
                        "postponed": game.get("postponedStatus", "N") not in ("N", "", None),
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


def _minutes(value: Any, where: str) -> int:
    if value in (None, ""):
        return 0
    if isinstance(value, (int, float)):
        return int(value)
    if not isinstance(value, str):
        raise PayloadError(f"{where}: field 'min' is {type(value).__name__}")
    head = value.split(":")[0]
    try:
        return int(float(head))
    except ValueError:
        raise PayloadError(f"{where}: field 'min' = {value!r} is not minutes") from None


STAT_FIELDS = ("pts", "reb", "oreb", "dreb", "ast", "stl", "blk", "pf", "fgm", "fga", "fg3m", "fg3a", "ftm", "fta")


def parse_bdl_stats(
    pages_by_day: Mapping[date, Iterable[tuple[str, dict[str, Any]]]], schedule: pl.DataFrame
) -> pl.DataFrame:
    """balldontlie ``/v1/stats`` pages, by game date, as (file name, body) -> player box scores
    keyed by nba.com ids.

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
    pages: Iterable[tuple[str, dict[str, Any]]], game_date: date, teams: dict[int, str]
) -> list[dict[str, Any]]:
    rows = []
    for file, page in pages:
        for i, stat in enumerate(_field(page, "data", list, f"balldontlie stats {game_date} ({file})")):
            where = f"balldontlie stats {game_date} ({file}) data[{i}]"
            values = {f: _field(stat, f, int, where, nullable=True) or 0 for f in STAT_FIELDS}
            values["tov"] = _field(stat, "turnover", int, where, nullable=True) or 0
            minutes = _minutes(stat.get("min"), where)
            if minutes == 0 and not any(values.values()):
                continue
            home_id = _field(stat, "game.home_team_id", int, where)
            visitor_id = _field(stat, "game.visitor_team_id", int, where)
            team_abbr = _field(stat, "team.abbreviation", str, where)
            home, away = teams.get(home_id), teams.get(visitor_id)
            if home is None or away is None:
                raise PayloadError(f"{where}: unknown balldontlie team id in game.home_team_id/visitor_team_id")
            first = _field(stat, "player.first_name", str, where)
            last = _field(stat, "player.last_name", str, where)
            rows.append(
                {
                    "game_date": game_date,
                    "bdl_game_id": _field(stat, "game.id", int, where),
                    "bdl_player_id": _field(stat, "player.id", int, where),
                    "player_name": f"{first} {last}".strip(),
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

    The region of a row follows from its bookmaker (pick'em books are ``us_dfs``)."""
    schema = schema_for("nba_raw", "odds_api_player_points_props")
    if not body:
        return pl.DataFrame(schema=schema)
    where = f"odds api event odds {game_date} ({file})"
    event_id = _field(body, "id", str, where)
    where = f"{where} event {event_id}"
    commence = _utc(_field(body, "commence_time", str, where))
    rows: dict[tuple, dict[str, Any]] = {}
    for b, book in enumerate(_field(body, "bookmakers", list, where)):
        key = _field(book, "key", str, f"{where} bookmakers[{b}]")
        for m, market in enumerate(_field(book, "markets", list, f"{where} bookmakers[{b}]")):
            if market.get("key") != "player_points":
                continue
            for o, outcome in enumerate(_field(market, "outcomes", list, f"{where} bookmakers[{b}].markets[{m}]")):
                at = f"{where} bookmakers[{b}].markets[{m}].outcomes[{o}]"
                side = _field(outcome, "name", str, at)
                name = _field(outcome, "description", str, at)
                point = float(_field(outcome, "point", (int, float), at))
                price = _field(outcome, "price", (int, float), at, nullable=True) if "price" in outcome else None
                row = rows.setdefault(
                    (key, name, point),
                    {
                        "game_date": game_date,
                        "event_id": event_id,
                        "commence_utc": commence,
                        "snapshot_utc": snapshot_utc,
                        "region": "us_dfs" if key in DFS_BOOKS else "us",
                        "bookmaker": key,
                        "player_name_quoted": name,
                        "line": point,
                        "over_price": None,
                        "under_price": None,
                        "_home": body.get("home_team"),
                        "_away": body.get("away_team"),
                    },
                )
                if side.lower() == "over":
                    row["over_price"] = None if price is None else int(price)
                elif side.lower() == "under":
                    row["under_price"] = None if price is None else int(price)
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

    ``rosters`` holds each player's latest team before the game date (player_lookup, player_id,
    team): a name found there keeps that id, and the team when it is one of the game's teams;
    other names fall back to the nba.com reference list, with no team.
    """
    from nba_assets.identity import nba_teams

    schema = schema_for("nba_raw", "odds_api_player_points_props")
    if props.height == 0:
        return pl.DataFrame(schema=schema)
    names = nba_teams().select("full_name", "abbreviation")
    games = schedule.select(
        "game_date", "game_id", pl.col("home_team").alias("_home_abbr"), pl.col("away_team").alias("_away_abbr")
    )
    latest = rosters.select(
        "player_lookup", pl.col("player_id").alias("_cand_id"), pl.col("team").alias("_cand_team")
    ).unique("player_lookup", keep="last")
    props = (
        props.join(names.rename({"full_name": "_home", "abbreviation": "_home_abbr"}), on="_home", how="left")
        .join(names.rename({"full_name": "_away", "abbreviation": "_away_abbr"}), on="_away", how="left")
        .join(games, on=["game_date", "_home_abbr", "_away_abbr"], how="left")
    )
    props = canonical_lookup(props, "player_name_quoted").join(latest, on="player_lookup", how="left")
    props = resolve_player_ids(props.with_columns(pl.col("_cand_id").alias("player_id")))
    props = props.with_columns(
        pl.when((pl.col("_cand_team") == pl.col("_home_abbr")) | (pl.col("_cand_team") == pl.col("_away_abbr")))
        .then(pl.col("_cand_team"))
        .alias("team")
    )
    return (
        props.select(schema.names())
        .cast(dict(schema))
        .sort("game_id", "snapshot_utc", "bookmaker", "player_lookup", "line")
    )
