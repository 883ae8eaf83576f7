"""Benchmarks of the whole graph, written to bench/results.json (``make bench``); issue 12's targets.

One ``make bench`` (this script without ``--only`` / ``--lake``) measures, in this order, each part in
its own processes with the Makefile's Dagster settings (``DAGSTER_EVENT_BATCH_SIZE``,
``DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS``, the console at INFO), and writes:

1. ``full_backfill``: ``make demo``'s work on a fresh lake and a fresh instance of the project's SQLite
   storage (``nba_assets.event_storage``): the replay archive built, ``python -m nba_assets.instance``,
   ``dg launch --assets '*' --partition-range FIRST...LAST`` and the summary, each timed; ``demo_s`` is
   their sum, ``wall_s`` the launch alone. Then the run's steps by asset group and split into window
   reads / compute / lake writes / events (``bench/step_breakdown.py``), the instance's size on disk,
   and ``event_writes``: the seconds the event log storage spent writing (the storage's
   ``write_stats_file``: one JSON line per process that wrote events, ``store_s`` summed) over the
   launch's wall. Without that file (a storage that does not write it) the share is null, and the
   record says so.
2. ``history_load`` / ``prediction_step`` on that lake: the 365-day history of ONE_DAY as one batched
   frame against one load per player (same rows checked); the prediction step from inputs in memory.
3. ``one_day_make``: the whole ``make run START=ONE_DAY END=ONE_DAY`` (``nba_assets.run``: instance file, run,
   summary) on that lake, ``--repeat`` times on a fresh instance; median.
4. ``noop_events``: a no-op asset over the FIRST..LAST daily partitions, one single-run backfill, on
   Dagster's stock SQLite storage, the project's storage (batched and with batching off) and
   PostgreSQL, side by side; speedup = stock run / project run. Then ``instance_build``: an instance
   built from its ref (what a code server does for each sensor evaluation) on the stock SQLite
   storage and the project's, side by side in one process.
5. ``full_backfill_postgres``: the same backfill (``dg launch`` only) on a fresh lake and a PostgreSQL
   instance (a local server, ``nba_assets.postgres_server.running_postgres``, default durability):
   wall, steps and the database's size.
6. ``targets``: each of issue 12's targets with its figure, the target and ``met``; a target whose
   figure is missing is not met. ``before`` keeps the earlier figures (the issue's own, earlier
   bench runs, the file's previous run); ``profile_demo_before`` is kept as it is.

A part that fails (or outlives its time limit; the whole bench keeps to ``--budget-s``) records
``{"error": ...}`` and the bench goes on. ``--first/--last/--one-day`` shorten the range for a trial
(the targets block then says ``full_range: false``). ``--lake DIR`` measures part 2 only on an existing
lake; ``--only noop_events``, ``--only instance_build``, ``--only full_backfill`` (as
``full_backfill_project_storage``) and ``--only one_day_make --lake DIR`` one part, each merged into the
existing results file.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from datetime import UTC, date, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DG = Path(sys.executable).parent / "dg"
MAKEFILE = REPO / "Makefile"
HISTORY_DAYS = 365
STARTED = time.monotonic()


def _make_var(name: str, default: str) -> str:
    """A variable of the Makefile (``NAME := v`` / ``export NAME ?= v``), so the bench runs what make does."""
    try:
        text = MAKEFILE.read_text()
    except OSError:
        return default
    match = re.search(rf"^(?:export\s+)?{name}\s*[:?]?=\s*(.+?)\s*$", text, re.MULTILINE)
    return match.group(1) if match else default


DEMO_FIRST = _make_var("DEMO_START", "2021-10-19")
DEMO_LAST = _make_var("DEMO_END", "2024-12-15")
FIRST, LAST = DEMO_FIRST, DEMO_LAST  # --first / --last
ONE_DAY = "2024-11-15"  # --one-day
RUN_CONFIG = _make_var("RUN_CONFIG", """--config-json '{"loggers": {"console": {"config": {"log_level": "INFO"}}}}'""")
RUN_CONFIG_JSON = RUN_CONFIG.split(None, 1)[1].strip("'") if RUN_CONFIG.startswith("--config-json") else "{}"
MAKE_ENV = {  # the Makefile's Dagster settings, on every part (also when run without make)
    "DAGSTER_EVENT_BATCH_SIZE": _make_var("DAGSTER_EVENT_BATCH_SIZE", "1000"),
    "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS": _make_var(
        "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS", "1"
    ),
}
NOOP_ENV = MAKE_ENV
BOX_SCORES = _make_var("BOX_SCORES", "data/player_box_scores.parquet")
LINES = _make_var("LINES", "data/player_points_lines_dfs.parquet")

# Issue 12's targets: name -> (comparison, target, what the figure is).
TARGETS: dict[str, tuple[str, float, str]] = {
    "demo_s": ("<=", 240.0, "make demo on a fresh clone, 2 cores: full_backfill.demo_s"),
    "event_write_share": ("<=", 0.20, "event writes / four-season run: full_backfill.event_writes.share_of_wall"),
    "one_day_make_s": ("<=", 6.0, "one game day, the whole make run: one_day_make.median_s"),
    "instance_mb": ("<=", 150.0, "the Dagster instance after the four-season run: full_backfill.instance_mb"),
    "noop_speedup_x": (">=", 5.0, "no-op asset, stock SQLite run / project's storage run: noop_events.speedup_x"),
    "history_speedup_x": (">=", 100.0, "batched history frame vs one load per player: history_load.speedup_x"),
}
# The figures issue 12 was filed with (its text; nothing measured here).
ISSUE_12_BEFORE = {
    "source": "issue 12 as filed (fresh clone, 2 cores)",
    "demo_s": 681.0,
    "one_day_make_s": 15.1,
    "one_day_make_median_busier_s": 24.5,
    "instance_mb": 621.0,
    "instance_by_shard_mb": {"index.db": 391.0, "run_shard": 260.0},
    "noop_400_partitions_stock_s": 12.9,
    "history_speedup_x": 179.0,
}
ISSUE_BEFORE_FIGURE = {"demo_s": 681.0, "one_day_make_s": 15.1, "instance_mb": 621.0, "history_speedup_x": 179.0}
# Time limits (s) of one process of each part; the whole bench also keeps to --budget-s.
LIMITS = {"backfill": 1200, "summary": 300, "replay": 300, "one_day": 180, "noop_side": 400}


class PartFailed(Exception):
    """A part's process failed or timed out; ``partial`` holds what it measured before."""

    def __init__(self, message: str, partial: dict | None = None):
        super().__init__(message)
        self.partial = partial or {}


