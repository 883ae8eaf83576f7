"""JSON documents for the web front end (``exports/v1/``), built from lake tables.

Every document carries ``version`` and ``generated_at``; their shapes are the JSON Schemas in
``docs/schemas/`` (a test validates every exported file against them).

- ``predictions/{date}.json`` and ``tonight/all-players.json`` (the latest game date): games →
  players → line, the headline call (``ensemble_v1`` when it predicted the player, else
  ``moving_average``), every system's prediction, the last 10 games, rest and fatigue;
- ``tonight/player/{player_lookup}.json``: one player's entry of the latest game date;
- ``best-bets/{date}.json``: the headline system's OVER/UNDER calls ranked by P(win);
- ``results/{date}.json``: every graded prediction and per-system figures of the day;
- ``systems/performance.json``: last 7 / last 30 days / season per system.
"""

from __future__ import annotations

import json
import math
import os
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from nba_assets.transforms.asof import HISTORY_DAYS

EXPORT_VERSION = "v1"
HEADLINE_SYSTEMS = ["ensemble_v1", "moving_average"]
LAST_GAMES = 10
REST_FIELDS = ["days_rest", "is_back_to_back", "games_in_last_7_days", "minutes_in_last_7_days", "fatigue_score"]


def _clean(value: Any) -> Any:
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 3)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


def _system_entry(r: dict) -> dict:
    return {
        "predicted_points": _clean(r["predicted_points"]),
        "edge": _clean(r["edge"]),
        "p_over": _clean(r.get("p_over")),
        "recommendation": r["recommendation"],
        "confidence": _clean(r["confidence"]),
    }


def last_games(history: pl.DataFrame, day: date, player_ids: list[int]) -> dict[int, list[dict]]:
    """The last LAST_GAMES games of each player in the HISTORY_DAYS strictly before ``day`` (the same
    set whatever history frame the run hands in)."""
    if history.height == 0 or not player_ids:
        return {}
    first = day - timedelta(days=HISTORY_DAYS)
    h = (
        history.filter(pl.col("game_date").is_between(first, day, closed="left"))
        .filter(pl.col("player_id").is_in(player_ids))
        .sort("game_date", descending=True)
        .group_by("player_id", maintain_order=True)
        .head(LAST_GAMES)
    )
    out: dict[int, list[dict]] = {}
    for r in h.iter_rows(named=True):
        out.setdefault(r["player_id"], []).append(
            {
                "game_date": r["game_date"].isoformat(),
                "opponent": r["opponent"],
                "minutes": r["minutes"],
                "points": r["pts"],
                "points_line": _clean(r["points_line"]),
            }
        )
    return out


