"""Per-day work: the rows of a date range, and the days of a run side by side.

``rows_dated`` cuts [lo, hi) out of a frame sorted by ``game_date`` (a slice: the rows keep their
order, so what is summed over them is summed in the same order as a filter would).

``map_days``: the days of a run are independent (each a function of its own day's inputs), so they
are computed ``DAY_WORKERS`` at a time and handed back in the order given.

Polars releases the GIL while it computes, so the two threads overlap a day's computing with the
next day's Python; each day's result is the same frame whichever thread computed it, and the
results are returned in the input order, so a concatenation of them is the same to the bit as the
sequential loop's. Python still holds the GIL between polars calls: the gain is modest (the
availability days ~15 % at a load of ~3 on 2 cores), and training loops of many short C calls
(xgboost) gain nothing, so they stay sequential.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import polars as pl

DAY_WORKERS = 2


def map_days[T, R](fn: Callable[[T], R], items: Iterable[T], workers: int = DAY_WORKERS) -> list[R]:
    """``[fn(x) for x in items]``, ``workers`` at a time, in the order of ``items``."""
    items = list(items)
    if workers <= 1 or len(items) <= 1:
        return [fn(x) for x in items]
    with ThreadPoolExecutor(max_workers=min(workers, len(items))) as pool:
        return list(pool.map(fn, items))


def rows_dated(frame: pl.DataFrame, lo: date, hi: date) -> pl.DataFrame:
    """The rows of ``frame`` (sorted by ``game_date``) dated in [lo, hi)."""
    dates = frame["game_date"]
    first, last = dates.search_sorted(lo, side="left"), dates.search_sorted(hi, side="left")
    return frame.slice(first, last - first)
