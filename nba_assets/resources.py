"""Dagster resources: the API clients, pointed at the real services or at the replay server.

With ``NBA_REPLAY_DIR`` set (or ``replay_dir`` configured) the resource starts a replay server
on 127.0.0.1 for the run and points every client at it: the same httpx code path as production.
"""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
from pydantic import PrivateAttr

from nba_assets import config
from nba_assets.clock import Clock
from nba_assets.sources.clients import BallDontLieClient, NbaScheduleClient, OddsApiClient
from nba_assets.sources.http import HttpSource, Landing

REAL_BASE_URLS = {
    "balldontlie": "https://api.balldontlie.io",
    "nba_cdn": "https://cdn.nba.com",
    "nba_stats": "https://stats.nba.com",
    "odds_api": "https://api.the-odds-api.com",
}
REPLAY_KEY = "replay"


class NbaApis(dg.ConfigurableResource):
    """Clients for balldontlie, NBA.com and The Odds API, with the landing zone they write to."""

    balldontlie_api_key: str = ""
    odds_api_key: str = ""
    balldontlie_base_url: str = ""
    nba_cdn_base_url: str = ""
    nba_stats_base_url: str = ""
    odds_api_base_url: str = ""
    replay_dir: str = ""
    lake_dir: str = ""
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    max_attempts: int = 5
    max_total_seconds: float = 120.0
    backoff_base: float = 0.5
    # The one clock's state file (``Clock.state_file``): a replay server on a replayed clock answers
    # only what it allows (no box score before a game is over, no line snapshot after now); on the
    # wall clock (empty) it answers everything recorded.
    clock_file: str = ""

    _replay = PrivateAttr(default=None)
    _sources: list[HttpSource] = PrivateAttr(default_factory=list)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        if self.replay_dir:
            from nba_assets.replay.server import ReplayServer

            now = self.clock().now if self.clock_file else None
            self._replay = ReplayServer(Path(self.replay_dir), now=now)
            url = self._replay.start()
            if context.log:
                context.log.info(f"replay server for {self.replay_dir} listening on {url}")

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        for source in self._sources:
            source.close()
        if self._replay is not None:
            self._replay.stop()
            self._replay = None

    def clock(self) -> Clock:
        """The one clock, as the definitions configured it (the ``clock`` resource's state file)."""
        return Clock(state_file=self.clock_file)

    @property
    def replaying(self) -> bool:
        return self._replay is not None

    def _base(self, name: str, configured: str) -> str:
        if self._replay is not None:
            return self._replay.base_url
        return configured or REAL_BASE_URLS[name]

    def landing_root(self) -> Path:
        """Where bodies and fetch records land: ``$NBA_LAKE_DIR/landing``."""
        return (Path(self.lake_dir) if self.lake_dir else config.lake_dir()) / "landing"

    def _source(self, name: str, configured: str, **kwargs) -> HttpSource:
        source = HttpSource(
            name=name,
            base_url=self._base(name, configured),
            landing=Landing(self.landing_root()),
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            max_attempts=self.max_attempts,
            max_total_seconds=self.max_total_seconds,
            backoff_base=self.backoff_base,
            **kwargs,
        )
        self._sources.append(source)
        return source

    def _key(self, value: str, env: str) -> str:
        if self._replay is not None:
            return value or REPLAY_KEY
        if not value:
            raise dg.DagsterInvariantViolationError(f"{env} is not set: it is needed to call the real service")
        return value

    def schedule(self) -> NbaScheduleClient:
        return NbaScheduleClient(
            cdn=self._source("nba_cdn", self.nba_cdn_base_url),
            stats=self._source(
                "nba_stats",
                self.nba_stats_base_url,
                headers={"Referer": "https://www.nba.com/", "User-Agent": "Mozilla/5.0"},
            ),
        )

    def live(self):
        """The live feeds (``sources/live.py``): stats.nba.com ``scoreboardv2``, balldontlie ``/v1/box_scores``."""
        from nba_assets.sources.live import BoxScoresClient, LiveClients, ScoreboardClient

        headers = {"Referer": "https://www.nba.com/", "User-Agent": "Mozilla/5.0"}
        stats = self._source("nba_stats", self.nba_stats_base_url, headers=headers)
        key = self._key(self.balldontlie_api_key, "BALLDONTLIE_API_KEY")
        box = self._source("balldontlie", self.balldontlie_base_url, headers={"Authorization": key})
        return LiveClients(scoreboard=ScoreboardClient(stats), box_scores=BoxScoresClient(box))

    def balldontlie(self) -> BallDontLieClient:
        key = self._key(self.balldontlie_api_key, "BALLDONTLIE_API_KEY")
        return BallDontLieClient(self._source("balldontlie", self.balldontlie_base_url, headers={"Authorization": key}))

    def odds(self) -> OddsApiClient:
        key = self._key(self.odds_api_key, "ODDS_API_KEY")
        return OddsApiClient(self._source("odds_api", self.odds_api_base_url, params={"apiKey": key}))


def apis_from_env(clock: Clock | None = None) -> NbaApis:
    """The resource as configured by the environment (secrets through ``dg.EnvVar``)."""

    def env(name: str):
        return dg.EnvVar(name) if os.environ.get(name) else ""

    replay = config.replay_dir()
    return NbaApis(
        balldontlie_api_key=env("BALLDONTLIE_API_KEY"),
        odds_api_key=env("ODDS_API_KEY"),
        balldontlie_base_url=os.environ.get("BALLDONTLIE_BASE_URL", ""),
        nba_cdn_base_url=os.environ.get("NBA_CDN_BASE_URL", ""),
        nba_stats_base_url=os.environ.get("NBA_STATS_BASE_URL", ""),
        odds_api_base_url=os.environ.get("ODDS_API_BASE_URL", ""),
        replay_dir=str(replay) if replay else "",
        lake_dir=str(config.lake_dir()),
        clock_file=clock.state_file if clock else "",
    )
