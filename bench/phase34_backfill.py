"""Phase 3+4 backfill time over the four seasons, once the raw tables exist.

    .venv/bin/python bench/phase34_backfill.py /tmp/phase34-bench

1. writes the real raw tables (the schedule implied by data/player_box_scores.parquet, the box
   scores, the lines as pre-tip snapshots) into a fresh lake under the given directory (not timed);
2. times ONE Dagster single-run backfill of the ten phase-3/4 assets over 2021-10-19..2024-12-15
   (1,154 partitions) on a persistent SQLite instance in a fresh DAGSTER_HOME, in-process
   executor, as `make demo` runs them;
3. reads back the rows each asset stored (``bench/step_breakdown.py`` splits a run's step seconds
   into inputs, compute, output and events).

Prints a JSON report and writes it to <dir>/report.json.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

FIRST, LAST = date(2021, 10, 19), date(2024, 12, 15)


def main(root: Path) -> dict:
    shutil.rmtree(root, ignore_errors=True)
    (root / "dagster_home").mkdir(parents=True)
    os.environ["DAGSTER_HOME"] = str(root / "dagster_home")
    os.environ["DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS"] = "1"
    import dagster as dg

    from nba_assets.config import Settings
    from nba_assets.definitions import build_definitions
    from nba_assets.io.storage import LocalParquetStore, TableRef
    from nba_assets.partitions import dates_between
    from nba_assets.real_data import real_raw_tables
    from nba_assets.schemas import schema_for

    raw_tables = ["nbac_schedule", "bdl_player_boxscores", "odds_api_player_points_props"]
    range_start, range_end = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"

    box, schedule, props = real_raw_tables()
    lake = root / "lake"
    store = LocalParquetStore(lake)
    days = dates_between(FIRST, LAST)
    for name, frame in zip(raw_tables, (schedule, box, props), strict=True):
        store.write_partitions(TableRef("nba_raw", name), frame, days, schema_for("nba_raw", name))

    # The code location's own phase-3/4 assets over the stored raw tables, in one run.
    defs = build_definitions(settings=Settings(lake_dir=str(lake)))
    graph = defs.resolve_asset_graph()
    phase34 = dg.AssetSelection.groups("analytics", "precompute") - dg.AssetSelection.assets(
        ["nba_precompute", "player_availability"]
    )
    keys = set(phase34.resolve(graph))
    job = defs.resolve_implicit_global_asset_job_def().get_subset(asset_selection=keys)
    started = time.perf_counter()
    result = job.execute_in_process(
        instance=dg.DagsterInstance.get(), tags={range_start: FIRST.isoformat(), range_end: LAST.isoformat()}
    )
    dagster_s = time.perf_counter() - started
    tables = {key.path[-1]: store.read_window(TableRef(*key.path), days, schema_for(*key.path)) for key in sorted(keys)}
    report = {
        "what": "phase 3+4 single-run backfill, 10 assets, raw tables already in the lake",
        "partitions": len(days),
        "dagster_single_run_backfill_s": round(dagster_s, 1),
        "success": result.success,
        "rows": {name: frame.height for name, frame in tables.items()},
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
    }
    (root / "report.json").write_text(json.dumps(report, indent=1))
    return report


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/phase34-bench")), indent=1))
