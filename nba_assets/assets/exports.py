"""Phase 6: JSON files for the web front end under ``$NBA_LAKE_DIR/exports/v1/``."""

from datetime import UTC, datetime

import dagster as dg
import polars as pl

from nba_assets import config
from nba_assets.assets.common import same_day
from nba_assets.partitions import game_date_partitions
from nba_assets.transforms.exports import day_document, latest_exported_day, write_json


@dg.asset(
    key=["exports", "predictions_json"],
    partitions_def=game_date_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="exports",
    ins={
        "predictions": same_day("nba_predictions", "player_prop_predictions"),
        "schedule": same_day("nba_raw", "nbac_schedule"),
    },
    description="exports/v1/predictions/{date}.json for each game date, and tonight/all-players.json "
    "for the latest game date exported.",
)
def predictions_json(
    context: dg.AssetExecutionContext, predictions: pl.DataFrame, schedule: pl.DataFrame
) -> dg.MaterializeResult:
    root = config.exports_dir()
    generated = datetime.now(UTC)
    days = sorted(schedule["game_date"].unique().to_list())
    previous_latest = latest_exported_day(root / "predictions")
    written = []
    pred_by_day = {k[0]: v for k, v in predictions.partition_by("game_date", as_dict=True).items()}
    sched_by_day = {k[0]: v for k, v in schedule.partition_by("game_date", as_dict=True).items()}
    documents = {}
    for day in days:
        documents[day] = day_document(day, pred_by_day.get(day, predictions.clear()), sched_by_day[day], generated)
        path = root / "predictions" / f"{day.isoformat()}.json"
        write_json(path, documents[day])
        written.append(path)
    tonight = None
    if days and (previous_latest is None or days[-1] >= previous_latest):
        tonight = root / "tonight" / "all-players.json"
        write_json(tonight, documents[days[-1]])
    return dg.MaterializeResult(
        metadata={
            "files_written": len(written),
            "exports_dir": dg.MetadataValue.path(str(root)),
            "tonight": dg.MetadataValue.path(str(tonight)) if tonight else "not updated (a later day is exported)",
            "dagster/row_count": predictions.height,
        }
    )
