"""JSON documents for the web front end (``exports/v1/``), built from lake tables.

Every document carries ``version`` and ``generated_at``; their shapes are the JSON Schemas in
``docs/schemas/`` (a test validates every exported file against them).

- ``predictions/{date}.json`` and ``tonight/all-players.json`` (the latest game date): games →
  players → line, the headline call (``ensemble_v1`` when it predicted the player, else
  ``moving_average``), every system's prediction, the last 10 games, rest and fatigue, how often
  he went over tonight's line in his last 5/10/20 games and the season, and the opponent's
  defense rank (both from games strictly before the date);
- ``tonight/player/{player_lookup}.json``: one player's entry of the latest game date, with his
  past graded calls (every system, dates before the game date);
- ``best-bets/{date}.json``: the headline system's OVER/UNDER calls ranked by P(win);
- ``results/{date}.json``: every graded prediction (with the player's name) and per-system figures
  of the day, and the track record of the season through the date: hit rate with its Wilson 95 %
  interval against the −110 break-even, units, the cumulative units by date, calibration bins;
- ``systems/performance.json``: last 7 / last 30 days / season per system.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

import polars as pl

from nba_assets.transforms.asof import HISTORY_DAYS

_DAY_FILE = re.compile(r"(?:^|/)predictions/(\d{4}-\d{2}-\d{2})\.json$")

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


HIT_RATE_WINDOWS = {"last_5": 5, "last_10": 10, "last_20": 20, "season": None}
BREAK_EVEN_110 = 110 / 210  # the hit rate a bet at -110 needs to break even (0.5238)
WILSON_Z = 1.959964
CALIBRATION_BINS = 10
PAST_CALL_DATES = 10


def season_start(day: date) -> date:
    """The NBA season of ``day`` starts on August 1 of its first year (as in performance_document)."""
    return date(day.year if day.month >= 8 else day.year - 1, 8, 1)


def wilson_interval(hits: int, n: int, z: float = WILSON_Z) -> tuple[float | None, float | None]:
    """The Wilson score interval of a hit rate (95 % by default); (None, None) without bets."""
    if not n:
        return None, None
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def _empty_hit_rates() -> dict:
    return {name: {"games": 0, "over": 0, "under": 0, "push": 0, "over_rate": None} for name in HIT_RATE_WINDOWS}


def line_hit_rates(history: pl.DataFrame, day: date, lines: pl.DataFrame) -> dict[int, dict]:
    """How often each player's points went over / under ``lines`` (player_id, points_line: tonight's
    line) in his last 5, 10, 20 games and this season, counting only games he played strictly
    before ``day``. ``over_rate`` is over / games (a push counts as a game, not an over)."""
    lines = lines.filter(pl.col("points_line").is_not_null()).unique("player_id", keep="first")
    if history.height == 0 or lines.height == 0:
        return {}
    played = (
        history.filter(
            pl.col("game_date").is_between(day - timedelta(days=HISTORY_DAYS), day, closed="left")
            & pl.col("player_id").is_in(lines["player_id"].implode())
            & (pl.col("minutes") > 0)
            & pl.col("pts").is_not_null()
        )
        .select("player_id", "game_date", "game_id", "pts")
        .join(lines.select("player_id", "points_line"), on="player_id")
        .sort(["player_id", "game_date", "game_id"], descending=[False, True, True])
        .with_columns(pl.int_range(1, pl.len() + 1).over("player_id").alias("_n"))
    )
    first = season_start(day)
    aggs = []
    for name, n in HIT_RATE_WINDOWS.items():
        keep = pl.col("_n") <= n if n is not None else pl.col("game_date") >= first
        aggs += [
            keep.sum().alias(f"{name}__games"),
            (keep & (pl.col("pts") > pl.col("points_line"))).sum().alias(f"{name}__over"),
            (keep & (pl.col("pts") < pl.col("points_line"))).sum().alias(f"{name}__under"),
            (keep & (pl.col("pts") == pl.col("points_line"))).sum().alias(f"{name}__push"),
        ]
    out: dict[int, dict] = {}
    for r in played.group_by("player_id").agg(aggs).iter_rows(named=True):
        entry = {}
        for name in HIT_RATE_WINDOWS:
            games = r[f"{name}__games"]
            entry[name] = {
                "games": games,
                "over": r[f"{name}__over"],
                "under": r[f"{name}__under"],
                "push": r[f"{name}__push"],
                "over_rate": _clean(r[f"{name}__over"] / games) if games else None,
            }
        out[r["player_id"]] = entry
    return out


def defense_ranks(history: pl.DataFrame, day: date) -> dict[str, dict]:
    """Each team's points allowed per game this season, from its games strictly before ``day``,
    ranked 1 (fewest allowed: the best defense) to the number of teams that played."""
    empty: dict[str, dict] = {}
    if history.height == 0:
        return empty
    games = (
        history.filter(
            pl.col("game_date").is_between(season_start(day), day, closed="left") & pl.col("opp_pts").is_not_null()
        )
        .group_by("team", "game_id")
        .agg(pl.col("opp_pts").first())
    )
    if games.height == 0:
        return empty
    teams = (
        games.group_by("team")
        .agg(pl.len().alias("games"), pl.col("opp_pts").mean().alias("allowed"))
        .with_columns(pl.col("allowed").rank("min").cast(pl.Int64).alias("rank"))
    )
    n = teams.height
    return {
        r["team"]: {"rank": r["rank"], "teams": n, "points_allowed_per_game": _clean(r["allowed"]), "games": r["games"]}
        for r in teams.iter_rows(named=True)
    }


def _no_defense_rank() -> dict:
    return {"rank": None, "teams": None, "points_allowed_per_game": None, "games": 0}


def past_calls(accuracy: pl.DataFrame, day: date, player_lookups: list[str]) -> dict[str, list[dict]]:
    """Each player's graded OVER/UNDER calls (every system) of his last PAST_CALL_DATES game dates
    with a call strictly before ``day``, newest first."""
    if accuracy.height == 0 or not player_lookups:
        return {}
    calls = accuracy.filter(
        (pl.col("game_date") < day)
        & pl.col("player_lookup").is_in(pl.Series(player_lookups).implode())
        & pl.col("recommendation").is_in(["OVER", "UNDER"])
    )
    if calls.height == 0:
        return {}
    dates = (
        calls.select("player_lookup", "game_date")
        .unique()
        .sort(["player_lookup", "game_date"], descending=[False, True])
        .group_by("player_lookup", maintain_order=True)
        .head(PAST_CALL_DATES)
    )
    rows = calls.join(dates, on=["player_lookup", "game_date"]).sort(
        ["player_lookup", "game_date", "system_id"], descending=[False, True, False]
    )
    out: dict[str, list[dict]] = {}
    for r in rows.iter_rows(named=True):
        out.setdefault(r["player_lookup"], []).append(
            {
                "game_date": r["game_date"].isoformat(),
                "system_id": r["system_id"],
                "points_line": _clean(r["points_line"]),
                "predicted_points": _clean(r["predicted_points"]),
                "recommendation": r["recommendation"],
                "actual_points": r["actual_points"],
                "grade": r["grade"],
                "units": _clean(r["units"]),
            }
        )
    return out


def track_record(accuracy: pl.DataFrame, day: date) -> dict:
    """The season through ``day`` per system, from graded predictions (``accuracy`` may hold any
    dates): bets, hits, hit rate with its Wilson 95 % interval against the −110 break-even,
    units (at the best price of the called side where the books gave one, else −110), units and
    cumulative units by date, and calibration bins of P(over) against how often the points went
    over the line (predictions with a line, player played, pushes left out)."""
    first = season_start(day)
    # Only bets and lined predictions count (most rows are NO_LINE: every row before lines exist).
    a = accuracy.filter(
        pl.col("game_date").is_between(first, day)
        & (
            pl.col("grade").is_in(["correct", "incorrect", "push"])
            | (pl.col("p_over").is_not_null() & pl.col("points_line").is_not_null())
        )
    )
    systems: dict[str, dict] = {}
    if a.height:
        bet = pl.col("grade").is_in(["correct", "incorrect"])
        daily = (
            a.group_by("system_id", "game_date")
            .agg(
                bet.sum().alias("bets"),
                (pl.col("grade") == "correct").sum().alias("hits"),
                (pl.col("grade") == "push").sum().alias("pushes"),
                pl.col("units").sum().alias("units"),
            )
            .sort("system_id", "game_date")
            .with_columns(pl.col("units").cum_sum().over("system_id").alias("cumulative_units"))
        )
        priced = (
            a.filter(bet)
            .group_by("system_id")
            .agg((pl.col("priced_at").fill_null("") != "actual").sum().alias("at_minus_110"))
        )
        at_110 = dict(priced.iter_rows())
        lined = a.filter(
            pl.col("p_over").is_not_null()
            & pl.col("points_line").is_not_null()
            & pl.col("played")
            & pl.col("actual_points").is_not_null()
            & (pl.col("actual_points").cast(pl.Float64) != pl.col("points_line"))
        ).with_columns(
            (pl.col("p_over") * CALIBRATION_BINS).floor().clip(0, CALIBRATION_BINS - 1).cast(pl.Int64).alias("_bin"),
            (pl.col("actual_points").cast(pl.Float64) > pl.col("points_line")).alias("_over"),
        )
        bins = (
            lined.group_by("system_id", "_bin")
            .agg(pl.len().alias("n"), pl.col("p_over").mean().alias("mean"), pl.col("_over").mean().alias("obs"))
            .sort("system_id", "_bin")
        )
        calibration: dict[str, list[dict]] = {}
        for r in bins.iter_rows(named=True):
            calibration.setdefault(r["system_id"], []).append(
                {
                    "bin_low": r["_bin"] / CALIBRATION_BINS,
                    "bin_high": (r["_bin"] + 1) / CALIBRATION_BINS,
                    "n": r["n"],
                    "mean_p_over": _clean(r["mean"]),
                    "observed_over_rate": _clean(r["obs"]),
                }
            )
        for system_id, rows in daily.partition_by("system_id", as_dict=True, maintain_order=True).items():
            bets, hits, pushes = int(rows["bets"].sum()), int(rows["hits"].sum()), int(rows["pushes"].sum())
            units = float(rows["units"].sum())
            low, high = wilson_interval(hits, bets)
            systems[system_id[0]] = {
                "bets": bets,
                "hits": hits,
                "pushes": pushes,
                "hit_rate": _clean(hits / bets) if bets else None,
                "wilson_low": _clean(low),
                "wilson_high": _clean(high),
                "edge_shown": low is not None and low > BREAK_EVEN_110,
                "units": _clean(units),
                "roi": _clean(units / (bets + pushes)) if bets + pushes else None,
                "bets_at_minus_110": int(at_110.get(system_id[0], 0)),
                "daily": [
                    {
                        "game_date": r["game_date"].isoformat(),
                        "bets": r["bets"],
                        "hits": r["hits"],
                        "units": _clean(float(r["units"])),
                        "cumulative_units": _clean(float(r["cumulative_units"])),
                    }
                    for r in rows.iter_rows(named=True)
                ],
                "calibration": calibration.get(system_id[0], []),
            }
    return {
        "from": first.isoformat(),
        "through": day.isoformat(),
        "break_even_hit_rate": _clean(BREAK_EVEN_110),
        "systems": dict(sorted(systems.items())),
    }


def day_document(
    day: date,
    predictions: pl.DataFrame,
    schedule: pl.DataFrame,
    generated_at: datetime,
    features: pl.DataFrame | None = None,
    history: pl.DataFrame | None = None,
) -> dict:
    """One game date: games -> players -> the headline call and every system's prediction.

    ``predictions``, ``schedule``, ``features`` and ``history`` may hold other dates too; from
    ``history`` only games strictly before ``day`` are used (last games, hit rates at tonight's
    line, the opponent's defense rank).
    """
    day_sched = schedule.filter(pl.col("game_date") == day).sort("tipoff_utc", "game_id", nulls_last=True)
    day_pred = predictions.filter(pl.col("game_date") == day).sort("game_id", "team", "player_lookup", "system_id")
    rest: dict[int, dict] = {}
    if features is not None and features.height:
        cols = [c for c in REST_FIELDS if c in features.columns]
        for r in features.filter(pl.col("game_date") == day).select("player_id", *cols).iter_rows(named=True):
            rest[r["player_id"]] = {c: _clean(r.get(c)) for c in REST_FIELDS}
    recent = last_games(history, day, day_pred["player_id"].unique().to_list()) if history is not None else {}
    lines = day_pred.select("player_id", "points_line")
    hit_rates = line_hit_rates(history, day, lines) if history is not None else {}
    defense = defense_ranks(history, day) if history is not None else {}
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
                "hit_rates": hit_rates.get(r["player_id"], _empty_hit_rates()),
                "opponent_defense": defense.get(r["opponent"], _no_defense_rank()),
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


def player_documents(document: dict, calls: dict[str, list[dict]] | None = None) -> dict[str, dict]:
    """tonight/player/{player_lookup}.json: one document per player of a day document, with his
    past graded calls (``past_calls`` of the day) when given."""
    calls = calls or {}
    out = {}
    for game in document["games"]:
        for player in game["players"]:
            out[player["player_lookup"]] = {
                "version": EXPORT_VERSION,
                "game_date": document["game_date"],
                "generated_at": document["generated_at"],
                "game": {k: game[k] for k in ("game_id", "home_team", "away_team", "tipoff_utc")},
                "player": player,
                "past_calls": calls.get(player["player_lookup"], []),
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


def results_document(
    day: date,
    accuracy: pl.DataFrame,
    performance: pl.DataFrame,
    generated_at: datetime,
    predictions: pl.DataFrame | None = None,
) -> dict:
    """``day``'s graded predictions and each system's figures of the day; ``predictions`` (``day``'s)
    gives names and teams. (The season's track record is season-wide: ``systems/performance.json``.)"""
    a = accuracy.filter(pl.col("game_date") == day).sort("game_id", "player_lookup", "system_id")
    names: dict[int, dict] = {}
    if predictions is not None and predictions.height:
        for r in (
            predictions.filter(pl.col("game_date") == day)
            .select("player_id", "player_name", "team", "opponent")
            .unique("player_id", keep="first")
            .iter_rows(named=True)
        ):
            names[r["player_id"]] = r
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
                "name": names.get(r["player_id"], {}).get("player_name"),
                "team": names.get(r["player_id"], {}).get("team"),
                "opponent": names.get(r["player_id"], {}).get("opponent"),
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


def performance_document(
    as_of: date, performance: pl.DataFrame, generated_at: datetime, accuracy: pl.DataFrame | None = None
) -> dict:
    """Per system: last 7 days, last 30 days and the season to date (through ``as_of``); with
    ``accuracy`` (graded predictions, any range) the season's track record through ``as_of``."""
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
    out = {
        "version": EXPORT_VERSION,
        "as_of": as_of.isoformat(),
        "generated_at": generated_at.isoformat(),
        "systems": systems,
    }
    if accuracy is not None:
        out["track_record"] = track_record(accuracy, as_of)
    return out


def latest_exported_day(keys: Iterable[str]) -> date | None:
    """The latest game date among exported ``.../predictions/YYYY-MM-DD.json`` keys."""
    days = [date.fromisoformat(m.group(1)) for k in keys if (m := _DAY_FILE.search(k))]
    return max(days) if days else None
