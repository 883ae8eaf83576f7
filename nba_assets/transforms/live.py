"""The live export of one game date, from the landed scoreboard and box scores (pure polars).

- ``parse_scoreboard``: stats.nba.com ``scoreboardv2`` → one row per game: status (``scheduled``,
  ``in_progress``, ``final``), status text, period, clock and score where the feed gives them.
- ``parse_box_scores``: balldontlie ``/v1/box_scores`` → one row per player line (points, minutes),
  with his game's status, matched to the scoreboard's game by its home team.
- ``live_documents``: for each game date, ``live/{date}.json`` (each game's status, score, period
  and clock, and each lined player's points so far: null while the feed has no numbers for his
  game) and ``live-grading/{date}.json`` (each OVER/UNDER call of the day's predictions:
  ``pending`` (not started, or no numbers yet), ``on_track`` (numbers in, still open), ``hit`` /
  ``missed`` (decided: final, or an over already scored in a game in progress), ``push`` (final,
  the points equal the line), ``void`` (final, the player is not in the box score). Once final
  this is exactly ``prediction_accuracy``'s grade (correct, incorrect, push, void)). Every day of
  a run is computed in one polars pass (``stack_days``: the parsed feeds with their game date).

A field of the wrong shape raises ``PayloadError`` naming the landing file, the field and the date.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, datetime
from typing import Any

import polars as pl

from nba_assets.identity import canonical_lookup
from nba_assets.sources.live import BoxScoresBody, scoreboard_rows
from nba_assets.sources.payloads import PayloadError, validate

LIVE_VERSION = "v1"
STATUS_BY_ID = {1: "scheduled", 2: "in_progress", 3: "final"}
CALL_STATES = ("pending", "on_track", "hit", "missed", "push", "void")
BETS = ("OVER", "UNDER")

GAMES_SCHEMA = pl.Schema(
    {
        "game_id": pl.String,
        "home_team": pl.String,
        "away_team": pl.String,
        "status": pl.String,
        "status_text": pl.String,
        "period": pl.Int64,
        "clock": pl.String,
        "home_score": pl.Int64,
        "away_score": pl.Int64,
    }
)
PLAYERS_SCHEMA = pl.Schema(
    {
        "home_team": pl.String,
        "team": pl.String,
        "bdl_player_id": pl.Int64,
        "player_name": pl.String,
        "minutes": pl.String,
        "points": pl.Int64,
        "box_final": pl.Boolean,
    }
)


def parse_scoreboard(body: Any, *, file: str, day: date) -> pl.DataFrame:
    """One row per game of the scoreboard (``GAMES_SCHEMA``)."""
    rows = scoreboard_rows(body, file=file, partition=day.isoformat())
    teams = {(r.GAME_ID, r.TEAM_ID): r for r in rows["LineScore"]}
    out = []
    for i, g in enumerate(rows["GameHeader"]):
        if g.GAME_STATUS_ID not in STATUS_BY_ID:
            raise PayloadError(
                f"{file} (game date {day}): field 'GAME_STATUS_ID' at GameHeader.rowSet[{i}]: "
                f"{g.GAME_STATUS_ID} is not 1, 2 or 3",
                file=file,
                field=f"GameHeader.rowSet[{i}].GAME_STATUS_ID",
                game_date=day.isoformat(),
            )
        home, away = teams.get((g.GAME_ID, g.HOME_TEAM_ID)), teams.get((g.GAME_ID, g.VISITOR_TEAM_ID))
        if home is None or away is None:
            missing = g.HOME_TEAM_ID if home is None else g.VISITOR_TEAM_ID
            raise PayloadError(
                f"{file} (game date {day}): game {g.GAME_ID} has no LineScore row for team {missing}",
                file=file,
                field=f"LineScore[GAME_ID={g.GAME_ID}]",
                game_date=day.isoformat(),
            )
        status = STATUS_BY_ID[g.GAME_STATUS_ID]
        clock = (g.LIVE_PC_TIME or "").strip() or None
        out.append(
            {
                "game_id": g.GAME_ID,
                "home_team": home.TEAM_ABBREVIATION,
                "away_team": away.TEAM_ABBREVIATION,
                "status": status,
                "status_text": (g.GAME_STATUS_TEXT or "").strip() or None,
                "period": g.LIVE_PERIOD if status != "scheduled" else None,
                "clock": clock if status == "in_progress" else None,
                "home_score": home.PTS if status != "scheduled" else None,
                "away_score": away.PTS if status != "scheduled" else None,
            }
        )
    return pl.DataFrame(out, schema=GAMES_SCHEMA, orient="row") if out else pl.DataFrame(schema=GAMES_SCHEMA)


def parse_box_scores(body: Any, *, file: str, day: date) -> pl.DataFrame:
    """One row per player line of the box scores (``PLAYERS_SCHEMA``); ``box_final``: his game's
    status is ``Final`` (its lines are the final box score)."""
    parsed = validate(BoxScoresBody, body, file=file, partition=day.isoformat())
    out = []
    for i, g in enumerate(parsed.data):
        if g.date[:10] != day.isoformat():
            raise PayloadError(
                f"{file} (game date {day}): field 'date' at data[{i}]: {g.date!r} is not {day}",
                file=file,
                field=f"data[{i}].date",
                game_date=day.isoformat(),
            )
        final = g.status == "Final"
        for team in (g.home_team, g.visitor_team):
            for p in team.players:
                out.append(
                    {
                        "home_team": g.home_team.abbreviation,
                        "team": team.abbreviation,
                        "bdl_player_id": p.player.id,
                        "player_name": f"{p.player.first_name} {p.player.last_name}".strip(),
                        "minutes": None if p.min is None else str(p.min),
                        "points": p.pts,
                        "box_final": final,
                    }
                )
    return pl.DataFrame(out, schema=PLAYERS_SCHEMA, orient="row") if out else pl.DataFrame(schema=PLAYERS_SCHEMA)


def stack_days(frames: Sequence[tuple[date, pl.DataFrame]], schema: pl.Schema) -> pl.DataFrame:
    """Frames of ``schema`` of several game dates as one, with a leading ``game_date`` column."""
    out = pl.concat([f for _, f in frames], how="vertical") if frames else pl.DataFrame(schema=schema)
    days = pl.Series("game_date", [d for d, f in frames for _ in range(f.height)], dtype=pl.Date)
    return out.insert_column(0, days)


def _lines(predictions: pl.DataFrame) -> pl.DataFrame:
    """One row per lined player of each day's predictions: his line (the same for every system)."""
    return (
        predictions.filter(pl.col("points_line").is_not_null())
        .sort("game_date", "player_id", "system_id")
        .unique(["game_date", "game_id", "player_id"], keep="first", maintain_order=True)
        .select("game_date", "game_id", "player_id", "player_lookup", "player_name", "team", "opponent", "points_line")
    )


