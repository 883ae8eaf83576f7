"""The weekly artifacts of the walk-forward (pure apart from training): one model per system and
week, one calibration per week, each from rows dated before its week.

Model weeks start on Mondays (``facts.week_of``). The first model week is ``FIRST_MODEL_WEEK``
(2021-11-29): six weeks of 2021-22 games (the data starts 2021-10-19), about 4,500 player-games,
are the least history a model is trained on; game dates before it get no ML or ensemble
prediction, by design (their weeks store a ``before_first_model_week`` record).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date, timedelta
from importlib.metadata import version

import polars as pl

from nba_assets.predictors import gbm
from nba_assets.predictors.artifacts import Artifact, StoredWeek, reusable

FIRST_MODEL_WEEK = date(2021, 11, 29)
FIRST_WEEK = date(2021, 10, 18)  # the week of the first game date
# The weeks of one ``build_models`` call trained at once (each model on ``gbm.THREADS`` threads).
TRAIN_WORKERS = min(2, os.cpu_count() or 1)


def build_models(
    system_id: str,
    weeks: list[date],
    features: pl.DataFrame,
    actuals: pl.DataFrame,
    stored: Callable[[date], StoredWeek | None] | None = None,
    workers: int = TRAIN_WORKERS,
) -> dict[date, Artifact]:
    """The model of each week (pure apart from training): feature rows dated before the week only.

    ``stored(week)``: the week's model already in the store, reused when its training set has the
    same fingerprint (training is deterministic: the same rows give the same model), so the daily
    runs of a week train its model once. Weeks of one call with an identical training set (e.g.
    off-season weeks) share one trained model.

    The weeks are decided in order (record, stored model, model of an earlier week of the call, or
    training), exactly as one after the other; the trainings then run on ``workers`` threads (the
    libraries release the GIL while training, each model on ``gbm.THREADS`` threads, so each is the
    model sequential training gives, to the byte). A worker cuts its week's rows out of the scored
    frame again rather than the queue holding every pending week's training set.
    """
    spec = gbm.MODELS[system_id]
    columns = gbm.feature_columns()
    library = f"{spec['library']} {version(spec['library'])}"
    # The features joined to the actual points once; each week's training set is a slice of it.
    scored = gbm.scored_rows(features, actuals)
    out: dict[date, Artifact] = {}
    cache: dict[str, date] = {}  # fingerprint -> the first week of the call with that training set
    pending: dict[date, tuple[dict, Future]] = {}  # weeks being trained -> their metadata so far, the training
    shared: dict[date, tuple[date, dict]] = {}  # weeks reusing another week's model of this call

    def train(week: date) -> gbm.Trained:
        return spec["train"](gbm.training_rows_of(scored, week), columns, week)

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        try:
            for week in weeks:
                rows = gbm.training_rows_of(scored, week)
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
                    "feature_version": sorted(rows["feature_version"].drop_nulls().unique().to_list())
                    if rows.height
                    else [],
                    "library": library,
                    "fingerprint": fp,
                }
                height = rows.height
                del rows
                if week < FIRST_MODEL_WEEK:
                    meta |= {"status": "before_first_model_week", "reason": f"first model week is {FIRST_MODEL_WEEK}"}
                    out[week] = Artifact(files={}, metadata=meta)
                    continue
                if height < gbm.MIN_TRAIN_ROWS:
                    meta |= {"status": "insufficient_history", "reason": f"{height} rows < {gbm.MIN_TRAIN_ROWS}"}
                    out[week] = Artifact(files={}, metadata=meta)
                    continue
                previous = reusable(stored, week, "trained", fp, spec["file"])
                if previous is not None:
                    out[week] = previous
                    cache.setdefault(fp, week)
                    continue
                if fp in cache:  # identical training set (e.g. an off-season week): the identical model
                    shared[week] = (cache[fp], meta)
                    continue
                pending[week] = (meta, pool.submit(train, week))
                cache[fp] = week
            for week, (meta, training) in pending.items():
                trained = training.result()
                meta |= {
                    "status": "trained",
                    "validation_rows": trained.validation_rows,
                    "validation_mae": round(trained.validation_mae, 4),
                    "n_trees": trained.n_trees,
                }
                out[week] = Artifact(files={spec["file"]: trained.model_bytes}, metadata=meta)
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    for week, (source_week, meta) in shared.items():
        artifact = out[source_week]
        out[week] = Artifact(
            files=artifact.files, metadata={**artifact.metadata, **meta, "reused_from": source_week.isoformat()}
        )
    return {week: out[week] for week in weeks}


def models_summary(system_id: str, out: dict[date, Artifact]) -> str:
    """One line for the run log: weeks built, trained, and their mean validation MAE."""
    trained = [a.metadata for a in out.values() if a.metadata["status"] == "trained"]
    mean_mae = round(sum(m["validation_mae"] for m in trained) / len(trained), 4) if trained else None
    return (
        f"{system_id}: {len(out)} weeks built, {len(trained)} trained, "
        f"{len(out) - len(trained)} with too little history; mean validation MAE {mean_mae}; "
        f"{len(gbm.feature_columns())} features"
    )


def calibration_artifacts(docs: dict[date, dict], fingerprints: dict[date, str] | None = None) -> dict[date, Artifact]:
    """Each week's calibration document (``walkforward.build``) as the stored artifact
    (``calibration.json``) with the figures each game-date partition shows and, when given, the
    fingerprint of its inputs (``walkforward.fingerprints``: a later run with the same one reuses it)."""
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
        if fingerprints is not None:
            meta["fingerprint"] = fingerprints[week]
        out[week] = Artifact(files={"calibration.json": json.dumps(doc, sort_keys=True).encode()}, metadata=meta)
    return out


def calibrations(stored: dict[date, StoredWeek]) -> dict[date, dict]:
    """The stored calibration documents by week."""
    return {week: json.loads(a.read("calibration.json")) for week, a in stored.items()}
