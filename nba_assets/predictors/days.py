"""Per-day work side by side: the days of a run are independent (each a function of its own day's
inputs), so they are computed ``DAY_WORKERS`` at a time and handed back in the order given.

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

DAY_WORKERS = 2


def map_days[T, R](fn: Callable[[T], R], items: Iterable[T], workers: int = DAY_WORKERS) -> list[R]:
    """``[fn(x) for x in items]``, ``workers`` at a time, in the order of ``items``."""
    items = list(items)
    if workers <= 1 or len(items) <= 1:
        return [fn(x) for x in items]
    with ThreadPoolExecutor(max_workers=min(workers, len(items))) as pool:
        return list(pool.map(fn, items))
