"""``ReplayServer``: answers the real APIs' requests from a replay archive (see ``build.py``).

One HTTP server on 127.0.0.1 answers every API, told apart by path:

* NBA.com schedule: ``GET /static/json/staticData/scheduleLeagueV2.json`` (latest season) and
  ``GET /stats/scheduleleaguev2?LeagueID=00&Season=2023-24``.
* balldontlie: ``GET /v1/games`` and ``GET /v1/stats`` with ``dates[]``, ``per_page`` and
  ``cursor`` (needs an ``Authorization`` header).
* The Odds API v4: historical and live ``events`` and ``events/{id}/odds`` for
  ``basketball_nba`` (needs ``apiKey``; quota headers on every response).
* The live feeds: stats.nba.com ``GET /stats/scoreboardv2?GameDate=YYYY-MM-DD`` and balldontlie
  ``GET /v1/box_scores?date=YYYY-MM-DD``, built from the archive's schedule, ``games`` and ``stats``
  files. On a replayed clock a game is scheduled before its tip-off, in progress (status only: no
  score, period, clock or player line, as the archive has no in-game state) until tip-off +
  ``LIVE_GAME_DURATION``, then final with its recorded box score (a game the archive holds no box
  score for stays in progress). On the wall clock (``now`` None) a game is final when the archive
  has its box score, else scheduled.

Anything else is a 404 with a JSON body. Only the standard library is used.

Fault injection (tests; ``ReplayServer(archive, faults=[Fault(...)])``): each ``Fault`` applies to
requests whose path contains ``match``, for its first ``times`` matches (``None``: every one), and
answers with a chosen status and headers (e.g. 429 + ``Retry-After``, 500), waits ``delay``
seconds before answering (a read timeout for a client with a shorter one), cuts the recorded body
short (``truncate``: a 200 whose JSON is incomplete), renames JSON keys everywhere in it
(``rename``), empties an odds body's ``bookmakers``, or answers 204 with no body (``no_content``).
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import json
import os
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from nba_assets.facts import DEFAULT_TIPOFF_ET, ET

FORMAT = "nba-replay/1"
ODDS_QUOTA = 20000
DFS_BOOKMAKERS = frozenset({"prizepicks", "underdog", "betr", "pick6", "dabble", "sleeper"})
BDL_DEFAULT_PER_PAGE = 25
BDL_MAX_PER_PAGE = 100

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SEASON_RE = re.compile(r"^\d{4}-\d{2}$")
_EVENT_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
_SNAPSHOT_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z\.json$")

Query = dict[str, list[str]]
_MISSING_DATE = "Missing date parameter (ISO 8601, e.g. 2024-10-22T16:00:00Z)"


class Response:
    __slots__ = ("status", "body", "headers")

    def __init__(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.status = status
        self.body = body
        self.headers = headers or {}


class _BadRequest(Exception):
    def __init__(self, status: int, payload: dict[str, Any]) -> None:
        super().__init__(payload)
        self.status = status
        self.payload = payload


def _json(status: int, obj: Any, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return Response(status, body, headers)


def _parse_instant(value: str, name: str) -> dt.datetime:
    """An ISO-8601 instant as an aware UTC datetime (naive values are UTC)."""
    text = value.strip()
    text = re.sub(r" (\d{2}:?\d{2})$", r"+\1", text)  # an unencoded '+' of an offset arrives as ' '
    try:
        if _DATE_RE.match(text):
            parsed = dt.datetime.fromisoformat(text + "T00:00:00")
        else:
            parsed = dt.datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        message = f"Invalid {name} parameter: {value!r} is not an ISO 8601 time"
        raise _BadRequest(422, {"message": message}) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def _iso_z(ts: dt.datetime) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ")


def _stem_to_iso(stem: str) -> str:
    # "2024-10-23T01-00-00Z" -> "2024-10-23T01:00:00Z"
    day, _, clock = stem.partition("T")
    return f"{day}T{clock.replace('-', ':')}"


def _first(query: Query, *names: str) -> str | None:
    for name in names:
        values = query.get(name)
        if values:
            return values[0]
    return None


def _first_ci(query: Query, name: str) -> str | None:
    lowered = name.lower()
    for key, values in query.items():
        if key.lower() == lowered and values:
            return values[0]
    return None


def _historical(timestamp: str | None, data: Any) -> dict[str, Any]:
    return {"timestamp": timestamp, "previous_timestamp": None, "next_timestamp": None, "data": data}


def _team_ids(row: dict) -> tuple[int, ...]:
    if "team" in row:
        return (row["team"]["id"],)
    return (row["home_team"]["id"], row["visitor_team"]["id"])


def _multi(query: Query, name: str) -> list[str]:
    """Values of ``name[]`` / ``name`` (repeated or comma-separated)."""
    values: list[str] = []
    for key in (f"{name}[]", name):
        for value in query.get(key, []):
            values.extend(v.strip() for v in value.split(",") if v.strip())
    return values


REFERENCE_DIR = Path(__file__).resolve().parent.parent / "reference"


@functools.cache
def _reference_teams() -> list[dict[str, Any]]:
    """balldontlie teams as the API lists them, from ``reference/bdl_teams.csv`` (real ids and names)."""
    with open(REFERENCE_DIR / "bdl_teams.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    keys = ("conference", "division", "city", "name", "full_name", "abbreviation")
    return [{"id": int(r["bdl_team_id"]), **{k: r[k] for k in keys}} for r in rows]


@functools.cache
def _reference_players() -> list[dict[str, Any]]:
    """balldontlie-shaped players from ``reference/players.csv`` (fields it lacks are null), by id."""
    with open(REFERENCE_DIR / "players.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    unknown = ("position", "height", "weight", "jersey_number", "college", "country")
    players = [
        {
            "id": int(r["player_id"]),
            "first_name": r["first_name"],
            "last_name": r["last_name"],
            **dict.fromkeys(unknown),
            "draft_year": None,
            "draft_round": None,
            "draft_number": None,
            "team": None,
        }
        for r in rows
    ]
    return sorted(players, key=lambda p: p["id"])


class ReplayArchive:
    """Read-only, thread-safe access to an archive's files with a small LRU cache."""

    def __init__(self, root: str | os.PathLike[str], cache_size: int = 64) -> None:
        self.root = Path(root)
        manifest_path = self.root / "manifest.json"
        if not manifest_path.is_file():
            raise ValueError(
                f"{self.root}: not a replay archive (no manifest.json); build one with "
                "`python -m nba_assets.replay build ...`"
            )
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ValueError(f"{manifest_path}: unreadable manifest ({exc})") from exc
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            got = manifest.get("format") if isinstance(manifest, dict) else None
            raise ValueError(f"{manifest_path}: format is {got!r}, expected {FORMAT!r}")
        self.manifest: dict[str, Any] = manifest
        self._cache_size = cache_size
        self._cache: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.RLock()
        self._listings: dict[str, list[str]] = {}
        self._stat_ranges: dict[str, tuple[int, int]] = {}
        self._events: tuple[list[dict], dict[str, dict]] | None = None

    # -- files -------------------------------------------------------------------------------

    def _cached(self, key: str, load: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
            value = load()
            self._cache[key] = value
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
            return value

    def read_bytes(self, rel: str) -> bytes | None:
        path = self.root / rel
        return self._cached("b:" + rel, lambda: path.read_bytes() if path.is_file() else None)

    def read_json(self, rel: str) -> Any:
        path = self.root / rel
        return self._cached("j:" + rel, lambda: json.loads(path.read_bytes()) if path.is_file() else None)

    def listing(self, rel: str) -> list[str]:
        """Sorted file names in a directory of the archive (empty when absent), cached."""
        with self._lock:
            if rel not in self._listings:
                path = self.root / rel
                self._listings[rel] = sorted(os.listdir(path)) if path.is_dir() else []
            return self._listings[rel]

    # -- schedule ----------------------------------------------------------------------------

    def seasons(self) -> list[str]:
        return sorted(n[:-5] for n in self.listing("nba_cdn/scheduleLeagueV2") if n.endswith(".json"))

    def schedule(self, season: str | None) -> bytes | None:
        seasons = self.seasons()
        if season is None:
            if not seasons:
                return None
            season = seasons[-1]
        if not _SEASON_RE.match(season) or season not in seasons:
            return None
        return self.read_bytes(f"nba_cdn/scheduleLeagueV2/{season}.json")

    def schedule_games(self, day: str) -> list[dict]:
        """The schedule's games of ``day`` (YYYY-MM-DD), by ``gameSequence``; [] when not archived."""
        if not _DATE_RE.match(day):
            return []
        year, month = int(day[:4]), int(day[5:7])
        start = year if month >= 8 else year - 1
        season = f"{start}-{(start + 1) % 100:02d}"
        if season not in self.seasons():
            return []

        def index() -> dict[str, list[dict]]:
            body = json.loads(self.read_bytes(f"nba_cdn/scheduleLeagueV2/{season}.json") or b"{}")
            out: dict[str, list[dict]] = {}
            for game_date in (body.get("leagueSchedule") or {}).get("gameDates", []):
                for game in game_date.get("games", []):
                    out.setdefault(str(game.get("gameDateEst", ""))[:10], []).append(game)
            for games in out.values():
                games.sort(key=lambda g: (g.get("gameSequence") or 0, g["gameId"]))
            return out

        return self._cached("schedule-index:" + season, index).get(day, [])

    # -- balldontlie -------------------------------------------------------------------------

    def bdl_dates(self, kind: str) -> list[str]:
        return [n[:-5] for n in self.listing(f"balldontlie/v1/{kind}") if n.endswith(".json")]

    def bdl_rows(self, kind: str, day: str) -> list[dict]:
        if not _DATE_RE.match(day):
            return []
        body = self.read_json(f"balldontlie/v1/{kind}/{day}.json")
        rows = body["data"] if body else []
        if kind == "stats" and rows:
            with self._lock:
                self._stat_ranges[day] = (rows[0]["id"], rows[-1]["id"])
        return rows

    def stat_range(self, day: str) -> tuple[int, int] | None:
        with self._lock:
            return self._stat_ranges.get(day)

    # -- odds --------------------------------------------------------------------------------

    def events(self) -> tuple[list[dict], dict[str, dict]]:
        """All archived events sorted by (commence_time, id), and by id."""
        with self._lock:
            if self._events is None:
                everything: list[dict] = []
                for name in self.listing("odds_api/events"):
                    if name.endswith(".json"):
                        everything.extend(json.loads((self.root / "odds_api/events" / name).read_bytes()))
                everything.sort(key=lambda e: (e["commence_time"], e["id"]))
                self._events = (everything, {e["id"]: e for e in everything})
            return self._events

    def snapshots(self, event_id: str, region: str) -> list[str]:
        if not _EVENT_ID_RE.match(event_id) or not _EVENT_ID_RE.match(region):
            return []
        names = self.listing(f"odds_api/event_odds/{event_id}/{region}")
        return [n[:-5] for n in names if _SNAPSHOT_RE.match(n)]

    def snapshot(self, event_id: str, region: str, stem: str) -> dict:
        return self.read_json(f"odds_api/event_odds/{event_id}/{region}/{stem}.json")


class _Router:
    """Maps (path, query, headers) to a :class:`Response`; no sockets involved."""

    def __init__(self, archive: ReplayArchive, now: Callable[[], dt.datetime] | None = None) -> None:
        self.archive = archive
        self.now = now  # the replayed clock: answers only what it allows (None: everything)
        self._quota_lock = threading.Lock()
        self.requests_used = 0

    def __call__(self, method: str, raw_path: str, headers: Any) -> Response:
        parts = urlsplit(raw_path)
        path = unquote(parts.path)
        query: Query = parse_qs(parts.query, keep_blank_values=True)
        try:
            if method != "GET":
                return _json(404, {"message": f"Not found: {method} {path}"})
            if path.startswith("/v4/"):
                return self._odds(path, query)
            if path.rstrip("/") == "/v1/box_scores":
                return self._box_scores(query, headers)
            if path.startswith("/v1/"):
                return self._bdl(path, query, headers)
            lowered = path.lower()
            if lowered.rstrip("/") == "/stats/scoreboardv2":
                return self._scoreboard(query)
            if lowered == "/static/json/staticdata/scheduleleaguev2.json":
                body = self.archive.schedule(None)
                if body is None:
                    return _json(404, {"message": "No schedule in the replay archive"})
                return Response(200, body)
            if lowered in ("/stats/scheduleleaguev2", "/stats/scheduleleaguev2/"):
                season = _first_ci(query, "Season")
                body = self.archive.schedule(season or None)
                if body is None:
                    return _json(404, {"message": f"Season {season!r} is not in the replay archive"})
                return Response(200, body)
            return _json(404, {"message": f"Not found: {path}"})
        except _BadRequest as exc:
            return _json(exc.status, exc.payload)

    # -- balldontlie -------------------------------------------------------------------------

    def _bdl(self, path: str, query: Query, headers: Any) -> Response:
        kind = path.rstrip("/").removeprefix("/v1/")
        if kind not in ("games", "stats", "players", "teams"):
            # player_injuries included: the archive holds no injury data, and none is invented.
            return _json(404, {"error": "Not Found"})
        if not (headers.get("Authorization") or "").strip():
            return _json(401, {"error": "Unauthorized"})
        if kind == "teams":
            return _json(200, {"data": _reference_teams()})
        if kind == "players":
            return self._players(query)
        try:
            per_page = int(_first(query, "per_page") or BDL_DEFAULT_PER_PAGE)
            cursor_text = _first(query, "cursor")
            cursor = int(cursor_text) if cursor_text not in (None, "") else None
        except ValueError:
            return _json(400, {"error": "per_page and cursor must be integers"})
        per_page = max(1, min(per_page, BDL_MAX_PER_PAGE))

        dates = sorted(set(_multi(query, "dates")))
        if not dates:
            start, end = _first(query, "start_date"), _first(query, "end_date")
            dates = [
                d for d in self.archive.bdl_dates(kind) if (start is None or d >= start) and (end is None or d <= end)
            ]
        filters: list[tuple[Callable[[dict], Any], set[int]]] = []
        for name, getter in (
            ("game_ids", lambda r: r["game"]["id"] if "game" in r else r["id"]),
            ("player_ids", lambda r: r["player"]["id"]),
            ("team_ids", _team_ids),
        ):
            raw = _multi(query, name)
            if raw:
                try:
                    filters.append((getter, {int(v) for v in raw}))
                except ValueError:
                    return _json(400, {"error": f"{name}[] must be integers"})
                if name == "player_ids" and kind == "games":
                    filters.pop()

        def keep(row: dict) -> bool:
            if cursor is not None and row["id"] <= cursor:
                return False
            for getter, wanted in filters:
                got = getter(row)
                if isinstance(got, tuple):
                    if not wanted.intersection(got):
                        return False
                elif got not in wanted:
                    return False
            return True

        rows: list[dict] = []
        if kind == "stats":
            # stat ids ascend with the date, so walking the dates in order is walking ids in order
            for day in dates:
                known = self.archive.stat_range(day)
                if known and cursor is not None and known[1] <= cursor:
                    continue
                rows.extend(r for r in self.archive.bdl_rows(kind, day) if keep(r) and game_over(self.now, r))
                if len(rows) > per_page:
                    break
        else:
            for day in dates:
                rows.extend(r for r in self.archive.bdl_rows(kind, day) if keep(r))
            rows.sort(key=lambda r: r["id"])
        page = rows[:per_page]
        meta: dict[str, Any] = {"per_page": per_page}
        if len(rows) > per_page:
            meta["next_cursor"] = page[-1]["id"]
        return _json(200, {"data": page, "meta": meta})

    def _players(self, query: Query) -> Response:
        """``/v1/players`` from the nba.com reference list (player id = nba.com id, as in ``stats``)."""
        try:
            per_page = max(1, min(int(_first(query, "per_page") or BDL_DEFAULT_PER_PAGE), BDL_MAX_PER_PAGE))
            cursor = int(_first(query, "cursor") or 0)
        except ValueError:
            return _json(400, {"error": "per_page and cursor must be integers"})
        search = (_first(query, "search") or "").strip().lower()
        rows = [
            p
            for p in _reference_players()
            if p["id"] > cursor and (not search or search in f"{p['first_name']} {p['last_name']}".lower())
        ]
        page = rows[:per_page]
        meta: dict[str, Any] = {"per_page": per_page}
        if len(rows) > per_page:
            meta["next_cursor"] = page[-1]["id"]
        return _json(200, {"data": page, "meta": meta})

    # -- the live feeds ----------------------------------------------------------------------

    def _live_state(self, tip: str | None, day: str, final: bool) -> str:
        """``scheduled`` / ``in_progress`` / ``final`` of one game at the clock's now."""
        if self.now is None:
            return "final" if final else "scheduled"
        now = self.now()
        start = _parse_instant(tip, "tip-off") if tip else unknown_tipoff(day)
        if now < start:
            return "scheduled"
        if now < start + LIVE_GAME_DURATION or not final:
            return "in_progress"
        return "final"

    def _scoreboard(self, query: Query) -> Response:
        raw = (_first_ci(query, "GameDate") or "").strip()
        day = _game_date(raw)
        if day is None:
            return _json(400, {"message": f"GameDate {raw!r} is not a date (YYYY-MM-DD or MM/DD/YYYY)"})
        periods = {int(g["id"]): g.get("period") for g in self.archive.bdl_rows("games", day)}
        header_rows, line_rows = [], []
        for game in self.archive.schedule_games(day):
            state = self._live_state(game.get("gameDateTimeUTC"), day, game.get("gameStatus") == 3)
            status_id = {"scheduled": 1, "in_progress": 2, "final": 3}[state]
            text = {"scheduled": _tip_text(game.get("gameDateTimeUTC")), "in_progress": "In Progress"}.get(
                state, "Final"
            )
            period = {"scheduled": 0, "in_progress": None}.get(state, periods.get(int(game["gameId"])))
            home, away = game["homeTeam"], game["awayTeam"]
            seq = game.get("gameSequence")
            header_rows.append(
                [f"{day}T00:00:00", seq, game["gameId"], status_id, text, game.get("gameCode"), home["teamId"],
                 away["teamId"], day[:4] if int(day[5:7]) >= 8 else str(int(day[:4]) - 1), period, None, None,
                 None, None, None, None, 1, 0]
            )  # fmt: skip
            for team in (away, home):
                points = team.get("score") if state == "final" else None
                record = f"{team.get('wins', 0)}-{team.get('losses', 0)}"
                line_rows.append(
                    [f"{day}T00:00:00", seq, game["gameId"], team["teamId"], team["teamTricode"],
                     team.get("teamCity"), team.get("teamName"), record, *([None] * 14), points,
                     None, None, None, None, None, None]
                )  # fmt: skip
        body = {
            "resource": "scoreboardV2",
            "parameters": {"GameDate": day, "LeagueID": _first_ci(query, "LeagueID") or "00", "DayOffset": "0"},
            "resultSets": [
                {"name": "GameHeader", "headers": SCOREBOARD_GAME_HEADERS, "rowSet": header_rows},
                {"name": "LineScore", "headers": SCOREBOARD_LINE_HEADERS, "rowSet": line_rows},
            ],
        }
        return _json(200, body)

    def _box_scores(self, query: Query, headers: Any) -> Response:
        if not (headers.get("Authorization") or "").strip():
            return _json(401, {"error": "Unauthorized"})
        day = (_first(query, "date") or "").strip()
        if not _DATE_RE.match(day):
            return _json(400, {"error": "date must be YYYY-MM-DD"})
        players: dict[tuple[int, int], list[dict]] = {}
        for row in self.archive.bdl_rows("stats", day):
            line = {k: v for k, v in row.items() if k not in ("id", "team", "game")}
            players.setdefault((row["game"]["id"], row["team"]["id"]), []).append(line)
        games = []
        for game in self.archive.bdl_rows("games", day):
            state = self._live_state(game.get("datetime"), day, game.get("status") == "Final")
            out = {k: game[k] for k in ("date", "season", "status", "period", "time", "postseason")}
            out |= {"home_team_score": game["home_team_score"], "visitor_team_score": game["visitor_team_score"]}
            numbers = state == "final"
            if not numbers:  # no score, period, clock or player line: the archive has no in-game state
                # a scheduled game's status is its tip-off instant, as balldontlie lists one
                status = "In Progress" if state == "in_progress" else (game.get("datetime") or day)
                out |= {"status": status, "period": None if state == "in_progress" else 0, "time": None}
                out |= {"home_team_score": None, "visitor_team_score": None}
            for side in ("home_team", "visitor_team"):
                team = game[side]
                out[side] = {**team, "players": players.get((game["id"], team["id"]), []) if numbers else []}
            games.append(out)
        return _json(200, {"data": games})

    # -- The Odds API ------------------------------------------------------------------------

    def _charge(self, cost: int) -> dict[str, str]:
        with self._quota_lock:
            self.requests_used += cost
            used = self.requests_used
        return {
            "x-requests-used": str(used),
            "x-requests-remaining": str(max(0, ODDS_QUOTA - used)),
            "x-requests-last": str(cost),
        }

    def _odds(self, path: str, query: Query) -> Response:
        if not (_first(query, "apiKey") or "").strip():
            return _json(
                401,
                {"message": "API key is missing. Pass apiKey as a query parameter.", "error_code": "MISSING_KEY"},
                self._charge(0),
            )
        segments = [s for s in path.split("/") if s]
        historical = len(segments) > 1 and segments[1] == "historical"
        rest = segments[2:] if historical else segments[1:]
        try:
            if rest[:3] == ["sports", "basketball_nba", "events"]:
                if len(rest) == 3:
                    return self._events(query, historical)
                if len(rest) == 5 and rest[4] == "odds":
                    return self._event_odds(rest[3], query, historical)
        except _BadRequest as exc:
            return _json(exc.status, exc.payload, self._charge(0))
        payload = {"message": f"Unknown endpoint: {path}", "error_code": "NOT_FOUND"}
        return _json(404, payload, self._charge(0))

    def _window(self, query: Query) -> tuple[str | None, str | None]:
        lo, hi = _first(query, "commenceTimeFrom"), _first(query, "commenceTimeTo")
        return (
            _iso_z(_parse_instant(lo, "commenceTimeFrom")) if lo else None,
            _iso_z(_parse_instant(hi, "commenceTimeTo")) if hi else None,
        )

    def _events(self, query: Query, historical: bool) -> Response:
        date = None
        if historical:
            raw = _first(query, "date")
            if not raw:
                raise _BadRequest(422, {"message": _MISSING_DATE})
            date = _iso_z(_parse_instant(raw, "date"))
        lo, hi = self._window(query)
        everything, _ = self.archive.events()
        data = [
            e
            for e in everything
            if (lo is None or e["commence_time"] >= lo) and (hi is None or e["commence_time"] <= hi)
        ]
        headers = self._charge(1)
        if historical:
            return _json(200, _historical(date, data), headers)
        return _json(200, data, headers)

    def _event_odds(self, event_id: str, query: Query, historical: bool) -> Response:
        date = None
        if historical:
            raw = _first(query, "date")
            if not raw:
                raise _BadRequest(422, {"message": _MISSING_DATE})
            date = _parse_instant(raw, "date")
        regions = sorted(set(_multi(query, "regions")))
        wanted_books = set(_multi(query, "bookmakers"))
        if not regions and wanted_books:
            regions = sorted({"us_dfs" if b in DFS_BOOKMAKERS else "us" for b in wanted_books})
        if not regions:
            raise _BadRequest(422, {"message": "Missing regions parameter (e.g. regions=us_dfs)"})
        markets = set(_multi(query, "markets")) or {"h2h"}

        _, by_id = self.archive.events()
        event = by_id.get(event_id)
        if event is None:
            message = "Event not found. The event may have expired or the event id is invalid."
            raise _BadRequest(404, {"message": message, "error_code": "EVENT_NOT_FOUND"})
        bookmakers: list[dict] = []
        chosen: list[str] = []
        if "player_points" in markets:
            limit = snapshot_limit(self.now, date)
            for region in regions:
                stems = [s for s in self.archive.snapshots(event_id, region) if limit is None or s <= limit]
                if not stems:
                    continue
                chosen.append(stems[-1])
                body = self.archive.snapshot(event_id, region, stems[-1])
                bookmakers.extend(b for b in body["bookmakers"] if not wanted_books or b["key"] in wanted_books)
        bookmakers.sort(key=lambda b: b["key"])
        data = {**event, "bookmakers": bookmakers}
        cost = len(regions) * (10 if historical else 1)
        headers = self._charge(cost)
        if not historical:
            return _json(200, data, headers)
        timestamp = _stem_to_iso(max(chosen)) if chosen else _iso_z(date)  # type: ignore[arg-type]
        return _json(200, _historical(timestamp, data), headers)


@dataclass
class Fault:
    """One injected misbehaviour (see the module docstring). ``hits`` counts the requests it served."""

    match: str
    times: int | None = 1
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    truncate: bool = False
    rename: dict[str, str] = field(default_factory=dict)
    empty_bookmakers: bool = False
    no_content: bool = False
    hits: int = 0


def _renamed(obj: Any, names: dict[str, str]) -> Any:
    if isinstance(obj, dict):
        return {names.get(k, k): _renamed(v, names) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_renamed(v, names) for v in obj]
    return obj


def _apply_fault(fault: Fault, response: Response) -> Response:
    if fault.no_content:
        return Response(204, b"", dict(response.headers))
    if fault.status is not None:
        body = json.dumps({"message": f"injected fault: HTTP {fault.status}"}).encode()
        return Response(fault.status, body, {**response.headers, **fault.headers})
    body = response.body
    if fault.rename or fault.empty_bookmakers:
        obj = json.loads(body)
        if fault.rename:
            obj = _renamed(obj, fault.rename)
        if fault.empty_bookmakers:
            target = obj.get("data") if isinstance(obj.get("data"), dict) else obj
            target["bookmakers"] = []
        body = json.dumps(obj, separators=(",", ":")).encode()
    if fault.truncate:
        body = body[: max(1, len(body) // 2)]
    return Response(response.status, body, {**response.headers, **fault.headers})


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "nba-replay/1"
    timeout = 60
    disable_nagle_algorithm = True  # headers and body go out in separate writes

    def _respond(self) -> None:
        router: _Router = self.server.router  # type: ignore[attr-defined]
        try:
            response = router(self.command, self.path, self.headers)
        except Exception as exc:  # noqa: BLE001 - report, never kill the server thread
            response = _json(500, {"message": f"replay server error: {type(exc).__name__}: {exc}"})
        fault = self.server.take_fault(urlsplit(self.path).path)  # type: ignore[attr-defined]
        if fault is not None:
            if fault.delay:
                time.sleep(fault.delay)
            response = _apply_fault(fault, response)
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.send_response(response.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(response.body)))
        for key, value in response.headers.items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _respond  # noqa: N815

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
        pass


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    router: _Router
    faults: Sequence[Fault] = ()
    _fault_lock = threading.Lock()

    def take_fault(self, path: str) -> Fault | None:
        """The first fault that still applies to ``path`` (counting this request against it)."""
        with self._fault_lock:
            for fault in self.faults:
                if fault.match in path and (fault.times is None or fault.hits < fault.times):
                    fault.hits += 1
                    return fault
        return None

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gave up (read timeout) closed its socket: nothing to report


# -- the replayed clock: what the archive may answer at its "now" -------------------------------

GAME_DURATION = dt.timedelta(hours=3)  # a game's box score exists this long after its tip-off
# The live feeds: a game is in progress from its tip-off for this long, then final (the same 3 h).
LIVE_GAME_DURATION = GAME_DURATION
SCOREBOARD_GAME_HEADERS = [
    "GAME_DATE_EST", "GAME_SEQUENCE", "GAME_ID", "GAME_STATUS_ID", "GAME_STATUS_TEXT", "GAMECODE", "HOME_TEAM_ID",
    "VISITOR_TEAM_ID", "SEASON", "LIVE_PERIOD", "LIVE_PC_TIME", "NATL_TV_BROADCASTER_ABBREVIATION",
    "HOME_TV_BROADCASTER_ABBREVIATION", "AWAY_TV_BROADCASTER_ABBREVIATION", "LIVE_PERIOD_TIME_BCAST", "ARENA_NAME",
    "WH_STATUS", "WNBA_COMMISSIONER_FLAG",
]  # fmt: skip
SCOREBOARD_LINE_HEADERS = [
    "GAME_DATE_EST", "GAME_SEQUENCE", "GAME_ID", "TEAM_ID", "TEAM_ABBREVIATION", "TEAM_CITY_NAME", "TEAM_NAME",
    "TEAM_WINS_LOSSES", "PTS_QTR1", "PTS_QTR2", "PTS_QTR3", "PTS_QTR4", "PTS_OT1", "PTS_OT2", "PTS_OT3", "PTS_OT4",
    "PTS_OT5", "PTS_OT6", "PTS_OT7", "PTS_OT8", "PTS_OT9", "PTS_OT10", "PTS", "FG_PCT", "FT_PCT", "FG3_PCT", "AST",
    "REB", "TOV",
]  # fmt: skip


def unknown_tipoff(day: str) -> dt.datetime:

    return dt.datetime.combine(dt.date.fromisoformat(day), DEFAULT_TIPOFF_ET, ET).astimezone(dt.UTC)


def _game_date(raw: str) -> str | None:
    """``YYYY-MM-DD`` or ``MM/DD/YYYY`` (both accepted by stats.nba.com) as ``YYYY-MM-DD``."""
    if _DATE_RE.match(raw):
        return raw
    match = re.match(r"^(\d{2})/(\d{2})/(\d{4})$", raw)
    return f"{match.group(3)}-{match.group(1)}-{match.group(2)}" if match else None


def _tip_text(tip: str | None) -> str:
    """A scheduled game's status text: its tip-off in ET (``7:30 pm ET``), ``TBD`` when unknown."""
    if not tip:
        return "TBD"

    et = _parse_instant(tip, "tip-off").astimezone(ET)
    return f"{et.hour % 12 or 12}:{et.minute:02d} {'am' if et.hour < 12 else 'pm'} ET"


def game_over(now: Callable[[], dt.datetime] | None, row: dict) -> bool:
    """A box-score row is answered once its game is over by the clock (tip-off + ``GAME_DURATION``)."""
    if now is None:
        return True
    tip = (row.get("game") or {}).get("datetime")
    if not tip:
        return True
    return _parse_instant(str(tip), "datetime") + GAME_DURATION <= now()


def snapshot_limit(now: Callable[[], dt.datetime] | None, date: dt.datetime | None) -> str | None:
    """The latest snapshot stem a request may see: the requested ``date`` (historical), never
    after the clock's now (live requests included)."""
    limits = [d for d in (date, now() if now is not None else None) if d is not None]
    return min(limits).strftime("%Y-%m-%dT%H-%M-%SZ") if limits else None


class ReplayServer:
    """Serve a replay archive on ``host:port`` (port 0 picks a free port) from a daemon thread.

    >>> with ReplayServer(".replay") as server:
    ...     httpx.get(server.base_url + "/static/json/staticData/scheduleLeagueV2.json")
    """

    def __init__(
        self,
        archive_dir: str | os.PathLike[str],
        host: str = "127.0.0.1",
        port: int = 0,
        faults: Sequence[Fault] = (),
        now: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self.archive_dir = Path(archive_dir)
        self.now = now  # a replayed clock (``Clock.now``): no box score before its game is over,
        # no line snapshot after now
        self.faults = list(faults)
        self.host = host
        self.port = port
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._router: _Router | None = None

    def start(self) -> str:
        """Start serving; returns the base URL (``http://127.0.0.1:PORT``)."""
        if self._httpd is not None:
            return self.base_url
        archive = ReplayArchive(self.archive_dir)  # raises ValueError when the dir is no archive
        self._router = _Router(archive, self.now)
        httpd = _HTTPServer((self.host, self.port), _Handler)
        httpd.router = self._router
        httpd.faults = self.faults
        self._httpd = httpd
        self.port = httpd.server_address[1]
        # serve_forever checks for shutdown every poll_interval: socketserver's 0.5 s default made
        # each run's teardown wait ~0.5 s for the server to notice stop().
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, name=f"replay-server-{self.port}", daemon=True
        )
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        httpd, thread = self._httpd, self._thread
        self._httpd = self._thread = None
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()
        if thread is not None:
            thread.join(timeout=5)

    @property
    def base_url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("ReplayServer is not running; call start() first")
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._httpd is not None

    @property
    def manifest(self) -> dict[str, Any]:
        if self._router is None:
            return ReplayArchive(self.archive_dir).manifest
        return self._router.archive.manifest

    def __enter__(self) -> ReplayServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
