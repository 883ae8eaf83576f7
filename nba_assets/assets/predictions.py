"""Phase 5: the six systems' predictions against the pre-tip line."""

from datetime import UTC, datetime

import dagster as dg
import polars as pl

from nba_assets.assets.common import days_before, lake_asset, partition_metadata, same_day
from nba_assets.assets.models import PREDICTIONS
from nba_assets.facts import HISTORY_DAYS
from nba_assets.predictors import zone_matchup
from nba_assets.predictors.model_weeks import calibrations
from nba_assets.predictors.systems import predict_days


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
    models = {"lightgbm_v1": lightgbm, "xgboost_v1": xgboost}
    frame = predict_days(features, props, history, models, calibrations(calibration), created_at=datetime.now(UTC))
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
