"""The three API clients: NBA.com schedule, balldontlie v1, The Odds API v4.

Each returns parsed JSON bodies exactly as received (after landing them); turning bodies into
tables is the job of the pure parsers in ``nba_assets.transforms.raw``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from nba_assets.sources.http import HttpSource, SourceError

ET = ZoneInfo("America/New_York")


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

    def season_schedule(self, season: str, game_date: date) -> dict[str, Any]:
        body = self.cdn.get(self.CDN_PATH, {}, game_date).json()
        if body.get("leagueSchedule", {}).get("seasonYear") == season:
            return body
        return self.stats.get(self.STATS_PATH, {"LeagueID": "00", "Season": season}, game_date).json()


class BallDontLieClient:
    """balldontlie v1 (``Authorization: <key>``), cursor pagination with ``per_page=100``."""

    def __init__(self, source: HttpSource, max_pages: int = 1000):
        self.source = source
        self.max_pages = max_pages

    def _paged(self, path: str, game_date: date) -> list[dict[str, Any]]:
        pages: list[dict[str, Any]] = []
        cursor: int | None = None
        for _ in range(self.max_pages):
            params: list[tuple[str, Any]] = [("dates[]", game_date.isoformat()), ("per_page", 100)]
            if cursor is not None:
                params.append(("cursor", cursor))
            body = self.source.get(path, params, game_date).json()
            pages.append(body)
            cursor = (body.get("meta") or {}).get("next_cursor")
            if cursor is None:
                return pages
        raise SourceError(f"balldontlie {path} for {game_date}: more than {self.max_pages} pages")

    def stats(self, game_date: date) -> list[dict[str, Any]]:
        return self._paged("/v1/stats", game_date)

    def games(self, game_date: date) -> list[dict[str, Any]]:
        return self._paged("/v1/games", game_date)


class OddsApiClient:
    """The Odds API v4 (``apiKey`` query parameter); historical snapshots for past days."""

    SPORT = "basketball_nba"

    def __init__(self, source: HttpSource):
        self.source = source
        self.quota: dict[str, str] = {}

    def _get(self, path: str, params: dict[str, Any], game_date: date) -> Any:
        response = self.source.get(path, params, game_date)
        for header in ("x-requests-remaining", "x-requests-used", "x-requests-last"):
            if header in response.headers:
                self.quota[header] = response.headers[header]
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    def events(self, game_date: date, at: datetime | None) -> tuple[datetime, list[dict[str, Any]]]:
        """Events tipping off on the ET ``game_date``; ``at`` set = historical snapshot at that time."""
        start, end = et_day_bounds_utc(game_date)
        params = {"commenceTimeFrom": iso_z(start), "commenceTimeTo": iso_z(end - timedelta(seconds=1))}
        if at is None:
            body = self._get(f"/v4/sports/{self.SPORT}/events", params, game_date)
            return datetime.now(UTC), list(body or [])
        body = self._get(f"/v4/historical/sports/{self.SPORT}/events", {**params, "date": iso_z(at)}, game_date)
        body = body or {}
        return _parse_ts(body.get("timestamp")) or at, list(body.get("data") or [])

    def event_player_points(
        self, event_id: str, regions: str, game_date: date, at: datetime | None
    ) -> tuple[datetime, dict[str, Any] | None]:
        """One event's ``player_points`` odds: (snapshot time, event body with bookmakers)."""
        params = {"regions": regions, "markets": "player_points", "oddsFormat": "american"}
        if at is None:
            body = self._get(f"/v4/sports/{self.SPORT}/events/{event_id}/odds", params, game_date)
            return datetime.now(UTC), body
        body = self._get(
            f"/v4/historical/sports/{self.SPORT}/events/{event_id}/odds", {**params, "date": iso_z(at)}, game_date
        )
        body = body or {}
        return _parse_ts(body.get("timestamp")) or at, body.get("data")


def _parse_ts(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
