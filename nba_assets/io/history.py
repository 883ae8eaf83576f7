"""A table's *history*: every stored partition of a local table in one contiguous frame, kept in
memory by the store and stored beside the partitions (``<table>/.history.parquet``), from which the
store serves long windows (``LocalParquetStore``: ``window_cache_bytes`` > 0, windows of at least
``MIN_DAYS`` days).

Why: a window of N days is N Parquet files, and a scan pays per file (footer, decode, one chunk
each, then a rechunk): the 1,154 partitions of ``prediction_accuracy`` take ~0.2-0.4 s to scan,
their history ~0.02 s to read. A one-day run reads a dozen windows of 365 to 1,154 days.

What is served is what a scan of the files would return, row for row: the history holds, for each
day, the rows of that day's file in the file's order, days ascending (the scan's order), and it
serves a day only while that day's file is the one it was read from. The partition files stay the
truth; the history is derived from them and never written to by a partition write.

When a day's rows are served from the history (the day is *current*):
- its file's ``os.stat`` fields that a replacement changes (device, inode, size, mtime and ctime
  in ns; the store replaces a partition by renaming a new file over it, so a rewrite has another
  inode) are the ones recorded, or it had no file then and has none now;
- in this process, no store wrote or deleted that day of the table since it was read
  (``writes_of``: the counts the store keeps per day, as ``_WindowCache`` keeps them per table);
- for a history read from its file (another process built it): the day's file had not changed for
  ``RACY_NS`` before the history was built. File times come from a coarse clock (a few ms here,
  up to seconds elsewhere): a file replaced twice within one tick could get the old inode back
  with the same size and times, so a version recorded while its file was that young is not
  trusted later (git's "racily clean" rule). Such days are read from their files, like changed ones.

Every other requested day is read from its file and spliced in at its place. When more than
``STALE_DAYS`` days of the table are no longer current, the history is brought up to date (the
current days kept, the others read from their files) and stored again. A history file that cannot
be read, or was written for another layout, is ignored and replaced.
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date

import polars as pl

# Windows at least this many days long are served from the table's history.
MIN_DAYS = 32
# More days than this no longer current: the history is brought up to date and stored again.
STALE_DAYS = 16
# A recorded file version is trusted across processes only if its file was older than this then.
RACY_NS = 3 * 10**9
FILE_NAME = ".history.parquet"
LAYOUT = 1
_META_KEY = "nba_assets.history"

Version = tuple[int, int, int, int, int] | None


@dataclass
class _Day:
    offset: int
    rows: int
    version: Version
    writes: int  # the store's write count of the day in this process when it was read
    settled: bool  # the file had not changed for RACY_NS when it was read: trusted in a stored history


@dataclass
class History:
    """The rows of ``days`` (a day's rows at ``offset``, ``rows`` long) in one frame of ``schema``."""

    frame: pl.DataFrame
    days: dict[date, _Day] = field(default_factory=dict)

    @property
    def schema(self) -> pl.Schema:
        return self.frame.schema

    def serves(self, schema: pl.Schema) -> bool:
        """Every column of ``schema`` is one of the history's, with the same type."""
        have = self.schema
        return all(name in have and have[name] == dtype for name, dtype in schema.items())

    def current(self, day: date, version: Version, writes: int) -> bool:
        entry = self.days.get(day)
        if entry is None:
            return version is None  # no file then (or not trusted), none now: no rows either way
        return entry.version == version and entry.writes == writes

    def window(
        self,
        days: Sequence[date],
        versions: Sequence[Version],
        writes: Sequence[int],
        read_file: Callable[[date], pl.DataFrame],
    ) -> pl.DataFrame:
        """The rows of ``days`` (ascending) as a scan of their files would return them: current days
        from the frame (runs of them as one slice), the others from ``read_file`` (a day without a
        file: no rows)."""
        parts: list[pl.DataFrame] = []
        start = end = None  # the frame's rows [start, end) not yet taken
        for day, version, count in zip(days, versions, writes, strict=True):
            if self.current(day, version, count):
                entry = self.days.get(day)
                if entry is None or entry.rows == 0:
                    continue
                if end == entry.offset:
                    end += entry.rows
                    continue
                if start is not None:
                    parts.append(self.frame.slice(start, end - start))
                start, end = entry.offset, entry.offset + entry.rows
                continue
            if version is None:
                continue
            if start is not None:
                parts.append(self.frame.slice(start, end - start))
                start = end = None
            parts.append(read_file(day))
        if start is not None:
            parts.append(self.frame.slice(start, end - start))
        if not parts:
            return self.frame.clear()
        if len(parts) == 1:
            return parts[0]
        return pl.concat(parts, how="vertical").rechunk()


def build(pieces: Sequence[tuple[date, Version, int, bool, pl.DataFrame]], schema: pl.Schema) -> History:
    """A history of ``(day, version, writes, settled, rows)`` pieces, days ascending (a day without a
    file has no piece)."""
    days: dict[date, _Day] = {}
    offset = 0
    kept: list[pl.DataFrame] = []
    for day, version, count, settled, rows in pieces:
        days[day] = _Day(offset, rows.height, version, count, settled)
        if rows.height:
            kept.append(rows)
            offset += rows.height
    frame = pl.concat(kept, how="vertical").rechunk() if kept else pl.DataFrame(schema=schema)
    return History(frame, days)


def settled(version: Version, read_ns: int) -> bool:
    """Whether a file of ``version`` read after ``read_ns`` had not changed for ``RACY_NS`` then."""
    return version is not None and version[4] < read_ns - RACY_NS


def store(path: str, history: History) -> bool:
    """Writes the history to ``path`` (staged under another name, then renamed over it) with its
    settled days only; False when more than ``STALE_DAYS`` are not (the history would be brought up
    to date on its first use anyway) or the file cannot be written."""
    keep = {d: e for d, e in history.days.items() if e.settled}
    if len(history.days) - len(keep) > STALE_DAYS:
        return False
    manifest = {
        "layout": LAYOUT,
        "schema": [[name, str(dtype)] for name, dtype in history.schema.items()],
        "rows": history.frame.height,
        "days": [[d.isoformat(), e.offset, e.rows, list(e.version)] for d, e in sorted(keep.items())],
    }
    tmp = f"{path}.{uuid.uuid4().hex}.tmp"
    try:
        history.frame.write_parquet(
            tmp,
            statistics=False,
            # uncompressed: read ~3x faster than zstd (Parquet's dictionaries keep it ~1.5x the size)
            compression="uncompressed",
            row_group_size=max(1, history.frame.height),  # one row group: read back as one chunk
            metadata={_META_KEY: json.dumps(manifest)},
        )
        os.replace(tmp, path)
    except (OSError, pl.exceptions.PolarsError):  # a full or read-only lake: the read goes on without it
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        return False
    return True


def load(path: str, writes_of: Callable[[date], int]) -> History | None:
    """The history stored at ``path``, or None (none, unreadable, another layout or schema)."""
    if not os.path.exists(path):
        return None
    try:
        manifest = json.loads(pl.read_parquet_metadata(path)[_META_KEY])
        if manifest.get("layout") != LAYOUT:
            return None
        frame = pl.read_parquet(path).rechunk()
        if [[n, str(t)] for n, t in frame.schema.items()] != manifest["schema"] or frame.height != manifest["rows"]:
            return None
        days = {}
        for iso, offset, rows, version in manifest["days"]:
            day = date.fromisoformat(iso)
            days[day] = _Day(offset, rows, tuple(version), writes_of(day), settled=True)
    except Exception:  # noqa: BLE001 - any unreadable or malformed file is ignored and replaced
        return None
    return History(frame, days)
