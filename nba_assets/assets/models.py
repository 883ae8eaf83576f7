"""Trained models and calibrations as assets (``nba_predictions``), walk-forward by week.

Model weeks start on Mondays (America/New_York). The first model week is FIRST_MODEL_WEEK
(2021-11-29): six weeks of 2021-22 games (the data starts 2021-10-19), about 4,500 player-games,
are the least history a model is trained on; game dates before it get no ML or ensemble
prediction, by design (their weeks store a ``before_first_model_week`` record). From that week on
a prediction needs its week's model, and a missing one fails the run.

- ``points_model_lightgbm`` / ``points_model_xgboost``: the model of week W is trained on
  feature-store rows dated in [W − 364 days, W) joined to the points actually scored
  (``predictors/gbm.py``); it never sees W itself.
- ``system_calibration``: for week W, every system's out-of-sample predictions on the rows of
  [W − 182 days, W) → residual quantiles (P(over)), call thresholds and the ensemble weights
  (``predictors/walkforward.py``).

The assets are partitioned by game date like every other asset: Dagster's CLI runs a partition
range (``dg launch --assets '*' --partition-range``, the demo's one run) only over assets that
share one partitions definition, so weekly partitions would split the demo into several runs.
The artifacts are weekly all the same: a run builds (once) the week of every game date in it,
stored under ``week=YYYY-MM-DD`` by ``io/model_store.py``, and each game-date partition shows
its week's metadata (train window, rows, validation MAE, features) in Dagster.
"""

import json
from collections.abc import Callable
from datetime import date, timedelta
from importlib.metadata import version

import dagster as dg
import polars as pl

from nba_assets.facts import HISTORY_DAYS
from nba_assets.io.model_store import Artifact, StoredArtifact, weeks_in_window
from nba_assets.lake import Lake
from nba_assets.partitions import game_date_partitions
from nba_assets.predictors import gbm, walkforward

PREDICTIONS = "nba_predictions"
FIRST_MODEL_WEEK = date(2021, 11, 29)
FIRST_WEEK = date(2021, 10, 18)  # the week of the first game date
SIMILARITY_DAYS = HISTORY_DAYS


def days_before_week(days: int) -> dg.TimeWindowPartitionMapping:
    """The game dates a week-W artifact built for day D may need: [W − days, D − 1], W ≥ D − 6."""
    return dg.TimeWindowPartitionMapping(
        start_offset=-(days + 6), end_offset=-1, allow_nonexistent_upstream_partitions=True
    )


def run_weeks(context: dg.AssetExecutionContext) -> list[date]:
    """The weeks containing the run's game dates."""
    return [w for w in weeks_in_window(context.partition_time_window) if w >= FIRST_WEEK]


