"""A short summary of what the lake holds for a date range (printed by ``make demo`` / ``make run``).

Read through the lake the code location is configured with (``LakeAccess``, the ``Lake``
resource's fields and methods without Dagster: this command imports no Dagster): the tables
through the storage seam (local Parquet or BigQuery, as ``NBA_BACKEND`` configures it), the models,
exports and reports from the lake's objects. A table's rows and days are counted from its
``game_date`` column alone; only the graded rows are read whole."""

from __future__ import annotations

import argparse
import gc
import json
from datetime import date

import polars as pl

from nba_assets.config import Settings, settings_from_env
from nba_assets.facts import dates_between, week_of
from nba_assets.io.storage import PARTITION_COLUMN, TableRef
from nba_assets.lake_access import EXPORTS_PREFIX, LakeAccess
from nba_assets.schemas import TABLES, schema_for
from nba_assets.transforms.grading import summarize

GRADED = ("nba_predictions", "prediction_accuracy")  # read whole: the graded lines below


def lake_for(settings: Settings) -> LakeAccess:
    return LakeAccess(**settings.lake_config())


def summary(start: date, end: date, lake: LakeAccess) -> str:
    store = lake.tables()
    days = dates_between(start, end)
    bigquery = lake.backend_name == "bigquery"
    where = f"{lake.root}" + (f" (tables: BigQuery, project {lake.bq_project})" if bigquery else "")
    lines = [f"lake: {where}", f"partitions: {start}..{end} ({len(days)} days)"]
    frames: dict[tuple[str, str], pl.DataFrame] = {}
    width = max(len(f"{d}.{t}") for d, t in TABLES)
    for dataset, table in TABLES:
        ref = TableRef(dataset, table)
        # The range's stored partitions (a written partition, empty or not, is not missing): a
        # look-up per day of the range, not a listing of the table's every partition.
        missing = set(store.missing_partitions(ref, days))
        stored = [d for d in days if d not in missing]
        schema = schema_for(dataset, table)
        if (dataset, table) != GRADED:  # the narrowed schema is the scan's projection (local and BigQuery)
            schema = pl.Schema({PARTITION_COLUMN: schema[PARTITION_COLUMN]})
        frame = store.read_window(ref, stored, schema)
        frames[(dataset, table)] = frame
        days_with_rows = frame[PARTITION_COLUMN].n_unique() if frame.height else 0
        lines.append(
            f"  {dataset + '.' + table:<{width}} {frame.height:>9,} rows {len(stored):>5} partitions "
            f"({days_with_rows} with rows)"
        )
    models = lake.models()
    for table in ("points_model_lightgbm", "points_model_xgboost", "system_calibration"):
        weeks = [w for w in models.stored_weeks("nba_predictions", table) if week_of(start) <= w <= end]
        trained = [
            w
            for w in weeks
            if models.read("nba_predictions", table, w).metadata.get("status") in ("trained", "calibrated")
        ]
        lines.append(
            f"  nba_predictions.{table:<{width - 16}} {len(weeks):>9,} weeks ({len(trained)} trained/calibrated)"
        )
    objects = lake.exports()
    exports = lake.exports_dir()
    n_files = sum(1 for k in objects.list(f"{EXPORTS_PREFIX}/predictions/") if k.endswith(".json"))
    lines.append(
        f"exports: {exports} ({n_files} predictions files; tonight: {exports / 'tonight' / 'all-players.json'})"
    )
    performance = f"{EXPORTS_PREFIX}/systems/performance.json"
    if objects.exists(performance):
        doc = json.loads(objects.get(performance))
        lines.append(f"season-wide: {objects.path(performance)} as of {doc['as_of']} ({len(doc['systems'])} systems)")
    reports = lake.reports()
    report_key = "reports/backtest/latest.json"
    if reports.exists(report_key):
        report = reports.path(report_key)
        doc = json.loads(reports.get(report_key))
        lines.append(
            f"season-wide: backtest report {doc['first_day']}..{doc['last_day']} on {doc['same_rows']:,} "
            f"player-games ({report.with_suffix('.md')})"
        )
    lines.append("web: `make web` serves these exports on http://127.0.0.1:8000 (tonight, players, results, record)")
    accuracy = frames[GRADED]
    for system in sorted(accuracy["system_id"].unique().to_list()) if accuracy.height else []:
        s = summarize(accuracy.filter(pl.col("system_id") == system))
        lines.append(
            f"graded {system}: MAE {s['mae']} on {s['graded_played']:,} player-games; on rows with a line "
            f"MAE {s['mae_on_lined_rows']} vs the line's {s['line_mae']}; hit rate {s['hit_rate']} over "
            f"{s['bets']:,} OVER/UNDER calls ({s['pushes']} pushes, {s['voids']} void)"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--start", type=date.fromisoformat, required=True)
    parser.add_argument("--end", type=date.fromisoformat, required=True)
    args = parser.parse_args()
    # A command-line entry point: the lake as the environment configures the code location.
    print(summary(args.start, args.end, lake_for(settings_from_env())))
    # Everything is printed: spare the interpreter's final cyclic collections over Dagster's and
    # polars' ~200k objects (~0.3 s of this command's exit); reference counting still frees them.
    gc.freeze()


if __name__ == "__main__":
    main()
