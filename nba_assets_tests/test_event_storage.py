"""Contract test of the Dagster instance's storage (nba_assets/event_storage.py, nba_assets/instance.py).

The same partitioned runs (ranged single-run backfills and one-partition runs; successes, a failed
step, asset checks that pass and fail; per-partition planned events and Dagster's one-per-asset
planned subsets) on Dagster's stock SQLite storage, on the project's storage and on a real
PostgreSQL server this test starts, then what the UI reads of them compared across the three:
materializations, latest materialization, partition statuses (materialized / failed / in progress
through the partition status cache), asset check executions, asset records, run records and each
run's events. The project's storage must run as its own class and take the batch path.

The project's storage writes less than the stock one: event bodies zlib-compressed (the view must
still be the stock one, every part of it), and with ``one_plan_per_check`` one planned row per asset
check and run instead of Dagster's one per partition of the run, which for a check without
partitions never resolve (the view then differs from stock exactly by those stale PLANNED rows).

The assets are small synthetic no-op assets defined here: they test the storage, not the data.
"""

import contextlib
import importlib
import os
import sqlite3
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
from dagster._core.events import DagsterEventType

from nba_assets import event_storage
from nba_assets.instance import write_instance
from nba_assets.postgres_server import PG_BIN, binaries_present, running_postgres

START = "2024-10-01"
DAYS = dg.DailyPartitionsDefinition(start_date=START, end_date="2024-11-15")
KEYS = DAYS.get_partition_keys()
POISON = {KEYS[10], KEYS[16]}  # downstream fails on these days
BAD_CHECK = {KEYS[2], KEYS[11], KEYS[17]}  # the partitioned check fails on these days


@dg.asset(
    partitions_def=DAYS,
    backfill_policy=dg.BackfillPolicy.single_run(),
    check_specs=[dg.AssetCheckSpec("in_step", asset="upstream")],
)
def upstream(context: dg.AssetExecutionContext):
    return dg.MaterializeResult(
        metadata={"days": len(context.partition_keys)},
        check_results=[dg.AssetCheckResult(check_name="in_step", passed=True)],
    )