def say(message: str) -> None:
    elapsed = int(time.monotonic() - STARTED)
    stamp = datetime.now(UTC).strftime("%H:%M:%S")
    print(f"[{stamp} +{elapsed // 60:02d}:{elapsed % 60:02d}] {message}", flush=True)


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def _days(first: str, last: str) -> int:
    return (date.fromisoformat(last) - date.fromisoformat(first)).days + 1


def run_timed(argv: list[str], env: dict[str, str], timeout: float, log: Path, what: str) -> float:
    """Runs ``argv`` (its own process group, output to ``log``); its wall seconds. A failure or a
    timeout (the whole group stopped) raises PartFailed with the log's tail."""
    log.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _stop_group(proc)
            raise PartFailed(f"{what}: timed out after {timeout:.0f} s; log tail: {_tail(log)}") from None
        except BaseException:
            _stop_group(proc)
            raise
    wall = round(time.perf_counter() - started, 2)
    if rc != 0:
        raise PartFailed(f"{what}: exit {rc} after {wall} s; log tail: {_tail(log)}")
    return wall


def _stop_group(proc: subprocess.Popen) -> None:
    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _tail(log: Path, chars: int = 1500) -> str:
    try:
        return log.read_text(errors="replace")[-chars:]
    except OSError:
        return ""


class Budget:
    """The whole bench's time limit: each process gets at most what is left of it."""

    def __init__(self, seconds: float):
        self.deadline = time.monotonic() + seconds

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def limit(self, cap: float) -> float:
        left = self.left()
        if left < 30:
            raise PartFailed(f"skipped: the bench's time budget is spent ({left:.0f} s left)")
        return min(cap, left)


