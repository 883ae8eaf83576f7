"""The weekly artifacts of the walk-forward (pure apart from training): one model per system and
week, one calibration per week, each from rows dated before its week.

Model weeks start on Mondays (``facts.week_of``). The first model week is ``FIRST_MODEL_WEEK``
(2021-11-29): six weeks of 2021-22 games (the data starts 2021-10-19), about 4,500 player-games,
are the least history a model is trained on; game dates before it get no ML or ensemble
prediction, by design (their weeks store a ``before_first_model_week`` record).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, timedelta
from importlib.metadata import version

import polars as pl

from nba_assets.predictors import gbm
from nba_assets.predictors.artifacts import Artifact, StoredWeek

FIRST_MODEL_WEEK = date(2021, 11, 29)
FIRST_WEEK = date(2021, 10, 18)  # the week of the first game date


def build_models(
    system_id: str,
    weeks: list[date],
    features: pl.DataFrame,
    actuals: pl.DataFrame,
    stored: Callable[[date], StoredWeek | None] | None = None,
) -> dict[date, Artifact]:
    """The model of each week (pure apart from training): feature rows dated before the week only.

    ``stored(week)``: the week's model already in the store, reused when its training set has the
    same fingerprint (training is deterministic: the same rows give the same model), so the daily
    runs of a week train its model once. Weeks of one call with an identical training set (e.g.
    off-season weeks) share one trained model.
    """
    spec = gbm.MODELS[system_id]
    columns = gbm.feature_columns()
    library = f"{spec['library']} {version(spec['library'])}"
    # The features joined to the actual points once; each week's training set is a slice of it.
    scored = gbm.scored_rows(features, actuals)
    out: dict[date, Artifact] = {}
    cache: dict[str, tuple[date, Artifact]] = {}
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


def models_summary(system_id: str, out: dict[date, Artifact]) -> str:
    """One line for the run log: weeks built, trained, and their mean validation MAE."""
    trained = [a.metadata for a in out.values() if a.metadata["status"] == "trained"]
    mean_mae = round(sum(m["validation_mae"] for m in trained) / len(trained), 4) if trained else None
    return (
        f"{system_id}: {len(out)} weeks built, {len(trained)} trained, "
        f"{len(out) - len(trained)} with too little history; mean validation MAE {mean_mae}; "
        f"{len(gbm.feature_columns())} features"
    )


def calibration_artifacts(docs: dict[date, dict]) -> dict[date, Artifact]:
    """Each week's calibration document (``walkforward.build``) as the stored artifact
    (``calibration.json``) with the figures each game-date partition shows."""
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
    return out


def calibrations(stored: dict[date, StoredWeek]) -> dict[date, dict]:
    """The stored calibration documents by week."""
    return {week: json.loads(a.read("calibration.json")) for week, a in stored.items()}
