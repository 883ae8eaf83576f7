"""Strict as-of helpers: every value taken for game date D comes from rows dated before D.

Each per-player (or per-team) statistic is computed *through* each earlier game, then taken for
a target date with ``join_asof(..., allow_exact_matches=False)``: the last game strictly before
D. Windows in days (games in the last 7 days) are differences of cumulative sums taken strictly
before D and strictly before D−n, so one frame serves one day or four seasons.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import polars as pl

from nba_assets.facts import HISTORY_DAYS


def strictly_before(targets: pl.DataFrame, stats: pl.DataFrame, *, by: str, on: str, target_on: str = "game_date"):
    """Left-join to every target row the last ``stats`` row of the same ``by`` dated before it."""
    if targets.height == 0:
        return _empty_join(targets, stats.drop(on), by)
    return (
        targets.sort(target_on)
        .join_asof(
            stats.sort(on),
            left_on=target_on,
            right_on=on,
            by=by,
            strategy="backward",
            allow_exact_matches=False,
            check_sortedness=False,
        )
        .drop(on, strict=False)
    )


def _empty_join(targets: pl.DataFrame, stats: pl.DataFrame, by: str) -> pl.DataFrame:
    extra = {k: v for k, v in stats.schema.items() if k not in targets.columns}
    return pl.DataFrame(schema={**targets.schema, **extra})


def cumulative_before(
    targets: pl.DataFrame,
    events: pl.DataFrame,
    *,
    by: str,
    values: list[str],
    days: int,
    suffix: str,
) -> pl.DataFrame:
    """Sum of ``values`` over ``by``'s events dated in [D−days, D−1], for every target (by, D).

    The count of events comes as ``n_{suffix}``, each value as ``{value}_{suffix}``.
    """
    ev = (
        events.select(by, pl.col("game_date").alias("_ev_date"), *values)
        .sort(by, "_ev_date")
        .with_columns(
            pl.int_range(1, pl.len() + 1).over(by).alias("_cum_n"),
            *[pl.col(v).fill_null(0).cum_sum().over(by).alias(f"_cum_{v}") for v in values],
        )
        .select(by, "_ev_date", "_cum_n", *[f"_cum_{v}" for v in values])
    )
    keys = targets.select(by, "game_date").unique()
    cut = keys.with_columns((pl.col("game_date") - timedelta(days=days)).alias("_from"))
    upto = strictly_before(cut, ev, by=by, on="_ev_date")
    start = strictly_before(cut.select(by, "game_date", "_from"), ev, by=by, on="_ev_date", target_on="_from").rename(
        {"_cum_n": "_s_n", **{f"_cum_{v}": f"_s_{v}" for v in values}}
    )
    both = upto.join(start, on=[by, "game_date", "_from"], how="left")
    out = both.select(
        by,
        "game_date",
        (pl.col("_cum_n").fill_null(0) - pl.col("_s_n").fill_null(0)).cast(pl.Int64).alias(f"n_{suffix}"),
        *[(pl.col(f"_cum_{v}").fill_null(0) - pl.col(f"_s_{v}").fill_null(0)).alias(f"{v}_{suffix}") for v in values],
    )
    return targets.join(out, on=[by, "game_date"], how="left")


def asof_within(
    targets: pl.DataFrame,
    history: pl.DataFrame,
    rolling: Callable[[pl.DataFrame, str], pl.DataFrame],
    *,
    by: str = "player_id",
    lookback_days: int = HISTORY_DAYS,
) -> pl.DataFrame:
    """``rolling(history, by)`` (statistics through each game, with ``_g`` its date and ``_span``
    the date of the earliest game they depend on) taken strictly before each target date, using
    only games dated in [D − lookback_days, D − 1].

    A history frame may reach further back than ``lookback_days`` (a multi-day run loads the window
    of its first date): the few targets whose last-game statistics depend on an older game are
    recomputed from exactly their own window, so a backfill equals day-by-day runs.
    """
    # Statistics of a group depend on its own rows only: the targets' groups are enough.
    history = history.join(targets.select(by).unique(), on=by, how="semi")
    stats = rolling(history, by)
    out = strictly_before(targets, stats, by=by, on="_g")
    lo = pl.col("game_date") - timedelta(days=lookback_days)
    stale = pl.col("_span").is_not_null() & (pl.col("_span") < lo)
    fine, bad = out.filter(~stale), out.filter(stale)
    if bad.height == 0:
        return out.drop("_span")
    tk = bad.select(pl.all().exclude(stats.columns), by).with_row_index("_tk")
    own = (
        tk.select("_tk", by, pl.col("game_date").alias("_d"))
        .join(history, on=by)
        .filter(
            (pl.col("game_date") < pl.col("_d")) & (pl.col("game_date") >= pl.col("_d") - timedelta(days=lookback_days))
        )
        .drop("_d")
    )
    redone = rolling(own.drop(by).rename({"_tk": by}) if by != "_tk" else own, by)
    last = redone.sort("_g").group_by(by, maintain_order=True).last().rename({by: "_tk"})
    fixed = tk.join(last, on="_tk", how="left").drop("_tk")
    return pl.concat([fine, fixed.select(fine.columns)], how="vertical_relaxed").drop("_span")


def _shifted(expr: pl.Expr, i: int, by: str) -> pl.Expr:
    """``expr`` of the row ``i`` rows up, if it belongs to the same ``by`` group (frame sorted by it)."""
    if i == 0:
        return expr
    return pl.when(pl.col(by).shift(i) == pl.col(by)).then(expr.shift(i))


FIXED_POINT = 1_000_000  # window sums are added as integers of 10⁻⁶ units


def fixed(expr: pl.Expr) -> pl.Expr:
    """A float as an integer count of 10⁻⁶: integer sums are exact in any order or layout."""
    return (expr.cast(pl.Float64) * FIXED_POINT).round(0).cast(pl.Int64)


def unfixed(expr: pl.Expr) -> pl.Expr:
    # Multiplied by 10⁻⁶, never divided by a literal: polars divides a column by a scalar through
    # its reciprocal, but a one-row frame by true division, so the bits would depend on the frame.
    return expr.cast(pl.Float64) * (1.0 / FIXED_POINT)


def _sum(expr: pl.Expr, n: int, by: str) -> pl.Expr:
    """Sum of the last ``n`` values, added as fixed-point integers (exact: the same bits whatever
    the frame's length or layout; a float sum drifted in the last bit between runs)."""
    return unfixed(pl.sum_horizontal([_shifted(fixed(expr), i, by) for i in range(n)]))


def _count(expr: pl.Expr, n: int, by: str) -> pl.Expr:
    return pl.sum_horizontal([_shifted(expr.is_not_null().cast(pl.Int64), i, by) for i in range(n)])


# The window helpers need the frame sorted by ``by`` (then by date): they read the rows above.
# They are an explicit sum of shifted values, not an incremental rolling sum: the result for a row
# depends only on its ``n`` values, never on how far back the frame starts (an incremental float
# window carries rounding from every earlier row), so a backfill and day-by-day runs agree to the
# last bit.


def window_sum(expr: pl.Expr, n: int, by: str) -> pl.Expr:
    """Sum of ``expr`` over the last ``n`` rows of the row's ``by`` group (nulls count as 0)."""
    return _sum(expr, n, by)


def window_count(expr: pl.Expr, n: int, by: str) -> pl.Expr:
    """How many of the last ``n`` rows of the group have a non-null ``expr``."""
    return _count(expr, n, by)


def window_mean(expr: pl.Expr, n: int, by: str, min_samples: int = 1) -> pl.Expr:
    """Mean of the non-null values among the last ``n`` rows (null with fewer than ``min_samples``)."""
    x = expr.cast(pl.Float64)
    count = _count(x, n, by)
    return pl.when(count >= min_samples).then(_sum(x, n, by) / count)


def window_std(expr: pl.Expr, n: int, by: str) -> pl.Expr:
    """Sample standard deviation of the last ``n`` values (null with fewer than 2), for
    integer-valued columns (points): var = (k·Σx² − (Σx)²) / (k·(k−1)) has an exact integer
    numerator and denominator, so the one division and the square root round the same way in any
    frame (a mean-centred float form drifted in the last bit with the frame's layout)."""
    x = expr.cast(pl.Float64)
    count = _count(x, n, by)
    total = _sum(x, n, by)
    squares = _sum(x * x, n, by)
    var = (count * squares - total * total) / (count * (count - 1))
    return pl.when(count >= 2).then(var.clip(lower_bound=0.0).sqrt())
