"""``lightgbm_v1`` and ``xgboost_v1``: gradient-boosted trees on the feature store, trained walk-forward.

The feature list is read from the declared ``ml_feature_store`` schema: every numeric or boolean
column that is not a key (so features the feature store adds later flow in automatically; the
line features ``points_line``, ``opening_line``, ``line_movement``, ``has_line`` included).

Training for the week starting W: feature-store rows dated in [W − TRAIN_DAYS, W) joined to the
points the player actually scored (``player_game_summary``; rows of players who did not play are
left out). The last VALID_DAYS of that window are held out to pick the number of trees by early
stopping and to measure the validation MAE; the model is then refit on the whole window with that
number of trees. Deterministic: fixed seeds, fixed thread count.
"""

from __future__ import annotations

import hashlib
import sys
import threading
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import polars as pl

from nba_assets.predictors.days import rows_dated
from nba_assets.schemas import schema_for

KEY_COLUMNS = {
    "game_date",
    "game_id",
    "player_id",
    "player_lookup",
    "player_name",
    "team",
    "opponent",
    "season",
    "feature_version",
}
TRAIN_DAYS = 364  # 52 weeks
VALID_DAYS = 21
MIN_TRAIN_ROWS = 1000
MAX_TREES = 120
MIN_TREES = 20
THREADS = 1
SEED = 7

LIGHTGBM_PARAMS = {
    "objective": "regression",
    "learning_rate": 0.1,
    "num_leaves": 15,
    "min_data_in_leaf": 40,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "num_threads": THREADS,
    "seed": SEED,
    "deterministic": True,
    "force_row_wise": True,
    "max_bin": 63,
    "verbosity": -1,
}
XGBOOST_PARAMS = {
    "objective": "reg:squarederror",
    "eta": 0.1,
    "max_depth": 4,
    "min_child_weight": 20,
    "subsample": 0.8,
    "colsample_bytree": 0.8,
    "lambda": 1.0,
    "tree_method": "hist",
    "max_bin": 64,
    "nthread": THREADS,
    "seed": SEED,
    "eval_metric": "mae",
}


# lowercase: walkforward's code digest takes the module's upper-case names as its constants
_lightgbm_import_lock = threading.Lock()


def _lightgbm():
    """``lightgbm``, imported without pandas unless pandas is already loaded.

    lightgbm 4.7 imports pandas at import time when it is installed (here it comes with
    dagster-gcp), only to accept DataFrames; every frame this module hands it is a numpy array.
    That import is ~0.4 s of each process that trains or predicts (a one-day run, each run a
    daemon launches). While lightgbm is imported, ``sys.modules["pandas"] = None`` makes its
    ``import pandas`` fail (lightgbm then sets ``compat.PANDAS_INSTALLED = False``); the entry is
    removed right after, so a later ``import pandas`` anywhere loads pandas as usual.
    ``test_perf_oneday.py`` checks that the models and predictions are the same either way."""
    with _lightgbm_import_lock:
        if "lightgbm" not in sys.modules and "pandas" not in sys.modules:
            sys.modules["pandas"] = None  # type: ignore[assignment]
            try:
                import lightgbm
            finally:
                if sys.modules.get("pandas", ...) is None:
                    del sys.modules["pandas"]
            return lightgbm
    import lightgbm

    return lightgbm


def feature_columns(schema: pl.Schema | None = None) -> list[str]:
    """Every numeric / boolean non-key column of the feature store schema, in schema order."""
    schema = schema or schema_for("nba_precompute", "ml_feature_store")
    return [
        name
        for name, dtype in schema.items()
        if name not in KEY_COLUMNS and (dtype.is_numeric() or dtype == pl.Boolean)
    ]


def matrix(features: pl.DataFrame, columns: list[str]) -> np.ndarray:
    """The feature matrix (float64, NaN for nulls; a column the frame lacks is all NaN)."""
    exprs = [
        (pl.col(c).cast(pl.Float64) if c in features.columns else pl.lit(None, pl.Float64)).alias(c) for c in columns
    ]
    return features.select(exprs).to_numpy().astype(np.float64, copy=False)


def scored_rows(features: pl.DataFrame, actuals: pl.DataFrame) -> pl.DataFrame:
    """Every feature row joined (once) to the points actually scored, sorted by game date, game and
    player, with the date of the box score (``_scored_date``): ``training_rows_of`` cuts any week's
    training set out of it without joining or sorting again."""
    scored = actuals.select(
        "game_id", "player_id", pl.col("pts").alias("_target"), pl.col("game_date").alias("_scored_date")
    )
    return features.join(scored, on=["game_id", "player_id"], how="inner").sort("game_date", "game_id", "player_id")


def training_rows_of(scored: pl.DataFrame, week: date, days: int = TRAIN_DAYS) -> pl.DataFrame:
    """``training_rows`` for one week from ``scored_rows``: its slice dated in [week − days, week),
    box scores dated before the week only. (The sort keys are unique, so the slice of the sorted
    frame is the sorted training set.)"""
    rows = rows_dated(scored, week - timedelta(days=days), week)
    return rows.filter(pl.col("_scored_date") < week).drop("_scored_date")