@dg.asset_check(asset=upstream, partitions_def=DAYS)
def upstream_day_ok(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
    bad = sorted(set(context.partition_keys) & BAD_CHECK)
    return dg.AssetCheckResult(passed=not bad, metadata={"bad": ",".join(bad)})


@dg.asset(partitions_def=DAYS, backfill_policy=dg.BackfillPolicy.single_run(), deps=[upstream])
def downstream(context: dg.AssetExecutionContext) -> None:
    poisoned = sorted(set(context.partition_keys) & POISON)
    if poisoned:
        raise RuntimeError(f"poisoned partitions {poisoned}")
    context.add_output_metadata({"first": context.partition_keys[0]})


ASSETS = [upstream, upstream_day_ok, downstream]
ASSET_KEYS = [upstream.key, downstream.key]
CHECK_KEYS = [dg.AssetCheckKey(upstream.key, "in_step"), dg.AssetCheckKey(upstream.key, "upstream_day_ok")]

# (first, last, DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS): the runs, in order
RUNS = [
    (KEYS[0], KEYS[5], ""),  # success, per-partition planned events (one batch)
    (KEYS[6], KEYS[6], ""),  # one partition
    (KEYS[7], KEYS[12], ""),  # downstream fails (POISON): its 6 partitions failed
    (KEYS[10], KEYS[10], ""),  # one partition, downstream fails
    (KEYS[13], KEYS[18], "1"),  # planned subsets (the Makefile's setting), downstream fails
    (KEYS[2], KEYS[3], ""),  # rerun over materialized partitions
]


# The console logger at WARNING (the events still reach the instance at DEBUG): pytest's log capture
# of Dagster's DEBUG lines costs more than the runs.
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def run_scenario(instance: dg.DagsterInstance) -> None:
    for first, last, subset in RUNS:
        previous = os.environ.get("DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS")
        os.environ["DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS"] = subset
        try:
            tags = (
                {"dagster/partition": first}
                if first == last
                else {"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last}
            )
            dg.materialize(ASSETS, instance=instance, tags=tags, run_config=QUIET, raise_on_error=False)
        finally:
            if previous is None:
                os.environ.pop("DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS")
            else:
                os.environ["DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS"] = previous


def ui_view(instance: dg.DagsterInstance) -> dict:
    """What the UI reads, with run ids replaced by the run's position (storages differ in ids)."""
    records = instance.get_run_records(ascending=True)
    run_no = {
        record.dagster_run.run_id: i for i, record in enumerate(sorted(records, key=lambda r: r.create_timestamp))
    }
    view: dict = {"runs": [], "assets": {}, "checks": {}}
    for record in sorted(records, key=lambda r: run_no[r.dagster_run.run_id]):
        run = record.dagster_run
        events = instance.all_logs(run.run_id)
        view["runs"].append(
            {
                "status": run.status.value,
                "tags": {k: v for k, v in run.tags.items() if k.startswith("dagster/") and "partition" in k},
                "asset_selection": sorted(k.to_user_string() for k in run.asset_selection or []),
                "events": sorted(Counter(e.dagster_event_type.value for e in events if e.is_dagster_event).items()),
                "step_stats": sorted(
                    (s.step_key, s.status.value if s.status else None) for s in instance.get_run_step_stats(run.run_id)
                ),
                "partitions_materialized": sorted(
                    (e.dagster_event.asset_key.to_user_string(), e.dagster_event.partition)
                    for e in events
                    if e.dagster_event_type == DagsterEventType.ASSET_MATERIALIZATION
                ),
            }
        )
    for key in ASSET_KEYS:
        status = instance.get_status_by_partition(key, KEYS, DAYS)
        latest = instance.get_latest_materialization_event(key)
        history = instance.fetch_materializations(key, limit=1000).records
        asset_record = instance.get_asset_records([key])[0]
        planned = instance.event_log_storage.get_latest_planned_materialization_info(key)
        view["assets"][key.to_user_string()] = {
            "materialized": sorted(instance.get_materialized_partitions(key)),
            "status": {k: (v.value if v else None) for k, v in (status or {}).items()},
            "latest": (run_no[latest.run_id], latest.dagster_event.partition) if latest else None,
            "latest_metadata": (
                {k: v.value for k, v in latest.asset_materialization.metadata.items()} if latest else None
            ),
            "history": [(run_no[r.run_id], r.partition_key) for r in history],
            "last_run": run_no.get(asset_record.asset_entry.last_run_id) if asset_record else None,
            "last_materialization_run": (
                run_no[asset_record.asset_entry.last_materialization.run_id]
                if asset_record and asset_record.asset_entry.last_materialization
                else None
            ),
            "latest_planned_run": run_no[planned.run_id] if planned else None,
            "failed_attempts": sorted(
                instance.event_log_storage.get_latest_asset_partition_materialization_attempts_without_materializations(
                    key
                )
            ),
        }
    for check_key in CHECK_KEYS:
        executions = instance.event_log_storage.get_asset_check_execution_history(check_key, limit=1000)
        view["checks"][check_key.to_user_string()] = sorted(
            (
                run_no[e.run_id],
                e.status.value,
                e.partition if hasattr(e, "partition") else None,
                e.event.dagster_event.asset_check_evaluation_data.passed
                if e.event and e.event.dagster_event_type == DagsterEventType.ASSET_CHECK_EVALUATION
                else None,
            )
            for e in executions
        )
    view["asset_keys"] = sorted(k.to_user_string() for k in instance.all_asset_keys())
    return view


def _page_size(path: Path) -> int:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return conn.execute("PRAGMA page_size").fetchone()[0]


def _index_state(path: Path) -> dict:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return {
            "schema": sorted(conn.execute("select type, name, sql from sqlite_master").fetchall()),
            "alembic": conn.execute("select version_num from alembic_version").fetchall(),
            "migrations": sorted(r[0] for r in conn.execute("select name from secondary_indexes")),
        }


def _instance(tmp_path: Path, storage: str, postgres_url: str | None = None) -> dg.DagsterInstance:
    """``storage``: stock, project (as ``make instance`` writes it), project_per_partition_plans (the
    project's storage with Dagster's per-partition check plans: ``one_plan_per_check: false``),
    postgres (as ``--postgres-url`` writes it) or postgres_stock (dagster-postgres's own)."""
    home = tmp_path / storage
    if storage == "project_per_partition_plans":
        path = write_instance(home, "project")
        text = path.read_text()
        assert "one_plan_per_check: true" in text
        path.write_text(text.replace("one_plan_per_check: true", "one_plan_per_check: false"))
    else:
        write_instance(home, storage, postgres_url)
    return dg.DagsterInstance.from_config(str(home))


def _stale_plans(checks: dict, finished_runs: set[int]) -> dict:
    """The rows of the check histories that are PLANNED with a partition in a run that has finished."""
    return {
        key: [row for row in rows if row[1] == "PLANNED" and row[2] is not None and row[0] in finished_runs]
        for key, rows in checks.items()
    }


@pytest.fixture(scope="module")
def postgres_url():
    if not binaries_present():
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI: the PostgreSQL server binaries are missing in {PG_BIN} (.ci/run installs postgresql)")
        pytest.skip(f"PostgreSQL server binaries not in {PG_BIN} (apt-get install postgresql)")
    with running_postgres() as url:
        yield url


@pytest.fixture(autouse=True)
def _batching(monkeypatch):
    monkeypatch.setenv("DAGSTER_EVENT_BATCH_SIZE", "1000")


def test_dagster_internals_the_storage_relies_on_exist():
    from nba_assets import run  # make run's launch (nba_assets/run.py) relies on one as well

    for dotted in (*event_storage.DAGSTER_INTERNALS, *run.DAGSTER_INTERNALS):
        parts = dotted.split(".")
        for split in range(len(parts) - 1, 0, -1):
            try:
                obj = importlib.import_module(".".join(parts[:split]))
            except ModuleNotFoundError:
                continue
            for attr in parts[split:]:
                obj = getattr(obj, attr)  # AttributeError names what a Dagster upgrade moved
            break
        else:
            pytest.fail(f"{dotted}: no importable module")


def test_an_instance_on_stamped_databases_opens_them_as_the_stock_storage_does(tmp_path, monkeypatch):
    """NbaSqliteStorage sets what the stock constructor sets, on the same files; on run and schedule
    databases already stamped it skips the stock ``check_alembic_revision`` (alembic loads every
    migration script for the head revision), and an instance built there sees the same runs."""
    from dagster._core.storage.runs.sqlite import sqlite_run_storage
    from dagster._core.storage.schedules.sqlite import sqlite_schedule_storage
    from dagster._core.storage.sqlite_storage import DagsterSqliteStorage

    revisions: list[tuple] = []
    for module in (sqlite_run_storage, sqlite_schedule_storage):
        stock_check = module.check_alembic_revision

        def counted(config, conn, stock_check=stock_check):
            revisions.append(stock_check(config, conn))
            return revisions[-1]

        monkeypatch.setattr(module, "check_alembic_revision", counted)

    with _instance(tmp_path, "project") as instance:  # new databases: the stock path creates them
        assert len(revisions) == 2 and all(head for _, head in revisions), revisions
        instance.add_run(dg.DagsterRun(job_name="a_job", run_id="run-one"))
        base = str(tmp_path / "project")
    stock = DagsterSqliteStorage(str(tmp_path / "stock_layout"))
    ours = event_storage.NbaSqliteStorage(base)
    assert set(vars(stock)) <= set(vars(ours)), set(vars(stock)) - set(vars(ours))
    assert len(revisions) == 4  # the stock storage checked; the project's, on stamped files, did not
    assert isinstance(ours.run_storage, type(stock.run_storage))
    assert isinstance(ours.schedule_storage, type(stock.schedule_storage))
    for mine, theirs in ((ours.run_storage, stock.run_storage), (ours.schedule_storage, stock.schedule_storage)):
        assert mine._conn_string == theirs._conn_string.replace(str(tmp_path / "stock_layout"), base)
    heads = {head for _, head in revisions}
    for db_file in (Path(base) / "history" / "runs.db", Path(base) / "schedules" / "schedules.db"):
        with contextlib.closing(sqlite3.connect(db_file)) as conn:  # stamped at the head the stock check found
            assert conn.execute("select version_num from alembic_version").fetchone()[0] in heads, db_file
    with dg.DagsterInstance.from_config(base) as again:
        assert [r.run_id for r in again.get_runs()] == ["run-one"]
    assert len(revisions) == 4

    # One engine per storage and process, on threads that also connect again while connected (the
    # pool opens more connections than it keeps: none waits for another).
    runs = ours.run_storage
    engine = runs._kept_engine()

    def nested(i: int) -> int:
        with runs.connect() as outer:
            runs.add_run(dg.DagsterRun(job_name="a_job", run_id=f"thread-{i}"))  # connects again
            return outer.execute(sa.text("select count(*) from runs")).scalar()

    with ThreadPoolExecutor(max_workers=12) as pool:
        counts = list(pool.map(nested, range(24), timeout=60))
    assert min(counts) >= 1 and runs._kept_engine() is engine
    assert len(runs.get_runs()) == 25
    stock.dispose()
    ours.dispose()


def test_instance_runs_the_configured_storage_class(tmp_path):
    with _instance(tmp_path, "project") as instance:
        assert type(instance.event_log_storage) is event_storage.BatchingSqliteEventLogStorage
        assert instance.get_ref().storage_data.class_name == "NbaSqliteStorage"
        # Dagster's default layout under DAGSTER_HOME: an existing instance keeps its history
        assert (tmp_path / "project" / "history" / "runs" / "index.db").is_file()
        # the run queue: read every second, two runs at a time (the daemon reads the latter from
        # the concurrency settings)
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        assert instance.run_coordinator.dequeue_interval_seconds == 1
        assert instance.get_concurrency_config().run_queue_config.max_concurrent_runs == 2
    with _instance(tmp_path, "stock") as instance:
        assert type(instance.event_log_storage) is dg._core.storage.event_log.SqliteEventLogStorage
    # A new index shard (created with the project's page size) is initialized as the stock one is:
    # the same tables and indexes, the same alembic revision, the same data migrations marked done.
    index = {storage: tmp_path / storage / "history" / "runs" / "index.db" for storage in ("project", "stock")}
    assert _page_size(index["project"]) == event_storage.PAGE_SIZE and _page_size(index["stock"]) == 4096
    assert _index_state(index["project"]) == _index_state(index["stock"])


def _synchronous_levels(instance: dg.DagsterInstance) -> set[int]:
    """PRAGMA synchronous of the event log's connections (index shard and a run shard)."""
    storage = instance.event_log_storage
    levels = set()
    for shard in (event_storage.INDEX_SHARD_NAME, "some-run"):
        with storage._connect(shard) as conn:
            levels.add(conn.exec_driver_sql("PRAGMA synchronous").scalar())
    return levels


def test_the_event_log_commits_with_the_configured_synchronous_level(tmp_path):
    # As make instance writes it: NORMAL (1), and the instance a daemon or code server builds from
    # its ref carries the option too; without the option, SQLite's default FULL (2), as stock.
    with _instance(tmp_path, "project") as instance:
        assert _synchronous_levels(instance) == {1}
        with dg.DagsterInstance.from_ref(instance.get_ref()) as rebuilt:
            assert type(rebuilt.event_log_storage) is event_storage.BatchingSqliteEventLogStorage
            assert _synchronous_levels(rebuilt) == {1}
    home = tmp_path / "project"
    text = (home / "dagster.yaml").read_text()
    assert "      synchronous: NORMAL\n" in text
    (home / "dagster.yaml").write_text(text.replace("      synchronous: NORMAL\n", ""))
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert _synchronous_levels(instance) == {2}
    (home / "dagster.yaml").write_text(text.replace("synchronous: NORMAL", "synchronous: EXTRA"))
    with pytest.raises(Exception, match="synchronous must be one of"):
        dg.DagsterInstance.from_config(str(home)).event_log_storage  # noqa: B018


def _body_types(home: Path) -> Counter:
    """typeof(event) over the event_logs rows of every shard (text: JSON; blob: compressed)."""
    kinds: Counter = Counter()
    for shard in (home / "history" / "runs").glob("*.db"):
        with contextlib.closing(sqlite3.connect(shard)) as conn:
            kinds.update(dict(conn.execute("select typeof(event), count(*) from event_logs group by 1").fetchall()))
    return kinds


def _database(url: str, name: str) -> str:
    """A new database ``name`` on the server of ``url``; its URL."""
    import psycopg2

    conn = psycopg2.connect(url.replace("postgresql+psycopg2://", "postgresql://"))
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
    finally:
        conn.close()
    return url.rsplit("/", 1)[0] + f"/{name}"


def test_same_ui_view_on_stock_project_and_postgres(tmp_path, postgres_url):
    from nba_assets.postgres_storage import OnePlanPostgresEventLogStorage

    views = {}
    storages = ("stock", "project_per_partition_plans", "project", "postgres_stock", "postgres")
    urls = {"postgres_stock": _database(postgres_url, "stock_storage"), "postgres": _database(postgres_url, "project")}
    for storage in storages:
        with _instance(tmp_path, storage, urls.get(storage)) as instance:
            if storage == "postgres":  # the production instance runs the project's event log class
                assert type(instance.event_log_storage) is OnePlanPostgresEventLogStorage
                assert instance.event_log_storage._one_plan_per_check is True
            run_scenario(instance)
            views[storage] = ui_view(instance)
            if storage.startswith("project"):
                stats = instance.event_log_storage.batch_stats
                assert stats["batches"] >= len(RUNS) and stats["batched_events"] > 0, stats
                assert stats["failed_batches"] == 0 and stats["fallback_batches"] == 0, stats
                # every body compressed on disk, and read back as the stock storage reads its JSON
                assert set(_body_types(tmp_path / storage)) == {"blob"}, _body_types(tmp_path / storage)
            if not storage.startswith("postgres"):  # the shards: the project's larger pages, stock's SQLite default
                shards = sorted((tmp_path / storage / "history" / "runs").glob("*.db"))
                assert len(shards) == len(RUNS) + 1, shards  # one per run and the index shard
                expected = event_storage.PAGE_SIZE if storage.startswith("project") else 4096
                assert {shard.name: _page_size(shard) for shard in shards} == {s.name: expected for s in shards}
    assert set(_body_types(tmp_path / "stock")) == {"text"}
    stock = views["stock"]
    # the scenario did what it says, on the stock storage
    assert [run["status"] for run in stock["runs"]] == [
        "SUCCESS",
        "SUCCESS",
        "FAILURE",
        "FAILURE",
        "FAILURE",
        "SUCCESS",
    ]
    statuses = stock["assets"]["downstream"]["status"]
    assert statuses[KEYS[7]] == "FAILED" and statuses[KEYS[0]] == "MATERIALIZED"
    assert any(not passed for *_, passed in stock["checks"]["upstream:upstream_day_ok"] if passed is not None)
    for storage in ("project_per_partition_plans", "postgres_stock"):
        for part in ("runs", "assets", "checks", "asset_keys"):
            assert views[storage][part] == stock[part], f"{storage}: {part} differs from the stock storage"
    # PostgreSQL as the project configures it: what the project's SQLite storage shows (below)
    assert views["postgres"] == views["project"]
    # The project's storage as configured: the same view, except the stale per-partition plans.
    project = views["project"]
    for part in ("runs", "assets", "asset_keys"):
        assert project[part] == stock[part], f"project: {part} differs from the stock storage"
    finished = {i for i, run in enumerate(stock["runs"]) if run["status"] in ("SUCCESS", "FAILURE")}
    assert finished == set(range(len(RUNS)))
    stale = _stale_plans(stock["checks"], finished)
    # Dagster's stock rows: every ranged run leaves one PLANNED row per partition of the unpartitioned
    # in-step check (evaluated once, without partition, in a row of its own beside them)
    ranged = [i for i, (first, last, _) in enumerate(RUNS) if first != last]
    in_step = stock["checks"]["upstream:in_step"]
    assert len(stale["upstream:in_step"]) == sum(
        len(DAYS.get_partition_keys_in_range(dg.PartitionKeyRange(RUNS[i][0], RUNS[i][1]))) for i in range(len(RUNS))
    ), stale["upstream:in_step"]
    assert [row for row in in_step if row[1] == "SUCCEEDED"] == [(i, "SUCCEEDED", None, True) for i in range(len(RUNS))]
    assert ranged and not _stale_plans(project["checks"], finished)["upstream:in_step"]
    for key, rows in stock["checks"].items():
        assert project["checks"][key] == [row for row in rows if row not in stale[key]], key
    # the unpartitioned check: one row per run, completed by its evaluation
    assert project["checks"]["upstream:in_step"] == [(i, "SUCCEEDED", None, True) for i in range(len(RUNS))]


def test_one_batch_of_planned_events_above_the_parameter_limit(tmp_path, monkeypatch):
    """A run's planned events arrive as one batch: 4,699 per-partition planned events, written in
    statements of at most MAX_ROWS_PER_STATEMENT rows (one statement would exceed SQLite's default
    bound-parameter limit, 32,766 / 7 columns per row)."""
    monkeypatch.setenv("DAGSTER_EVENT_BATCH_SIZE", "100000")
    monkeypatch.delenv("DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS", raising=False)
    many = dg.DailyPartitionsDefinition(start_date="2011-01-01", end_date="2023-11-13")
    keys = many.get_partition_keys()
    assert len(keys) > 32766 // 7 and len(keys) > event_storage.MAX_ROWS_PER_STATEMENT

    @dg.asset(partitions_def=many, backfill_policy=dg.BackfillPolicy.single_run())
    def wide() -> None:
        return None

    with _instance(tmp_path, "project") as instance:
        tags = {"dagster/asset_partition_range_start": keys[0], "dagster/asset_partition_range_end": keys[-1]}
        assert dg.materialize([wide], instance=instance, tags=tags, run_config=QUIET).success
        stats = instance.event_log_storage.batch_stats
        assert stats["failed_batches"] == 0 and stats["batches"] == 2, stats  # planned, materializations
        assert stats["batched_events"] == 2 * len(keys)
        chunks = -(-len(keys) // event_storage.MAX_ROWS_PER_STATEMENT)
        assert stats["index_insert_statements"] == 2 * chunks, stats
        assert instance.get_materialized_partitions(wide.key) == set(keys)
        status = instance.get_status_by_partition(wide.key, keys, many)
        assert set(status.values()) == {dg.AssetPartitionStatus.MATERIALIZED}


def test_a_failed_batch_leaves_no_rows_behind(tmp_path):
    """When the index write of a batch fails (here a real SQLite error: the index shard lost its
    asset_check_executions table), the run shard's rows of the batch are rolled back too, so Dagster's
    fallback (one store_event per event) cannot duplicate them; the failure is counted."""
    import sqlite3

    from dagster._core.events import BATCH_WRITABLE_EVENTS

    with _instance(tmp_path, "project") as source:
        tags = {"dagster/asset_partition_range_start": KEYS[0], "dagster/asset_partition_range_end": KEYS[4]}
        result = dg.materialize([upstream, upstream_day_ok], instance=source, tags=tags, run_config=QUIET)
        batch = [e for e in source.all_logs(result.run_id) if e.dagster_event_type in BATCH_WRITABLE_EVENTS]
    kinds = Counter(e.dagster_event_type for e in batch)
    assert kinds[DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED] and kinds[DagsterEventType.ASSET_MATERIALIZATION]

    def rows(db_file: Path) -> int:
        with sqlite3.connect(db_file) as conn:
            return conn.execute("select count(*) from event_logs").fetchone()[0]

    with _instance(tmp_path / "target", "project") as target:
        storage = target.event_log_storage
        shards = tmp_path / "target" / "project" / "history" / "runs"
        with sqlite3.connect(shards / "index.db") as conn:
            conn.execute("drop table asset_check_executions")
        with pytest.raises(Exception, match="asset_check_executions"):
            storage.store_event_batch(batch)
        assert storage.batch_stats["failed_batches"] == 1 and storage.batch_stats["batches"] == 0
        assert rows(shards / f"{result.run_id}.db") == 0
        assert rows(shards / "index.db") == 0


def _shard_state(path: Path) -> dict:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return {
            "schema": sorted(conn.execute("select type, name, sql from sqlite_master").fetchall()),
            "alembic": conn.execute("select version_num from alembic_version").fetchall(),
            "journal_mode": conn.execute("PRAGMA journal_mode").fetchone()[0],
            "page_size": conn.execute("PRAGMA page_size").fetchone()[0],
            "rows": conn.execute("select count(*) from event_logs").fetchone()[0],
        }


def test_a_new_run_shard_is_the_template_copy_of_what_initdb_makes(tmp_path):
    """New run shards are copied from one empty shard made by ``_initdb`` (per Dagster version): the
    same tables, indexes, alembic stamp, WAL mode and page size as a shard ``_initdb`` makes itself;
    the template is no run (``get_all_run_ids``); a shard that exists is left as it is."""
    storage = event_storage.BatchingSqliteEventLogStorage(str(tmp_path / "runs"))
    with storage._shard_transaction("run-a"):
        pass
    template = Path(storage._run_shard_template())
    assert template.name == f"{event_storage.RUN_SHARD_TEMPLATE_PREFIX}{dg.__version__}.sqlite"
    assert not list(template.parent.glob("*.tmp*"))
    made = tmp_path / "made.db"  # what _initdb itself makes of a new file
    engine = event_storage.db.create_engine(f"sqlite:///{made}", poolclass=event_storage.db.pool.NullPool)
    storage._initdb(engine)
    engine.dispose()
    copied = Path(storage.path_for_shard("run-a"))
    assert _shard_state(copied) == _shard_state(made) == {**_shard_state(made), "journal_mode": "wal", "rows": 0}
    assert _shard_state(made)["alembic"] and _shard_state(made)["page_size"] == event_storage.PAGE_SIZE
    assert sorted(storage.get_all_run_ids()) == ["run-a"]
    # A shard with rows is never replaced by the template.
    with storage._shard_transaction("run-a") as conn:
        table = event_storage.SqlEventLogStorageTable
        conn.execute(table.insert().values(run_id="run-a", event="{}", dagster_event_type=None))
    fresh = event_storage.BatchingSqliteEventLogStorage(str(tmp_path / "runs"))
    with fresh._shard_transaction("run-a"):
        pass
    assert _shard_state(copied)["rows"] == 1
    storage.dispose()
    fresh.dispose()
