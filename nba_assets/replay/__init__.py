"""Replay archive of recorded API responses (build) and the HTTP server that answers from it."""

from nba_assets.replay.build import build_archive
from nba_assets.replay.server import ReplayServer

__all__ = ["ReplayServer", "build_archive"]