def points_so_far(games: pl.DataFrame, players: pl.DataFrame, predictions: pl.DataFrame) -> pl.DataFrame:
    """Each predicted player (game_date, game_id, player_id) with his points from the box scores:
    ``points`` null while his game has no numbers; ``played`` False once his game's box score is
    final without him (null while it is not final); ``final``: the game and its box score are final.
    ``games`` and ``players`` are ``stack_days`` of the parsed feeds; every frame may hold many days."""
    day_game = ["game_date", "game_id"]
    lined = predictions.select(*day_game, "player_id", "player_lookup", "team").unique([*day_game, "player_id"])
    box = canonical_lookup(players, "player_name").join(
        games.select(*day_game, "home_team", pl.col("status").alias("game_status")),
        on=["game_date", "home_team"],
        how="inner",
        maintain_order="left",
    )
    box_games = box.group_by(day_game).agg(pl.col("box_final").all().alias("box_final"))
    matched = box.unique([*day_game, "player_lookup"], keep="first").select(
        *day_game, "player_lookup", "points", "minutes", pl.lit(True).alias("in_box")
    )
    return (
        lined.join(games.select(*day_game, "status"), on=day_game, how="left")
        .join(box_games, on=day_game, how="left")
        .join(matched, on=[*day_game, "player_lookup"], how="left")
        .with_columns(
            ((pl.col("status") == "final") & pl.col("box_final").fill_null(False)).alias("final"),
            pl.col("in_box").fill_null(False),
        )
        .with_columns(
            pl.when(pl.col("final")).then(pl.col("in_box")).otherwise(None).alias("played"),
        )
        .select(*day_game, "player_id", "points", "minutes", "played", "final")
    )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def call_states(predictions: pl.DataFrame, progress: pl.DataFrame) -> pl.DataFrame:
    """Each OVER/UNDER call with ``status`` (see the module) and ``points`` so far."""
    calls = predictions.filter(pl.col("recommendation").is_in(BETS)).join(
        progress, on=["game_date", "game_id", "player_id"], how="left"
    )
    over, under = pl.col("recommendation") == "OVER", pl.col("recommendation") == "UNDER"
    pts, line = pl.col("points"), pl.col("points_line")
    final = pl.col("final").fill_null(False)
    state = (
        pl.when(final & ~pl.col("played"))
        .then(pl.lit("void"))
        .when(final & (pts == line))
        .then(pl.lit("push"))
        .when(final & ((over & (pts > line)) | (under & (pts < line))))
        .then(pl.lit("hit"))
        .when(final)
        .then(pl.lit("missed"))
        .when(pts.is_null())
        .then(pl.lit("pending"))
        # in progress with numbers: points only go up, so an over already scored is decided
        .when(over & (pts > line))
        .then(pl.lit("hit"))
        .when(under & (pts > line))
        .then(pl.lit("missed"))
        .otherwise(pl.lit("on_track"))
    )
    return calls.with_columns(state.alias("status"))


