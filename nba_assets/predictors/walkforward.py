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

import functools
import hashlib
import json
import os
import sys
from collections.abc import Callable
from datetime import date, timedelta
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np
import polars as pl

from nba_assets import facts
from nba_assets.facts import HISTORY_DAYS, week_start
from nba_assets.predictors import (
    calibration,
    days,
    ensemble,
    gbm,
    league_context,
    moving_average,
    similarity,
    systems,
    zone_matchup,
)
from nba_assets.predictors.artifacts import Artifact, StoredWeek, reusable
from nba_assets.predictors.days import map_days, rows_dated
from nba_assets.predictors.model_weeks import calibration_artifacts

CAL_DAYS = 182
# The weeks of one ``build`` whose documents are computed at once.
DOC_WORKERS = min(2, os.cpu_count() or 1)
# Bumped with a change to how a week's document is computed that neither the constants nor the
# source files below show (``fingerprints`` covers those): a stored week is then built again.
CALIBRATION_VERSION = 1
# The code a document is computed by: the source file and every upper-case constant of each of
# these modules (and of this one) are in the fingerprint, so an edit to any of them rebuilds.
_CODE = (calibration, days, ensemble, facts, gbm, league_context, moving_average, similarity, systems, zone_matchup)
# The libraries whose arithmetic a document goes through (the ML predictions, the weights' solver).
_LIBRARIES = ("polars", "numpy", "scipy", "lightgbm", "xgboost")


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
    workers: int = DOC_WORKERS,
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

    def document(week: date) -> dict:
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
        return {
            "week_start": week.isoformat(),
            "window": [lo.isoformat(), (week - timedelta(days=1)).isoformat()],
            "rows": w_comp.height,
            "base_rate": {"over_rate": round(base_rate, 5), "rows": base_rows},
            "ensemble": weights,
            "systems": doc_systems,
        }

    # The weeks are independent (each a function of the frames above): computed ``workers`` at a
    # time (``days.map_days``), each the same dict whichever thread computed it, in week order.
    weeks = sorted(weeks)
    return dict(zip(weeks, map_days(document, weeks, workers), strict=True))


# ------------------------------------------------------------------ reuse of a stored week's document
#
# The document of week W is a function of the feature rows dated in [W − CAL_DAYS, W), of the box
# scores dated in [W − CAL_DAYS − HISTORY_DAYS, W) (the actual points and every base system's
# look-back of HISTORY_DAYS before a row's date), of the stored model of every week holding one of
# those rows (what ``systems.ml_predictions`` reads of it: status, features, train rows, the model
# file), of the first model week and of the code. Its fingerprint covers all of them; a stored week
# with the same fingerprint is the document this run would build, so a one-day run reads it back
# instead of predicting half a year of rows again.


