"""Calibrated P(over), walk-forward thresholds and confidence.

- Residual quantiles: for each system, the residuals (actual − predicted) of its out-of-sample
  predictions on past rows, by bucket of the reference level (the line when there is one, else
  the prediction): RESIDUAL_LEVELS quantiles per bucket, and pooled. P(over) for a prediction p
  against a line L is 1 − F(L − p), F interpolated from the bucket's quantiles (the pooled ones
  when the bucket holds fewer than MIN_BUCKET residuals), clipped to [P_CLIP, 1 − P_CLIP].
- Thresholds: a call (OVER when P(over) ≥ t, UNDER when 1 − P(over) ≥ t, else PASS) needs
  t from THRESHOLD_GRID; t is chosen per system on past rows with a line only (before the week),
  as the value with the best return per bet at −110 among those with at least MIN_BETS bets.
  With fewer than MIN_THRESHOLD_ROWS past rows with a line, DEFAULT_THRESHOLD.
- Confidence 0–100: 100·|2·P(over) − 1| · n/(n + CONF_N0) · g/(g + CONF_G0), n the residuals
  behind the P(over), g the system's own sample size for the player (games this season,
  similar games, ...).
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl

RESIDUAL_LEVELS = [round(x, 3) for x in np.linspace(0.01, 0.99, 99)]
BUCKET_EDGES = [10.0, 15.0, 20.0, 25.0]  # reference level buckets: <10, 10-15, 15-20, 20-25, ≥25
MIN_BUCKET = 100
P_CLIP = 0.02
THRESHOLD_GRID = [0.524, 0.54, 0.56, 0.58, 0.60, 0.62]
DEFAULT_THRESHOLD = 0.56
MIN_THRESHOLD_ROWS = 300
MIN_BETS = 30
WIN_AT_MINUS_110 = 100.0 / 110.0
CONF_N0 = 200.0
CONF_G0 = 5.0


# The label of each reference-level bucket, by index: below the first edge, between edges, from the last.
BUCKET_LABELS = [
    *(f"{lo:g}-{hi:g}" for lo, hi in zip([0.0, *BUCKET_EDGES[:-1]], BUCKET_EDGES, strict=True)),
    f"{BUCKET_EDGES[-1]:g}+",
]


def bucket_index(levels: np.ndarray) -> np.ndarray:
    """The ``BUCKET_LABELS`` index of each level: the first edge it is below (NaN: the last bucket)."""
    return np.searchsorted(np.array(BUCKET_EDGES), levels, side="right")


def reference_level() -> pl.Expr:
    return pl.coalesce(pl.col("points_line"), pl.col("predicted_points"))


def residual_table(rows: pl.DataFrame) -> dict:
    """rows: predicted_points, points_line (nullable), actual_points of one system's past rows."""
    r = rows.select("predicted_points", "points_line", "actual_points").filter(
        pl.col("predicted_points").is_not_null() & pl.col("actual_points").is_not_null()
    )
    res = r["actual_points"].cast(pl.Float64) - r["predicted_points"]
    values = res.to_numpy()
    # The bucket of each row's reference level; buckets in the order they first appear.
    index = bucket_index(r.select(reference_level().cast(pl.Float64)).to_series().to_numpy())

    def quantiles(v: np.ndarray) -> list[float]:
        return [round(float(x), 4) for x in np.quantile(v, RESIDUAL_LEVELS)]

    table = {"n": r.height, "pooled": quantiles(values) if r.height else None, "buckets": {}}
    present, first = np.unique(index, return_index=True)
    for i in present[np.argsort(first)]:
        part = values[index == i]
        table["buckets"][BUCKET_LABELS[i]] = {"n": len(part), "q": quantiles(part)}
    table["mae"] = round(float(res.abs().mean()), 4) if r.height else None
    table["bias"] = round(float(res.mean()), 4) if r.height else None
    return table


