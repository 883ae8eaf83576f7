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
from collections.abc import Iterable, Iterator
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


# Game dates whose documents are built together: one polars pass over the block's history instead
# of one filter per day, with the memory of a block's joined history (~1M rows) at most.
DOC_BLOCK_DAYS = 64


def _clean_list(series: pl.Series) -> list:
    """``_clean`` of every value of a column, in one pass over its list."""
    if series.dtype.is_float():
        values = series.fill_nan(None).to_list()
        if series.n_unique() * 4 > len(values):
            return [None if v is None else round(v, 3) for v in values]
        # few distinct values (lines, units): round each once; zeros (and None) are their own rounding,
        # and stay out of the dict, where 0.0 and -0.0 are one key
        rounded = {v: round(v, 3) for v in series.fill_nan(None).unique().to_list() if v}
        return [rounded[v] if v else v for v in values]
    values = series.to_list()
    if series.dtype == pl.Date or isinstance(series.dtype, pl.Datetime):
        return [None if v is None else v.isoformat() for v in values]
    return values


def _column(frame: pl.DataFrame, name: str, clean: bool = False) -> list:
    """A column's values (``_clean``-ed), or None for each row when the frame has no such column."""
    if name not in frame.columns:
        return [None] * frame.height
    return _clean_list(frame[name]) if clean else frame[name].to_list()


def _day_windows(days: list[date]) -> pl.DataFrame:
    """Per game date ``_day``: ``_first``, the first day of its HISTORY_DAYS, and ``_season``, its season's start."""
    return pl.DataFrame(
        {
            "_day": days,
            "_first": [d - timedelta(days=HISTORY_DAYS) for d in days],
            "_season": [season_start(d) for d in days],
        },
        schema={"_day": pl.Date, "_first": pl.Date, "_season": pl.Date},
    )


def _in_window(start: str = "_first") -> pl.Expr:
    """A history row dated from ``start`` (inclusive) to its game date ``_day`` (exclusive)."""
    return (pl.col("game_date") >= pl.col(start)) & (pl.col("game_date") < pl.col("_day"))


def _history_span(history: pl.DataFrame, days: list[date]) -> pl.DataFrame:
    """The rows of ``history`` any of ``days`` may use (its HISTORY_DAYS strictly before it)."""
    return history.filter(pl.col("game_date").is_between(min(days) - timedelta(days=HISTORY_DAYS), max(days), "left"))


def last_games_by_day(history: pl.DataFrame, players: pl.DataFrame) -> dict[tuple[date, int], list[dict]]:
    """For each (``_day``, ``player_id``) of ``players``: his last LAST_GAMES games in the HISTORY_DAYS
    strictly before ``_day``, newest first (the same set whatever history frame the run hands in).
    A game's entry is one dict shared by every day's list it is in (it is only ever serialized)."""
    if history.height == 0 or players.height == 0:
        return {}
    days = players["_day"].unique().sort().to_list()
    games = (
        _history_span(history, days)
        .select("player_id", "game_date", "opponent", "minutes", "pts", "points_line")
        .sort("player_id", "game_date")
        .with_row_index("_i")
        .with_columns(pl.col("_i").cast(pl.Int64))
    )
    entries = [
        {"game_date": game_date, "opponent": opponent, "minutes": minutes, "points": points, "points_line": line}
        for game_date, opponent, minutes, points, line in zip(
            _clean_list(games["game_date"]),
            games["opponent"].to_list(),
            games["minutes"].to_list(),
            games["pts"].to_list(),
            _clean_list(games["points_line"]),
            strict=True,
        )
    ]
    # each (day, player): his last game strictly before the day (games are sorted by player, then
    # date), then the LAST_GAMES rows up to it that are still his and within the day's window
    last = (
        players.join(_day_windows(days), on="_day")
        .sort("_day")
        .join_asof(
            games.select("player_id", pl.col("game_date").alias("_on"), "_i").sort("_on"),
            left_on="_day",
            right_on="_on",
            by="player_id",
            allow_exact_matches=False,
            check_sortedness=False,  # both sides are sorted by their dates just above
        )
        .filter(pl.col("_i").is_not_null())
        .select(
            "_day",
            "player_id",
            "_first",
            pl.int_ranges("_i", pl.max_horizontal(pl.col("_i") - LAST_GAMES, -1), -1).alias("_j"),
        )
        .explode("_j")
    )
    taken = games.select(pl.col("player_id").alias("_player"), "game_date")[last["_j"]]
    kept = last.hstack(taken).filter(
        (pl.col("_player") == pl.col("player_id")) & (pl.col("game_date") >= pl.col("_first"))
    )
    out: dict[tuple[date, int], list[dict]] = {}
    for day, player_id, j in zip(
        kept["_day"].to_list(), kept["player_id"].to_list(), kept["_j"].to_list(), strict=True
    ):
        out.setdefault((day, player_id), []).append(entries[j])
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