def dg_env(lake: Path, home: Path, replay: str) -> dict[str, str]:
    """The environment of the Makefile's ``dg launch`` (its exports, the venv on PATH)."""
    venv = Path(sys.executable).parent.parent
    return {
        **os.environ,
        **MAKE_ENV,
        "NBA_REPLAY_DIR": replay,
        "NBA_LAKE_DIR": str(lake),
        "DAGSTER_HOME": str(home),
        "VIRTUAL_ENV": str(venv),
        "PATH": f"{venv / 'bin'}:{os.environ.get('PATH', '')}",
    }


def launch_range(env: dict[str, str], log: Path, timeout: float) -> float:
    argv = [
        str(DG),
        "launch",
        "--assets",
        "*",
        "--partition-range",
        f"{FIRST}...{LAST}",
        "--config-json",
        RUN_CONFIG_JSON,
    ]
    return run_timed(argv, env, timeout, log, f"dg launch {FIRST}...{LAST}")


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
    (``bench/step_breakdown.py``), and the class of the event log storage that ran it."""
    import dagster as dg

    sys.path.insert(0, str(REPO / "bench"))
    from step_breakdown import breakdown

    with dg.DagsterInstance.from_config(dagster_home) as instance:
        out = breakdown(instance)
        storage = type(instance.event_log_storage).__name__
    return {
        "run_span_s": out["run_span_s"],
        "steps_total": out["steps_total"],
        "by_group": out["by_group"],
        "event_log_storage": storage,
    }


def asset_count() -> int:
    from nba_assets.definitions import defs

    return len(list(defs.resolve_asset_graph().get_all_asset_keys()))


def write_project_instance(home: Path, stats_file: Path) -> bool:
    """The project's SQLite storage at ``home``, with the storage's ``write_stats_file`` when this
    checkout's ``write_instance`` knows that key; whether it does."""
    from nba_assets.instance import write_instance

    if "write_stats_file" in inspect.signature(write_instance).parameters:
        write_instance(home, "project", write_stats_file=stats_file)
        return True
    write_instance(home, "project")
    return False


def read_write_stats(stats_file: Path, wall_s: float, supported: bool) -> dict:
    """``event_writes``: the storage's write seconds (``store_s`` summed over the file's lines, one
    per process that wrote events) and their share of ``wall_s``; null with a note without the file."""
    out: dict = {"stats_file": "write_stats_file (nba_assets.instance.write_instance)", "wall_s": wall_s}
    if not supported:
        return {
            **out,
            "store_s": None,
            "share_of_wall": None,
            "note": "not measured: this checkout's nba_assets.instance.write_instance has no write_stats_file "
            "(the project's storage does not report its write seconds yet)",
        }
    if not stats_file.is_file():
        return {
            **out,
            "store_s": None,
            "share_of_wall": None,
            "note": f"not measured: the storage wrote no stats file ({stats_file.name} missing after the run)",
        }
    lines, bad = [], 0
    for line in stats_file.read_text().splitlines():
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            lines.append(
                {
                    "pid": int(row["pid"]),
                    "store_s": float(row["store_s"]),
                    "events": int(row["events"]),
                    "calls": int(row["calls"]),
                }
            )
        except (ValueError, KeyError, TypeError):
            bad += 1
    if not lines:
        return {**out, "store_s": None, "share_of_wall": None, "note": f"not measured: no valid line ({bad} invalid)"}
    store_s = round(sum(r["store_s"] for r in lines), 3)
    return {
        **out,
        "store_s": store_s,
        "events": sum(r["events"] for r in lines),
        "calls": sum(r["calls"] for r in lines),
        "processes": len(lines),
        "invalid_lines": bad,
        "share_of_wall": round(store_s / wall_s, 4) if wall_s else None,
        "by_process": lines,
    }


