"""A short summary of what the lake holds for a date range (printed by ``make demo`` / ``make run``)."""

from __future__ import annotations

import argparse
import json
from datetime import date

import polars as pl

from nba_assets import config
from nba_assets.io.model_store import ModelStore, week_of
from nba_assets.io.storage import LocalParquetStore, TableRef
from nba_assets.partitions import dates_between
from nba_assets.schemas import TABLES, schema_for
from nba_assets.transforms.grading import summarize


def summary(start: date, end: date) -> str:
    store = LocalParquetStore(config.lake_dir())
    days = dates_between(start, end)
    lines = [f"lake: {config.lake_dir()}", f"partitions: {start}..{end} ({len(days)} days)"]
    frames: dict[tuple[str, str], pl.DataFrame] = {}
    width = max(len(f"{d}.{t}") for d, t in TABLES)
    for dataset, table in TABLES:
        ref = TableRef(dataset, table)
        stored = [d for d in store.stored_partitions(ref) if start <= d <= end]
        frame = store.read_window(ref, stored, schema_for(dataset, table))
        frames[(dataset, table)] = frame
        days_with_rows = frame["game_date"].n_unique() if frame.height else 0
        lines.append(
            f"  {dataset + '.' + table:<{width}} {frame.height:>9,} rows {len(stored):>5} partitions "
            f"({days_with_rows} with rows)"
        )
    models = ModelStore(config.lake_dir())
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
    exports = config.exports_dir()
    n_files = len(list((exports / "predictions").glob("*.json"))) if (exports / "predictions").exists() else 0
    lines.append(
        f"exports: {exports} ({n_files} predictions files; tonight: {exports / 'tonight' / 'all-players.json'})"
    )
    performance = exports / "systems" / "performance.json"
    if performance.exists():
        doc = json.loads(performance.read_text())
        lines.append(f"season-wide: {performance} as of {doc['as_of']} ({len(doc['systems'])} systems)")
    report = config.lake_dir() / "reports" / "backtest" / "latest.json"
    if report.exists():
        doc = json.loads(report.read_text())
        lines.append(
            f"season-wide: backtest report {doc['first_day']}..{doc['last_day']} on {doc['same_rows']:,} "
            f"player-games ({report.with_suffix('.md')})"
        )
    lines.append("web: `make web` serves these exports on http://127.0.0.1:8000 (tonight, players, results, record)")
    accuracy = frames[("nba_predictions", "prediction_accuracy")]
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
    print(summary(args.start, args.end))


if __name__ == "__main__":
    main()
