"""The six systems together: point predictions, then P(over), the call and confidence.

``point_predictions`` gives one row per (player-game, system) with the predicted points — the
pure systems from the features (and the box-score history, one batched frame), the ML systems
from the walk-forward model of the week containing the game date, the ensemble from the week's
learned weights. ``finalize`` adds the line, the edge, the calibrated P(over), the call and the
confidence from the week's calibration.
"""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import polars as pl

from nba_assets.facts import week_of, week_start
from nba_assets.predictors import calibration, ensemble, gbm, moving_average, similarity, zone_matchup
from nba_assets.predictors.league_context import league_context
from nba_assets.predictors.model_weeks import FIRST_MODEL_WEEK
from nba_assets.schemas import schema_for
from nba_assets.transforms.lines import best_prices, consensus_lines

SYSTEM_IDS = [
    moving_average.SYSTEM_ID,
    zone_matchup.SYSTEM_ID,
    similarity.SYSTEM_ID,
    "xgboost_v1",
    "lightgbm_v1",
    ensemble.SYSTEM_ID,
]
ML_SYSTEMS = ["xgboost_v1", "lightgbm_v1"]
KEYS = ["game_date", "game_id", "player_id"]
POINT_SCHEMA = {
    "game_date": pl.Date,
    "game_id": pl.String,
    "player_id": pl.Int64,
    "system_id": pl.String,
    "predicted_points": pl.Float64,
    "sample_size": pl.Int64,
    "model_week": pl.Date,
}


class MissingModelError(RuntimeError):
    pass


def _long(frame: pl.DataFrame, system_id: str, model_week: pl.Expr | None = None) -> pl.DataFrame:
    return (
        frame.with_columns(
            pl.lit(system_id).alias("system_id"),
            (model_week if model_week is not None else pl.lit(None, pl.Date)).alias("model_week"),
        )
        .select(list(POINT_SCHEMA))
        .cast(POINT_SCHEMA)
    )


def base_predictions(features: pl.DataFrame, history: pl.DataFrame) -> pl.DataFrame:
    """moving_average, zone_matchup_v1, similarity_balanced_v1 for every feature row."""
    if features.height == 0:
        return pl.DataFrame(schema=POINT_SCHEMA)
    context = league_context(history, features["game_date"].unique().to_list())
    return pl.concat(
        [
            _long(moving_average.predict(features), moving_average.SYSTEM_ID),
            _long(zone_matchup.predict(features, context), zone_matchup.SYSTEM_ID),
            _long(similarity.predict(features, history), similarity.SYSTEM_ID),
        ]
    )


def ml_predictions(
    features: pl.DataFrame, models: dict[str, dict], first_week: date, *, strict: bool = True
) -> pl.DataFrame:
    """xgboost_v1 / lightgbm_v1 for every feature row dated on or after ``first_week``.

    models: system_id → {week start → ``predictors.artifacts.StoredWeek``}. A row's model is the one
    of the week that contains its date (trained on rows before that week). A week on or after ``first_week`` with no
    stored model raises MissingModelError; a week whose stored model says it had too little
    history (status ``insufficient_history``) gets no ML prediction.
    """
    parts = []
    if features.height == 0:
        return pl.DataFrame(schema=POINT_SCHEMA)
    f = features.with_columns(week_start("game_date").alias("_week")).filter(pl.col("_week") >= first_week)
    for system_id in ML_SYSTEMS:
        spec = gbm.MODELS[system_id]
        for (week,), rows in f.partition_by("_week", as_dict=True).items():
            stored = models.get(system_id, {}).get(week)
            if stored is None:
                if not strict:  # calibration: rows without a stored model get no ML prediction
                    continue
                raise MissingModelError(
                    f"{system_id}: no model for the week starting {week.isoformat()} (needed for "
                    f"{rows['game_date'].min()}..{rows['game_date'].max()}); materialize "
                    f"nba_predictions/points_model_{spec['library']} for that week first"
                )
            if stored.metadata.get("status") != "trained":
                continue
            columns = stored.metadata["features"]
            points = spec["predict"](stored.read(spec["file"]), rows, columns)
            parts.append(
                _long(
                    rows.select(
                        *KEYS,
                        pl.lit(points).alias("predicted_points"),
                        pl.lit(stored.metadata["train_rows"]).alias("sample_size"),
                    ),
                    system_id,
                    pl.lit(week),
                )
            )
    return pl.concat(parts) if parts else pl.DataFrame(schema=POINT_SCHEMA)


def wide(points: pl.DataFrame) -> pl.DataFrame:
    """One row per player-game, a column of predicted points per system."""
    present = points.filter(pl.col("system_id").is_in(ensemble.COMPONENTS))
    out = present.pivot(on="system_id", index=KEYS, values="predicted_points")
    for c in ensemble.COMPONENTS:
        if c not in out.columns:
            out = out.with_columns(pl.lit(None, pl.Float64).alias(c))
    return out


def ensemble_predictions(
    points: pl.DataFrame, lines: pl.DataFrame, weights_by_week: dict[date, dict | None]
) -> pl.DataFrame:
    """ensemble_v1 rows for the player-games whose week has learned weights and every ML component."""
    if points.height == 0:
        return pl.DataFrame(schema=POINT_SCHEMA)
    w = ensemble.component_frame(wide(points)).join(lines.select(*KEYS, "points_line"), on=KEYS, how="left")
    w = w.with_columns(week_start("game_date").alias("_week"))
    parts = []
    for (week,), rows in w.partition_by("_week", as_dict=True).items():
        weights = weights_by_week.get(week)
        if not weights:
            continue
        rows = rows.drop_nulls(ensemble.COMPONENTS)
        blend = ensemble.predict(rows, weights)
        parts.append(
            _long(
                rows.select(
                    *KEYS, pl.lit(blend).alias("predicted_points"), pl.lit(weights["rows"]).alias("sample_size")
                ),
                ensemble.SYSTEM_ID,
                pl.lit(week),
            )
        )
    return pl.concat(parts) if parts else pl.DataFrame(schema=POINT_SCHEMA)