def build_replay(work: Path, budget: Budget) -> tuple[str, float]:
    """The replay archive as ``make demo`` gets it: built (``make replay``) for the default archive, the
    given one as it is otherwise (the Makefile's rule). Built into ``work``; (dir, seconds)."""
    given = os.environ.get("NBA_REPLAY_DIR")
    if given and Path(given).resolve() != (REPO / ".replay").resolve():
        return given, 0.0
    out = work / "replay"
    argv = [
        sys.executable,
        "-m",
        "nba_assets.replay",
        "build",
        "--box-scores",
        BOX_SCORES,
        "--lines",
        LINES,
        "--out",
        str(out),
    ]
    wall = run_timed(argv, {**os.environ}, budget.limit(LIMITS["replay"]), work / "replay.log", "replay build")
    return str(out), wall


def full_backfill(work: Path, budget: Budget) -> tuple[dict, Path, str]:
    """Part 1 (module docstring): ``make demo``'s work on the project's SQLite storage; (figures, lake,
    replay dir)."""
    replay, replay_s = build_replay(work, budget)
    home, lake, stats = work / "project_home", work / "project_lake", work / "write_stats.jsonl"
    env = dg_env(lake, home, replay)
    instance_s = run_timed(
        [sys.executable, "-m", "nba_assets.instance", str(home)], env, 120, work / "instance.log", "make instance"
    )
    supported = write_project_instance(home, stats)  # the same file, with the storage's write stats
    load_before = _load()
    say(f"full_backfill: dg launch {FIRST}...{LAST} on the project's SQLite storage (load {load_before}) ...")
    wall = launch_range(env, work / "project_launch.log", budget.limit(LIMITS["backfill"]))
    load_after = _load()
    say(f"  launch {wall} s")
    try:
        summary_s = run_timed(
            [sys.executable, "-m", "nba_assets.summary", "--start", FIRST, "--end", LAST],
            env,
            budget.limit(LIMITS["summary"]),
            work / "summary.log",
            "summary",
        )
    except PartFailed as exc:  # the launch's figures stay
        raise PartFailed(str(exc), {"wall_s": wall, "event_writes": read_write_stats(stats, wall, supported)}) from None
    writes = read_write_stats(stats, wall, supported)
    say(f"  summary {summary_s} s; event writes {writes['store_s']} s ({writes['share_of_wall']} of the launch)")
    by_group = step_seconds_by_group(str(home))
    split = step_split(str(home))
    events_s = split["steps_total"].get("events_s")
    figures = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "storage": "project (nba_assets.event_storage, SQLite under DAGSTER_HOME)",
        "event_log_storage": split.pop("event_log_storage"),
        "range": f"{FIRST}..{LAST}",
        "partitions": _days(FIRST, LAST),
        "assets": asset_count(),
        "demo_s": round(replay_s + instance_s + wall + summary_s, 2),
        "demo_parts_s": {
            "replay_build": replay_s,
            "make_instance": instance_s,
            "dg_launch": wall,
            "summary": summary_s,
        },
        "wall_s": wall,
        "step_s_by_group": by_group,
        "phase3_4_s": round(by_group.get("analytics", 0.0) + by_group.get("precompute", 0.0), 1),
        "step_split_s": split,
        "steps_events_share_of_wall": round(events_s / wall, 4) if events_s is not None and wall else None,
        "instance_mb": _dir_mb(home),
        "event_writes": writes,
        "settings": MAKE_ENV,
        "load_avg_1m_before": load_before,
        "load_avg_1m_after": load_after,
        "how": "make demo's steps, each timed, on a fresh lake and instance: replay build, python -m "
        "nba_assets.instance, dg launch --assets '*' --partition-range FIRST...LAST (the Makefile's env and run "
        "config), nba_assets.summary; demo_s is their sum (make's own overhead aside). instance_mb: the files "
        "under DAGSTER_HOME. event_writes.share_of_wall: the storage's own write seconds (write_stats_file) / "
        "the launch's wall; steps_events_share_of_wall: the steps' events_s (step_breakdown) / the same wall",
    }
    return figures, lake, replay


