"""Writes the Dagster instance configuration (``$DAGSTER_HOME/dagster.yaml``).

One concurrency pool per API, so a backfill never runs two steps against the same API at once.
The daemon (``dg dev`` / ``dagster-daemon run``) evaluates the automation condition sensors (one per
phase, in parallel threads), the edge sensors and schedules, the freshness checks' sensor and the
alert sensors; run monitoring marks runs whose worker died as failed (the failure alert fires).

Storage: by default the embedded SQLite instance under ``$DAGSTER_HOME`` through the project's
``nba_assets.event_storage.NbaSqliteStorage`` (Dagster's layout; the event log keeps its engines and
writes a batch of events in one transaction when ``DAGSTER_EVENT_BATCH_SIZE`` > 0, which the Makefile
sets). ``--stock-sqlite`` writes Dagster's own SQLite storage instead; ``--postgres-url URL`` the
production instance on PostgreSQL (``dagster-postgres``; docs/production.md).

    python -m nba_assets.instance DIR [--stock-sqlite | --postgres-url postgresql://user:pw@host:5432/db]

Without a flag, ``NBA_DAGSTER_POSTGRES_URL`` (when set) selects PostgreSQL, so ``make instance`` (run by
``make dev`` / ``make run``) keeps a production instance on PostgreSQL instead of rewriting it to SQLite.
A file that holds a PostgreSQL URL is written readable by its owner only (the URL may hold a password).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sqlite3
from pathlib import Path

POOLS = ("nba_cdn", "balldontlie", "odds_api")

DAGSTER_YAML = """\
# Written by `make setup` / `make instance` (nba_assets/instance.py). Local, embedded instance.
telemetry:
  enabled: false
concurrency:
  pools:
    default_limit: 1
    granularity: op
  runs:
    max_concurrent_runs: 2
# The run queue (the limit above) is read every second instead of Dagster's 5 s: a run a sensor,
# an automation condition or the UI submits starts ~2.5 s sooner on average.
run_coordinator:
  module: dagster._core.run_coordinator
  class: QueuedRunCoordinator
  config:
    dequeue_interval_seconds: 1
# Declarative automation through AutomationConditionSensorDefinitions (nba_assets/sensors.py),
# evaluated in threads so one phase's slow evaluation does not hold back the others.
auto_materialize:
  enabled: true
  use_sensors: true
  use_threads: true
  num_workers: 4
sensors:
  use_threads: true
  num_workers: 4
schedules:
  use_threads: true
  num_workers: 2
# FreshnessPolicy states for the UI (player_prop_predictions, exports/predictions_json).
freshness:
  enabled: true
run_monitoring:
  enabled: true
  poll_interval_seconds: 60
  # The daemon frees the pool slots a run still holds 60 s after it ended (a crashed step's).
  free_slots_after_run_end_seconds: 60
"""


STORAGES = ("project", "stock", "postgres", "postgres_stock")


def psycopg2_url(url: str) -> str:
    """``postgresql://`` spelled with the driver dagster-postgres requires (psycopg2-binary):
    SQLAlchemy 2.1 maps a bare ``postgresql://`` to psycopg 3, which is not installed."""
    for bare in ("postgresql://", "postgres://"):
        if url.startswith(bare):
            return "postgresql+psycopg2://" + url[len(bare) :]
    return url


def storage_yaml(
    home: Path, storage: str = "project", postgres_url: str | None = None, write_stats_file: Path | None = None
) -> str:
    """The ``storage:`` block (the only storage key: Dagster refuses the legacy ``event_log_storage:``
    beside it). ``write_stats_file`` (project storage only): where each process appends the seconds
    it spent writing events (the bench's event-write share)."""
    if storage == "project":
        stats = f"      write_stats_file: {json.dumps(str(write_stats_file))}\n" if write_stats_file else ""
        return (
            "# The project's SQLite storage (nba_assets/event_storage.py): Dagster's layout under base_dir,\n"
            "# engines kept, a batch of events in one transaction (DAGSTER_EVENT_BATCH_SIZE > 0), event\n"
            "# bodies stored zlib-compressed (only this storage reads them), one planned row per asset\n"
            "# check and run (the project has no partitioned checks), commits that do not wait for the disk's\n"
            "# flush (synchronous: NORMAL; the lake's own files are not flushed either).\n"
            "storage:\n"
            "  custom:\n"
            "    module: nba_assets.event_storage\n"
            "    class: NbaSqliteStorage\n"
            "    config:\n"
            f"      base_dir: {json.dumps(str(home))}\n"
            "      compress_events: true\n"
            "      one_plan_per_check: true\n"
            "      synchronous: NORMAL\n" + stats
        )
    if storage == "stock":
        return f"# Dagster's stock SQLite storage.\nstorage:\n  sqlite:\n    base_dir: {json.dumps(str(home))}\n"
    if storage in ("postgres", "postgres_stock"):
        if not postgres_url:
            raise ValueError(f"storage {storage!r} needs a postgres_url")
        postgres_url = psycopg2_url(postgres_url)
        if storage == "postgres_stock":
            return (
                "# dagster-postgres's stock storage (comparison).\n"
                f"storage:\n  postgres:\n    postgres_url: {json.dumps(postgres_url)}\n"
            )
        return (
            "# The production instance: runs, event log and schedules in PostgreSQL (dagster-postgres), with\n"
            "# one planned row per asset check and run (nba_assets/postgres_storage.py).\n"
            "storage:\n"
            "  custom:\n"
            "    module: nba_assets.postgres_storage\n"
            "    class: NbaPostgresStorage\n"
            "    config:\n"
            f"      postgres_url: {json.dumps(postgres_url)}\n"
            "      one_plan_per_check: true\n"
        )
    raise ValueError(f"unknown storage {storage!r}; one of {STORAGES}")


