"""Dagster resources: the API clients, pointed at the real services or at the replay server.

With ``replay_dir`` configured (the definitions take it from ``NBA_REPLAY_DIR``) the resource
starts a replay server on 127.0.0.1 for the run and points every client at it: the same httpx
code path as production. Bodies land through the nested ``Lake`` resource (``landing/`` under the
lake, mirrored to GCS when the lake has an object store).
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from pydantic import PrivateAttr

from nba_assets.clock import Clock
from nba_assets.config import UNMATCHED_ODDS_THRESHOLD_DEFAULT, UNRESOLVED_THRESHOLD_DEFAULT, Settings
from nba_assets.lake import Lake
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
    lake: Lake
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
        """Where bodies and fetch records land: ``<lake>/landing``."""
        return self.lake.landing_dir()

    def mirror_landed(self, path: Path) -> str | None:
        """Copies a landed file (body, metadata, fetch record) to the lake's object store, write-once."""
        return self.lake.mirror_landed(path)

    def _source(self, name: str, configured: str, **kwargs) -> HttpSource:
        source = HttpSource(
            name=name,
            base_url=self._base(name, configured),
            landing=Landing(self.landing_root(), copy=self.mirror_landed),
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


class RawCheckThresholds(dg.ConfigurableResource):
    """How much the raw tables' checks tolerate before they warn (``NBA_UNRESOLVED_NAMES_WARN_THRESHOLD``,
    ``NBA_UNMATCHED_ODDS_WARN_THRESHOLD`` in the definitions' settings)."""

    unresolved_names_per_day: int = UNRESOLVED_THRESHOLD_DEFAULT
    unmatched_odds_rows_per_day: int = UNMATCHED_ODDS_THRESHOLD_DEFAULT


def apis_for(settings: Settings, lake: Lake, clock: Clock | None = None) -> NbaApis:
    """The resource as the settings configure it (secrets through ``dg.EnvVar``: resolved by Dagster
    at run time, never copied into the definitions)."""

    def secret(name: str):
        return dg.EnvVar(name) if name in settings.secrets else ""

    urls = settings.base_urls
    return NbaApis(
        balldontlie_api_key=secret("BALLDONTLIE_API_KEY"),
        odds_api_key=secret("ODDS_API_KEY"),
        balldontlie_base_url=urls.get("balldontlie", ""),
        nba_cdn_base_url=urls.get("nba_cdn", ""),
        nba_stats_base_url=urls.get("nba_stats", ""),
        odds_api_base_url=urls.get("odds_api", ""),
        replay_dir=settings.replay_dir,
        lake=lake,
        clock_file=clock.state_file if clock else "",
    )
