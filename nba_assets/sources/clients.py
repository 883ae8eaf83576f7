"""The three API clients: NBA.com schedule, balldontlie v1, The Odds API v4.

Each returns ``Fetched`` responses (decoded JSON and the landing file the body was written to
before anything looked at it); turning landed bodies into tables is the job of the pure parsers
in ``nba_assets.transforms.raw``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from nba_assets.facts import ET
from nba_assets.sources.http import Fetched, HttpSource, SourceError


def season_of(day: date) -> str:
    """NBA season label of a game date: games from August on belong to the season starting that year."""
    start = day.year if day.month >= 8 else day.year - 1
    return f"{start}-{(start + 1) % 100:02d}"


def et_day_bounds_utc(day: date) -> tuple[datetime, datetime]:
    """[00:00 ET on ``day``, 00:00 ET the next day) in UTC: the commence window of one game date."""
    start = datetime.combine(day, time(0), ET).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), ET).astimezone(UTC)
    return start, end


def iso_z(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class NbaScheduleClient:
    """NBA.com ``scheduleLeagueV2``: the CDN file holds the current season; past seasons come
    from the stats endpoint of the same name (same body shape)."""

    CDN_PATH = "/static/json/staticData/scheduleLeagueV2.json"
    STATS_PATH = "/stats/scheduleleaguev2"

    def __init__(self, cdn: HttpSource, stats: HttpSource):
        self.cdn, self.stats = cdn, stats

    def season_schedule(self, season: str, game_date: date) -> Fetched:
        """The season's schedule body, landed under ``game_date``."""
        fetched = self.cdn.get_json(self.CDN_PATH, {}, game_date)
        body = fetched.body if isinstance(fetched.body, dict) else {}
        if (body.get("leagueSchedule") or {}).get("seasonYear") == season:
            return fetched
        return self.stats.get_json(self.STATS_PATH, {"LeagueID": "00", "Season": season}, game_date)


class BallDontLieClient:
    """balldontlie v1 (``Authorization: <key>``), cursor pagination with ``per_page=100``."""

    def __init__(self, source: HttpSource, max_pages: int = 1000):
        self.source = source
        self.max_pages = max_pages

    def _paged(self, path: str, game_date: date, params: list[tuple[str, Any]] | None = None) -> list[Fetched]:
        pages: list[Fetched] = []
        cursor: int | None = None
        base = params if params is not None else [("dates[]", game_date.isoformat())]
        for _ in range(self.max_pages):
            query: list[tuple[str, Any]] = [*base, ("per_page", 100)]
            if cursor is not None:
                query.append(("cursor", cursor))
            fetched = self.source.get_json(path, query, game_date)
            pages.append(fetched)
            meta = fetched.body.get("meta") if isinstance(fetched.body, dict) else None
            cursor = (meta or {}).get("next_cursor")
            if cursor is None:
                return pages
        raise SourceError(f"balldontlie {path} for {game_date}: more than {self.max_pages} pages")

    def stats(self, game_date: date) -> list[Fetched]:
        return self._paged("/v1/stats", game_date)

    def games(self, game_date: date) -> list[Fetched]:
        return self._paged("/v1/games", game_date)


class OddsApiClient:
    """The Odds API v4 (``apiKey`` query parameter); historical snapshots for past days."""

    SPORT = "basketball_nba"

    def __init__(self, source: HttpSource):
        self.source = source
        self.quota: dict[str, str] = {}
        self.requests = 0

    def _get(self, path: str, params: dict[str, Any], game_date: date) -> Fetched:
        fetched = self.source.get_json(path, params, game_date)
        self.requests += 1
        for header in ("x-requests-remaining", "x-requests-used", "x-requests-last"):
            if header in fetched.headers:
                self.quota[header] = fetched.headers[header]
        return fetched

    def events(self, game_date: date, at: datetime | None) -> tuple[Fetched, list[dict[str, Any]]]:
        """Events tipping off on the ET ``game_date``; ``at`` set = historical snapshot at that time."""
        start, end = et_day_bounds_utc(game_date)
        params = {"commenceTimeFrom": iso_z(start), "commenceTimeTo": iso_z(end - timedelta(seconds=1))}
        if at is None:
            fetched = self._get(f"/v4/sports/{self.SPORT}/events", params, game_date)
            return fetched, list(fetched.body or [])
        fetched = self._get(f"/v4/historical/sports/{self.SPORT}/events", {**params, "date": iso_z(at)}, game_date)
        body = fetched.body if isinstance(fetched.body, dict) else {}
        return fetched, list(body.get("data") or [])

    def event_player_points(self, event_id: str, regions: str, game_date: date, at: datetime | None) -> Fetched:
        """One event's ``player_points`` odds (live, or the historical snapshot at ``at``)."""
        params = {"regions": regions, "markets": "player_points", "oddsFormat": "american"}
        if at is None:
            return self._get(f"/v4/sports/{self.SPORT}/events/{event_id}/odds", params, game_date)
        return self._get(
            f"/v4/historical/sports/{self.SPORT}/events/{event_id}/odds", {**params, "date": iso_z(at)}, game_date
        )
