"""The weekly calibration documents, from past rows only (pure: frames and stored models in, dicts out).

For the week starting W the rows are the feature-store rows dated in [W − CAL_DAYS, W) of
players who played, each with its actual points and its pre-tip line (when there was one).
Every system predicts them out of sample: the pure systems from what was known before each
row's date, the ML systems with each row's own walk-forward model (the model of the row's week,
trained before that week). From those predictions: the ensemble weights, every system's residual
quantiles (raw P(over)), its calibration against the past over-rate of the lined player-games
(``calibration.choose_shrink``: the weight on the system's own signal chosen on the weeks before
W) and its call threshold (on the calibrated P(over)). The ensemble's own residuals for W come from W's
weights applied to the past rows (the weights are learned on the same rows: a handful of
parameters, documented as a mild in-sample effect).
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl

from nba_assets.facts import week_start
from nba_assets.predictors import calibration, ensemble, systems
from nba_assets.predictors.days import rows_dated

CAL_DAYS = 182


def past_rows(features: pl.DataFrame, actuals: pl.DataFrame) -> pl.DataFrame:
    """Feature rows of players who played, with actual_points and points_line (pre-tip)."""
    line_cols = ["points_line"] if "points_line" in features.columns else []
    played = actuals.select(
        "game_id", "player_id", pl.col("pts").alias("actual_points"), pl.col("points_line").alias("_summary_line")
    )
    out = features.join(played, on=["game_id", "player_id"], how="inner")
    line = pl.coalesce(*[pl.col(c) for c in line_cols], pl.col("_summary_line")).alias("points_line")
    return out.with_columns(line).drop("_summary_line")


def _f64(s: pl.Series) -> np.ndarray:
    return s.cast(pl.Float64).fill_null(np.nan).to_numpy()


def _weeks(rows: pl.DataFrame) -> np.ndarray:
    """The Monday of each row's game date, as datetime64[D]."""
    monday = rows.select(week_start("game_date")).to_series()
    return monday.to_numpy().astype("datetime64[D]")


def build(
    weeks: list[date],
    features: pl.DataFrame,
    actuals: pl.DataFrame,
    history: pl.DataFrame,
    models: dict[str, dict],
    first_model_week: date,
) -> dict[date, dict]:
    if not weeks:
        return {}
    first = min(weeks) - timedelta(days=CAL_DAYS)
    rows = past_rows(features.filter((pl.col("game_date") >= first) & (pl.col("game_date") < max(weeks))), actuals)
    points = pl.concat(
        [
            systems.base_predictions(rows, history),
            systems.ml_predictions(rows, models, first_model_week, strict=False),
        ]
    )
    outcome = rows.select(*systems.KEYS, "actual_points", "points_line")
    # Canonical row order: the weights (least squares) and thresholds are float sums over rows, so a
    # week's document is the same to the bit whichever run's frame the rows came from.
    long = points.join(outcome, on=systems.KEYS, how="inner").sort(*systems.KEYS, "system_id")
    comp = ensemble.component_frame(systems.wide(points)).join(outcome, on=systems.KEYS, how="inner").sort(systems.KEYS)
    # Each system's rows apart, once; a week's window is a slice of them (the frames are sorted by
    # date first, and a slice keeps their order, so every sum below runs over the same rows in the
    # same order as a filter of the whole frame would).
    columns = [*systems.KEYS, "system_id", "predicted_points", "actual_points", "points_line"]
    by_system = {sid: long.filter(pl.col("system_id") == sid).select(columns) for sid in systems.SYSTEM_IDS}
    docs = {}
    for week in sorted(weeks):
        lo = week - timedelta(days=CAL_DAYS)
        w_comp = rows_dated(comp, lo, week)
        weights = ensemble.learn(w_comp)
        frames = {sid: rows_dated(rows, lo, week) for sid, rows in by_system.items()}
        if weights:
            ens = w_comp.drop_nulls(ensemble.COMPONENTS)
            frames[ensemble.SYSTEM_ID] = pl.concat(
                [
                    frames[ensemble.SYSTEM_ID],
                    ens.select(
                        *systems.KEYS,
                        pl.lit(ensemble.SYSTEM_ID).alias("system_id"),
                        pl.lit(ensemble.predict(ens, weights)).alias("predicted_points"),
                        "actual_points",
                        "points_line",
                    ).select(columns),
                ]
            )
        seen = w_comp.filter(pl.col("points_line").is_not_null())
        base = (_f64(seen["actual_points"]), _f64(seen["points_line"]), _weeks(seen))
        base_rate, base_rows = calibration.over_rate(base[0], base[1])
        doc_systems = {}
        for system_id in systems.SYSTEM_IDS:
            s = frames[system_id]
            table = calibration.residual_table(s)
            lined = s.filter(pl.col("points_line").is_not_null() & pl.col("predicted_points").is_not_null())
            pred = lined["predicted_points"].to_numpy().astype(np.float64)
            line = lined["points_line"].to_numpy().astype(np.float64)
            actual = _f64(lined["actual_points"])
            p_raw, _ = calibration.p_over(pred, line, table)
            shrink = calibration.choose_shrink(p_raw, actual, line, _weeks(lined), base)
            p = calibration.shrink(p_raw, shrink)
            threshold = calibration.choose_threshold(p, actual, line)
            doc_systems[system_id] = {
                "residuals": table,
                "p_calibration": shrink,
                "threshold": threshold,
                "rows": s.height,
                "line_rows": lined.height,
            }
        docs[week] = {
            "week_start": week.isoformat(),
            "window": [lo.isoformat(), (week - timedelta(days=1)).isoformat()],
            "rows": w_comp.height,
            "base_rate": {"over_rate": round(base_rate, 5), "rows": base_rows},
            "ensemble": weights,
            "systems": doc_systems,
        }
    return docs