def full_backfill_postgres(work: Path, replay: str, budget: Budget) -> dict:
    """Part 5 (module docstring): the backfill on a fresh lake and a PostgreSQL instance."""
    from nba_assets.instance import write_instance
    from nba_assets.postgres_server import running_postgres

    home, lake = work / "postgres_home", work / "postgres_lake"
    budget.limit(LIMITS["backfill"])  # a spent budget: no server started
    with running_postgres(durable=True) as url:
        write_instance(home, "postgres", url)
        env = dg_env(lake, home, replay)
        load_before = _load()
        say(f"full_backfill_postgres: dg launch {FIRST}...{LAST} on PostgreSQL (load {load_before}) ...")
        wall = launch_range(env, work / "postgres_launch.log", budget.limit(LIMITS["backfill"]))
        load_after = _load()
        db_mb = _postgres_mb(url)
        say(f"  launch {wall} s, database {db_mb} MB")
        by_group = step_seconds_by_group(str(home))
        split = step_split(str(home))
    return {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "storage": "postgres (dagster-postgres; a local PostgreSQL server, fsync and synchronous_commit on)",
        "event_log_storage": split.pop("event_log_storage"),
        "range": f"{FIRST}..{LAST}",
        "partitions": _days(FIRST, LAST),
        "wall_s": wall,
        "step_s_by_group": by_group,
        "step_split_s": split,
        "database_mb": db_mb,
        "settings": MAKE_ENV,
        "load_avg_1m_before": load_before,
        "load_avg_1m_after": load_after,
        "how": "dg launch --assets '*' --partition-range FIRST...LAST (the Makefile's env and run config) on a "
        "fresh lake and a fresh PostgreSQL database; database_mb: pg_database_size after the run",
    }


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
            "target_x": TARGETS["history_speedup_x"][1],
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


def _ratio(figures: dict, side: str) -> float | None:
    stock, other = figures.get("stock", {}).get("run_s"), figures.get(side, {}).get("run_s")
    return round(stock / other, 1) if stock and other else None


def noop_events(budget: Budget | None = None) -> dict:
    """Part 4 (see the module docstring). A side that fails records its error; the others still run."""
    from nba_assets.instance import write_instance
    from nba_assets.postgres_server import running_postgres

    budget = budget or Budget(3600)
    budget.limit(LIMITS["noop_side"])  # a spent budget: no server started
    figures: dict = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "load_avg_1m_before": _load(),
    }
    work = Path(tempfile.mkdtemp(prefix="nba-bench-noop-"))
    try:
        with running_postgres(durable=True) as url:
            for side, storage, overrides in NOOP_SIDES:
                home = work / side
                write_instance(home, storage, url if storage == "postgres" else None)
                env = {**os.environ, **NOOP_ENV, **overrides}
                say(f"noop_events on {side} ...")
                log = work / f"{side}.log"
                try:
                    wall = run_timed(
                        [sys.executable, __file__, "--noop-child", str(home), "--first", FIRST, "--last", LAST],
                        env,
                        budget.limit(LIMITS["noop_side"]),
                        log,
                        f"noop_events on {side}",
                    )
                    child = json.loads(log.read_text().strip().splitlines()[-1])
                except (PartFailed, ValueError, IndexError) as exc:
                    figures[side] = {"error": str(exc)}
                    say(f"  FAILED: {str(exc)[:300]}")
                    continue
                child["wall_s"] = wall
                child["instance_mb"] = _postgres_mb(url) if storage == "postgres" else _dir_mb(home)
                child["load_avg_1m_after"] = _load()
                if overrides:
                    child["env"] = overrides
                figures[side] = child
                say(f"  run {child['run_s']} s, process {wall} s, {child['instance_mb']} MB")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {
        "noop_events": {
            "range": f"{FIRST}..{LAST}",
            "settings": NOOP_ENV,
            **figures,
            "speedup_x": _ratio(figures, "project"),
            "speedup_postgres_x": _ratio(figures, "postgres"),
            "speedup_unbatched_x": _ratio(figures, "project_unbatched"),
            "target_x": TARGETS["noop_speedup_x"][1],
            "how": "a no-op asset, one single-run backfill of the range's daily partitions per storage, each in a "
            "fresh process (dg.materialize, in-process executor) on a fresh instance; run_s is the run, wall_s the "
            "process; speedups are stock run_s / run_s; instance_mb the DAGSTER_HOME files (SQLite) or "
            "pg_database_size (PostgreSQL: fsync and synchronous_commit on); load_avg: the machine's 1-minute "
            "load (2 cores shared: the stock figure grows most with it)",
        }
    }