def build_models(
    system_id: str,
    weeks: list[date],
    features: pl.DataFrame,
    actuals: pl.DataFrame,
    stored: Callable[[date], StoredArtifact | None] | None = None,
) -> dict[date, Artifact]:
    """The model of each week (pure apart from training): feature rows dated before the week only.

    ``stored(week)``: the week's model already in the store, reused when its training set has the
    same fingerprint (training is deterministic: the same rows give the same model), so the daily
    runs of a week train its model once.
    """
    spec = gbm.MODELS[system_id]
    columns = gbm.feature_columns()
    library = f"{spec['library']} {version(spec['library'])}"
    out: dict[date, Artifact] = {}
    cache: dict[str, tuple[date, Artifact]] = {}
    for week in weeks:
        rows = gbm.training_rows(features, actuals, week)
        fp = gbm.fingerprint(rows, columns)
        meta = {
            "system_id": system_id,
            "week_start": week.isoformat(),
            "train_window": [
                (week - timedelta(days=gbm.TRAIN_DAYS)).isoformat(),
                (week - timedelta(days=1)).isoformat(),
            ],
            "train_rows": rows.height,
            "first_row_date": rows["game_date"].min().isoformat() if rows.height else None,
            "last_row_date": rows["game_date"].max().isoformat() if rows.height else None,
            "features": columns,
            "n_features": len(columns),
            "feature_version": sorted(rows["feature_version"].drop_nulls().unique().to_list()) if rows.height else [],
            "library": library,
            "fingerprint": fp,
        }
        if week < FIRST_MODEL_WEEK:
            meta |= {"status": "before_first_model_week", "reason": f"first model week is {FIRST_MODEL_WEEK}"}
            out[week] = Artifact(files={}, metadata=meta)
            continue
        if rows.height < gbm.MIN_TRAIN_ROWS:
            meta |= {"status": "insufficient_history", "reason": f"{rows.height} rows < {gbm.MIN_TRAIN_ROWS}"}
            out[week] = Artifact(files={}, metadata=meta)
            continue
        previous = stored(week) if stored is not None else None
        if (
            previous is not None
            and previous.metadata.get("status") == "trained"
            and previous.metadata.get("fingerprint") == fp
        ):
            out[week] = Artifact(files={spec["file"]: previous.read(spec["file"])}, metadata=previous.metadata)
            cache.setdefault(fp, (week, out[week]))
            continue
        if fp in cache:  # identical training set (e.g. an off-season week): the identical model
            source_week, artifact = cache[fp]
            out[week] = Artifact(
                files=artifact.files, metadata={**artifact.metadata, **meta, "reused_from": source_week.isoformat()}
            )
            continue
        trained = spec["train"](rows, columns, week)
        meta |= {
            "status": "trained",
            "validation_rows": trained.validation_rows,
            "validation_mae": round(trained.validation_mae, 4),
            "n_trees": trained.n_trees,
        }
        out[week] = Artifact(files={spec["file"]: trained.model_bytes}, metadata=meta)
        cache[fp] = (week, out[week])
    return out


def _model_asset(system_id: str, table: str):
    spec = gbm.MODELS[system_id]

    @dg.asset(
        key=[PREDICTIONS, table],
        partitions_def=game_date_partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        group_name="models",
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
        columns = gbm.feature_columns()
        store = lake.models()  # the weeks already stored: an unchanged training set reuses its model
        out = build_models(
            system_id, run_weeks(context), features, actuals, lambda w: store.read(PREDICTIONS, table, w)
        )
        trained_weeks = [a.metadata for a in out.values() if a.metadata["status"] == "trained"]
        # Run-wide figures go to the run log; each partition shows its own week's model (model store).
        mean_mae = (
            round(sum(m["validation_mae"] for m in trained_weeks) / len(trained_weeks), 4) if trained_weeks else None
        )
        context.log.info(
            f"{system_id}: {len(out)} weeks built, {len(trained_weeks)} trained, "
            f"{len(out) - len(trained_weeks)} with too little history; mean validation MAE {mean_mae}; "
            f"{len(columns)} features"
        )
        return out

    return _asset


points_model_lightgbm = _model_asset("lightgbm_v1", "points_model_lightgbm")
points_model_xgboost = _model_asset("xgboost_v1", "points_model_xgboost")


@dg.asset(
    key=[PREDICTIONS, "system_calibration"],
    partitions_def=game_date_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="models",
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
    features: pl.DataFrame,
    history: pl.DataFrame,
    lightgbm: dict,
    xgboost: dict,
) -> dict[date, Artifact]:
    weeks = run_weeks(context)
    docs = walkforward.build(
        weeks, features, history, history, {"lightgbm_v1": lightgbm, "xgboost_v1": xgboost}, FIRST_MODEL_WEEK
    )
    out = {}
    for week, doc in docs.items():
        meta = {
            "week_start": doc["week_start"],
            "window": doc["window"],
            "rows": doc["rows"],
            "ensemble_weights": doc["ensemble"],
            "thresholds": {s: v["threshold"]["threshold"] for s, v in doc["systems"].items()},
            "past_mae": {s: v["residuals"]["mae"] for s, v in doc["systems"].items()},
            # P(over) against the past over-rate: the rate and each system's weight on its own signal.
            "past_over_rate": doc["base_rate"],
            "p_over_weight": {s: v["p_calibration"]["w"] for s, v in doc["systems"].items()},
            "status": "calibrated",
        }
        out[week] = Artifact(files={"calibration.json": json.dumps(doc, sort_keys=True).encode()}, metadata=meta)
    context.log.info(f"system_calibration: {len(out)} weeks built")
    return out