def p_over(predicted: np.ndarray, line: np.ndarray, table: dict | None) -> tuple[np.ndarray, np.ndarray]:
    """P(actual > line) and the number of residuals behind it, row by row (NaN without line/prediction).

    Each row reads the quantiles of its line's bucket (the pooled ones when the bucket holds fewer
    than MIN_BUCKET residuals); the rows of one bucket are interpolated together (``np.interp``
    row by row is the same function of each row)."""
    n = len(predicted)
    probs, support = np.full(n, np.nan), np.zeros(n)
    if not table or not table.get("pooled"):
        return probs, support
    predicted, line = np.asarray(predicted, dtype=np.float64), np.asarray(line, dtype=np.float64)
    levels = np.array(RESIDUAL_LEVELS)
    ok = np.isfinite(predicted) & np.isfinite(line)
    index = bucket_index(line)  # the bucket of each line
    pooled = ok.copy()
    for i, label in enumerate(BUCKET_LABELS):
        bucket = table["buckets"].get(label)
        if not (bucket and bucket["n"] >= MIN_BUCKET):
            continue
        rows = ok & (index == i)
        pooled &= ~rows
        _interp_rows(probs, support, rows, predicted, line, bucket["q"], bucket["n"], levels)
    _interp_rows(probs, support, pooled, predicted, line, table["pooled"], table["n"], levels)
    return probs, support


def _interp_rows(probs, support, rows, predicted, line, q, m, levels) -> None:
    if not rows.any():
        return
    cdf = np.interp(line[rows] - predicted[rows], q, levels, left=0.0, right=1.0)
    probs[rows] = np.clip(1.0 - cdf, P_CLIP, 1.0 - P_CLIP)
    support[rows] = m


def bet_outcomes(p: np.ndarray, actual: np.ndarray, line: np.ndarray, threshold: float) -> tuple[int, float, int]:
    """(bets, units won at −110, wins) of calling OVER/UNDER at ``threshold`` on past rows."""
    over, under = p >= threshold, (1.0 - p) >= threshold
    won = (over & (actual > line)) | (under & (actual < line))
    lost = (over & (actual < line)) | (under & (actual > line))
    bets = int((won | lost).sum())
    return bets, float(won.sum() * WIN_AT_MINUS_110 - lost.sum()), int(won.sum())


def choose_threshold(p: np.ndarray, actual: np.ndarray, line: np.ndarray) -> dict:
    ok = np.isfinite(p) & np.isfinite(actual) & np.isfinite(line)
    p, actual, line = p[ok], actual[ok], line[ok]
    if len(p) < MIN_THRESHOLD_ROWS:
        return {
            "threshold": DEFAULT_THRESHOLD,
            "how": f"default: {len(p)} past rows with a line < {MIN_THRESHOLD_ROWS}",
        }
    grid = []
    for t in THRESHOLD_GRID:
        bets, units, wins = bet_outcomes(p, actual, line, t)
        grid.append({"t": t, "bets": bets, "wins": wins, "roi": round(units / bets, 4) if bets else None})
    eligible = [g for g in grid if g["bets"] >= MIN_BETS and g["roi"] is not None]
    if not eligible:
        return {"threshold": THRESHOLD_GRID[-1], "how": "no threshold had enough past bets", "grid": grid}
    best = max(eligible, key=lambda g: (g["roi"], g["t"]))
    return {"threshold": best["t"], "how": f"best ROI at -110 on {len(p)} past rows with a line", "grid": grid}


def confidence(p: np.ndarray, support: np.ndarray, sample: np.ndarray) -> np.ndarray:
    g = np.nan_to_num(sample.astype(np.float64), nan=0.0)
    conf = 100.0 * np.abs(2.0 * p - 1.0) * support / (support + CONF_N0) * g / (g + CONF_G0)
    return np.round(conf, 1)


def wilson(hits: int, n: int, z: float = 1.96) -> tuple[float | None, float | None]:
    if n == 0:
        return None, None
    phat = hits / n
    den = 1 + z * z / n
    centre = (phat + z * z / (2 * n)) / den
    half = z * math.sqrt(phat * (1 - phat) / n + z * z / (4 * n * n)) / den
    return round(centre - half, 4), round(centre + half, 4)