def instance_build(repeat: int = 30) -> dict:
    """How long building an instance from its ref takes (what a code server does for each sensor
    evaluation, and every process once), on the stock SQLite storage and the project's, side by
    side in this process: ``repeat`` builds of each (after one), each reading a run and disposed."""
    import dagster as dg

    from nba_assets.instance import write_instance

    work = Path(tempfile.mkdtemp(prefix="nba-bench-instance-"))
    figures: dict = {"repeat": repeat, "load_avg_1m_before": _load()}
    try:
        refs = {}
        for side in ("stock", "project"):
            write_instance(work / side, side)
            with dg.DagsterInstance.from_config(str(work / side)) as instance:
                instance.add_run(dg.DagsterRun(job_name="a_job", run_id=f"{side}-run"))
                refs[side] = instance.get_ref()
        for side, ref in [*refs.items(), *refs.items()]:  # alternately, the second round counted
            started = time.perf_counter()
            for _ in range(repeat):
                instance = dg.DagsterInstance.from_ref(ref)
                assert [r.run_id for r in instance.get_runs(limit=1)] == [f"{side}-run"]
                instance.dispose()
            figures[side] = {"ms_per_build": round((time.perf_counter() - started) / repeat * 1000, 1)}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    stock, project = figures["stock"]["ms_per_build"], figures["project"]["ms_per_build"]
    say(f"  instance from its ref: stock {stock} ms, project {project} ms")
    return {
        "instance_build": {
            **figures,
            "speedup_x": round(stock / project, 1) if project else None,
            "how": "DagsterInstance.from_ref + get_runs(limit=1) + dispose, repeat times per storage, on instances "
            "nba_assets.instance writes (stock SQLite, the project's) holding one run; both sides in one process",
        }
    }


def full_backfill_only() -> dict:
    """The full backfill alone (``--only full_backfill``) on the project's storage, as
    ``full_backfill_project_storage``: part 1's figures (demo_s, steps, instance, event writes)."""
    work = Path(tempfile.mkdtemp(prefix="nba-bench-full-"))
    try:
        figures, _, _ = full_backfill(work, Budget(LIMITS["backfill"] + 600))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {"full_backfill_project_storage": figures}


def one_day_make(lake: Path, repeat: int, replay: str | None = None, budget: Budget | None = None) -> dict:
    """``make run START=ONE_DAY END=ONE_DAY`` (the whole target: instance file, run, summary) on a
    lake that holds the full backfill, ``repeat`` times on a fresh instance (one for the repeats); the
    wall of each and the split of the last run's steps (``--only one_day_make --lake DIR``)."""
    budget = budget or Budget(3600)
    work = Path(tempfile.mkdtemp(prefix="nba-bench-day-"))
    runs, loads = [], []
    try:
        env = {**os.environ, "NBA_LAKE_DIR": str(lake.resolve()), "DAGSTER_HOME": str(work / "dagster_home")}
        if replay:
            env["NBA_REPLAY_DIR"] = replay
        for i in range(repeat):
            loads.append(_load())
            try:
                runs.append(
                    run_timed(
                        ["make", "--no-print-directory", "run", f"START={ONE_DAY}", f"END={ONE_DAY}"],
                        env,
                        budget.limit(LIMITS["one_day"]),
                        work / f"run{i + 1}.log",
                        f"make run {ONE_DAY} (run {i + 1})",
                    )
                )
            except PartFailed as exc:
                raise PartFailed(str(exc), {"partition": ONE_DAY, "runs_s": runs}) from None
            say(f"make run {ONE_DAY} run {i + 1}: {runs[-1]} s (load {loads[-1]})")
        split = step_split(env["DAGSTER_HOME"])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {
        "one_day_make": {
            "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "partition": ONE_DAY,
            "runs_s": runs,
            "median_s": statistics.median(runs),
            "target_s": TARGETS["one_day_make_s"][1],
            "load_avg_1m_before_each": loads,
            "last_run_step_split_s": split,
            "how": "make run START=D END=D on a lake holding the full backfill, fresh DAGSTER_HOME; wall of the "
            "whole target (python -m nba_assets.run: instance file, the run dg launch starts, summary); "
            "run_span_s is RUN_START..RUN_SUCCESS in the event log",
        }
    }


