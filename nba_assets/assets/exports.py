"""Phase 6: JSON files for the web front end under ``$NBA_LAKE_DIR/exports/v1/`` (schemas: docs/schemas/)."""

import json
import os
import shutil
import uuid
from datetime import UTC, date, datetime

import dagster as dg
import polars as pl

from nba_assets import config
from nba_assets.assets.common import all_stored, days_before, same_day
from nba_assets.automation import season_eager
from nba_assets.partitions import game_date_partitions, window_dates
from nba_assets.transforms.exports import (
    best_bets_document,
    day_document,
    latest_exported_day,
    past_calls,
    performance_document,
    player_documents,
    results_document,
    season_start,
    write_json,
)

LAST_GAMES_DAYS = 365
PAST_CALLS_DAYS = 60  # tonight's player files list his graded calls of the 60 days before tonight
SEASON_DAYS = 365  # the track record in results/{date}.json covers the season through the date


def _by_day(frame: pl.DataFrame) -> dict[date, pl.DataFrame]:
    return {k[0]: v for k, v in frame.partition_by("game_date", as_dict=True).items()}


def _replace_dir(target, documents: dict[str, dict]) -> None:
    """Write every document into a fresh directory and swap it in (old players' files disappear)."""
    staging = target.parent / f".{target.name}.{uuid.uuid4().hex}"
    staging.mkdir(parents=True)
    for name, document in documents.items():
        (staging / f"{name}.json").write_text(json.dumps(document, indent=1))
    old = None
    if target.exists():
        old = target.parent / f".{target.name}.old.{uuid.uuid4().hex}"
        os.replace(target, old)
    os.replace(staging, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


@dg.asset(
    key=["exports", "predictions_json"],
    partitions_def=game_date_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="exports",
    ins={
        "predictions": same_day("nba_predictions", "player_prop_predictions"),
        "schedule": same_day("nba_raw", "nbac_schedule"),
        "features": same_day("nba_precompute", "ml_feature_store"),
        "history": days_before("nba_analytics", "player_game_summary", LAST_GAMES_DAYS),
        "accuracy_history": days_before("nba_predictions", "prediction_accuracy", PAST_CALLS_DAYS),
    },
    description="exports/v1/predictions/{date}.json and best-bets/{date}.json for each game date; "
    "tonight/all-players.json and tonight/player/{player_lookup}.json for the latest game date exported.",
)
def predictions_json(
    context: dg.AssetExecutionContext,
    predictions: pl.DataFrame,
    schedule: pl.DataFrame,
    features: pl.DataFrame,
    history: pl.DataFrame,
    accuracy_history: pl.DataFrame,
) -> dg.MaterializeResult:
    root = config.exports_dir()
    generated = datetime.now(UTC)
    days = sorted(schedule["game_date"].unique().to_list())
    previous_latest = latest_exported_day(root / "predictions")
    pred_by_day, sched_by_day, feat_by_day = _by_day(predictions), _by_day(schedule), _by_day(features)
    documents = {}
    for day in days:
        day_pred = pred_by_day.get(day, predictions.clear())
        documents[day] = day_document(
            day, day_pred, sched_by_day[day], generated, feat_by_day.get(day, features.clear()), history
        )
        write_json(root / "predictions" / f"{day.isoformat()}.json", documents[day])
        write_json(root / "best-bets" / f"{day.isoformat()}.json", best_bets_document(day, day_pred, generated))
    tonight = None
    if days and (previous_latest is None or days[-1] >= previous_latest):
        tonight = root / "tonight" / "all-players.json"
        write_json(tonight, documents[days[-1]])
        lookups = [p["player_lookup"] for g in documents[days[-1]]["games"] for p in g["players"]]
        calls = past_calls(accuracy_history, days[-1], lookups)
        _replace_dir(root / "tonight" / "player", player_documents(documents[days[-1]], calls))
    return dg.MaterializeResult(
        metadata={
            "files_written": 2 * len(days),
            "exports_dir": dg.MetadataValue.path(str(root)),
            "tonight": dg.MetadataValue.path(str(tonight)) if tonight else "not updated (a later day is exported)",
            "dagster/row_count": predictions.height,
        }
    )


@dg.asset(
    key=["exports", "results_json"],
    partitions_def=game_date_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="exports",
    ins={
        # The run's dates and the SEASON_DAYS before them as one frame (the season's track record);
        # one input, as Dagster takes an upstream asset once. D's own accuracy is waited for
        # through D's system_daily_performance.
        "accuracy": dg.AssetIn(
            key=["nba_predictions", "prediction_accuracy"],
            partition_mapping=dg.TimeWindowPartitionMapping(
                start_offset=-SEASON_DAYS, end_offset=0, allow_nonexistent_upstream_partitions=True
            ),
        ),
        "performance": same_day("nba_predictions", "system_daily_performance"),
        "predictions": same_day("nba_predictions", "player_prop_predictions"),
    },
    description="exports/v1/results/{date}.json: every graded prediction and each system's figures of the day, "
    "and the season's track record through the date.",
)
def results_json(
    context: dg.AssetExecutionContext,
    accuracy: pl.DataFrame,
    performance: pl.DataFrame,
    predictions: pl.DataFrame,
) -> dg.MaterializeResult:
    root = config.exports_dir()
    generated = datetime.now(UTC)
    run_days = set(window_dates(context))
    days = sorted(d for d in accuracy["game_date"].unique().to_list() if d in run_days)
    acc_by_day, perf_by_day, pred_by_day = _by_day(accuracy), _by_day(performance), _by_day(predictions)
    # Each day's track record reads its season's earlier rows: cut the window by season once.
    by_season = {
        first: accuracy.filter(pl.col("game_date").is_between(first, date(first.year + 1, 7, 31)))
        for first in {season_start(day) for day in days}
    }
    for day in days:
        document = results_document(
            day,
            acc_by_day[day],
            perf_by_day.get(day, performance.clear()),
            generated,
            by_season[season_start(day)].filter(pl.col("game_date") < day),
            pred_by_day.get(day, predictions.clear()),
        )
        write_json(root / "results" / f"{day.isoformat()}.json", document)
    rows = sum(acc_by_day[day].height for day in days)
    return dg.MaterializeResult(metadata={"files_written": len(days), "dagster/row_count": rows})


@dg.asset(
    key=["exports", "systems_performance_json"],
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="exports",
    kinds={"polars", "json"},
    ins={"performance": all_stored("nba_predictions", "system_daily_performance")},
    automation_condition=season_eager(),
    description="exports/v1/systems/performance.json: last 7 days, last 30 days and season per system, as of "
    "the latest graded game date stored (a season-wide document: one file, never a daily partition).",
)
def systems_performance_json(context: dg.AssetExecutionContext, performance: pl.DataFrame) -> dg.MaterializeResult:
    root = config.exports_dir()
    path = root / "systems" / "performance.json"
    graded = performance.filter(pl.col("graded") > 0)
    previous = json.loads(path.read_text())["as_of"] if path.exists() else None
    if graded.height == 0:
        context.log.warning("systems_performance_json: no graded day is stored; the document is not written")
        return dg.MaterializeResult(metadata={"updated": False, "as_of": previous or "none"})
    as_of = graded["game_date"].max()
    if previous is not None and date.fromisoformat(previous) > as_of:
        # Never regress to an earlier as-of (e.g. a lake whose later days were removed).
        context.log.warning(f"systems_performance_json: stored data ends {as_of}, the document is as of {previous}")
        return dg.MaterializeResult(metadata={"updated": False, "as_of": previous})
    document = performance_document(as_of, graded, datetime.now(UTC))
    write_json(path, document)
    return dg.MaterializeResult(
        metadata={
            "updated": True,
            "as_of": as_of.isoformat(),
            "systems": sorted(document["systems"]),
            "days_graded": graded["game_date"].n_unique(),
            "path": dg.MetadataValue.path(str(path)),
        }
    )