def line_hit_rates_by_day(history: pl.DataFrame, lines: pl.DataFrame) -> dict[tuple[date, int], dict]:
    """How often each player's points went over / under ``lines`` (``_day``, player_id, points_line:
    his line of that game date) in his last 5, 10, 20 games and that season, counting only games he
    played strictly before ``_day`` (and in its HISTORY_DAYS). ``over_rate`` is over / games (a push
    counts as a game, not an over). The first line of a player on a day is his line."""
    lines = lines.filter(pl.col("points_line").is_not_null()).unique(["_day", "player_id"], keep="first")
    if history.height == 0 or lines.height == 0:
        return {}
    days = lines["_day"].unique().sort().to_list()
    played = (
        lines.select("_day", "player_id", "points_line")
        .join(_day_windows(days), on="_day")
        .join(
            _history_span(history, days)
            .filter((pl.col("minutes") > 0) & pl.col("pts").is_not_null())
            .select("player_id", "game_date", "game_id", "pts"),
            on="player_id",
        )
        .filter(_in_window())
        .sort(["_day", "player_id", "game_date", "game_id"], descending=[False, False, True, True])
        .with_columns(pl.int_range(1, pl.len() + 1).over("_day", "player_id").alias("_n"))
    )
    aggs = []
    for name, n in HIT_RATE_WINDOWS.items():
        keep = pl.col("_n") <= n if n is not None else pl.col("game_date") >= pl.col("_season")
        aggs += [
            keep.sum().alias(f"{name}__games"),
            (keep & (pl.col("pts") > pl.col("points_line"))).sum().alias(f"{name}__over"),
            (keep & (pl.col("pts") < pl.col("points_line"))).sum().alias(f"{name}__under"),
            (keep & (pl.col("pts") == pl.col("points_line"))).sum().alias(f"{name}__push"),
        ]
    counts = played.group_by("_day", "player_id").agg(aggs)
    keys = list(zip(counts["_day"].to_list(), counts["player_id"].to_list(), strict=True))
    out: dict[tuple[date, int], dict] = {key: {} for key in keys}
    for name in HIT_RATE_WINDOWS:
        cols = [counts[f"{name}__{k}"].to_list() for k in ("games", "over", "under", "push")]
        for key, games, over, under, push in zip(keys, *cols, strict=True):
            out[key][name] = {
                "games": games,
                "over": over,
                "under": under,
                "push": push,
                "over_rate": _clean(over / games) if games else None,
            }
    return out