def _get(results: dict, path: str):
    node = results
    for key in path.split("."):
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


TARGET_FIGURES = {  # target -> where its figure is in the results
    "demo_s": "full_backfill.demo_s",
    "event_write_share": "full_backfill.event_writes.share_of_wall",
    "one_day_make_s": "one_day_make.median_s",
    "instance_mb": "full_backfill.instance_mb",
    "noop_speedup_x": "noop_events.speedup_x",
    "history_speedup_x": "history_load.speedup_x",
}


def targets_block(results: dict) -> dict:
    """Each of issue 12's targets: the figure of this run, the target, met (a missing figure is not met)."""
    full_range = (FIRST, LAST) == (DEMO_FIRST, DEMO_LAST)
    rows: dict = {}
    for name, (op, target, what) in TARGETS.items():
        figure = _get(results, TARGET_FIGURES[name])
        figure = figure if isinstance(figure, int | float) and not isinstance(figure, bool) else None
        met = figure is not None and (figure <= target if op == "<=" else figure >= target)
        row = {"figure": figure, "target": target, "op": op, "met": met, "what": what}
        if name in ISSUE_BEFORE_FIGURE:
            row["before_issue_12"] = ISSUE_BEFORE_FIGURE[name]
        if figure is None:
            row["note"] = "not measured in this run (see the part's error or note)"
        rows[name] = row
    block = {
        "range": f"{FIRST}..{LAST}",
        "full_range": full_range,
        "all_met": all(r["met"] for r in rows.values()),
        **rows,
    }
    if not full_range:
        block["note"] = f"a trial range, not {DEMO_FIRST}..{DEMO_LAST}: the figures do not show the targets"
    return block


KEPT_AS_THEY_ARE = ("before", "profile_demo_before")


def with_before(previous: dict, results: dict) -> dict:
    """``results`` plus the ``before`` block: the file's earlier ``before`` and ``profile_demo_before``
    kept as they are, the issue's own figures, and the file's previous run (its other top-level
    figures) under ``before.bench_<its measured_at>``."""
    before = dict(previous.get("before") or {})
    before.setdefault("issue_12_as_filed", ISSUE_12_BEFORE)
    rest = {k: v for k, v in previous.items() if k not in KEPT_AS_THEY_ARE}
    if rest:
        stamp = str(rest.get("measured_at", "undated"))
        before.setdefault(f"bench_{stamp}", rest)
    out = {**results, "before": before}
    for key in KEPT_AS_THEY_ARE[1:]:
        if key in previous:
            out[key] = previous[key]
    return out


def _merge_into(out: Path, figures: dict) -> None:
    merged = {**json.loads(out.read_text()), **figures} if out.exists() else figures
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(merged, indent=1) + "\n")


def part(results: dict, name: str, fn, *args):
    """Runs one part; its figures into ``results`` (keyed as it returns them), or ``{name: {"error"}}``."""
    say(f"== {name}")
    started = time.perf_counter()
    try:
        value = fn(*args)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # SystemExit too: a part's failure must not end the bench
        partial = exc.partial if isinstance(exc, PartFailed) else {}
        results[name] = {
            **partial,
            "error": f"{type(exc).__name__}: {exc}"[:4000],
            "traceback_tail": traceback.format_exc()[-1500:] if not isinstance(exc, PartFailed) else None,
        }
        say(f"== {name} FAILED after {time.perf_counter() - started:.0f} s: {str(exc)[:300]}")
        return None
    say(f"== {name} done in {time.perf_counter() - started:.0f} s")
    return value


