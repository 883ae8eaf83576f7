"""Phase 6: JSON files for the web front end under ``exports/v1/`` of the lake (schemas: docs/schemas/),
written through the ``lake`` resource (a local file, and its GCS copy when the lake mirrors objects)."""

import json
from datetime import UTC, date, datetime

import dagster as dg
import polars as pl

from nba_assets.assets.common import all_stored, days_before, lake_asset, same_day, season_document
from nba_assets.lake import EXPORTS_PREFIX as EXPORTS
from nba_assets.lake import Lake
from nba_assets.partitions import HISTORY_DAYS
from nba_assets.transforms.exports import (
    day_documents,
    latest_exported_day,
    past_calls,
    performance_document,
    player_documents,
    results_documents,
)

LAST_GAMES_DAYS = HISTORY_DAYS


@lake_asset(
    "exports",
    "predictions_json",
    group="exports",
    columns=False,
    ins={
        "predictions": same_day("nba_predictions", "player_prop_predictions"),
        "schedule": same_day("nba_raw", "nbac_schedule"),
        "features": same_day("nba_precompute", "ml_feature_store"),
        "history": days_before("nba_analytics", "player_game_summary", LAST_GAMES_DAYS),
    },
    description="exports/v1/predictions/{date}.json and best-bets/{date}.json for each game date: games, every "
    "lined player's calls, hit rates at the line, opponent defense rank, last games (tonight's files: "
    "exports/tonight_json).",
)
def predictions_json(
    context: dg.AssetExecutionContext,
    lake: Lake,
    predictions: pl.DataFrame,
    schedule: pl.DataFrame,
    features: pl.DataFrame,
    history: pl.DataFrame,
) -> None:
    exports = lake.exports()
    generated = datetime.now(UTC)
    days = sorted(schedule["game_date"].unique().to_list())
    for day, document, best_bets, rows in day_documents(days, predictions, schedule, generated, features, history):
        exports.put_json(f"{EXPORTS}/predictions/{day.isoformat()}.json", document)
        exports.put_json(f"{EXPORTS}/best-bets/{day.isoformat()}.json", best_bets)
        context.add_asset_metadata(
            {
                "dagster/row_count": rows,
                "players": sum(len(g["players"]) for g in document["games"]),
                "games": len(document["games"]),
            },
            partition_key=day.isoformat(),
        )
    context.log.info(f"predictions_json: {2 * len(days)} files written under {lake.exports_dir()}")


@season_document(
    "exports",
    "tonight_json",
    group="exports",
    kinds={"polars", "json"},
    deps=[dg.AssetKey(["exports", "predictions_json"])],
    ins={"accuracy": all_stored("nba_predictions", "prediction_accuracy")},
    description="exports/v1/tonight/all-players.json and tonight/player/{player_lookup}.json: the latest game "
    "date exported (a document as of the latest day: one file set, never a daily partition), each player's "
    "page with his past graded calls.",
)
def tonight_json(context: dg.AssetExecutionContext, lake: Lake, accuracy: pl.DataFrame) -> dg.MaterializeResult:
    exports = lake.exports()
    latest = latest_exported_day(exports.list(f"{EXPORTS}/predictions/"))
    if latest is None:
        context.log.warning("tonight_json: no predictions/{date}.json is exported yet")
        return dg.MaterializeResult(metadata={"game_date": "none"})
    document = json.loads(exports.get(f"{EXPORTS}/predictions/{latest.isoformat()}.json"))
    tonight = exports.put_json(f"{EXPORTS}/tonight/all-players.json", document)
    lookups = [p["player_lookup"] for g in document["games"] for p in g["players"]]
    calls = past_calls(accuracy, latest, lookups)
    # one folder swapped in whole: the files of players no longer playing tonight disappear
    exports.replace_folder(f"{EXPORTS}/tonight/player", player_documents(document, calls))
    return dg.MaterializeResult(
        metadata={
            "game_date": latest.isoformat(),
            "players": len(lookups),
            "players_with_past_calls": len(calls),
            "tonight": dg.MetadataValue.path(str(tonight)),
        }
    )


@lake_asset(
    "exports",
    "results_json",
    group="exports",
    columns=False,
    ins={
        "accuracy": same_day("nba_predictions", "prediction_accuracy"),
        "performance": same_day("nba_predictions", "system_daily_performance"),
        "predictions": same_day("nba_predictions", "player_prop_predictions"),
    },
    description="exports/v1/results/{date}.json: every graded prediction of the date with the player's name, "
    "and each system's figures of the day (the season's track record: systems/performance.json).",
)
def results_json(
    context: dg.AssetExecutionContext,
    lake: Lake,
    accuracy: pl.DataFrame,
    performance: pl.DataFrame,
    predictions: pl.DataFrame,
) -> None:
    exports = lake.exports()
    generated = datetime.now(UTC)
    days = sorted(accuracy["game_date"].unique().to_list())
    for day, document in results_documents(days, accuracy, performance, generated, predictions):
        exports.put_json(f"{EXPORTS}/results/{day.isoformat()}.json", document)
        context.add_asset_metadata({"dagster/row_count": len(document["results"])}, partition_key=day.isoformat())
    context.log.info(f"results_json: {len(days)} files written under {lake.exports_dir()}")


@season_document(
    "exports",
    "systems_performance_json",
    group="exports",
    kinds={"polars", "json"},
    ins={
        "performance": all_stored("nba_predictions", "system_daily_performance"),
        "accuracy": all_stored("nba_predictions", "prediction_accuracy"),
    },
    description="exports/v1/systems/performance.json: last 7 days, last 30 days and season per system, and the "
    "season's track record (hit rates with Wilson intervals, units, cumulative units, calibration), as of the "
    "latest graded game date stored (a season-wide document: one file, never a daily partition).",
)
def systems_performance_json(
    context: dg.AssetExecutionContext, lake: Lake, performance: pl.DataFrame, accuracy: pl.DataFrame
) -> dg.MaterializeResult:
    exports = lake.exports()
    key = f"{EXPORTS}/systems/performance.json"
    graded = performance.filter(pl.col("graded") > 0)
    previous = json.loads(exports.get(key))["as_of"] if exports.exists(key) else None
    if graded.height == 0:
        context.log.warning("systems_performance_json: no graded day is stored; the document is not written")
        return dg.MaterializeResult(metadata={"updated": False, "as_of": previous or "none"})
    as_of = graded["game_date"].max()
    if previous is not None and date.fromisoformat(previous) > as_of:
        # Never regress to an earlier as-of (e.g. a lake whose later days were removed).
        context.log.warning(f"systems_performance_json: stored data ends {as_of}, the document is as of {previous}")
        return dg.MaterializeResult(metadata={"updated": False, "as_of": previous})
    document = performance_document(as_of, graded, datetime.now(UTC), accuracy)
    path = exports.put_json(key, document)
    return dg.MaterializeResult(
        metadata={
            "updated": True,
            "as_of": as_of.isoformat(),
            "systems": sorted(document["systems"]),
            "days_graded": graded["game_date"].n_unique(),
            "path": dg.MetadataValue.path(str(path)),
        }
    )
