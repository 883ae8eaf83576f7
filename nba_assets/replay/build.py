"""Build a replay archive: recorded-API-shaped JSON responses made from the project's data files.

The archive lets the pipeline run offline against :class:`nba_assets.replay.server.ReplayServer`,
which answers the real APIs' requests (NBA.com schedule, balldontlie ``games``/``stats`` and The
Odds API events/player-points odds) from the files written here.

Inputs are player box-score parquet files (the schema of ``data/README.md``), player-points lines
parquet files (required: game_date, commence_utc, event_id, game_id, home_team, away_team,
player_name_quoted, bookmaker, line; optional: over_price, under_price, snapshot_utc) and a schedule
file (``replay/schedule.py``; the CLI takes ``data/schedule.csv`` by default). The schedule decides
which games the NBA.com schedule and balldontlie ``games`` list; a scheduled game whose box scores
were given is final (scores, records, stats), any other one is not yet played (NBA.com
``gameStatus`` 1, balldontlie ``period`` 0, no stats), as the live services show tonight's games.
Without a schedule file the schedule is that of the box scores given (every game final).

Layout under the output directory::

    manifest.json
    nba_cdn/scheduleLeagueV2/{season}.json
    balldontlie/v1/games/{YYYY-MM-DD}.json
    balldontlie/v1/stats/{YYYY-MM-DD}.json
    odds_api/events/{YYYY-MM-DD}.json                          (ET date of commence)
    odds_api/event_odds/{event_id}/{region}/{YYYY-MM-DDTHH-MM-SSZ}.json

The output is a pure function of the inputs (sorted keys and orders, sequential ids, no wall-clock
time anywhere), so identical inputs give byte-identical archives. The archive is written into a
temporary directory next to ``out`` and renamed into place at the end.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import tempfile
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import polars as pl

from nba_assets.facts import GAME_TZ
from nba_assets.replay.schedule import game_tipoffs, load_schedule, schedule_from
from nba_assets.replay.teams import (  # noqa: F401  (load_teams and _Team are part of build's API)
    _GAME_ID_RE,
    _SEASON_RE,
    REFERENCE_DIR,
    _check_pattern,
    _check_tricodes,
    _Team,
    load_teams,
)

FORMAT = "nba-replay/1"
SNAPSHOT_LEAD_MINUTES = 60
DFS_BOOKMAKERS = frozenset({"prizepicks", "underdog", "betr", "pick6", "dabble", "sleeper"})
BOOKMAKER_TITLES = {"prizepicks": "PrizePicks", "underdog": "Underdog"}
MARKET_KEY = "player_points"
SPORT_KEY = "basketball_nba"
SPORT_TITLE = "NBA"


PathLike = str | os.PathLike[str]

# Column kinds: "str", "int" (any numeric, rounded to Int64), "float" (any numeric -> Float64),
# "date" (String 'YYYY-MM-DD' or pl.Date), "datetime" (pl.Datetime; naive values are UTC).
BOX_COLUMNS: dict[str, str] = {
    "season": "str",
    "game_id": "str",
    "game_date": "date",
    "player_id": "int",
    "player_name": "str",
    "team": "str",
    "wl": "str",
    "minutes": "int",
    "pts": "int",
    "reb": "int",
    "oreb": "int",
    "dreb": "int",
    "ast": "int",
    "stl": "int",
    "blk": "int",
    "tov": "int",
    "pf": "int",
    "fgm": "int",
    "fga": "int",
    "fg3m": "int",
    "fg3a": "int",
    "ftm": "int",
    "fta": "int",
    "home_team": "str",
    "away_team": "str",
}
LINES_COLUMNS: dict[str, str] = {
    "game_date": "date",
    "commence_utc": "datetime",
    "event_id": "str",
    "game_id": "str",
    "home_team": "str",
    "away_team": "str",
    "player_name_quoted": "str",
    "bookmaker": "str",
    "line": "float",
}
LINES_OPTIONAL_COLUMNS: dict[str, str] = {
    "over_price": "int",
    "under_price": "int",
    "snapshot_utc": "datetime",
}

NOTES = [
    "Built only from the input files listed in 'inputs'; every body is a pure function of them "
    "(no build time is recorded anywhere).",
    "balldontlie ids: the source has no balldontlie ids. game.id = int(nba.com game_id), "
    "player.id = nba.com player_id and stat ids are sequential from 1 over the archive ordered by "
    "(game_date, game_id, team, player_id). Team ids are the real balldontlie team ids "
    "(reference/bdl_teams.csv). Consumers must not rely on game, player or stat ids matching the "
    "real balldontlie service.",
    "balldontlie player fields the source lacks (position, height, weight, jersey_number, college, "
    "country, draft_*) are empty/null; first/last names come from reference/players.csv, else the "
    "box-score name split at the first space.",
    "Games: those of the schedule file in 'inputs' (kind 'schedule'; data/schedule.csv is every game of "
    "the nba.com game logs in data/), else those of the box scores. A scheduled game with box scores "
    "is final; one without is not yet played: NBA.com gameStatus 1 with gameStatusText its ET tip-off "
    "('7:30 pm ET', 'TBD' when unknown), scores 0; balldontlie status its tip-off instant (the game "
    "date when unknown), period 0, time null, scores 0; no stats rows.",
    "Tip-off times: the schedule file's tipoff_utc (data/schedule.csv: the lines' commence_utc), else "
    "the commence_utc of a lines file given. For every other game the schedule's gameTimeEst, "
    "gameDateTimeEst, gameTimeUTC and gameDateTimeUTC and balldontlie's datetime are null; no time is "
    "invented. gameDateUTC is midnight US/Eastern of the game date, in UTC.",
    "Where an event's rows disagree on commence_utc, the latest value is used for the event.",
    "Scores are the sums of each team's player points; schedule wins/losses are each team's record "
    "through that game (from wl) within the season, over the final games of the archive (a game not "
    "yet played shows the record before it). gameSequence orders a day's games by known tip-off "
    "(unknown last), then gameId.",
    "balldontlie period = 4 + max(0, round((team minutes - 240) / 25)), from the larger of the two "
    "teams' summed player minutes (whole minutes in the source).",
    "Odds snapshot time: snapshot_utc when a lines file has it; otherwise the source records no quote "
    "time and every quote of an event is assumed to have been captured snapshot_lead_minutes (60) "
    "before its commence time. Each snapshot file holds only the quotes recorded at that time.",
    "Only the player_points market is archived. Bookmakers prizepicks, underdog, betr, pick6, dabble "
    "and sleeper are region us_dfs, all others us. Outcomes carry 'price' only when the lines file "
    "has a non-null over_price/under_price (pick'em DFS lines have none).",
    "Odds API events exist only for the events in the lines files; team names are nba.com full "
    "names (reference/teams.csv).",
]


# --------------------------------------------------------------------------------------------
# small helpers


def region_for_bookmaker(key: str) -> str:
    """The Odds API region that lists ``key``: ``us_dfs`` for the DFS books, else ``us``."""
    return "us_dfs" if key in DFS_BOOKMAKERS else "us"


def bookmaker_title(key: str) -> str:
    return BOOKMAKER_TITLES.get(key, key.title())


def snapshot_name(ts: dt.datetime) -> str:
    """File name stem of a snapshot: ``2024-10-23T01-00-00Z``."""
    return ts.strftime("%Y-%m-%dT%H-%M-%SZ")


def iso_z(ts: dt.datetime) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ")


def season_start_year(season: str) -> int:
    return int(season[:4])


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _pct(made: int, att: int) -> float:
    return round(made / att, 7) if att else 0.0


# --------------------------------------------------------------------------------------------
# reading and validating inputs


def _read_parquet(path: Path) -> pl.DataFrame:
    if not path.is_file():
        raise ValueError(f"{path}: input file does not exist")
    try:
        return pl.read_parquet(path)
    except Exception as exc:  # noqa: BLE001 - any reader failure is a bad input file
        raise ValueError(f"{path}: cannot read as parquet ({type(exc).__name__}: {exc})") from exc


def _coerce(df: pl.DataFrame, path: Path, column: str, kind: str) -> pl.Expr:
    dtype = df.schema[column]
    col = pl.col(column)

    def bad(expected: str) -> ValueError:
        return ValueError(f"{path}: column '{column}' has dtype {dtype}, expected {expected}")

    if kind == "str":
        if dtype != pl.String:
            raise bad("String")
        return col
    if kind in ("int", "float"):
        if not dtype.is_numeric():
            raise bad("a numeric type")
        if kind == "float":
            return col.cast(pl.Float64)
        return col.round(0).cast(pl.Int64) if dtype.is_float() else col.cast(pl.Int64)
    if kind == "datetime":
        if not isinstance(dtype, pl.Datetime):
            raise bad("Datetime (UTC)")
        if dtype.time_zone is None:
            return col.dt.replace_time_zone("UTC").dt.cast_time_unit("us")
        return col.dt.convert_time_zone("UTC").dt.cast_time_unit("us")
    raise AssertionError(kind)


def _validated(
    path: Path,
    required: dict[str, str],
    optional: dict[str, str],
    not_null: Iterable[str],
) -> pl.DataFrame:
    df = _read_parquet(path)
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise ValueError(f"{path}: missing required column '{missing[0]}' (missing: {', '.join(missing)})")
    exprs: list[pl.Expr] = []
    for name, kind in {**required, **optional}.items():
        if name not in df.columns:
            continue
        if kind == "date":
            exprs.append(_date_expr(df, path, name))
        else:
            exprs.append(_coerce(df, path, name, kind).alias(name))
    out = df.select(exprs)
    for name in not_null:
        n = out[name].null_count()
        if n:
            raise ValueError(f"{path}: column '{name}' has {n} null value(s)")
    return out


def _date_expr(df: pl.DataFrame, path: Path, column: str) -> pl.Expr:
    dtype = df.schema[column]
    if dtype == pl.Date:
        return pl.col(column).dt.strftime("%Y-%m-%d").alias(column)
    if dtype != pl.String:
        raise ValueError(f"{path}: column '{column}' has dtype {dtype}, expected String 'YYYY-MM-DD' or Date")
    parsed = df[column].str.strptime(pl.Date, "%Y-%m-%d", strict=False)
    bad = df[column].is_not_null() & parsed.is_null()
    if bad.any():
        example = df.filter(bad)[column][0]
        raise ValueError(f"{path}: column '{column}' has a value that is not a 'YYYY-MM-DD' date: {example!r}")
    return pl.col(column).str.strptime(pl.Date, "%Y-%m-%d").dt.strftime("%Y-%m-%d").alias(column)


_EVENT_ID_RE = r"^[A-Za-z0-9_-]{1,128}$"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_box_scores(
    paths: Sequence[PathLike], teams: dict[str, _Team] | None = None
) -> tuple[pl.DataFrame, list[dict]]:
    """Read, validate and concatenate box-score files. Returns (frame, manifest input entries)."""
    teams = teams or load_teams()
    frames: list[pl.DataFrame] = []
    inputs: list[dict] = []
    for raw in paths:
        path = Path(raw)
        df = _validated(path, BOX_COLUMNS, {}, not_null=BOX_COLUMNS)
        _check_tricodes(df, path, ["team", "home_team", "away_team"], teams)
        _check_pattern(df, path, "season", _SEASON_RE, "a season like '2024-25'")
        _check_pattern(df, path, "game_id", _GAME_ID_RE, "digits")
        bad_wl = sorted(set(df["wl"].unique().to_list()) - {"W", "L"})
        if bad_wl:
            raise ValueError(f"{path}: column 'wl' must be 'W' or 'L', found {bad_wl[:3]}")
        frames.append(df)
        inputs.append({"path": str(raw), "kind": "box_scores", "sha256": _sha256(path), "rows": df.height})
    if not frames:
        raise ValueError("at least one box-score file is required")
    box = pl.concat(frames, how="vertical")
    dup = box.filter(pl.struct("game_id", "player_id").is_duplicated())
    if dup.height:
        r = dup.row(0, named=True)
        raise ValueError(
            f"box-score files {', '.join(str(p) for p in paths)}: duplicate rows for "
            f"(game_id, player_id) = ({r['game_id']}, {r['player_id']})"
        )
    per_game = box.group_by("game_id").agg(
        pl.col("game_date").n_unique().alias("n_date"),
        pl.col("home_team").n_unique().alias("n_home"),
        pl.col("away_team").n_unique().alias("n_away"),
        pl.col("season").n_unique().alias("n_season"),
    )
    bad = per_game.filter(pl.max_horizontal("n_date", "n_home", "n_away", "n_season") > 1)
    if bad.height:
        raise ValueError(
            f"box-score files {', '.join(str(p) for p in paths)}: game_id {bad['game_id'].sort()[0]} has "
            "conflicting game_date/season/home_team/away_team values"
        )
    return box, inputs


def load_lines(paths: Sequence[PathLike], teams: dict[str, _Team] | None = None) -> tuple[pl.DataFrame, list[dict]]:
    """Read, validate and concatenate lines files (exact duplicate rows are dropped)."""
    teams = teams or load_teams()
    frames: list[pl.DataFrame] = []
    inputs: list[dict] = []
    for raw in paths:
        path = Path(raw)
        df = _validated(path, LINES_COLUMNS, LINES_OPTIONAL_COLUMNS, not_null=LINES_COLUMNS)
        _check_tricodes(df, path, ["home_team", "away_team"], teams)
        _check_pattern(df, path, "event_id", _EVENT_ID_RE, "letters, digits, '-' or '_'")
        _check_pattern(df, path, "game_id", _GAME_ID_RE, "digits")
        _check_pattern(df, path, "bookmaker", _EVENT_ID_RE, "letters, digits, '-' or '_'")
        for name, kind in LINES_OPTIONAL_COLUMNS.items():
            if name not in df.columns:
                dtype = pl.Datetime("us", "UTC") if kind == "datetime" else pl.Int64
                df = df.with_columns(pl.lit(None, dtype=dtype).alias(name))
        frames.append(df.select([*LINES_COLUMNS, *LINES_OPTIONAL_COLUMNS]))
        inputs.append({"path": str(raw), "kind": "lines", "sha256": _sha256(path), "rows": df.height})
    if not frames:
        empty = {name: pl.String for name in LINES_COLUMNS} | {
            "commence_utc": pl.Datetime("us", "UTC"),
            "line": pl.Float64,
            "over_price": pl.Int64,
            "under_price": pl.Int64,
            "snapshot_utc": pl.Datetime("us", "UTC"),
        }
        return pl.DataFrame(schema=empty), inputs
    return pl.concat(frames, how="vertical").unique(maintain_order=True), inputs


# --------------------------------------------------------------------------------------------
# building


def _check_box_in_schedule(box: pl.DataFrame, schedule: pl.DataFrame, where: str) -> None:
    """Every box-score game is a game of the schedule, on the same date, season and teams."""
    keys = ["game_date", "season", "home_team", "away_team"]
    per_game = box.group_by("game_id").agg(pl.col(k).first() for k in keys)
    joined = per_game.join(schedule.select("game_id", *keys), on="game_id", how="left", suffix="_schedule")
    missing = joined.filter(pl.col("game_date_schedule").is_null()).sort("game_date", "game_id")
    if missing.height:
        r = missing.row(0, named=True)
        raise ValueError(
            f"{where}: box-score game {r['game_id']} ({r['away_team']}@{r['home_team']} on {r['game_date']}) "
            f"is not in the schedule ({missing.height} such game(s))"
        )
    for k in keys:
        bad = joined.filter(pl.col(k) != pl.col(f"{k}_schedule")).sort("game_id")
        if bad.height:
            r = bad.row(0, named=True)
            raise ValueError(
                f"{where}: box-score game {r['game_id']} has {k} {r[k]!r}, the schedule {r[f'{k}_schedule']!r}"
            )


def _games_frame(schedule: pl.DataFrame, box: pl.DataFrame, lines: pl.DataFrame) -> pl.DataFrame:
    """One row per scheduled game: date, season, teams, final (box scores given), scores, wl, period
    and (when known) tip-off."""
    team_sums = box.group_by("game_id", "team").agg(
        pl.col("pts").sum().alias("score"),
        pl.col("minutes").sum(),
        pl.col("wl").first().alias("wl"),
    )
    played = box.select("game_id").unique().with_columns(pl.lit(True).alias("final"))
    games = (
        schedule.select(
            "game_id", "game_date", "season", "home_team", "away_team", pl.col("tipoff_utc").alias("_schedule_tip")
        )
        .join(played, on="game_id", how="left")
        .with_columns(pl.col("final").fill_null(False))
    )
    for side in ("home", "away"):
        renamed = team_sums.rename({c: f"{side}_{c}" for c in ("team", "score", "minutes", "wl")})
        games = games.join(renamed, on=["game_id", f"{side}_team"], how="left")
    games = games.with_columns(
        pl.col("home_score").fill_null(0),
        pl.col("away_score").fill_null(0),
        pl.max_horizontal(pl.col("home_minutes").fill_null(0), pl.col("away_minutes").fill_null(0)).alias(
            "max_minutes"
        ),
    )
    games = games.join(game_tipoffs(lines), on="game_id", how="left").with_columns(
        pl.coalesce("_schedule_tip", "tipoff_utc").alias("tip_utc")
    )
    et = pl.col("tip_utc").dt.convert_time_zone(GAME_TZ)
    games = games.with_columns(
        pl.col("tip_utc").dt.strftime("%Y-%m-%dT%H:%M:%SZ").alias("tip_iso"),
        pl.coalesce(et.dt.strftime("%-I:%M %P ET"), pl.lit("TBD")).alias("tip_text_et"),
        pl.col("tip_utc").dt.strftime("1900-01-01T%H:%M:%SZ").alias("tip_time_utc"),
        pl.col("tip_utc").dt.strftime("%Y-%m-%dT%H:%M:%S.000Z").alias("tip_bdl"),
        et.dt.strftime("%Y-%m-%dT%H:%M:%SZ").alias("tip_et"),
        et.dt.strftime("1900-01-01T%H:%M:%SZ").alias("tip_time_et"),
        pl.col("game_date")
        .str.strptime(pl.Datetime("us"), "%Y-%m-%d")
        .dt.replace_time_zone(GAME_TZ)
        .dt.convert_time_zone("UTC")
        .dt.strftime("%Y-%m-%dT%H:%M:%SZ")
        .alias("date_utc"),
    )
    return games.sort("game_date", "game_id")


def _event_commence(lines: pl.DataFrame) -> pl.DataFrame:
    """One row per event: its (latest) commence time and its game."""
    return lines.group_by("event_id").agg(
        pl.col("commence_utc").max(),
        pl.col("game_id").max(),
        pl.col("home_team").first(),
        pl.col("away_team").first(),
    )


def _period(max_minutes: int) -> int:
    return 4 + max(0, round((max_minutes - 240) / 25))


def _records(games: pl.DataFrame) -> dict[tuple[str, str], tuple[int, int]]:
    """(game_id, team) -> (wins, losses) through that game, within the season."""
    out: dict[tuple[str, str], tuple[int, int]] = {}
    tally: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for g in games.iter_rows(named=True):  # sorted by game_date, game_id
        for side in ("home", "away"):
            team, wl = g[f"{side}_team"], g[f"{side}_wl"]
            rec = tally[(g["season"], team)]
            if wl == "W":
                rec[0] += 1
            elif wl == "L":
                rec[1] += 1
            out[(g["game_id"], team)] = (rec[0], rec[1])
    return out


_DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def _schedule_bodies(games: pl.DataFrame, teams: dict[str, _Team]) -> dict[str, dict]:
    records = _records(games)
    seq: dict[str, int] = {}
    for (_date,), day in games.group_by(["game_date"], maintain_order=True):
        ordered = sorted(
            day.iter_rows(named=True), key=lambda g: (g["tip_iso"] is None, g["tip_iso"] or "", g["game_id"])
        )
        for i, g in enumerate(ordered, start=1):
            seq[g["game_id"]] = i

    def team_obj(g: dict, side: str) -> dict:
        t = teams[g[f"{side}_team"]]
        wins, losses = records[(g["game_id"], t.tricode)]
        return {
            "teamId": t.nba_id,
            "teamName": t.nickname,
            "teamCity": t.bdl["city"],
            "teamTricode": t.tricode,
            "teamSlug": t.slug,
            "wins": wins,
            "losses": losses,
            "score": int(g[f"{side}_score"]),
            "seed": 0,
        }

    by_season: dict[str, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for g in games.iter_rows(named=True):
        d = dt.date.fromisoformat(g["game_date"])
        by_season[g["season"]][g["game_date"]].append(
            {
                "gameId": g["game_id"],
                "gameCode": f"{d:%Y%m%d}/{g['away_team']}{g['home_team']}",
                "gameStatus": 3 if g["final"] else 1,
                "gameStatusText": "Final" if g["final"] else g["tip_text_et"],
                "gameSequence": seq[g["game_id"]],
                "gameDateEst": f"{g['game_date']}T00:00:00Z",
                "gameTimeEst": g["tip_time_et"],
                "gameDateTimeEst": g["tip_et"],
                "gameDateUTC": g["date_utc"],
                "gameTimeUTC": g["tip_time_utc"],
                "gameDateTimeUTC": g["tip_iso"],
                "day": _DAYS[d.weekday()],
                "monthNum": d.month,
                "gameLabel": "",
                "gameSubLabel": "",
                "postponedStatus": "N",
                "isNeutral": False,
                "homeTeam": team_obj(g, "home"),
                "awayTeam": team_obj(g, "away"),
                "pointsLeaders": [],
            }
        )
    bodies: dict[str, dict] = {}
    for season in sorted(by_season):
        dates = by_season[season]
        bodies[season] = {
            "meta": {
                "version": 1,
                "request": f"http://nba.cloud/league/00/{season}/scheduleleaguev2?Format=json",
            },
            "leagueSchedule": {
                "seasonYear": season,
                "leagueId": "00",
                "gameDates": [
                    {
                        "gameDate": f"{day[5:7]}/{day[8:10]}/{day[0:4]} 00:00:00",
                        "games": sorted(dates[day], key=lambda x: x["gameId"]),
                    }
                    for day in sorted(dates)
                ],
                "weeks": [],
                "broadcasterList": [],
            },
        }
    return bodies


def _bdl_games(games: pl.DataFrame, teams: dict[str, _Team]) -> tuple[dict[str, dict], dict[str, list[dict]]]:
    """(game_id -> stat-embedded game object, date -> list of games-endpoint objects)."""
    embedded: dict[str, dict] = {}
    by_date: dict[str, list[dict]] = defaultdict(list)
    for g in games.iter_rows(named=True):
        home, away = teams[g["home_team"]], teams[g["away_team"]]
        base = {
            "id": int(g["game_id"]),
            "date": g["game_date"],
            "season": season_start_year(g["season"]),
            "status": "Final",
            "period": _period(int(g["max_minutes"])),
            "time": "Final",
            "postseason": False,
            "home_team_score": int(g["home_score"]),
            "visitor_team_score": int(g["away_score"]),
            "datetime": g["tip_bdl"],
        }
        if not g["final"]:  # not yet played, as balldontlie lists a scheduled game
            base |= {"status": g["tip_iso"] or g["game_date"], "period": 0, "time": None}
        else:
            embedded[g["game_id"]] = {**base, "home_team_id": home.bdl["id"], "visitor_team_id": away.bdl["id"]}
        by_date[g["game_date"]].append({**base, "home_team": home.bdl, "visitor_team": away.bdl})
    for rows in by_date.values():
        rows.sort(key=lambda x: x["id"])
    return embedded, by_date


def _player_names(box: pl.DataFrame) -> dict[int, tuple[str, str]]:
    ref = pl.read_csv(REFERENCE_DIR / "players.csv", columns=["player_id", "first_name", "last_name"])
    known = {r[0]: (r[1] or "", r[2] or "") for r in ref.iter_rows()}
    names: dict[int, tuple[str, str]] = {}
    for pid, name in box.select("player_id", "player_name").unique("player_id").iter_rows():
        if pid in known:
            names[pid] = known[pid]
        else:
            first, _, last = name.partition(" ")
            names[pid] = (first, last)
    return names


def _bdl_stats(box: pl.DataFrame, embedded: dict[str, dict], teams: dict[str, _Team]) -> dict[str, list[dict]]:
    names = _player_names(box)
    rows = box.sort("game_date", "game_id", "team", "player_id")
    by_date: dict[str, list[dict]] = defaultdict(list)
    cols = [
        "game_date", "game_id", "team", "player_id", "minutes", "fgm", "fga", "fg3m", "fg3a", "ftm", "fta",
        "oreb", "dreb", "reb", "ast", "stl", "blk", "tov", "pf", "pts",
    ]  # fmt: skip
    for stat_id, r in enumerate(rows.select(cols).iter_rows(), start=1):
        (game_date, game_id, team, pid, minutes, fgm, fga, fg3m, fg3a, ftm, fta,
         oreb, dreb, reb, ast, stl, blk, tov, pf, pts) = r  # fmt: skip
        t = teams[team]
        first, last = names[pid]
        by_date[game_date].append(
            {
                "id": stat_id,
                "min": str(minutes),
                "fgm": fgm,
                "fga": fga,
                "fg_pct": _pct(fgm, fga),
                "fg3m": fg3m,
                "fg3a": fg3a,
                "fg3_pct": _pct(fg3m, fg3a),
                "ftm": ftm,
                "fta": fta,
                "ft_pct": _pct(ftm, fta),
                "oreb": oreb,
                "dreb": dreb,
                "reb": reb,
                "ast": ast,
                "stl": stl,
                "blk": blk,
                "turnover": tov,
                "pf": pf,
                "pts": pts,
                "player": {
                    "id": pid,
                    "first_name": first,
                    "last_name": last,
                    "position": "",
                    "height": None,
                    "weight": None,
                    "jersey_number": None,
                    "college": None,
                    "country": None,
                    "draft_year": None,
                    "draft_round": None,
                    "draft_number": None,
                    "team_id": t.bdl["id"],
                },
                "team": t.bdl,
                "game": embedded[game_id],
            }
        )
    return by_date


def _quote_order(q: tuple) -> tuple:
    name, line, over, under = q
    return (name, line, over is None, over or 0, under is None, under or 0)


def _odds(
    lines: pl.DataFrame, teams: dict[str, _Team]
) -> tuple[dict[str, list[dict]], dict[tuple[str, str, str], dict]]:
    """(ET date -> event objects, (event_id, region, snapshot name) -> event-odds body)."""
    events = _event_commence(lines).with_columns(
        pl.col("commence_utc").dt.convert_time_zone(GAME_TZ).dt.strftime("%Y-%m-%d").alias("et_date"),
        pl.col("commence_utc").dt.strftime("%Y-%m-%dT%H:%M:%SZ").alias("commence_time"),
    )
    event_objs: dict[str, dict] = {}
    by_date: dict[str, list[dict]] = defaultdict(list)
    for e in events.iter_rows(named=True):
        obj = {
            "id": e["event_id"],
            "sport_key": SPORT_KEY,
            "sport_title": SPORT_TITLE,
            "commence_time": e["commence_time"],
            "home_team": teams[e["home_team"]].full_name,
            "away_team": teams[e["away_team"]].full_name,
        }
        event_objs[e["event_id"]] = obj
        by_date[e["et_date"]].append(obj)
    for objs in by_date.values():
        objs.sort(key=lambda o: (o["commence_time"], o["id"]))

    quotes = lines.join(
        events.select("event_id", pl.col("commence_utc").alias("event_commence")), on="event_id", how="left"
    ).with_columns(
        pl.coalesce(
            pl.col("snapshot_utc"),
            pl.col("event_commence") - pl.duration(minutes=SNAPSHOT_LEAD_MINUTES),
        )
        .dt.truncate("1s")
        .alias("snapshot")
    )
    grouped: dict[tuple[str, str, str], dict[str, list[tuple]]] = defaultdict(lambda: defaultdict(list))
    snap_iso: dict[str, str] = {}
    for event_id, bookmaker, snap, name, line, over, under in quotes.select(
        "event_id", "bookmaker", "snapshot", "player_name_quoted", "line", "over_price", "under_price"
    ).iter_rows():
        stem = snapshot_name(snap)
        snap_iso[stem] = iso_z(snap)
        key = (event_id, region_for_bookmaker(bookmaker), stem)
        grouped[key][bookmaker].append((name, line, over, under))

    bodies: dict[tuple[str, str, str], dict] = {}
    for key in sorted(grouped):
        event_id, _region, stem = key
        stamp = snap_iso[stem]
        bookmakers = []
        for book in sorted(grouped[key]):
            outcomes = []
            for name, line, over, under in sorted(grouped[key][book], key=_quote_order):
                for side, price in (("Over", over), ("Under", under)):
                    outcome: dict[str, Any] = {"name": side, "description": name, "point": line}
                    if price is not None:
                        outcome["price"] = int(price)
                    outcomes.append(outcome)
            bookmakers.append(
                {
                    "key": book,
                    "title": bookmaker_title(book),
                    "last_update": stamp,
                    "markets": [{"key": MARKET_KEY, "last_update": stamp, "outcomes": outcomes}],
                }
            )
        bodies[key] = {**event_objs[event_id], "bookmakers": bookmakers}
    return dict(by_date), bodies


# --------------------------------------------------------------------------------------------
# writing


def _check_replaceable(out: Path) -> None:
    """Refuse to replace anything that is not an (empty dir or) earlier replay archive."""
    if not out.exists():
        return
    if not out.is_dir():
        raise ValueError(f"{out}: exists and is not a directory")
    manifest = out / "manifest.json"
    if not any(out.iterdir()):
        return
    try:
        fmt = json.loads(manifest.read_text(encoding="utf-8")).get("format")
    except (OSError, ValueError, AttributeError):
        fmt = None
    if fmt != FORMAT:
        raise ValueError(
            f"{out}: exists and is not a replay archive (no {FORMAT} manifest.json); refusing to replace it"
        )


def _write(root: Path, rel: str, obj: Any) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(_dumps(obj))


def build_archive(
    box_scores: PathLike | Sequence[PathLike],
    lines: PathLike | Sequence[PathLike],
    out: PathLike,
    schedule: PathLike | None = None,
) -> Path:
    """Build the replay archive at ``out`` from box-score and lines parquet files and a schedule.

    Several files of a kind are concatenated (``lines`` may be empty: an archive without odds).
    ``schedule`` (``replay/schedule.py``; the CLI passes ``data/schedule.csv`` by default) lists
    the archive's games: those with box scores are final, the others not yet played. Every
    box-score game must be in it. ``None``: the games of the box scores, all final.
    Raises ``ValueError`` (naming the file and column) for unreadable inputs, missing required
    columns and wrong dtypes. The archive is assembled in a temporary directory next to ``out``
    and renamed into place, replacing an earlier archive; on failure nothing at ``out`` changes.
    Returns the archive path.
    """
    box_paths = [box_scores] if isinstance(box_scores, (str, os.PathLike)) else list(box_scores)
    line_paths = [lines] if isinstance(lines, (str, os.PathLike)) else list(lines)
    out = Path(out)
    _check_replaceable(out)

    teams = load_teams()
    box, box_inputs = load_box_scores(box_paths, teams)
    lines_df, line_inputs = load_lines(line_paths, teams)
    schedule_inputs: list[dict] = []
    if schedule is None:
        schedule_df = schedule_from(box, lines_df)
    else:
        schedule_path = Path(schedule)
        schedule_df = load_schedule(schedule_path, teams)
        _check_box_in_schedule(box, schedule_df, f"box-score files {', '.join(str(p) for p in box_paths)}")
        schedule_inputs.append(
            {"path": str(schedule), "kind": "schedule", "sha256": _sha256(schedule_path), "rows": schedule_df.height}
        )

    games = _games_frame(schedule_df, box, lines_df)
    schedules = _schedule_bodies(games, teams)
    embedded, games_by_date = _bdl_games(games, teams)
    stats_by_date = _bdl_stats(box, embedded, teams)
    events_by_date, odds_bodies = _odds(lines_df, teams)

    # first/last_date: the days the archive has data for (box scores or lines); the schedule may
    # reach further (games not yet played), see schedule_first/last_date.
    all_dates = sorted(set(box["game_date"].to_list()) | set(lines_df["game_date"].to_list()))
    scheduled = sorted(games_by_date)
    manifest = {
        "format": FORMAT,
        "inputs": box_inputs + line_inputs + schedule_inputs,
        "first_date": all_dates[0] if all_dates else None,
        "last_date": all_dates[-1] if all_dates else None,
        "schedule_first_date": scheduled[0] if scheduled else None,
        "schedule_last_date": scheduled[-1] if scheduled else None,
        "seasons": sorted(schedules),
        "game_dates": len(games_by_date),
        "snapshot_lead_minutes": SNAPSHOT_LEAD_MINUTES,
        "counts": {
            "games": games.height,
            "games_final": int(games["final"].sum()),
            "stats": box.height,
            "events": sum(len(v) for v in events_by_date.values()),
            "odds_snapshots": len(odds_bodies),
            "quotes": lines_df.height,
        },
        "odds_regions": sorted({region for _e, region, _s in odds_bodies}),
        "notes": NOTES,
    }

    parent = out.absolute().parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.building-", dir=parent))
    try:
        for season, body in schedules.items():
            _write(tmp, f"nba_cdn/scheduleLeagueV2/{season}.json", body)
        for day, rows in games_by_date.items():
            _write(tmp, f"balldontlie/v1/games/{day}.json", {"data": rows, "meta": {}})
        for day, rows in stats_by_date.items():
            _write(tmp, f"balldontlie/v1/stats/{day}.json", {"data": rows, "meta": {}})
        for day, objs in events_by_date.items():
            _write(tmp, f"odds_api/events/{day}.json", objs)
        for (event_id, region, stem), body in odds_bodies.items():
            _write(tmp, f"odds_api/event_odds/{event_id}/{region}/{stem}.json", body)
        _write(tmp, "manifest.json", manifest)
        os.chmod(tmp, 0o755)
        _replace(tmp, out.absolute())
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _replace(tmp: Path, out: Path) -> None:
    if not out.exists():
        os.rename(tmp, out)
        return
    old = out.parent / f".{out.name}.old-{uuid.uuid4().hex[:12]}"
    os.rename(out, old)
    try:
        os.rename(tmp, out)
    except BaseException:
        os.rename(old, out)
        raise
    shutil.rmtree(old, ignore_errors=True)


def derive_schedule(box_scores: Sequence[PathLike], lines: Sequence[PathLike]) -> pl.DataFrame:
    """The schedule of box-score and lines parquet files (validated as ``replay build`` does)."""
    teams = load_teams()
    box, _ = load_box_scores(list(box_scores), teams)
    lines_df, _ = load_lines(list(lines), teams)
    return schedule_from(box, lines_df)