# ------------------------------------------------------------- P(over) against the past over-rate
#
# The residual-quantile P(over) above says how a system's errors are spread; it does not know how
# often lined player-games actually went over (the market's line is close to the median, and the
# DFS lines of the data went over ~48 % of the time). The calibrated P(over) of week W is
#
#     p = σ(logit r + w · (logit p_raw − μ)),
#
# r the over-rate of the lined player-games before W (pushes left out), μ the mean logit of the
# system's raw P(over) on those rows, w ∈ SHRINK_GRID the weight on the system's own signal: w = 0
# is the constant past over-rate, w = 1 the raw P(over) re-centred. w is chosen prequentially on
# the weeks before W: for each past week V with at least MIN_SHRINK_ROWS lined rows before it, r
# and μ from the rows before V, the rows of V scored with every w; the w with the least total log
# loss over those weeks wins. With no such week, w = 0 (the line is taken as efficient until the
# past shows otherwise); with no lined row before W at all, r = 0.5.

SHRINK_GRID = [0.0, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0]
MIN_SHRINK_ROWS = 300
DEFAULT_RATE = 0.5


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, P_CLIP, 1.0 - P_CLIP)
    return np.log(p / (1.0 - p))


def over_rate(actual: np.ndarray, line: np.ndarray) -> tuple[float, int]:
    """The over-rate of lined player-games (pushes left out) and how many rows it rests on."""
    ok = np.isfinite(actual) & np.isfinite(line) & (actual != line)
    n = int(ok.sum())
    return (float((actual[ok] > line[ok]).mean()), n) if n else (DEFAULT_RATE, 0)


def shrink(p_raw: np.ndarray, params: dict | None) -> np.ndarray:
    """The calibrated P(over) of raw ones (NaN stays NaN); params None: the raw P(over) unchanged."""
    if not params:
        return p_raw
    rate, mu, w = min(max(params["base_rate"], P_CLIP), 1.0 - P_CLIP), params["mu"], params["w"]
    z = math.log(rate / (1.0 - rate)) + w * (_logit(p_raw) - mu)
    out = 1.0 / (1.0 + np.exp(-z))
    return np.where(np.isfinite(p_raw), np.clip(out, P_CLIP, 1.0 - P_CLIP), np.nan)


def log_loss(p: np.ndarray, y: np.ndarray) -> float:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return float(-(y * np.log(p) + (1 - y) * np.log(1 - p)).sum())


def choose_shrink(
    p_raw: np.ndarray, actual: np.ndarray, line: np.ndarray, weeks: np.ndarray, all_rows: tuple | None = None
) -> dict:
    """The shrinkage of week W from its past lined rows (one system): base rate, centre, weight.

    p_raw, actual, line, weeks: the system's past rows with a line (weeks: the Monday of each row,
    as datetime64[D]); all_rows: (actual, line, weeks) of every lined player-game before W for the
    base rate (default: the system's own rows).
    """
    ok = np.isfinite(p_raw) & np.isfinite(actual) & np.isfinite(line) & (actual != line)
    p_raw, actual, line, weeks = p_raw[ok], actual[ok], line[ok], weeks[ok]
    base_a, base_l, base_w = all_rows if all_rows is not None else (actual, line, weeks)
    rate, n_rate = over_rate(base_a, base_l)
    mu = float(_logit(p_raw).mean()) if len(p_raw) else 0.0
    y = (actual > line).astype(np.float64)
    scores = {w: 0.0 for w in SHRINK_GRID}
    judged = []
    for v in np.unique(weeks):
        before, this = weeks < v, weeks == v
        if before.sum() < MIN_SHRINK_ROWS:
            continue
        r_v, _ = over_rate(base_a[base_w < v], base_l[base_w < v])
        mu_v = float(_logit(p_raw[before]).mean())
        for w in SHRINK_GRID:
            scores[w] += log_loss(shrink(p_raw[this], {"base_rate": r_v, "mu": mu_v, "w": w}), y[this])
        judged.append(str(v))
    if judged:
        w = min(SHRINK_GRID, key=lambda k: (round(scores[k], 6), k))
        how = f"least log loss over the past weeks {', '.join(judged)} (each scored from the rows before it)"
    else:
        w, how = 0.0, f"prior w = 0: no past week had {MIN_SHRINK_ROWS} lined rows before it"
    return {
        "base_rate": round(rate, 5),
        "base_rate_rows": n_rate,
        "mu": round(mu, 5),
        "w": w,
        "how": how,
        "log_loss_by_w": {str(k): round(v, 3) for k, v in scores.items()} if judged else None,
    }