def write_instance(
    home: Path, storage: str = "project", postgres_url: str | None = None, write_stats_file: Path | None = None
) -> Path:
    home = home.resolve()
    home.mkdir(parents=True, exist_ok=True)
    path = home / "dagster.yaml"
    path.write_text(DAGSTER_YAML + storage_yaml(home, storage, postgres_url, write_stats_file))
    if storage.startswith("postgres"):
        path.chmod(0o600)
    return path


def _process_alive(pid: int) -> bool:
    """Whether ``pid`` is a live process of this machine (a zombie is dead; not ours to signal is alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


def _run_pids(instance, run_id: str) -> set[int]:
    """The process ids that wrote the run's events (the run's own process, and its step processes)."""
    return {r.dagster_event.pid for r in instance.all_logs(run_id) if r.dagster_event and r.dagster_event.pid}


def free_dead_run_slots(instance) -> list[str]:
    """Frees the concurrency-pool slots of every run that holds some but whose process is gone.

    A run killed with ``kill -9`` (or whose machine lost power) never releases its pool slot, and
    the next run's step then waits forever at ``Step blocked by limit for pool``. For each run that
    holds (or waits for) slots: a finished run's slots are freed; a run still marked in progress
    whose every event-writing process has exited is marked failed (``report_run_failed``) and its
    slots freed. Local instances only (SQLite under ``$DAGSTER_HOME``: every run is a process of
    this machine); a PostgreSQL instance is left to the daemon's run monitoring. A pid since reused
    by another process counts as alive (the safe side: the slot stays held). Returns the run ids
    freed. ``make run`` / ``make dev`` / ``make demo`` call it first (``python -m nba_assets.instance``).
    """
    import dagster as dg
    from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

    storage = instance.event_log_storage
    if not isinstance(storage, SqliteEventLogStorage) or not storage.supports_global_concurrency_limits:
        return []
    freed = []
    for run_id in sorted(storage.get_concurrency_run_ids()):
        run = instance.get_run_by_id(run_id)
        if run is not None and not run.is_finished:
            pids = _run_pids(instance, run_id)
            if not pids or any(_process_alive(pid) for pid in pids):
                continue  # running (or not started yet): its slots are its own
            instance.report_run_failed(
                run, f"the run's process (pid {', '.join(map(str, sorted(pids)))}) is gone: its pool slots are freed"
            )
        storage.free_concurrency_slots_for_run(run_id)
        freed.append(run_id)
    if freed:
        dg.get_dagster_logger().warning(f"freed the pool slots of {len(freed)} dead run(s): {', '.join(freed)}")
    return freed


def free_dead_slots_in(home: Path) -> list[str]:
    """``free_dead_run_slots`` on the instance of ``home``, when it has a local storage already."""
    if not (home / "history").is_dir() and not (home / "storage").is_dir():
        return []
    import dagster as dg

    with dg.DagsterInstance.from_config(str(home.resolve())) as instance:
        return free_dead_run_slots(instance)


def _no_run_holds_slots(home: Path) -> bool:
    """True when the local instance of ``home`` certainly has no run holding or waiting for a pool
    slot: its event log's index (``history/runs/index.db``, Dagster's SQLite layout, the project's
    storage as the stock one) is absent or its ``pending_steps`` table, the rows
    ``get_concurrency_run_ids`` reads, is empty. Read with ``sqlite3`` only (no Dagster import:
    ~1 s of every ``make run``). Anything unexpected (no such table, a locked file) says False, and
    the caller asks Dagster as before."""
    index = home / "history" / "runs" / "index.db"
    if not index.exists():  # no event log yet (Dagster would create an empty one)
        return True
    try:
        with contextlib.closing(sqlite3.connect(f"{index.resolve().as_uri()}?mode=ro", uri=True, timeout=5)) as conn:
            return conn.execute("SELECT 1 FROM pending_steps LIMIT 1").fetchone() is None
    except sqlite3.Error:
        return False


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="write $DAGSTER_HOME/dagster.yaml")
    parser.add_argument("home", nargs="?", default=".dagster_home", type=Path)
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--postgres-url", help="PostgreSQL instance (postgresql://user:password@host:port/db)")
    which.add_argument("--stock-sqlite", action="store_true", help="Dagster's own SQLite storage (comparison)")
    args = parser.parse_args(argv)
    postgres_url = args.postgres_url or (None if args.stock_sqlite else os.environ.get("NBA_DAGSTER_POSTGRES_URL"))
    storage = "postgres" if postgres_url else "stock" if args.stock_sqlite else "project"
    print(f"dagster instance: {write_instance(args.home, storage, postgres_url)} ({storage} storage)")
    if not storage.startswith("postgres") and not _no_run_holds_slots(args.home):
        freed = free_dead_slots_in(args.home)
        if freed:
            print(f"freed the pool slots of {len(freed)} run(s) whose process is gone: {', '.join(freed)}")


if __name__ == "__main__":
    main()
