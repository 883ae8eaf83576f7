"""Phase 3+4 backfill time over the four seasons, once the raw tables exist.

    .venv/bin/python bench/phase34_backfill.py /tmp/phase34-bench

1. writes the real raw tables (the schedule implied by data/player_box_scores.parquet, the box
   scores, the lines as pre-tip snapshots) into a fresh lake under the given directory (not timed);
2. times ONE Dagster single-run backfill of the ten phase-3/4 assets over 2021-10-19..2024-12-15
   (1,154 partitions) on a persistent SQLite instance in a fresh DAGSTER_HOME, in-process
   executor, as `make demo` runs them;
3. times the pure transforms on the same data (``compute_phase34``), for comparison.

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

    from nba_assets.assets import analytics, precompute
    from nba_assets.io.manager import LakehouseIOManager
    from nba_assets.io.storage import LocalParquetStore, TableRef
    from nba_assets.partitions import dates_between, game_date_partitions
    from nba_assets.real_data import real_raw_tables
    from nba_assets.schemas import schema_for
    from nba_assets.transforms.features import compute_phase34

    raw_tables = ["nbac_schedule", "bdl_player_boxscores", "odds_api_player_points_props"]
    range_start, range_end = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"

    box, schedule, props = real_raw_tables()
    lake = root / "lake"
    store = LocalParquetStore(lake)
    days = dates_between(FIRST, LAST)
    for name, frame in zip(raw_tables, (schedule, box, props), strict=True):
        store.write_partitions(TableRef("nba_raw", name), frame, days, schema_for("nba_raw", name))

    started = time.perf_counter()
    tables = compute_phase34(box, schedule, props)
    transforms_s = time.perf_counter() - started

    # The phase-3/4 assets over the stored raw tables (declared as external specs).
    defs = dg.Definitions(
        assets=[
            *dg.load_assets_from_modules([analytics, precompute]),
            *[dg.AssetSpec(key=["nba_raw", t], partitions_def=game_date_partitions) for t in raw_tables],
        ],
        resources={"io_manager": LakehouseIOManager(lake_dir=str(lake))},
        executor=dg.in_process_executor,
    )
    job = defs.resolve_implicit_global_asset_job_def()
    started = time.perf_counter()
    result = job.execute_in_process(
        instance=dg.DagsterInstance.get(), tags={range_start: FIRST.isoformat(), range_end: LAST.isoformat()}
    )
    dagster_s = time.perf_counter() - started
    report = {
        "what": "phase 3+4 single-run backfill, 10 assets, raw tables already in the lake",
        "partitions": len(days),
        "dagster_single_run_backfill_s": round(dagster_s, 1),
        "pure_transforms_s": round(transforms_s, 1),
        "success": result.success,
        "rows": {name: frame.height for name, frame in tables.items()},
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
    }
    (root / "report.json").write_text(json.dumps(report, indent=1))
    return report


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/phase34-bench")), indent=1))