def _by_day(frame: pl.DataFrame, columns: Sequence[str]) -> dict[date, list[tuple]]:
    """The rows (``columns``) of a frame sorted by game_date first, per game date, in order."""
    out: dict[date, list[tuple]] = {}
    for day, *row in zip(frame["game_date"].to_list(), *(frame[c].to_list() for c in columns), strict=True):
        out.setdefault(day, []).append(tuple(row))
    return out


_GAME_FIELDS = tuple(GAMES_SCHEMA.names())
_LIVE_PLAYER_FIELDS = (
    "player_id",
    "player_lookup",
    "player_name",
    "team",
    "points_line",
    "points",
    "minutes",
    "played",
)
_CALL_FIELDS = ("game_id", "game_status", "player_id", "player_lookup", "player_name", "team", "opponent")
_CALL_FIELDS += ("system_id", "recommendation", "points_line", "predicted_points", "points", "status")


def live_documents(
    feeds: Sequence[tuple[date, pl.DataFrame, pl.DataFrame, datetime | None]],
    predictions: pl.DataFrame,
    schedule: pl.DataFrame,
    generated_at: datetime,
) -> Iterator[tuple[date, dict, dict]]:
    """``(day, live document, live-grading document)`` of each ``(day, games, players, fetched_at)``
    of ``feeds`` (``parse_scoreboard`` / ``parse_box_scores`` of its newest fetch), in order;
    ``predictions`` and ``schedule`` may hold other dates too. All days in one polars pass.

    ``live/{date}.json``: every game of the scoreboard with its status, score, period and clock
    (null where the feed gives none), and each lined player's points so far.
    ``live-grading/{date}.json``: every OVER/UNDER call of the day's predictions, its progress."""
    days = [day for day, *_ in feeds]
    wanted = pl.col("game_date").is_in(pl.Series(days, dtype=pl.Date).implode())
    games = stack_days([(d, g) for d, g, _, _ in feeds], GAMES_SCHEMA)
    players = stack_days([(d, p) for d, _, p, _ in feeds], PLAYERS_SCHEMA)
    predictions = predictions.filter(wanted)
    progress = points_so_far(games, players, predictions)
    keys = ["game_date", "game_id", "player_id"]
    lined = (
        _lines(predictions)
        .join(progress, on=keys, how="left")
        .sort("game_date", "game_id", "team", "player_name")
        .select("game_date", "game_id", *_LIVE_PLAYER_FIELDS)
    )
    lined_by_day = _by_day(lined, ["game_id", *_LIVE_PLAYER_FIELDS])
    games_by_day = _by_day(games.sort("game_date", "game_id"), _GAME_FIELDS)
    tips_by_day = _by_day(schedule.filter(wanted), ["game_id", "tipoff_utc"])
    states = (
        call_states(predictions, progress)
        .join(games.select("game_date", "game_id", pl.col("status").alias("game_status")), on=keys[:2], how="left")
        .sort("game_date", "game_id", "player_name", "system_id")
    )
    calls_by_day = _by_day(states, _CALL_FIELDS)
    home_by_day = {d: (set(p["home_team"].to_list()), set(g["home_team"].to_list())) for d, g, p, _ in feeds}
    for day, _, _, fetched_at in feeds:
        by_game: dict[str, list[dict]] = {}
        for game_id, player_id, lookup, name, team, line, points, minutes, played in lined_by_day.get(day, []):
            by_game.setdefault(game_id, []).append(
                {
                    "player_id": player_id,
                    "player_lookup": lookup,
                    "name": name,
                    "team": team,
                    "points_line": line,
                    "points": points,
                    "minutes": minutes,
                    "played": played,
                }
            )
        tips = {game_id: tip for game_id, tip in tips_by_day.get(day, [])}
        out_games = [
            {
                **dict(zip(_GAME_FIELDS, g, strict=True)),
                "tipoff_utc": _iso(tips.get(g[0])),
                "players": by_game.get(g[0], []),
            }
            for g in games_by_day.get(day, [])
        ]
        out_games.sort(key=lambda g: (g["tipoff_utc"] is None, g["tipoff_utc"] or "", g["game_id"]))
        box_homes, board_homes = home_by_day[day]
        live = {
            "version": LIVE_VERSION,
            "generated_at": _iso(generated_at),
            "game_date": day.isoformat(),
            "fetched_at": _iso(fetched_at),
            "games_by_status": {s: sum(g["status"] == s for g in out_games) for s in STATUS_BY_ID.values()},
            # box-score games the scoreboard does not list: their lines cannot be placed (said, not dropped)
            "box_score_games_not_on_the_scoreboard": sorted(box_homes - board_homes),
            "games": out_games,
        }
        calls = [
            {
                "game_id": game_id,
                "game_status": game_status,
                "player_id": player_id,
                "player_lookup": lookup,
                "name": name,
                "team": team,
                "opponent": opponent,
                "system_id": system_id,
                "recommendation": recommendation,
                "points_line": line,
                "predicted_points": None if predicted is None else round(predicted, 3),
                "points": points,
                "status": status,
            }
            for (
                game_id,
                game_status,
                player_id,
                lookup,
                name,
                team,
                opponent,
                system_id,
                recommendation,
                line,
                predicted,
                points,
                status,
            ) in calls_by_day.get(day, [])
        ]
        grading = {
            "version": LIVE_VERSION,
            "generated_at": _iso(generated_at),
            "game_date": day.isoformat(),
            "counts": {s: sum(c["status"] == s for c in calls) for s in CALL_STATES},
            "calls_without_a_scoreboard_game": sorted({c["game_id"] for c in calls if c["game_status"] is None}),
            "calls": calls,
        }
        yield day, live, grading
