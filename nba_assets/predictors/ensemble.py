"""``ensemble_v1``: a weighted blend of the other systems (and the line, when there is one).

Weights are learned on past predictions only (rows before the week, each ML prediction from its
own walk-forward model): non-negative least squares of the actual points on the components,
constrained to sum to 1. Two weight sets: without the line (every row) and with the line as a
component (rows with a line; used when at least MIN_LINE_ROWS past rows had one). Where the
similarity system made no prediction (too few similar games) the moving average stands in for it.
"""

from __future__ import annotations

import numpy as np
import polars as pl

SYSTEM_ID = "ensemble_v1"
COMPONENTS = ["moving_average", "zone_matchup_v1", "similarity_balanced_v1", "xgboost_v1", "lightgbm_v1"]
MIN_ROWS = 500
MIN_LINE_ROWS = 300
SUM_PENALTY = 1e3


def component_frame(wide: pl.DataFrame) -> pl.DataFrame:
    """wide: one row per player-game with a column per system id; fills the similarity gaps."""
    return wide.with_columns(pl.coalesce("similarity_balanced_v1", "moving_average").alias("similarity_balanced_v1"))


def fit_weights(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Non-negative weights summing to 1 minimizing ||x·w − y||."""
    from scipy.optimize import nnls  # here, not at module level: loading the definitions skips scipy

    k = x.shape[1]
    scale = SUM_PENALTY * np.sqrt(len(y))
    a = np.vstack([x, np.full((1, k), scale)])
    b = np.concatenate([y, [scale]])
    w, _ = nnls(a, b)
    return w / w.sum() if w.sum() > 0 else np.full(k, 1.0 / k)


def learn(past: pl.DataFrame) -> dict | None:
    """past: component_frame rows with actual_points and points_line. None: too few rows."""
    full = past.drop_nulls([*COMPONENTS, "actual_points"])
    if full.height < MIN_ROWS:
        return None
    y = full["actual_points"].cast(pl.Float64).to_numpy()
    w = fit_weights(full.select(COMPONENTS).to_numpy(), y)
    out = {"no_line": dict(zip(COMPONENTS, [round(float(v), 5) for v in w], strict=True)), "rows": full.height}
    lined = full.filter(pl.col("points_line").is_not_null())
    out["line_rows"] = lined.height
    if lined.height >= MIN_LINE_ROWS:
        cols = [*COMPONENTS, "points_line"]
        wl = fit_weights(lined.select(cols).to_numpy(), lined["actual_points"].cast(pl.Float64).to_numpy())
        out["with_line"] = dict(zip([*COMPONENTS, "line"], [round(float(v), 5) for v in wl], strict=True))
    else:
        out["with_line"] = None
    return out


def predict(wide: pl.DataFrame, weights: dict) -> pl.Series:
    """The blend for every row of a component_frame (null where an ML component is missing)."""
    no_line = sum(pl.col(c) * w for c, w in weights["no_line"].items())
    if weights.get("with_line"):
        wl = weights["with_line"]
        with_line = sum(pl.col(c) * w for c, w in wl.items() if c != "line") + pl.col("points_line") * wl["line"]
        expr = pl.when(pl.col("points_line").is_not_null()).then(with_line).otherwise(no_line)
    else:
        expr = no_line
    return wide.select(expr.alias(SYSTEM_ID)).to_series()
