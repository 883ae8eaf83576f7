"""Paths and settings taken from the environment, with the project's defaults.

Every Make target passes these through, so a user can point the same pipeline at their own lake
and recorded data: ``NBA_REPLAY_DIR=... NBA_LAKE_DIR=... make run START=... END=...``.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_LAKE_DIR = PROJECT_ROOT / ".lake"
DEFAULT_REPLAY_DIR = PROJECT_ROOT / ".replay"


def lake_dir() -> Path:
    """Root of the local lake (``$NBA_LAKE_DIR``, default ``./.lake``)."""
    return Path(os.environ.get("NBA_LAKE_DIR") or DEFAULT_LAKE_DIR).resolve()


def replay_dir() -> Path | None:
    """The replay archive to serve, or None for the real services (``$NBA_REPLAY_DIR``)."""
    value = os.environ.get("NBA_REPLAY_DIR")
    return Path(value).resolve() if value else None


def exports_dir() -> Path:
    return lake_dir() / "exports" / "v1"


def landing_dir() -> Path:
    return lake_dir() / "landing"