def defense_ranks_by_day(history: pl.DataFrame, days: list[date]) -> dict[date, dict[str, dict]]:
    """For each of ``days``: each team's points allowed per game this season, from its games strictly
    before that day, ranked 1 (fewest allowed: the best defense) to the number of teams that played."""
    if history.height == 0 or not days:
        return {}
    windows = _day_windows(sorted(set(days)))
    # one row per distinct (team, game, date, points allowed), in the order of first appearance:
    # the first of a game's rows within a day's window is the one the history's order gives first
    team_games = (
        history.filter(
            pl.col("game_date").is_between(windows["_season"].min(), windows["_day"].max(), "left")
            & pl.col("opp_pts").is_not_null()
        )
        .select("team", "game_id", "game_date", "opp_pts")
        .unique(maintain_order=True)
    )
    games = (
        windows.join(team_games, how="cross")
        .filter(_in_window("_season"))
        .group_by("_day", "team", "game_id")
        .agg(pl.col("opp_pts").first())
    )
    teams = (
        games.group_by("_day", "team")
        .agg(pl.len().alias("games"), pl.col("opp_pts").mean().alias("allowed"))
        .with_columns(
            pl.col("allowed").rank("min").over("_day").cast(pl.Int64).alias("rank"),
            pl.len().over("_day").alias("teams"),
        )
    )
    out: dict[date, dict[str, dict]] = {}
    cols = zip(
        teams["_day"].to_list(),
        teams["team"].to_list(),
        teams["rank"].to_list(),
        teams["teams"].to_list(),
        _clean_list(teams["allowed"]),
        teams["games"].to_list(),
        strict=True,
    )
    for day, team, rank, n, allowed, played in cols:
        out.setdefault(day, {})[team] = {"rank": rank, "teams": n, "points_allowed_per_game": allowed, "games": played}
    return out


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


def _day_slices(frame: pl.DataFrame, days: list[date]) -> dict[date, tuple[int, int]]:
    """The (offset, length) of each day's rows in a frame sorted by game_date first."""
    if frame.height == 0:
        return {}
    runs = frame.group_by("game_date", maintain_order=True).agg(pl.len().alias("n"))
    out, offset = {}, 0
    for day, n in zip(runs["game_date"].to_list(), runs["n"].to_list(), strict=True):
        out[day] = (offset, n)
        offset += n
    return out


def day_documents(
    days: Iterable[date],
    predictions: pl.DataFrame,
    schedule: pl.DataFrame,
    generated_at: datetime,
    features: pl.DataFrame | None = None,
    history: pl.DataFrame | None = None,
    *,
    block_days: int = DOC_BLOCK_DAYS,
) -> Iterator[tuple[date, dict, dict, int]]:
    """``(day, predictions document, best-bets document, the day's rows of predictions)`` for each of
    ``days`` in order (see ``day_document`` and ``best_bets_document``), built for ``block_days``
    game dates at a time: one polars pass over a block's history, not one filter per day."""
    days = sorted(set(days))
    for start in range(0, len(days), block_days):
        yield from _day_documents_block(
            days[start : start + block_days], predictions, schedule, generated_at, features, history
        )


