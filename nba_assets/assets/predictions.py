"""Phase 5: the six systems' predictions against the pre-tip line."""

import json
from datetime import UTC, date, datetime

import dagster as dg
import polars as pl

from nba_assets.assets.common import days_before, lake_asset, partition_metadata, same_day
from nba_assets.assets.models import FIRST_MODEL_WEEK, PREDICTIONS
from nba_assets.facts import HISTORY_DAYS
from nba_assets.io.model_store import week_of
from nba_assets.predictors import systems, zone_matchup
from nba_assets.predictors.systems import MissingModelError
from nba_assets.schemas import schema_for
from nba_assets.transforms.lines import best_prices, consensus_lines


def _calibrations(stored: dict) -> dict[date, dict]:
    return {week: json.loads(a.read("calibration.json")) for week, a in stored.items()}


def predict_days(
    features: pl.DataFrame,
    props: pl.DataFrame,
    history: pl.DataFrame,
    models: dict[str, dict],
    calibrations: dict[date, dict],
    first_model_week: date = FIRST_MODEL_WEEK,
) -> pl.DataFrame:
    """Every system's prediction for every feature-store row (pure apart from reading stored models)."""
    schema = schema_for(PREDICTIONS, "player_prop_predictions")
    needed = sorted({week_of(d) for d in features["game_date"].unique().to_list() if week_of(d) >= first_model_week})
    missing = [w for w in needed if w not in calibrations]
    if missing:
        raise MissingModelError(
            f"no system_calibration for the week(s) {', '.join(w.isoformat() for w in missing)}: "
            "materialize nba_predictions/system_calibration for them first"
        )
    lines = consensus_lines(props).filter(pl.col("player_id").is_not_null())
    line_keys = lines.select("game_date", "game_id", "player_id", "points_line", "line_source", "n_books")
    points = pl.concat(
        [systems.base_predictions(features, history), systems.ml_predictions(features, models, first_model_week)]
    )
    weights = {w: c.get("ensemble") for w, c in calibrations.items()}
    points = pl.concat([points, systems.ensemble_predictions(points, line_keys, weights)])
    frame = systems.finalize(points, line_keys, calibrations)
    prices = best_prices(props, lines)
    ids = features.select(
        "game_date", "game_id", "player_id", "player_lookup", "player_name", "team", "opponent", "feature_version"
    )
    return (
        frame.join(ids, on=["game_date", "game_id", "player_id"], how="left")
        .join(prices, on=["game_id", "player_lookup"], how="left")
        .with_columns(pl.lit(datetime.now(UTC)).cast(pl.Datetime("us", "UTC")).alias("created_at"))
        .select(schema.names())
        .cast(dict(schema))
        .sort("game_date", "game_id", "player_id", "system_id")
    )


@lake_asset(
    PREDICTIONS,
    "player_prop_predictions",
    group="predictions",
    ins={
        "features": same_day("nba_precompute", "ml_feature_store"),
        "props": same_day("nba_raw", "odds_api_player_points_props"),
        # One batched frame: the box-score history strictly before each game date.
        "history": days_before("nba_analytics", "player_game_summary", HISTORY_DAYS),
        # The week of each game date: trained / calibrated on rows before that week.
        "lightgbm": same_day(PREDICTIONS, "points_model_lightgbm"),
        "xgboost": same_day(PREDICTIONS, "points_model_xgboost"),
        "calibration": same_day(PREDICTIONS, "system_calibration"),
    },
    description="One row per player expected on D and system (six systems): predicted points, line, edge, "
    "calibrated P(over), OVER/UNDER/PASS/NO_LINE, confidence, best price.",
)
def player_prop_predictions(
    context: dg.AssetExecutionContext,
    features: pl.DataFrame,
    props: pl.DataFrame,
    history: pl.DataFrame,
    lightgbm: dict,
    xgboost: dict,
    calibration: dict,
) -> pl.DataFrame:
    frame = predict_days(
        features, props, history, {"lightgbm_v1": lightgbm, "xgboost_v1": xgboost}, _calibrations(calibration)
    )
    missing = zone_matchup.missing_features(features)
    if missing:
        context.log.warning(f"zone_matchup_v1: the feature store lacks {missing}; those factors are 1")
    partition_metadata(context, frame, _day_metadata)
    return frame


def _day_metadata(day: pl.DataFrame) -> dict:
    """A day's calls per system, and the model week its ML predictions used."""
    table: dict[str, dict[str, int]] = {}
    for system_id, rec, n in (
        day.group_by("system_id", "recommendation").len().sort("system_id", "recommendation").iter_rows()
    ):
        table.setdefault(system_id, {})[rec] = n
    weeks = day["model_week"].drop_nulls().unique().to_list()
    return {
        "recommendations": dg.MetadataValue.json(table) if table else None,
        "systems": sorted(table) or None,
        "model_week": weeks[0].isoformat() if weeks else None,
    }
