"""JSON documents for the web front end (``exports/v1/``), built from lake tables."""

from __future__ import annotations

import json
import os
import uuid
from datetime import date, datetime
from pathlib import Path
from typing import Any

import polars as pl

EXPORT_VERSION = "v1"


def _clean(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 2)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


def day_document(day: date, predictions: pl.DataFrame, schedule: pl.DataFrame, generated_at: datetime) -> dict:
    """One game date: games -> players -> every system's prediction against the line.

    ``predictions`` and ``schedule`` may hold other dates too; only ``day`` is used.
    """
    day_sched = schedule.filter(pl.col("game_date") == day).sort("tipoff_utc", "game_id", nulls_last=True)
    day_pred = predictions.filter(pl.col("game_date") == day).sort("game_id", "team", "player_lookup", "system_id")
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
                "predictions": {},
            },
        )
        entry["predictions"][r["system_id"]] = {
            "predicted_points": _clean(r["predicted_points"]),
            "edge": _clean(r["edge"]),
            "recommendation": r["recommendation"],
            "confidence": _clean(r["confidence"]),
        }
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


def write_json(path: Path, document: dict) -> None:
    """Atomic write: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_text(json.dumps(document, indent=1, sort_keys=False))
    os.replace(tmp, path)


def latest_exported_day(predictions_dir: Path) -> date | None:
    days = (
        [date.fromisoformat(p.stem) for p in predictions_dir.glob("????-??-??.json")]
        if predictions_dir.exists()
        else []
    )
    return max(days) if days else None
