"""The BigQuery command line: tables, dry-run estimates, sizes and the cost model.

    python -m nba_assets.warehouse apply                          # create/evolve datasets and tables
    python -m nba_assets.warehouse estimate 2024-10-22 2025-06-20 # dry-run bytes of a backfill window
    python -m nba_assets.warehouse size --lake .lake              # rows and BigQuery bytes of a local lake
    python -m nba_assets.warehouse cost --lake .lake              # monthly on-demand cost of a season

The library modules stay free of each other: ``ddl`` (DDL from the schemas) and ``io.bigquery``
(the store) import no command line and no Definitions; this module wires them (the cost model
reads the asset graph of the Definitions for its read edges).
"""

from __future__ import annotations

import argparse
import sys
from datetime import date

import polars as pl

from nba_assets import config, ddl
from nba_assets.io.bigquery import (
    ON_DEMAND_USD_PER_TIB,
    TIB,
    BigQuerySettings,
    cost_model,
    lake_edges,
    lake_sizes,
    store_from_settings,
)
from nba_assets.io.storage import LocalParquetStore, TableRef
from nba_assets.schemas import TABLES, schema_for


def _fullest_season_game_days(lake) -> tuple[int, int]:
    store = LocalParquetStore(lake)
    ref = TableRef("nba_raw", "nbac_schedule")
    frame = store.read_window(ref, store.stored_partitions(ref), schema_for("nba_raw", "nbac_schedule"))
    per_season = frame.group_by("season").agg(pl.col("game_date").n_unique().alias("days"))
    return int(per_season["days"].max() or 0) if per_season.height else 0, per_season.height


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nba_assets.warehouse", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("apply", help="create/evolve datasets and tables in BigQuery (env: GOOGLE_CLOUD_PROJECT, ...)")
    est = sub.add_parser("estimate", help="bytes a backfill of START..END would scan (dry runs)")
    est.add_argument("start", type=date.fromisoformat)
    est.add_argument("end", type=date.fromisoformat)
    size = sub.add_parser("size", help="rows and BigQuery logical bytes of every table of a local lake")
    size.add_argument("--lake", default=None, help="lake directory (default $NBA_LAKE_DIR)")
    cost = sub.add_parser("cost", help="monthly on-demand cost of a season, from a local lake's sizes")
    cost.add_argument("--lake", default=None, help="lake directory (default $NBA_LAKE_DIR)")
    cost.add_argument("--refreshes-per-game-day", type=int, default=10)
    args = parser.parse_args(argv)

    if args.command == "apply":
        settings = BigQuerySettings.from_env()
        for line in ddl.apply(settings.client(), settings.naming).lines():
            print(line)
        return 0
    if args.command in ("size", "cost"):
        lake = args.lake or config.lake_dir()
        rows = lake_sizes(lake)
        if args.command == "cost":
            from nba_assets.definitions import defs

            game_days, seasons = _fullest_season_game_days(lake)
            result = cost_model(rows, args.refreshes_per_game_day, game_days, lake_edges(defs.resolve_asset_graph()))
            print(f"game days per season (measured, fullest season): {game_days} ({seasons} seasons)")
            for k, v in result.items():
                print(f"{k:32s} {v:,.4f}" if isinstance(v, float) else f"{k:32s} {v:,}")
            return 0
        for r in rows:
            per_day = r["logical_bytes"] / r["game_days"] if r["game_days"] else 0
            print(
                f"{r['table']:50s} {r['partitions']:5d} partitions {r['game_days']:5d} game days "
                f"{r['rows']:>10,} rows {r['logical_bytes'] / 1e6:10.2f} MB  {per_day / 1e3:9.1f} KB/game day"
            )
        print(f"total: {sum(r['logical_bytes'] for r in rows) / 1e6:.2f} MB logical")
        return 0
    store = store_from_settings(BigQuerySettings.from_env())
    estimates = store.estimate_backfill([TableRef(d, t) for d, t in sorted(TABLES)], args.start, args.end)
    for e in estimates:
        print(f"{e.table:55s} {e.statement:6s} {e.bytes_processed / 1e6:12.1f} MB  ${e.usd:.4f}")
    total = sum(e.bytes_processed for e in estimates)
    print(f"total: {total / 1e9:.3f} GB scanned, ${total / TIB * ON_DEMAND_USD_PER_TIB:.4f} at on-demand pricing")
    return 0


if __name__ == "__main__":
    sys.exit(main())
