"""Replay archive of recorded API responses (build) and the HTTP server that answers from it."""

from nba_assets.replay.build import build_archive
from nba_assets.replay.server import Fault, ReplayServer

__all__ = ["Fault", "ReplayServer", "build_archive"]