def day_document(
    day: date,
    predictions: pl.DataFrame,
    schedule: pl.DataFrame,
    generated_at: datetime,
    features: pl.DataFrame | None = None,
    history: pl.DataFrame | None = None,
) -> dict:
    """One game date: games -> players -> the headline call and every system's prediction.

    ``predictions``, ``schedule``, ``features`` and ``history`` may hold other dates too.
    """
    day_sched = schedule.filter(pl.col("game_date") == day).sort("tipoff_utc", "game_id", nulls_last=True)
    day_pred = predictions.filter(pl.col("game_date") == day).sort("game_id", "team", "player_lookup", "system_id")
    rest: dict[int, dict] = {}
    if features is not None and features.height:
        cols = [c for c in REST_FIELDS if c in features.columns]
        for r in features.filter(pl.col("game_date") == day).select("player_id", *cols).iter_rows(named=True):
            rest[r["player_id"]] = {c: _clean(r.get(c)) for c in REST_FIELDS}
    recent = last_games(history, day, day_pred["player_id"].unique().to_list()) if history is not None else {}
    by_game: dict[str, dict[int, dict]] = {}
    for r in day_pred.iter_rows(named=True):
        players = by_game.setdefault(r["game_id"], {})
        entry = players.setdefault(
            r["player_id"],
            {
                "player_id": r["player_id"],
                "player_lookup": r["player_lookup"],
                "name": r["player_name"],
                "team": r["team"],
                "opponent": r["opponent"],
                "points_line": _clean(r["points_line"]),
                "line_source": r["line_source"],
                "best_over_price": r.get("best_over_price"),
                "best_over_book": r.get("best_over_book"),
                "best_under_price": r.get("best_under_price"),
                "best_under_book": r.get("best_under_book"),
                "headline_system": None,
                "recommendation": None,
                "confidence": None,
                "predicted_points": None,
                "p_over": None,
                "edge": None,
                "predictions": {},
                "last_10_games": recent.get(r["player_id"], []),
                "rest": rest.get(r["player_id"], {c: None for c in REST_FIELDS}),
            },
        )
        entry["predictions"][r["system_id"]] = _system_entry(r)
    for players in by_game.values():
        for entry in players.values():
            headline = next((s for s in HEADLINE_SYSTEMS if s in entry["predictions"]), None) or min(
                entry["predictions"]
            )
            entry["headline_system"] = headline
            entry |= {k: entry["predictions"][headline][k] for k in _system_entry_keys()}
    games = [
        {
            "game_id": game["game_id"],
            "home_team": game["home_team"],
            "away_team": game["away_team"],
            "tipoff_utc": _clean(game["tipoff_utc"]),
            "players": list(by_game.get(game["game_id"], {}).values()),
        }
        for game in day_sched.iter_rows(named=True)
    ]
    return {
        "version": EXPORT_VERSION,
        "game_date": day.isoformat(),
        "generated_at": generated_at.isoformat(),
        "systems": sorted(day_pred["system_id"].unique().to_list()),
        "games": games,
    }


def _system_entry_keys() -> list[str]:
    return ["predicted_points", "edge", "p_over", "recommendation", "confidence"]


def player_documents(document: dict) -> dict[str, dict]:
    """tonight/player/{player_lookup}.json: one document per player of a day document."""
    out = {}
    for game in document["games"]:
        for player in game["players"]:
            out[player["player_lookup"]] = {
                "version": EXPORT_VERSION,
                "game_date": document["game_date"],
                "generated_at": document["generated_at"],
                "game": {k: game[k] for k in ("game_id", "home_team", "away_team", "tipoff_utc")},
                "player": player,
            }
    return out


def best_bets_document(day: date, predictions: pl.DataFrame, generated_at: datetime) -> dict:
    """The headline system's OVER/UNDER calls of ``day``, ranked by P(win) then confidence."""
    d = predictions.filter(pl.col("game_date") == day)
    system = next((s for s in HEADLINE_SYSTEMS if (d["system_id"] == s).any()), None)
    picks = []
    if system is not None:
        calls = (
            d.filter((pl.col("system_id") == system) & pl.col("recommendation").is_in(["OVER", "UNDER"]))
            .with_columns(
                pl.when(pl.col("recommendation") == "OVER")
                .then(pl.col("p_over"))
                .otherwise(1 - pl.col("p_over"))
                .alias("p_win")
            )
            .sort(["p_win", "confidence", "player_lookup"], descending=[True, True, False], nulls_last=True)
        )
        for rank, r in enumerate(calls.iter_rows(named=True), start=1):
            picks.append(
                {
                    "rank": rank,
                    "game_id": r["game_id"],
                    "player_id": r["player_id"],
                    "player_lookup": r["player_lookup"],
                    "name": r["player_name"],
                    "team": r["team"],
                    "opponent": r["opponent"],
                    "pick": r["recommendation"],
                    "points_line": _clean(r["points_line"]),
                    "predicted_points": _clean(r["predicted_points"]),
                    "edge": _clean(r["edge"]),
                    "p_over": _clean(r["p_over"]),
                    "p_win": _clean(r["p_win"]),
                    "confidence": _clean(r["confidence"]),
                    "best_price": r["best_over_price"] if r["recommendation"] == "OVER" else r["best_under_price"],
                }
            )
    return {
        "version": EXPORT_VERSION,
        "game_date": day.isoformat(),
        "generated_at": generated_at.isoformat(),
        "system_id": system,
        "picks": picks,
    }


