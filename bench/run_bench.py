"""Benchmarks of the whole graph, written to bench/results.json (``make bench``).

1. full_backfill: the whole asset graph over 2021-10-19..2024-12-15 in one single-run backfill
   (``dg launch --partition-range``) into a fresh lake and a fresh Dagster instance; with the
   seconds of each asset group's steps in that run (``step_s_by_group``; ``phase3_4_s`` is
   analytics + precompute).
2. one_day: the whole graph for one game day (``dg launch --partition``) on that lake, repeated;
   median and all runs reported.

3. history_load: on that lake, the history the prediction step needs for ONE_DAY (365 days of
   player_game_summary strictly before it) loaded once as one batched frame (what the IO manager
   does) against one load per expected player over the same window and players (what a
   per-player lookup costs); the two must return the same rows.
4. prediction_step: the prediction step of ONE_DAY (six systems, P(over), calls) from inputs
   already in memory, repeated; median reported.

5. noop_events: a no-op asset over the 1,154 daily partitions of the full backfill, one single-run
   backfill, on Dagster's stock SQLite storage, on the project's storage (nba_assets/event_storage.py)
   and on PostgreSQL (a local server started for it, default durability), side by side in one bench
   run with the same Dagster settings (DAGSTER_EVENT_BATCH_SIZE, DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS,
   in-process executor, console at INFO): the seconds of the run, of its process, the ratio
   stock / project and the instance's size on disk. It measures Dagster's event writes alone.

Figures 1-2 are wall-clock seconds of the ``dg launch`` process; 3-4 are timed in this process.
``--lake DIR`` measures 3-4 only, on an existing lake (full backfill done), without dg launch.
``--only noop_events`` measures 5 only, ``--only full_backfill`` 1 only (as
``full_backfill_project_storage``, with the instance's size), ``--only one_day_make --lake DIR`` the whole
``make run`` of ONE_DAY on that lake (fresh instance), each merged into the existing results file.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DG = Path(sys.executable).parent / "dg"
FIRST, LAST = "2021-10-19", "2024-12-15"
ONE_DAY = "2024-11-15"
TARGETS = {"full_backfill_s": 300.0, "one_day_s": 15.0, "history_speedup_x": 100.0, "noop_speedup_x": 5.0}
HISTORY_DAYS = 365


def launch(env: dict[str, str], *args: str) -> float:
    started = time.perf_counter()
    proc = subprocess.run(
        [str(DG), "launch", "--assets", "*", *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-4000:])
        raise SystemExit(f"dg launch {' '.join(args)} failed (exit {proc.returncode})")
    return round(elapsed, 2)


def step_seconds_by_group(dagster_home: str) -> dict[str, float]:
    """Seconds per asset group (sum of its steps' durations) in the instance's latest run."""
    import dagster as dg

    from nba_assets.definitions import defs

    graph = defs.resolve_asset_graph()
    group_of = {"__".join(key.path): graph.get(key).group_name for key in graph.get_all_asset_keys()}
    with dg.DagsterInstance.from_config(dagster_home) as instance:
        run = instance.get_runs(limit=1)[0]
        by_group: dict[str, float] = {}
        for step in instance.get_run_step_stats(run.run_id):
            if step.start_time is None or step.end_time is None:
                continue
            group = group_of.get(step.step_key, "other")
            by_group[group] = round(by_group.get(group, 0.0) + step.end_time - step.start_time, 1)
    return by_group


def step_split(dagster_home: str) -> dict:
    """The latest run's step seconds split into window reads / compute / lake writes / events, by group
    (``bench/step_breakdown.py``)."""
    import dagster as dg

    sys.path.insert(0, str(REPO / "bench"))
    from step_breakdown import breakdown

    with dg.DagsterInstance.from_config(dagster_home) as instance:
        out = breakdown(instance)
    return {"run_span_s": out["run_span_s"], "steps_total": out["steps_total"], "by_group": out["by_group"]}


def asset_count() -> int:
    from nba_assets.definitions import defs

    return len(list(defs.resolve_asset_graph().get_all_asset_keys()))


def prediction_figures(lake: Path, repeat: int = 3) -> dict:
    """history_load and prediction_step on a lake that holds the full backfill."""
    import json as _json
    from datetime import date, timedelta

    import polars as pl

    from nba_assets.facts import week_of
    from nba_assets.io.model_store import ModelStore
    from nba_assets.io.storage import LocalParquetStore, TableRef
    from nba_assets.partitions import dates_between
    from nba_assets.predictors.systems import predict_days
    from nba_assets.schemas import schema_for

    store = LocalParquetStore(lake)
    day = date.fromisoformat(ONE_DAY)
    window = dates_between(day - timedelta(days=HISTORY_DAYS), day - timedelta(days=1))
    summary = TableRef("nba_analytics", "player_game_summary")
    schema = schema_for("nba_analytics", "player_game_summary")
    features = store.read_window(
        TableRef("nba_precompute", "ml_feature_store"), [day], schema_for("nba_precompute", "ml_feature_store")
    )
    players = sorted(features["player_id"].unique().to_list())

    started = time.perf_counter()
    batched = store.read_window(summary, window, schema)
    batched_s = time.perf_counter() - started

    files = [str(store.partition_file(summary, d)) for d in window if store.partition_file(summary, d).is_file()]
    started = time.perf_counter()
    per_player = [pl.scan_parquet(files).filter(pl.col("player_id") == pid).collect() for pid in players]
    per_player_s = time.perf_counter() - started
    merged = pl.concat(per_player).cast(dict(schema))
    key = ["game_date", "game_id", "player_id"]
    expected = batched.filter(pl.col("player_id").is_in(players))
    if not merged.sort(key).equals(expected.sort(key)):
        raise SystemExit("per-player and batched history loads differ")

    models_store = ModelStore(lake)
    week = week_of(day)
    models = {
        "lightgbm_v1": {week: models_store.read("nba_predictions", "points_model_lightgbm", week)},
        "xgboost_v1": {week: models_store.read("nba_predictions", "points_model_xgboost", week)},
    }
    cal = models_store.read("nba_predictions", "system_calibration", week)
    if cal is None or any(v[week] is None for v in models.values()):
        raise SystemExit(f"the lake at {lake} has no models / calibration for the week of {ONE_DAY}")
    calibrations = {week: _json.loads(cal.read("calibration.json"))}
    props = store.read_window(
        TableRef("nba_raw", "odds_api_player_points_props"),
        [day],
        schema_for("nba_raw", "odds_api_player_points_props"),
    )
    runs, rows = [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        frame = predict_days(features, props, batched, models, calibrations, created_at=datetime.now(UTC))
        runs.append(round(time.perf_counter() - started, 3))
        rows = frame.height
    return {
        "history_load": {
            "day": ONE_DAY,
            "window_days": HISTORY_DAYS,
            "players": len(players),
            "rows": expected.height,
            "batched_s": round(batched_s, 4),
            "per_player_s": round(per_player_s, 3),
            "speedup_x": round(per_player_s / batched_s, 1),
            "target_x": TARGETS["history_speedup_x"],
            "how": "one LocalParquetStore.read_window of the 365 partitions vs one parquet scan per player "
            "over the same files; same rows checked",
        },
        "prediction_step": {
            "day": ONE_DAY,
            "players": len(players),
            "prediction_rows": rows,
            "runs_s": runs,
            "median_s": statistics.median(runs),
            "how": "predict_days (six systems, calibrated P(over), calls) on inputs in memory",
        },
    }


NOOP_ENV = {  # the Makefile's settings, on every side
    "DAGSTER_EVENT_BATCH_SIZE": "1000",
    "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS": "1",
}
# (name, storage written by nba_assets.instance, env overrides): "project_unbatched" is the project's
# storage with batching off (engines kept, one write per event), to split the gain in two.
NOOP_SIDES = (
    ("stock", "stock", {}),
    ("project", "project", {}),
    ("project_unbatched", "project", {"DAGSTER_EVENT_BATCH_SIZE": "0"}),
    ("postgres", "postgres", {}),
)


def noop_child(home: str) -> None:
    """In a fresh process: the no-op asset's single-run backfill over FIRST..LAST on the instance at
    ``home``; prints one JSON line of figures."""
    started = time.perf_counter()
    import dagster as dg

    days = dg.DailyPartitionsDefinition(start_date=FIRST)  # open-ended, like the project's assets
    keys = [k for k in days.get_partition_keys() if k <= LAST]

    @dg.asset(partitions_def=days, backfill_policy=dg.BackfillPolicy.single_run())
    def noop() -> None:
        return None

    config = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}
    tags = {"dagster/asset_partition_range_start": keys[0], "dagster/asset_partition_range_end": keys[-1]}
    with dg.DagsterInstance.from_config(home) as instance:
        run_started = time.perf_counter()
        result = dg.materialize([noop], instance=instance, tags=tags, run_config=config)
        run_s = time.perf_counter() - run_started
        materialized = len(instance.get_materialized_partitions(noop.key))
        events = len(instance.all_logs(result.run_id))
        stats = dict(getattr(instance.event_log_storage, "batch_stats", {}))
        storage_class = type(instance.event_log_storage).__name__
    print(
        json.dumps(
            {
                "partitions": len(keys),
                "materialized": materialized,
                "run_events": events,
                "run_s": round(run_s, 2),
                "process_s": round(time.perf_counter() - started, 2),
                "event_log_storage": storage_class,
                "batch_stats": stats,
                "success": result.success,
            }
        )
    )


def _dir_mb(path: Path) -> float:
    return round(sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6, 2)


def _postgres_mb(url: str) -> float:
    import sqlalchemy as db

    engine = db.create_engine(url)
    with engine.connect() as conn:
        size = conn.execute(db.text("select pg_database_size(current_database())")).scalar()
    engine.dispose()
    return round(size / 1e6, 2)


def noop_events() -> dict:
    """Figure 5 (see the module docstring)."""
    sys.path.insert(0, str(REPO))
    from nba_assets.instance import write_instance
    from nba_assets.postgres_server import running_postgres

    figures: dict = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "load_avg_1m_before": round(os.getloadavg()[0], 2),
    }
    work = Path(tempfile.mkdtemp(prefix="nba-bench-noop-"))
    try:
        with running_postgres(durable=True) as url:
            for side, storage, overrides in NOOP_SIDES:
                home = work / side
                write_instance(home, storage, url if storage == "postgres" else None)
                env = {**os.environ, **NOOP_ENV, **overrides}
                print(f"noop_events on {side} ...", flush=True)
                started = time.perf_counter()
                proc = subprocess.run(
                    [sys.executable, __file__, "--noop-child", str(home)],
                    cwd=REPO,
                    env=env,
                    capture_output=True,
                    text=True,
                )
                wall = round(time.perf_counter() - started, 2)
                if proc.returncode != 0:
                    sys.stderr.write(proc.stderr[-4000:])
                    raise SystemExit(f"noop_events on {side} failed (exit {proc.returncode})")
                child = json.loads(proc.stdout.strip().splitlines()[-1])
                child["wall_s"] = wall
                child["instance_mb"] = _postgres_mb(url) if storage == "postgres" else _dir_mb(home)
                child["load_avg_1m_after"] = round(os.getloadavg()[0], 2)
                if overrides:
                    child["env"] = overrides
                figures[side] = child
                print(f"  run {child['run_s']} s, process {wall} s, {child['instance_mb']} MB", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {
        "noop_events": {
            "range": f"{FIRST}..{LAST}",
            "settings": NOOP_ENV,
            **figures,
            "speedup_x": round(figures["stock"]["run_s"] / figures["project"]["run_s"], 1),
            "speedup_postgres_x": round(figures["stock"]["run_s"] / figures["postgres"]["run_s"], 1),
            "speedup_unbatched_x": round(figures["stock"]["run_s"] / figures["project_unbatched"]["run_s"], 1),
            "target_x": TARGETS["noop_speedup_x"],
            "how": "a no-op asset, one single-run backfill of 1,154 partitions per storage, each in a fresh "
            "process (dg.materialize, in-process executor) on a fresh instance; run_s is the run, wall_s the "
            "process; speedups are stock run_s / run_s; instance_mb the DAGSTER_HOME files (SQLite) or "
            "pg_database_size (PostgreSQL: fsync and synchronous_commit on); load_avg: the machine's 1-minute "
            "load (2 cores shared: the stock figure grows most with it)",
        }
    }


def full_backfill_only() -> dict:
    """The full backfill alone (``--only full_backfill``) on the instance ``nba_assets.instance`` writes
    (the project's storage), with the Makefile's Dagster settings; kept beside the full bench's figure."""
    replay = os.environ.get("NBA_REPLAY_DIR") or str(REPO / ".replay")
    work = Path(tempfile.mkdtemp(prefix="nba-bench-full-"))
    try:
        env = {
            **os.environ,
            **NOOP_ENV,
            "NBA_REPLAY_DIR": replay,
            "NBA_LAKE_DIR": str(work / "lake"),
            "DAGSTER_HOME": str(work / "dagster_home"),
        }
        subprocess.run(
            [sys.executable, "-m", "nba_assets.instance", env["DAGSTER_HOME"]], check=True, stdout=subprocess.DEVNULL
        )
        load_before = round(os.getloadavg()[0], 2)
        print(f"full backfill {FIRST}..{LAST} ...", flush=True)
        full = launch(env, "--partition-range", f"{FIRST}...{LAST}")
        print(f"  {full} s", flush=True)
        by_group = step_seconds_by_group(env["DAGSTER_HOME"])
        split = step_split(env["DAGSTER_HOME"])
        instance_mb = _dir_mb(work / "dagster_home")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {
        "full_backfill_project_storage": {
            "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "range": f"{FIRST}..{LAST}",
            "partitions": 1154,
            "assets": asset_count(),
            "wall_s": full,
            "target_s": TARGETS["full_backfill_s"],
            "step_s_by_group": by_group,
            "phase3_4_s": round(by_group.get("analytics", 0.0) + by_group.get("precompute", 0.0), 1),
            "instance_mb": instance_mb,
            "step_split_s": split,
            "settings": NOOP_ENV,
            "load_avg_1m_before": load_before,
            "load_avg_1m_after": round(os.getloadavg()[0], 2),
            "how": "dg launch --assets '*' --partition-range, fresh lake and instance (the project's storage)",
        }
    }


def one_day_make(lake: Path, repeat: int) -> dict:
    """``make run START=ONE_DAY END=ONE_DAY`` (the whole target: instance file, dg launch, summary) on a
    lake that holds the full backfill, ``repeat`` times on a fresh instance; the wall of each and the
    split of the last run's steps (``--only one_day_make --lake DIR``)."""
    work = Path(tempfile.mkdtemp(prefix="nba-bench-day-"))
    runs, loads = [], []
    try:
        env = {**os.environ, "NBA_LAKE_DIR": str(lake.resolve()), "DAGSTER_HOME": str(work / "dagster_home")}
        for i in range(repeat):
            loads.append(round(os.getloadavg()[0], 2))
            started = time.perf_counter()
            proc = subprocess.run(
                ["make", "--no-print-directory", "run", f"START={ONE_DAY}", f"END={ONE_DAY}"],
                cwd=REPO,
                env=env,
                capture_output=True,
                text=True,
            )
            runs.append(round(time.perf_counter() - started, 2))
            if proc.returncode != 0:
                sys.stderr.write(proc.stderr[-4000:])
                raise SystemExit(f"make run {ONE_DAY} failed (exit {proc.returncode})")
            print(f"make run {ONE_DAY} run {i + 1}: {runs[-1]} s (load {loads[-1]})", flush=True)
        split = step_split(env["DAGSTER_HOME"])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {
        "one_day_make": {
            "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "partition": ONE_DAY,
            "runs_s": runs,
            "median_s": statistics.median(runs),
            "load_avg_1m_before_each": loads,
            "last_run_step_split_s": split,
            "how": "make run START=D END=D on a lake holding the full backfill, fresh DAGSTER_HOME; wall of the "
            "whole target (instance file, dg launch, summary); run_span_s is RUN_START..RUN_SUCCESS in the event log",
        }
    }


def _merge_into(out: Path, figures: dict) -> None:
    merged = {**json.loads(out.read_text()), **figures} if out.exists() else figures
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(merged, indent=1) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results.json")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--lake", type=Path, help="measure history_load / prediction_step only, on this lake")
    parser.add_argument(
        "--only",
        choices=["noop_events", "full_backfill", "one_day_make"],
        help="measure this benchmark only (merged into --out); one_day_make needs --lake",
    )
    parser.add_argument("--noop-child", metavar="DAGSTER_HOME", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.noop_child:
        noop_child(args.noop_child)
        return
    if args.only == "noop_events":
        figures = noop_events()
        print(json.dumps(figures, indent=1))
        _merge_into(args.out, figures)
        return
    if args.only == "one_day_make":
        if not args.lake:
            raise SystemExit("--only one_day_make needs --lake DIR (a lake holding the full backfill)")
        figures = one_day_make(args.lake, args.repeat)
        print(json.dumps(figures, indent=1))
        _merge_into(args.out, figures)
        return
    if args.only == "full_backfill":
        figures = full_backfill_only()
        print(json.dumps(figures, indent=1))
        _merge_into(args.out, figures)
        return

    if args.lake:
        figures = prediction_figures(args.lake, args.repeat)
        print(json.dumps(figures, indent=1))
        if args.out.exists():  # keep the other figures of the file
            merged = {**json.loads(args.out.read_text()), **figures}
            args.out.write_text(json.dumps(merged, indent=1) + "\n")
        return

    replay = os.environ.get("NBA_REPLAY_DIR") or str(REPO / ".replay")
    work = Path(tempfile.mkdtemp(prefix="nba-bench-"))
    try:
        env = {
            **os.environ,
            "NBA_REPLAY_DIR": replay,
            "NBA_LAKE_DIR": str(work / "lake"),
            "DAGSTER_HOME": str(work / "dagster_home"),
            **NOOP_ENV,  # the Makefile's Dagster settings, also when run without make
        }
        subprocess.run(
            [sys.executable, "-m", "nba_assets.instance", env["DAGSTER_HOME"]], check=True, stdout=subprocess.DEVNULL
        )
        print(f"full backfill {FIRST}..{LAST} ...", flush=True)
        full = launch(env, "--partition-range", f"{FIRST}...{LAST}")
        print(f"  {full} s", flush=True)
        by_group = step_seconds_by_group(env["DAGSTER_HOME"])
        split = step_split(env["DAGSTER_HOME"])
        instance_mb = _dir_mb(work / "dagster_home")
        figures = prediction_figures(work / "lake", args.repeat)
        print(json.dumps(figures, indent=1), flush=True)
        one_day = []
        for i in range(args.repeat):
            one_day.append(launch(env, "--partition", ONE_DAY))
            print(f"one day {ONE_DAY} run {i + 1}: {one_day[-1]} s", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    figures.update(noop_events())

    results = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "full_backfill": {
            "range": f"{FIRST}..{LAST}",
            "partitions": 1154,
            "assets": asset_count(),
            "wall_s": full,
            "target_s": TARGETS["full_backfill_s"],
            "step_s_by_group": by_group,
            "phase3_4_s": round(by_group.get("analytics", 0.0) + by_group.get("precompute", 0.0), 1),
            "step_split_s": split,
            "instance_mb_after_backfill": instance_mb,
        },
        "one_day": {
            "partition": ONE_DAY,
            "runs_s": one_day,
            "median_s": statistics.median(one_day),
            "target_s": TARGETS["one_day_s"],
        },
        "how": "dg launch --assets '*' (in-process executor), fresh lake and instance; wall clock",
        **figures,
    }
    _merge_into(args.out, results)  # figures measured alone (--only ...) stay beside these
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