def training_rows(features: pl.DataFrame, actuals: pl.DataFrame, week: date, days: int = TRAIN_DAYS) -> pl.DataFrame:
    """Feature rows dated in [week − days, week) with the points actually scored (played only)."""
    return training_rows_of(scored_rows(features, actuals), week, days)


def fingerprint(rows: pl.DataFrame, columns: list[str]) -> str:
    """Identity of a training set: same rows, same features, same targets → same model."""
    if rows.height == 0:
        return "empty"
    h = rows.select(pl.struct(["game_id", "player_id", "_target", *[c for c in columns if c in rows.columns]]).hash(0))
    digest = hashlib.sha256(np.sort(h.to_series().to_numpy()).tobytes())
    digest.update(",".join(columns).encode())
    return digest.hexdigest()[:20]


@dataclass
class Trained:
    model_bytes: bytes
    n_trees: int
    validation_mae: float
    validation_rows: int
    train_rows: int


def _split(rows: pl.DataFrame, week: date) -> tuple[pl.DataFrame, pl.DataFrame]:
    cut = week - timedelta(days=VALID_DAYS)
    fit, valid = rows.filter(pl.col("game_date") < cut), rows.filter(pl.col("game_date") >= cut)
    if valid.height < 200 or fit.height < MIN_TRAIN_ROWS // 2:  # too little recent data: hold out the last 15 %
        n = int(rows.height * 0.85)
        fit, valid = rows.slice(0, n), rows.slice(n)
    return fit, valid


def train_lightgbm(rows: pl.DataFrame, columns: list[str], week: date) -> Trained:
    lgb = _lightgbm()

    fit, valid = _split(rows, week)
    y_fit, y_val = fit["_target"].cast(pl.Float64).to_numpy(), valid["_target"].cast(pl.Float64).to_numpy()
    dfit = lgb.Dataset(matrix(fit, columns), y_fit, feature_name=columns, free_raw_data=True)
    dval = lgb.Dataset(matrix(valid, columns), y_val, reference=dfit)
    probe = lgb.train(
        {**LIGHTGBM_PARAMS, "metric": "l1"},
        dfit,
        num_boost_round=MAX_TREES,
        valid_sets=[dval],
        callbacks=[lgb.early_stopping(10, verbose=False)],
    )
    best = probe.best_iteration or probe.current_iteration()
    val_mae = float(
        np.mean(np.abs(probe.predict(matrix(valid, columns), num_iteration=best, num_threads=THREADS) - y_val))
    )
    n_trees = max(MIN_TREES, best)
    dall = lgb.Dataset(matrix(rows, columns), rows["_target"].cast(pl.Float64).to_numpy(), feature_name=columns)
    final = lgb.train(LIGHTGBM_PARAMS, dall, num_boost_round=n_trees)
    return Trained(final.model_to_string().encode(), n_trees, val_mae, valid.height, rows.height)


def train_xgboost(rows: pl.DataFrame, columns: list[str], week: date) -> Trained:
    import xgboost as xgb

    fit, valid = _split(rows, week)
    y_val = valid["_target"].cast(pl.Float64).to_numpy()
    dfit = xgb.DMatrix(
        matrix(fit, columns), fit["_target"].cast(pl.Float64).to_numpy(), feature_names=columns, nthread=THREADS
    )
    dval = xgb.DMatrix(matrix(valid, columns), y_val, feature_names=columns, nthread=THREADS)
    probe = xgb.train(
        XGBOOST_PARAMS,
        dfit,
        num_boost_round=MAX_TREES,
        evals=[(dval, "valid")],
        early_stopping_rounds=10,
        verbose_eval=False,
    )
    best = probe.best_iteration + 1
    val_mae = float(np.mean(np.abs(probe.predict(dval, iteration_range=(0, best)) - y_val)))
    n_trees = max(MIN_TREES, best)
    dall = xgb.DMatrix(
        matrix(rows, columns), rows["_target"].cast(pl.Float64).to_numpy(), feature_names=columns, nthread=THREADS
    )
    final = xgb.train(XGBOOST_PARAMS, dall, num_boost_round=n_trees)
    return Trained(bytes(final.save_raw("json")), n_trees, val_mae, valid.height, rows.height)


def predict_lightgbm(model_bytes: bytes, features: pl.DataFrame, columns: list[str]) -> np.ndarray:
    lgb = _lightgbm()

    booster = lgb.Booster(model_str=model_bytes.decode())
    return booster.predict(matrix(features, columns), num_threads=THREADS)


def predict_xgboost(model_bytes: bytes, features: pl.DataFrame, columns: list[str]) -> np.ndarray:
    import xgboost as xgb

    booster = xgb.Booster()
    booster.load_model(bytearray(model_bytes))
    booster.set_param({"nthread": THREADS})
    return booster.predict(xgb.DMatrix(matrix(features, columns), feature_names=columns, nthread=THREADS))


MODELS = {
    "lightgbm_v1": {"train": train_lightgbm, "predict": predict_lightgbm, "file": "model.txt", "library": "lightgbm"},
    "xgboost_v1": {"train": train_xgboost, "predict": predict_xgboost, "file": "model.json", "library": "xgboost"},
}