def _row_hashes(frame: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(game dates as datetime64[D], one 64-bit hash of every whole row), in frame order."""
    if frame.height == 0:
        return np.empty(0, "datetime64[D]"), np.empty(0, np.uint64)
    hashes = frame.select(pl.struct(pl.all()).hash(0)).to_series().to_numpy()
    return frame["game_date"].to_numpy().astype("datetime64[D]"), hashes


def _rows_digest(digest, dates: np.ndarray, hashes: np.ndarray, lo: date, hi: date) -> np.ndarray:
    """The rows dated in [lo, hi) as a multiset (sorted hashes: the frame's row order is irrelevant);
    returns which rows those are."""
    inside = (dates >= np.datetime64(lo, "D")) & (dates < np.datetime64(hi, "D"))
    part = np.sort(hashes[inside])
    digest.update(f"rows {len(part)}\n".encode())
    digest.update(part.tobytes())
    return inside


def _code_digest(first_model_week: date) -> bytes:
    def plain(value):  # what json cannot write, the same in every process (no object address)
        if isinstance(value, (set, frozenset)):
            return sorted(map(repr, value))
        if callable(value) and hasattr(value, "__qualname__"):
            return f"{value.__module__}.{value.__qualname__}"
        return repr(value)

    def stable(value) -> str:
        return json.dumps(value, sort_keys=True, default=plain)

    modules = (*_CODE, sys.modules[__name__])

    code = {
        "version": CALIBRATION_VERSION,
        "cal_days": CAL_DAYS,
        "history_days": HISTORY_DAYS,
        "first_model_week": first_model_week.isoformat(),
        "constants": {
            module.__name__: {name: stable(getattr(module, name)) for name in sorted(dir(module)) if name.isupper()}
            for module in modules
        },
        "sources": {module.__name__: _source_digest(module.__file__) for module in modules},
        "libraries": {name: _version(name) for name in _LIBRARIES},
    }
    return json.dumps(code, sort_keys=True).encode()


@functools.cache
def _source_digest(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def fingerprints(
    weeks: list[date],
    features: pl.DataFrame,
    history: pl.DataFrame,
    models: dict[str, dict],
    first_model_week: date,
) -> dict[date, str]:
    """The identity of each week's document: everything ``build`` reads for it (see above)."""
    if not weeks:
        return {}
    code = _code_digest(first_model_week)
    schemas = json.dumps(
        [[[n, str(t)] for n, t in features.schema.items()], [[n, str(t)] for n, t in history.schema.items()]]
    ).encode()
    f_dates, f_hashes = _row_hashes(features)
    h_dates, h_hashes = _row_hashes(history)
    f_weeks = _weeks(features) if features.height else np.empty(0, "datetime64[D]")
    model_digests: dict[tuple[str, date], bytes] = {}

    def model_digest(system_id: str, week: date) -> bytes:
        key = (system_id, week)
        if key not in model_digests:
            stored = models.get(system_id, {}).get(week)
            if stored is None:
                model_digests[key] = b"absent"
            else:
                meta = stored.metadata
                used = {k: meta.get(k) for k in ("status", "features", "train_rows")}
                body = json.dumps(used, sort_keys=True).encode()
                if meta.get("status") == "trained":
                    body += hashlib.sha256(stored.read(gbm.MODELS[system_id]["file"])).digest()
                model_digests[key] = body
        return model_digests[key]

    out = {}
    for week in weeks:
        lo = week - timedelta(days=CAL_DAYS)
        digest = hashlib.sha256(code)
        digest.update(schemas)
        rows = _rows_digest(digest, f_dates, f_hashes, lo, week)
        _rows_digest(digest, h_dates, h_hashes, lo - timedelta(days=HISTORY_DAYS), week)
        # The model of every week the rows fall in (from the first model week on: the ML rows).
        for w in np.unique(f_weeks[rows]):
            model_week = w.astype(object)
            if model_week < first_model_week:
                continue
            for system_id in systems.ML_SYSTEMS:
                digest.update(f"{system_id} {model_week.isoformat()}\n".encode())
                digest.update(model_digest(system_id, model_week))
        out[week] = digest.hexdigest()[:24]
    return out


def build_artifacts(
    weeks: list[date],
    features: pl.DataFrame,
    history: pl.DataFrame,
    models: dict[str, dict],
    first_model_week: date,
    stored: Callable[[date], StoredWeek | None] | None = None,
) -> tuple[dict[date, Artifact], list[date]]:
    """Each week's stored calibration artifact (``model_weeks.calibration_artifacts``, with its
    fingerprint), and the weeks reused: a week whose stored artifact has the fingerprint of this
    run's inputs is read back as stored, the others are built (``build``; the box scores are the
    actual points and the history)."""
    fps = fingerprints(weeks, features, history, models, first_model_week)
    out: dict[date, Artifact] = {}
    reused = []
    for week in sorted(weeks):
        previous = reusable(stored, week, "calibrated", fps[week], "calibration.json")
        if previous is not None:
            out[week] = previous
            reused.append(week)
    todo = [w for w in sorted(weeks) if w not in out]
    docs = build(todo, features, history, history, models, first_model_week)
    out |= calibration_artifacts(docs, fps)
    return {week: out[week] for week in sorted(weeks)}, reused
