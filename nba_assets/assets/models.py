"""Trained models and calibrations as assets (``nba_predictions``), walk-forward by week.

Model weeks start on Mondays (America/New_York). The first model week is FIRST_MODEL_WEEK
(2021-11-29, ``predictors/model_weeks.py``, where the weekly artifacts are built): game dates
before it get no ML or ensemble prediction, by design. From that week on a prediction needs its
week's model, and a missing one fails the run.

- ``points_model_lightgbm`` / ``points_model_xgboost``: the model of week W is trained on
  feature-store rows dated in [W − 364 days, W) joined to the points actually scored
  (``predictors/gbm.py``); it never sees W itself.
- ``system_calibration``: for week W, every system's out-of-sample predictions on the rows of
  [W − 182 days, W) → residual quantiles (P(over)), call thresholds and the ensemble weights
  (``predictors/walkforward.py``). A stored week whose inputs have the same fingerprint is reused
  (the daily runs of a week build its calibration once).

The assets are partitioned by game date like every other asset: Dagster's CLI runs a partition
range (``dg launch --assets '*' --partition-range``, the demo's one run) only over assets that
share one partitions definition, so weekly partitions would split the demo into several runs.
The artifacts are weekly all the same: a run builds (once) the week of every game date in it,
stored under ``week=YYYY-MM-DD`` by ``io/model_store.py``, and each game-date partition shows
its week's metadata (train window, rows, validation MAE, features) in Dagster.
"""

from datetime import date

import dagster as dg
import polars as pl

from nba_assets.assets.common import lake_asset
from nba_assets.facts import HISTORY_DAYS
from nba_assets.lake import Lake
from nba_assets.partitions import weeks_in_window
from nba_assets.predictors import gbm, walkforward
from nba_assets.predictors.artifacts import Artifact
from nba_assets.predictors.model_weeks import FIRST_MODEL_WEEK, FIRST_WEEK, build_models, models_summary

PREDICTIONS = "nba_predictions"
SIMILARITY_DAYS = HISTORY_DAYS


def days_before_week(days: int) -> dg.TimeWindowPartitionMapping:
    """The game dates a week-W artifact built for day D may need: [W − days, D − 1], W ≥ D − 6."""
    return dg.TimeWindowPartitionMapping(
        start_offset=-(days + 6), end_offset=-1, allow_nonexistent_upstream_partitions=True
    )


def run_weeks(context: dg.AssetExecutionContext) -> list[date]:
    """The weeks containing the run's game dates."""
    return [w for w in weeks_in_window(context.partition_time_window) if w >= FIRST_WEEK]


def _model_asset(system_id: str, table: str):
    spec = gbm.MODELS[system_id]

    @lake_asset(
        PREDICTIONS,
        table,
        group="models",
        columns=False,
        io_manager_key="model_store",
        ins={
            "features": dg.AssetIn(
                key=["nba_precompute", "ml_feature_store"], partition_mapping=days_before_week(gbm.TRAIN_DAYS)
            ),
            "actuals": dg.AssetIn(
                key=["nba_analytics", "player_game_summary"], partition_mapping=days_before_week(gbm.TRAIN_DAYS)
            ),
        },
        metadata={
            "system_id": system_id,
            "first_model_week": FIRST_MODEL_WEEK.isoformat(),
            "train_days": gbm.TRAIN_DAYS,
        },
        description=f"{system_id}: one {spec['library']} model per week, trained on feature-store rows of the "
        f"{gbm.TRAIN_DAYS} days before the week (joined to actual points); never sees the week itself.",
    )
    def _asset(
        context: dg.AssetExecutionContext, lake: Lake, features: pl.DataFrame, actuals: pl.DataFrame
    ) -> dict[date, Artifact]:
        store = lake.models()  # the weeks already stored: an unchanged training set reuses its model
        out = build_models(
            system_id, run_weeks(context), features, actuals, lambda w: store.read(PREDICTIONS, table, w)
        )
        # Run-wide figures go to the run log; each partition shows its own week's model (model store).
        context.log.info(models_summary(system_id, out))
        return out

    return _asset


points_model_lightgbm = _model_asset("lightgbm_v1", "points_model_lightgbm")
points_model_xgboost = _model_asset("xgboost_v1", "points_model_xgboost")


@lake_asset(
    PREDICTIONS,
    "system_calibration",
    group="models",
    columns=False,
    io_manager_key="model_store",
    ins={
        "features": dg.AssetIn(
            key=["nba_precompute", "ml_feature_store"], partition_mapping=days_before_week(walkforward.CAL_DAYS)
        ),
        # Box scores: the actual points of the calibration rows and the history the systems need (one frame).
        "history": dg.AssetIn(
            key=["nba_analytics", "player_game_summary"],
            partition_mapping=days_before_week(walkforward.CAL_DAYS + SIMILARITY_DAYS),
        ),
        # The walk-forward model of every past row's own week.
        "lightgbm": dg.AssetIn(
            key=[PREDICTIONS, "points_model_lightgbm"], partition_mapping=days_before_week(walkforward.CAL_DAYS)
        ),
        "xgboost": dg.AssetIn(
            key=[PREDICTIONS, "points_model_xgboost"], partition_mapping=days_before_week(walkforward.CAL_DAYS)
        ),
    },
    metadata={"cal_days": walkforward.CAL_DAYS},
    description="Per week: every system's residual quantiles by line bucket (calibrated P(over)), its call "
    "threshold and the ensemble_v1 weights, all from out-of-sample predictions on rows before the week.",
)
def system_calibration(
    context: dg.AssetExecutionContext,
    lake: Lake,
    features: pl.DataFrame,
    history: pl.DataFrame,
    lightgbm: dict,
    xgboost: dict,
) -> dict[date, Artifact]:
    store = lake.models()  # the weeks already stored: a week whose inputs are unchanged is reused
    out, reused = walkforward.build_artifacts(
        run_weeks(context),
        features,
        history,
        {"lightgbm_v1": lightgbm, "xgboost_v1": xgboost},
        FIRST_MODEL_WEEK,
        lambda w: store.read(PREDICTIONS, "system_calibration", w),
    )
    context.log.info(
        f"system_calibration: {len(out)} weeks, {len(out) - len(reused)} built, {len(reused)} reused as stored "
        "(same inputs)"
    )
    return out
