"""Fetch records: which landed bodies make up one complete fetch of a feed for one game date.

The HTTP layer lands every body it receives (``landing/<source>/<game_date>/<stamp>-<digest>.json.gz``
with its ``.meta.json``), including error bodies and bodies of fetches that failed halfway. When an
ingest asset has fetched everything a feed needs for a game date, it appends a fetch record:

    landing/_fetches/<feed>/<game_date>/<utc stamp>-<id>.json
    {"feed": ..., "game_date": ..., "fetched_at": ..., "files": [{"path": <relative to landing>, "kind": ...}]}

Raw tables are parsed from these records only (never by calling an API): the newest record of a
day for feeds that replace (schedule, box scores), every record of the day for feeds that accumulate
(props snapshots). Records, like bodies, are never overwritten or deleted by the pipeline.
"""

from __future__ import annotations

import gzip
import json
import os
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

FETCHES = "_fetches"


@dataclass(frozen=True)
class LandedFile:
    """One landed body: path relative to the landing root, and its role in the fetch."""

    path: str
    kind: str

    def body(self, root: Path) -> Any:
        """The decoded JSON body (``None`` for an empty body)."""
        raw = gzip.decompress((root / self.path).read_bytes())
        return json.loads(raw) if raw else None

    def raw(self, root: Path) -> bytes:
        """The body exactly as received (decompressed)."""
        return gzip.decompress((root / self.path).read_bytes())

    def meta(self, root: Path) -> dict[str, Any]:
        return json.loads((root / self.path.replace(".json.gz", ".meta.json")).read_bytes())


@dataclass(frozen=True)
class FetchRecord:
    feed: str
    game_date: date
    fetched_at: str
    files: tuple[LandedFile, ...]
    record_path: Path


def write_fetch(
    root: Path,
    feed: str,
    game_date: date,
    files: Iterable[tuple[Path | None, str]],
    copy: Callable[[Path], object] | None = None,
) -> Path:
    """Appends the record of one complete fetch of ``feed`` for ``game_date`` (files: (landed path, kind)).
    ``copy``: called with the record once it is in place (the lake's write-once copy to its object store)."""
    folder = root / FETCHES / feed / game_date.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    path = folder / f"{stamp}-{uuid.uuid4().hex[:8]}.json"
    record = {
        "feed": feed,
        "game_date": game_date.isoformat(),
        "fetched_at": stamp,
        "files": [{"path": p.relative_to(root).as_posix(), "kind": kind} for p, kind in files if p is not None],
    }
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(record, indent=1))
    os.replace(tmp, path)
    if copy is not None:
        copy(path)
    return path


def _read(path: Path) -> FetchRecord:
    raw = json.loads(path.read_bytes())
    return FetchRecord(
        feed=raw["feed"],
        game_date=date.fromisoformat(raw["game_date"]),
        fetched_at=raw["fetched_at"],
        files=tuple(LandedFile(f["path"], f["kind"]) for f in raw["files"]),
        record_path=path,
    )


def fetch_records(root: Path, feed: str, game_date: date) -> list[FetchRecord]:
    """Every complete fetch of ``feed`` for ``game_date``, oldest first."""
    folder = root / FETCHES / feed / game_date.isoformat()
    if not folder.is_dir():
        return []
    return [_read(folder / name) for name in sorted(os.listdir(folder)) if name.endswith(".json")]


def latest_fetches(root: Path, feed: str, days: Sequence[date]) -> dict[date, FetchRecord]:
    """The newest complete fetch of each day that has one."""
    out = {}
    for day in days:
        records = fetch_records(root, feed, day)
        if records:
            out[day] = records[-1]
    return out