def _day_documents_block(
    days: list[date],
    predictions: pl.DataFrame,
    schedule: pl.DataFrame,
    generated_at: datetime,
    features: pl.DataFrame | None,
    history: pl.DataFrame | None,
) -> Iterator[tuple[date, dict, dict, int]]:
    wanted = pl.col("game_date").is_in(pl.Series(days, dtype=pl.Date).implode())
    sched = schedule.filter(wanted).sort("game_date", "tipoff_utc", "game_id", nulls_last=True)
    pred = predictions.filter(wanted).sort("game_date", "game_id", "team", "player_lookup", "system_id")
    rest: dict[date, dict[int, dict]] = {}
    if features is not None and features.height:
        feat = features.filter(wanted)
        values = [_column(feat, c, clean=True) for c in REST_FIELDS]
        for day, player_id, *row in zip(feat["game_date"].to_list(), feat["player_id"].to_list(), *values, strict=True):
            rest.setdefault(day, {})[player_id] = dict(zip(REST_FIELDS, row, strict=True))
    keyed = pred.rename({"game_date": "_day"})
    if history is not None:
        recent = last_games_by_day(history, keyed.select("_day", "player_id").unique())
        hit_rates = line_hit_rates_by_day(history, keyed.select("_day", "player_id", "points_line"))
        defense = defense_ranks_by_day(history, days)
    else:
        recent, hit_rates, defense = {}, {}, {}
    best_bets = _best_bets_block(days, predictions.filter(wanted), generated_at)

    cols = [_column(pred, c, clean=c in _PRED_CLEANED) for c in _PRED_COLUMNS]
    pred_rows, sched_rows = _day_slices(pred, days), _day_slices(sched, days)
    sched_cols = [
        _column(sched, c, clean=c == "tipoff_utc") for c in ("game_id", "home_team", "away_team", "tipoff_utc")
    ]
    for day in days:
        day_rest, day_defense = rest.get(day, {}), defense.get(day, {})
        offset, count = pred_rows.get(day, (0, 0))
        rows = slice(offset, offset + count)
        systems = sorted(set(cols[_PRED_COLUMNS.index("system_id")][rows]))
        by_game: dict[str, dict[int, dict]] = {}
        for (
            game_id,
            player_id,
            player_lookup,
            name,
            team,
            opponent,
            points_line,
            line_source,
            best_over_price,
            best_over_book,
            best_under_price,
            best_under_book,
            system_id,
            predicted_points,
            edge,
            p_over,
            recommendation,
            confidence,
        ) in zip(*(c[rows] for c in cols), strict=True):
            players = by_game.setdefault(game_id, {})
            entry = players.get(player_id)
            if entry is None:
                entry = players[player_id] = {
                    "player_id": player_id,
                    "player_lookup": player_lookup,
                    "name": name,
                    "team": team,
                    "opponent": opponent,
                    "points_line": points_line,
                    "line_source": line_source,
                    "best_over_price": best_over_price,
                    "best_over_book": best_over_book,
                    "best_under_price": best_under_price,
                    "best_under_book": best_under_book,
                    "headline_system": None,
                    "recommendation": None,
                    "confidence": None,
                    "predicted_points": None,
                    "p_over": None,
                    "edge": None,
                    "predictions": {},
                    "last_10_games": recent.get((day, player_id), []),
                    "rest": day_rest.get(player_id) or {c: None for c in REST_FIELDS},
                    "hit_rates": hit_rates.get((day, player_id)) or _empty_hit_rates(),
                    "opponent_defense": day_defense.get(opponent) or _no_defense_rank(),
                }
            entry["predictions"][system_id] = {
                "predicted_points": predicted_points,
                "edge": edge,
                "p_over": p_over,
                "recommendation": recommendation,
                "confidence": confidence,
            }
        for players in by_game.values():
            for entry in players.values():
                calls = entry["predictions"]
                headline = next((s for s in HEADLINE_SYSTEMS if s in calls), None) or min(calls)
                entry["headline_system"] = headline
                entry |= {k: calls[headline][k] for k in _SYSTEM_ENTRY_KEYS}
        offset, n = sched_rows.get(day, (0, 0))
        rows = slice(offset, offset + n)
        games = [
            {
                "game_id": game_id,
                "home_team": home_team,
                "away_team": away_team,
                "tipoff_utc": tipoff_utc,
                "players": list(by_game.get(game_id, {}).values()),
            }
            for game_id, home_team, away_team, tipoff_utc in zip(*(c[rows] for c in sched_cols), strict=True)
        ]
        document = {
            "version": EXPORT_VERSION,
            "game_date": day.isoformat(),
            "generated_at": generated_at.isoformat(),
            "systems": systems,
            "games": games,
        }
        yield day, document, best_bets[day], count


# the columns of a predictions row in the order the loop above unpacks them (_PRED_CLEANED: _clean-ed)
_PRED_COLUMNS = ("game_id", "player_id", "player_lookup", "player_name", "team", "opponent", "points_line")
_PRED_COLUMNS += ("line_source", "best_over_price", "best_over_book", "best_under_price", "best_under_book")
_PRED_COLUMNS += ("system_id", "predicted_points", "edge", "p_over", "recommendation", "confidence")
_PRED_CLEANED = ("points_line", "predicted_points", "edge", "p_over", "confidence")


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
    return next(iter(day_documents([day], predictions, schedule, generated_at, features, history)))[1]


