"""Issue 11's "Done when", as a user runs it on a lake built by ``make demo``.

    .venv/bin/python bench/partition_trust.py snapshot --start 2024-12-01 --end 2024-12-15 --out before.json
    make run START=2024-12-01 END=2024-12-15
    .venv/bin/python bench/partition_trust.py compare --start 2024-12-01 --end 2024-12-15 --against before.json
    make run START=2024-12-10 END=2024-12-12
    .venv/bin/python bench/partition_trust.py season --as-of 2024-12-15

``snapshot`` records, for every lake table under nba_raw, nba_analytics, nba_precompute and
nba_predictions and every partition of the range, its row count and a content hash (rows sorted,
ignoring only the columns that record when a row was written); ``compare`` recomputes them and
lists every difference (exit 1 if any). ``season`` checks the season-wide documents: the
performance export is as of the given day with all six systems, and the backtest report covers
every graded day stored.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from datetime import date
from pathlib import Path

import polars as pl

from nba_assets import config
from nba_assets.io.storage import LocalParquetStore, TableRef
from nba_assets.partitions import dates_between
from nba_assets.schemas import TABLES, schema_for

DATASETS = ("nba_raw", "nba_analytics", "nba_precompute", "nba_predictions")
WRITE_TIMES = ("created_at", "graded_at")


def fingerprints(start: date, end: date) -> dict[str, dict[str, list]]:
    store = LocalParquetStore(config.lake_dir())
    out: dict[str, dict[str, list]] = {}
    for dataset, table in TABLES:
        if dataset not in DATASETS:
            continue
        ref = TableRef(dataset, table)
        stored = set(store.stored_partitions(ref))
        per_day = {}
        for day in dates_between(start, end):
            if day not in stored:
                per_day[day.isoformat()] = [None, None]
                continue
            frame = store.read_window(ref, [day], schema_for(dataset, table))
            frame = frame.drop([c for c in WRITE_TIMES if c in frame.columns])
            frame = frame.sort(frame.columns, nulls_last=True)
            digest = hashlib.sha256(frame.write_ipc(None, compat_level=pl.CompatLevel.oldest()).getvalue()).hexdigest()
            per_day[day.isoformat()] = [frame.height, digest]
        out[f"{dataset}.{table}"] = per_day
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("snapshot", "compare"):
        p = sub.add_parser(name)
        p.add_argument("--start", type=date.fromisoformat, required=True)
        p.add_argument("--end", type=date.fromisoformat, required=True)
        p.add_argument("--out" if name == "snapshot" else "--against", type=Path, required=True)
    p = sub.add_parser("season")
    p.add_argument("--as-of", type=date.fromisoformat, required=True)
    args = parser.parse_args()

    if args.command == "snapshot":
        prints = fingerprints(args.start, args.end)
        args.out.write_text(json.dumps(prints, indent=1, sort_keys=True))
        rows = sum(v[0] or 0 for t in prints.values() for v in t.values())
        print(f"snapshot: {len(prints)} tables, {rows:,} rows, {args.start}..{args.end} -> {args.out}")
        return 0
    if args.command == "compare":
        before = json.loads(args.against.read_text())
        after = fingerprints(args.start, args.end)
        diffs = [
            f"{table} {day}: rows {b[0]} -> {a[0]}" + ("" if b[0] != a[0] else " (same count, other content)")
            for table, days in before.items()
            for day, b in days.items()
            if (a := after.get(table, {}).get(day)) != b
        ]
        tables = len(before)
        rows = sum(v[0] or 0 for t in after.values() for v in t.values())
        if diffs:
            print(f"compare: {len(diffs)} partitions differ", *diffs[:50], sep="\n")
            return 1
        print(f"compare: identical — {tables} tables, {rows:,} rows, every partition of {args.start}..{args.end}")
        return 0
    perf = json.loads((config.exports_dir() / "systems" / "performance.json").read_text())
    report = json.loads((config.lake_dir() / "reports" / "backtest" / "latest.json").read_text())
    ok = perf["as_of"] == args.as_of.isoformat() and len(perf["systems"]) == 6
    print(f"systems/performance.json: as of {perf['as_of']}, systems {sorted(perf['systems'])}")
    print(f"backtest report: {report['first_day']}..{report['last_day']}, {report['same_rows']:,} same player-games")
    ok = ok and report["last_day"] == args.as_of.isoformat()
    print("season-wide documents:", "OK" if ok else "WRONG")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