def results_document(day: date, accuracy: pl.DataFrame, performance: pl.DataFrame, generated_at: datetime) -> dict:
    a = accuracy.filter(pl.col("game_date") == day).sort("game_id", "player_lookup", "system_id")
    perf = performance.filter(pl.col("game_date") == day).sort("system_id")
    return {
        "version": EXPORT_VERSION,
        "game_date": day.isoformat(),
        "generated_at": generated_at.isoformat(),
        "systems": {r["system_id"]: _perf_entry(r) for r in perf.iter_rows(named=True)},
        "results": [
            {
                "game_id": r["game_id"],
                "player_id": r["player_id"],
                "player_lookup": r["player_lookup"],
                "system_id": r["system_id"],
                "predicted_points": _clean(r["predicted_points"]),
                "points_line": _clean(r["points_line"]),
                "recommendation": r["recommendation"],
                "p_over": _clean(r["p_over"]),
                "actual_points": r["actual_points"],
                "played": r["played"],
                "absolute_error": _clean(r["absolute_error"]),
                "grade": r["grade"],
                "units": _clean(r["units"]),
            }
            for r in a.iter_rows(named=True)
        ],
    }


def _perf_entry(r: dict) -> dict:
    keys = ["graded", "mae", "bias", "bets", "hits", "hit_rate", "over_bets", "over_hits", "under_bets", "under_hits"]
    keys += ["pushes", "voids", "brier", "log_loss", "units", "roi"]
    return {k: _clean(r[k]) for k in keys}


def performance_document(as_of: date, performance: pl.DataFrame, generated_at: datetime) -> dict:
    """Per system: last 7 days, last 30 days and the season to date (through ``as_of``)."""
    season_start = date(as_of.year if as_of.month >= 8 else as_of.year - 1, 8, 1)
    windows = {
        "last_7_days": as_of - timedelta(days=6),
        "last_30_days": as_of - timedelta(days=29),
        "season": season_start,
    }
    systems: dict[str, dict] = {}
    upto = performance.filter(pl.col("game_date") <= as_of)
    for name, first in windows.items():
        w = upto.filter(pl.col("game_date") >= first)
        agg = w.group_by("system_id").agg(
            pl.col("graded").sum(),
            ((pl.col("mae") * pl.col("graded")).sum() / pl.col("graded").sum()).alias("mae"),
            pl.col("bets").sum(),
            pl.col("hits").sum(),
            pl.col("pushes").sum(),
            pl.col("units").sum(),
            ((pl.col("brier") * pl.col("brier_n")).sum() / pl.col("brier_n").sum()).alias("brier"),
            pl.col("brier_n").sum(),
        )
        for r in agg.sort("system_id").iter_rows(named=True):
            bets = r["bets"]
            systems.setdefault(r["system_id"], {})[name] = {
                "from": first.isoformat(),
                "graded": r["graded"],
                "mae": _clean(r["mae"]),
                "bets": bets,
                "hits": r["hits"],
                "hit_rate": _clean(r["hits"] / bets) if bets else None,
                "units": _clean(r["units"]),
                "roi": _clean(r["units"] / (bets + r["pushes"])) if bets + r["pushes"] else None,
                "brier": _clean(r["brier"]),
            }
    return {
        "version": EXPORT_VERSION,
        "as_of": as_of.isoformat(),
        "generated_at": generated_at.isoformat(),
        "systems": systems,
    }


def write_json(path: Path, document: dict) -> None:
    """Atomic write: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_text(json.dumps(document, indent=1, sort_keys=False))
    os.replace(tmp, path)
    from nba_assets.io.objects import mirror_file

    mirror_file(path, purpose="exports")  # the GCS copy with its Cache-Control; a no-op without NBA_GCS_BUCKET


def latest_exported_day(predictions_dir: Path) -> date | None:
    days = (
        [date.fromisoformat(p.stem) for p in predictions_dir.glob("????-??-??.json")]
        if predictions_dir.exists()
        else []
    )
    return max(days) if days else None
