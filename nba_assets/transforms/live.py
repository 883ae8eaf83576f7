"""The live export of one game date, from the landed scoreboard and box scores (pure polars).

- ``parse_scoreboard``: stats.nba.com ``scoreboardv2`` → one row per game: status (``scheduled``,
  ``in_progress``, ``final``), status text, period, clock and score where the feed gives them.
- ``parse_box_scores``: balldontlie ``/v1/box_scores`` → one row per player line (points, minutes),
  with his game's status, matched to the scoreboard's game by its home team.
- ``live_document`` (``live/{date}.json``): each game's status, score, period and clock, and each
  lined player's points so far (null while the feed has no numbers for his game).
- ``live_grading_document`` (``live-grading/{date}.json``): each OVER/UNDER call of the day's
  predictions: ``pending`` (not started, or no numbers yet), ``on_track`` (numbers in, still open),
  ``hit`` / ``missed`` (decided: final, or an over already scored in a game in progress), ``push``
  (final, the points equal the line), ``void`` (final, the player is not in the box score). Once
  final this is exactly ``prediction_accuracy``'s grade (correct, incorrect, push, void).

A field of the wrong shape raises ``PayloadError`` naming the landing file, the field and the date.
"""

from __future__ import annotations

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


def _lines(predictions: pl.DataFrame) -> pl.DataFrame:
    """One row per lined player of the day's predictions: his line (the same for every system)."""
    return (
        predictions.filter(pl.col("points_line").is_not_null())
        .sort("player_id", "system_id")
        .unique(["game_id", "player_id"], keep="first", maintain_order=True)
        .select("game_id", "player_id", "player_lookup", "player_name", "team", "opponent", "points_line")
    )


def points_so_far(games: pl.DataFrame, players: pl.DataFrame, predictions: pl.DataFrame) -> pl.DataFrame:
    """Each predicted player (game_id, player_id) with his points from the box scores: ``points``
    null while his game has no numbers; ``played`` False once his game's box score is final without
    him (null while it is not final); ``final``: the game and its box score are final."""
    lined = predictions.select("game_id", "player_id", "player_lookup", "team").unique(["game_id", "player_id"])
    box = canonical_lookup(players, "player_name").join(
        games.select("game_id", "home_team", pl.col("status").alias("game_status")), on="home_team", how="inner"
    )
    box_games = box.group_by("game_id").agg(pl.col("box_final").all().alias("box_final"))
    matched = box.unique(["game_id", "player_lookup"], keep="first").select(
        "game_id", "player_lookup", "points", "minutes", pl.lit(True).alias("in_box")
    )
    return (
        lined.join(games.select("game_id", "status"), on="game_id", how="left")
        .join(box_games, on="game_id", how="left")
        .join(matched, on=["game_id", "player_lookup"], how="left")
        .with_columns(
            ((pl.col("status") == "final") & pl.col("box_final").fill_null(False)).alias("final"),
            pl.col("in_box").fill_null(False),
        )
        .with_columns(
            pl.when(pl.col("final")).then(pl.col("in_box")).otherwise(None).alias("played"),
        )
        .select("game_id", "player_id", "points", "minutes", "played", "final")
    )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def live_document(
    day: date,
    games: pl.DataFrame,
    players: pl.DataFrame,
    predictions: pl.DataFrame,
    schedule: pl.DataFrame,
    generated_at: datetime,
    fetched_at: datetime | None,
    progress: pl.DataFrame | None = None,
) -> dict:
    """``live/{date}.json``: every game of the scoreboard with its status, score, period and clock
    (null where the feed gives none), and each lined player's points so far (``progress``:
    ``points_so_far`` of the day's predictions, computed here when not given)."""
    lines = _lines(predictions)
    if progress is None:
        progress = points_so_far(games, players, predictions)
    tips = dict(zip(schedule["game_id"].to_list(), schedule["tipoff_utc"].to_list(), strict=True))
    by_game: dict[str, list[dict]] = {}
    rows = lines.join(progress, on=["game_id", "player_id"], how="left").sort("game_id", "team", "player_name")
    for r in rows.iter_rows(named=True):
        by_game.setdefault(r["game_id"], []).append(
            {
                "player_id": r["player_id"],
                "player_lookup": r["player_lookup"],
                "name": r["player_name"],
                "team": r["team"],
                "points_line": r["points_line"],
                "points": r["points"],
                "minutes": r["minutes"],
                "played": r["played"],
            }
        )
    out_games = []
    for g in games.sort("game_id").iter_rows(named=True):
        out_games.append({**g, "tipoff_utc": _iso(tips.get(g["game_id"])), "players": by_game.get(g["game_id"], [])})
    out_games.sort(key=lambda g: (g["tipoff_utc"] is None, g["tipoff_utc"] or "", g["game_id"]))
    counts = {s: sum(g["status"] == s for g in out_games) for s in STATUS_BY_ID.values()}
    # box-score games the scoreboard does not list: their lines cannot be placed (said, not dropped)
    unplaced = sorted(set(players["home_team"].to_list()) - set(games["home_team"].to_list()))
    return {
        "version": LIVE_VERSION,
        "generated_at": _iso(generated_at),
        "game_date": day.isoformat(),
        "fetched_at": _iso(fetched_at),
        "games_by_status": counts,
        "box_score_games_not_on_the_scoreboard": unplaced,
        "games": out_games,
    }


def call_states(predictions: pl.DataFrame, progress: pl.DataFrame) -> pl.DataFrame:
    """Each OVER/UNDER call with ``status`` (see the module) and ``points`` so far."""
    calls = predictions.filter(pl.col("recommendation").is_in(BETS)).join(
        progress, on=["game_id", "player_id"], how="left"
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


def live_grading_document(
    day: date,
    games: pl.DataFrame,
    players: pl.DataFrame,
    predictions: pl.DataFrame,
    generated_at: datetime,
    progress: pl.DataFrame | None = None,
) -> dict:
    """``live-grading/{date}.json``: every OVER/UNDER call of the day's predictions, its progress."""
    if progress is None:
        progress = points_so_far(games, players, predictions)
    states = call_states(predictions, progress).join(
        games.select("game_id", pl.col("status").alias("game_status")), on="game_id", how="left"
    )
    calls = [
        {
            "game_id": r["game_id"],
            "game_status": r["game_status"],
            "player_id": r["player_id"],
            "player_lookup": r["player_lookup"],
            "name": r["player_name"],
            "team": r["team"],
            "opponent": r["opponent"],
            "system_id": r["system_id"],
            "recommendation": r["recommendation"],
            "points_line": r["points_line"],
            "predicted_points": None if r["predicted_points"] is None else round(r["predicted_points"], 3),
            "points": r["points"],
            "status": r["status"],
        }
        for r in states.sort("game_id", "player_name", "system_id").iter_rows(named=True)
    ]
    counts = {s: sum(c["status"] == s for c in calls) for s in CALL_STATES}
    no_game = sorted({c["game_id"] for c in calls if c["game_status"] is None})
    return {
        "version": LIVE_VERSION,
        "generated_at": _iso(generated_at),
        "game_date": day.isoformat(),
        "counts": counts,
        "calls_without_a_scoreboard_game": no_game,
        "calls": calls,
    }