_SYSTEM_ENTRY_KEYS = ("predicted_points", "edge", "p_over", "recommendation", "confidence")


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


def _best_bets_block(days: list[date], predictions: pl.DataFrame, generated_at: datetime) -> dict[date, dict]:
    """``best_bets_document`` of each of ``days`` (``predictions`` may hold other dates too)."""
    d = predictions.filter(pl.col("game_date").is_in(pl.Series(days, dtype=pl.Date).implode()))
    present = set(d.select("game_date", "system_id").unique().iter_rows())
    system_of = {day: next((s for s in HEADLINE_SYSTEMS if (day, s) in present), None) for day in days}
    headline = pl.DataFrame(
        {"game_date": list(system_of), "system_id": list(system_of.values())},
        schema={"game_date": pl.Date, "system_id": pl.String},
    ).filter(pl.col("system_id").is_not_null())
    calls = (
        d.join(headline, on=["game_date", "system_id"])
        .filter(pl.col("recommendation").is_in(["OVER", "UNDER"]))
        .with_columns(
            pl.when(pl.col("recommendation") == "OVER")
            .then(pl.col("p_over"))
            .otherwise(1 - pl.col("p_over"))
            .alias("p_win")
        )
        .sort(
            ["game_date", "p_win", "confidence", "player_lookup"],
            descending=[False, True, True, False],
            nulls_last=True,
        )
    )
    col = {c: _column(calls, c) for c in ("game_date", "game_id", "player_id", "player_lookup", "player_name", "team")}
    col |= {c: _column(calls, c) for c in ("opponent", "recommendation", "best_over_price", "best_under_price")}
    col |= {c: _column(calls, c, clean=True) for c in ("points_line", "predicted_points", "edge", "p_over", "p_win")}
    col["confidence"] = _column(calls, "confidence", clean=True)
    picks: dict[date, list[dict]] = {day: [] for day in days}
    for i, day in enumerate(col["game_date"]):
        day_picks = picks[day]
        over = col["recommendation"][i] == "OVER"
        day_picks.append(
            {
                "rank": len(day_picks) + 1,
                "game_id": col["game_id"][i],
                "player_id": col["player_id"][i],
                "player_lookup": col["player_lookup"][i],
                "name": col["player_name"][i],
                "team": col["team"][i],
                "opponent": col["opponent"][i],
                "pick": col["recommendation"][i],
                "points_line": col["points_line"][i],
                "predicted_points": col["predicted_points"][i],
                "edge": col["edge"][i],
                "p_over": col["p_over"][i],
                "p_win": col["p_win"][i],
                "confidence": col["confidence"][i],
                "best_price": col["best_over_price"][i] if over else col["best_under_price"][i],
            }
        )
    return {
        day: {
            "version": EXPORT_VERSION,
            "game_date": day.isoformat(),
            "generated_at": generated_at.isoformat(),
            "system_id": system_of[day],
            "picks": picks[day],
        }
        for day in days
    }


def best_bets_document(day: date, predictions: pl.DataFrame, generated_at: datetime) -> dict:
    """The headline system's OVER/UNDER calls of ``day``, ranked by P(win) then confidence."""
    return _best_bets_block([day], predictions, generated_at)[day]


# the columns of a graded row in the order the loop below unpacks them (_RESULT_CLEANED: _clean-ed)
_RESULT_COLUMNS = ("game_id", "player_id", "player_lookup", "system_id", "predicted_points", "points_line")
_RESULT_COLUMNS += ("recommendation", "p_over", "actual_points", "played", "absolute_error", "grade", "units")
_RESULT_CLEANED = ("predicted_points", "points_line", "p_over", "absolute_error", "units")
_PERF_KEYS = ("graded", "mae", "bias", "bets", "hits", "hit_rate", "over_bets", "over_hits", "under_bets", "under_hits")
_PERF_KEYS += ("pushes", "voids", "brier", "log_loss", "units", "roi")