def bench(args: argparse.Namespace) -> dict:
    """One ``make bench``: parts 1-5 and the targets (module docstring)."""
    budget = Budget(args.budget_s)
    results: dict = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "commit": _commit(),
        "range": f"{FIRST}..{LAST}",
        "one_day": ONE_DAY,
        "load_avg_1m_at_start": _load(),
    }
    work = Path(tempfile.mkdtemp(prefix="nba-bench-"))
    try:
        got = part(results, "full_backfill", full_backfill, work, budget)
        lake, replay = None, None
        if got:
            results["full_backfill"], lake, replay = got
        if lake is not None:
            pred = part(results, "history_load", prediction_figures, lake, args.repeat)
            if pred:
                results.update(pred)
            day = part(results, "one_day_make", one_day_make, lake, args.repeat, replay, budget)
            if day:
                results.update(day)
            shutil.rmtree(lake, ignore_errors=True)  # disk: the PostgreSQL run writes its own lake
        else:
            for name in ("history_load", "one_day_make"):
                results[name] = {"error": "skipped: full_backfill failed (no lake to run on)"}
        noop = part(results, "noop_events", noop_events, budget)
        if noop:
            results.update(noop)
        built = part(results, "instance_build", instance_build)
        if built:
            results.update(built)
        if replay is None:
            replay = os.environ.get("NBA_REPLAY_DIR") or str(REPO / ".replay")
        pg = part(results, "full_backfill_postgres", full_backfill_postgres, work, replay, budget)
        if pg:
            results["full_backfill_postgres"] = pg
    finally:
        shutil.rmtree(work, ignore_errors=True)
    results["bench_s"] = round(time.monotonic() - STARTED, 1)
    results["targets"] = targets_block(results)
    results["how"] = (
        "one make bench (bench/run_bench.py): each part in its own processes with the Makefile's Dagster settings; "
        "wall clock; the machine is shared (load_avg figures): ratios are side by side, seconds follow the load"
    )
    return results


def _commit() -> str | None:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def main() -> None:
    global FIRST, LAST, ONE_DAY
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results.json")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--first", default=DEMO_FIRST, help=f"first partition (default the demo's, {DEMO_FIRST})")
    parser.add_argument("--last", default=DEMO_LAST, help=f"last partition (default the demo's, {DEMO_LAST})")
    parser.add_argument("--one-day", default=ONE_DAY, help=f"the game day of one_day_make / history_load ({ONE_DAY})")
    parser.add_argument("--budget-s", type=float, default=2280.0, help="the whole bench's time limit (38 min)")
    parser.add_argument("--lake", type=Path, help="measure history_load / prediction_step only, on this lake")
    parser.add_argument(
        "--only",
        choices=["noop_events", "instance_build", "full_backfill", "one_day_make"],
        help="measure this benchmark only (merged into --out); one_day_make needs --lake",
    )
    parser.add_argument("--noop-child", metavar="DAGSTER_HOME", help=argparse.SUPPRESS)
    args = parser.parse_args()
    FIRST, LAST, ONE_DAY = args.first, args.last, args.one_day
    for day in (FIRST, LAST, ONE_DAY):
        date.fromisoformat(day)
    if not FIRST <= ONE_DAY <= LAST:
        parser.error(f"--one-day {ONE_DAY} is outside {FIRST}..{LAST}")

    if args.noop_child:
        noop_child(args.noop_child)
        return
    if args.only == "noop_events":
        figures = noop_events()
        print(json.dumps(figures, indent=1))
        _merge_into(args.out, figures)
        return
    if args.only == "instance_build":
        figures = instance_build()
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
            _merge_into(args.out, figures)
        return

    say(f"make bench: {FIRST}..{LAST}, one day {ONE_DAY}, repeat {args.repeat}, budget {args.budget_s:.0f} s")
    results = bench(args)
    previous = json.loads(args.out.read_text()) if args.out.exists() else {}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(with_before(previous, results), indent=1) + "\n")
    print(json.dumps(results["targets"], indent=1))
    say(f"wrote {args.out} ({results['bench_s']} s)")


if __name__ == "__main__":
    main()