def finalize(points: pl.DataFrame, lines: pl.DataFrame, calibrations: dict[date, dict]) -> pl.DataFrame:
    """Add line, edge, P(over), recommendation and confidence.

    lines: KEYS + points_line, line_source; calibrations: week start → calibration document.
    """
    out = points.join(lines, on=KEYS, how="left").with_columns(
        (pl.col("predicted_points") - pl.col("points_line")).alias("edge"),
        week_start("game_date").alias("_week"),
    )
    parts = []
    for (week, system_id), rows in out.partition_by("_week", "system_id", as_dict=True).items():
        cal = (calibrations.get(week) or {}).get("systems", {}).get(system_id) or {}
        pred = rows["predicted_points"].cast(pl.Float64).fill_null(np.nan).to_numpy()
        line = rows["points_line"].cast(pl.Float64).fill_null(np.nan).to_numpy()
        p_raw, support = calibration.p_over(pred, line, cal.get("residuals"))
        # Calibrated against the past over-rate of lined player-games (weight chosen on past weeks).
        p = calibration.shrink(p_raw, cal.get("p_calibration"))
        sample = rows["sample_size"].cast(pl.Float64).fill_null(0).to_numpy()
        conf = calibration.confidence(p, support, sample)
        threshold = (cal.get("threshold") or {}).get("threshold", calibration.DEFAULT_THRESHOLD)
        has_p = np.isfinite(p)
        if system_id == moving_average.SYSTEM_ID:
            edge = pred - line
            # The foundation's edge rule, on the side the calibrated P(over) does not contradict
            # (a call whose own P(win) is below one half is no call).
            over = np.isfinite(edge) & (edge > moving_average.EDGE_THRESHOLD) & ~(has_p & (p < 0.5))
            under = np.isfinite(edge) & (edge < -moving_average.EDGE_THRESHOLD) & ~(has_p & (p > 0.5))
        else:
            over = has_p & (p >= threshold)
            under = has_p & ((1.0 - p) >= threshold)
        rec = np.where(~np.isfinite(line), "NO_LINE", np.where(over, "OVER", np.where(under, "UNDER", "PASS")))
        parts.append(
            rows.with_columns(
                pl.Series("p_over", np.where(has_p, np.round(p, 4), np.nan)).fill_nan(None),
                pl.Series("calibration_n", support.astype(np.int64)),
                pl.Series("recommendation", rec),
                pl.Series("confidence", np.where(has_p, conf, np.nan)).fill_nan(None),
                pl.lit(float(threshold) if system_id != moving_average.SYSTEM_ID else None, pl.Float64).alias(
                    "p_threshold"
                ),
            )
        )
    if not parts:  # no player-game at all (a day without games)
        return out.drop("_week").with_columns(
            pl.lit(None, pl.Float64).alias("p_over"),
            pl.lit(None, pl.Int64).alias("calibration_n"),
            pl.lit(None, pl.String).alias("recommendation"),
            pl.lit(None, pl.Float64).alias("confidence"),
            pl.lit(None, pl.Float64).alias("p_threshold"),
        )
    return pl.concat(parts).drop("_week")


def predict_days(
    features: pl.DataFrame,
    props: pl.DataFrame,
    history: pl.DataFrame,
    models: dict[str, dict],
    calibrations: dict[date, dict],
    *,
    created_at: datetime,
    first_model_week: date = FIRST_MODEL_WEEK,
) -> pl.DataFrame:
    """Every system's prediction for every feature-store row: the day's lines (consensus of the
    pre-tip props), the six systems' points, the call against the line and the best price.

    ``models``: system_id → {week → stored week}; ``calibrations``: week → calibration document.
    A week on or after ``first_model_week`` without its calibration raises ``MissingModelError``;
    ``created_at`` stamps the rows (the caller's clock)."""
    schema = schema_for("nba_predictions", "player_prop_predictions")
    needed = sorted({week_of(d) for d in features["game_date"].unique().to_list() if week_of(d) >= first_model_week})
    missing = [w for w in needed if w not in calibrations]
    if missing:
        raise MissingModelError(
            f"no system_calibration for the week(s) {', '.join(w.isoformat() for w in missing)}: "
            "materialize nba_predictions/system_calibration for them first"
        )
    lines = consensus_lines(props).filter(pl.col("player_id").is_not_null())
    line_keys = lines.select("game_date", "game_id", "player_id", "points_line", "line_source", "n_books")
    points = pl.concat([base_predictions(features, history), ml_predictions(features, models, first_model_week)])
    weights = {w: c.get("ensemble") for w, c in calibrations.items()}
    points = pl.concat([points, ensemble_predictions(points, line_keys, weights)])
    frame = finalize(points, line_keys, calibrations)
    prices = best_prices(props, lines)
    ids = features.select(
        "game_date", "game_id", "player_id", "player_lookup", "player_name", "team", "opponent", "feature_version"
    )
    return (
        frame.join(ids, on=["game_date", "game_id", "player_id"], how="left")
        .join(prices, on=["game_id", "player_lookup"], how="left")
        .with_columns(pl.lit(created_at).cast(pl.Datetime("us", "UTC")).alias("created_at"))
        .select(schema.names())
        .cast(dict(schema))
        .sort("game_date", "game_id", "player_id", "system_id")
    )