def results_documents(
    days: Iterable[date],
    accuracy: pl.DataFrame,
    performance: pl.DataFrame,
    generated_at: datetime,
    predictions: pl.DataFrame | None = None,
    *,
    block_days: int = DOC_BLOCK_DAYS,
) -> Iterator[tuple[date, dict]]:
    """``(day, results document)`` for each of ``days`` in order (see ``results_document``), built
    for ``block_days`` game dates at a time."""
    days = sorted(set(days))
    for start in range(0, len(days), block_days):
        yield from _results_block(days[start : start + block_days], accuracy, performance, generated_at, predictions)


def _results_block(
    days: list[date],
    accuracy: pl.DataFrame,
    performance: pl.DataFrame,
    generated_at: datetime,
    predictions: pl.DataFrame | None,
) -> Iterator[tuple[date, dict]]:
    wanted = pl.col("game_date").is_in(pl.Series(days, dtype=pl.Date).implode())
    a = accuracy.filter(wanted).sort("game_date", "game_id", "player_lookup", "system_id")
    names: dict[date, dict[int, tuple]] = {}
    if predictions is not None and predictions.height:
        who = predictions.filter(wanted).unique(["game_date", "player_id"], keep="first")
        cols = ("game_date", "player_id", "player_name", "team", "opponent")
        for day, player_id, *row in zip(*(who[c].to_list() for c in cols), strict=True):
            names.setdefault(day, {})[player_id] = tuple(row)
    perf = performance.filter(wanted).sort("game_date", "system_id")
    perf_cols = [_column(perf, c, clean=True) for c in _PERF_KEYS]
    perf_system = perf["system_id"].to_list()
    cols = [_column(a, c, clean=c in _RESULT_CLEANED) for c in _RESULT_COLUMNS]
    a_rows, perf_rows = _day_slices(a, days), _day_slices(perf, days)
    unnamed = (None, None, None)
    for day in days:
        offset, n = perf_rows.get(day, (0, 0))
        systems = {
            perf_system[i]: dict(zip(_PERF_KEYS, (c[i] for c in perf_cols), strict=True))
            for i in range(offset, offset + n)
        }
        offset, n = a_rows.get(day, (0, 0))
        rows, day_names = slice(offset, offset + n), names.get(day, {})
        results = []
        for (
            game_id,
            player_id,
            player_lookup,
            system_id,
            predicted_points,
            points_line,
            recommendation,
            p_over,
            actual_points,
            played,
            absolute_error,
            grade,
            units,
        ) in zip(*(c[rows] for c in cols), strict=True):
            name, team, opponent = day_names.get(player_id, unnamed)
            results.append(
                {
                    "game_id": game_id,
                    "player_id": player_id,
                    "player_lookup": player_lookup,
                    "name": name,
                    "team": team,
                    "opponent": opponent,
                    "system_id": system_id,
                    "predicted_points": predicted_points,
                    "points_line": points_line,
                    "recommendation": recommendation,
                    "p_over": p_over,
                    "actual_points": actual_points,
                    "played": played,
                    "absolute_error": absolute_error,
                    "grade": grade,
                    "units": units,
                }
            )
        yield (
            day,
            {
                "version": EXPORT_VERSION,
                "game_date": day.isoformat(),
                "generated_at": generated_at.isoformat(),
                "systems": systems,
                "results": results,
            },
        )


def results_document(
    day: date,
    accuracy: pl.DataFrame,
    performance: pl.DataFrame,
    generated_at: datetime,
    predictions: pl.DataFrame | None = None,
) -> dict:
    """``day``'s graded predictions and each system's figures of the day; ``predictions`` (``day``'s)
    gives names and teams. (The season's track record is season-wide: ``systems/performance.json``.)"""
    return next(results_documents([day], accuracy, performance, generated_at, predictions))[1]


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
