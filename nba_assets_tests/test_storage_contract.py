"""One storage contract, every backend: the local Parquet lake, BigQuery on the emulator, live BigQuery.

The same tests run against ``LocalParquetStore`` and ``BigQueryStore``:
- the BigQuery emulator (``local-bigquery`` on 127.0.0.1, DuckDB inside; marker ``bigquery``),
  started once per session by the ``bq_emulator`` fixture and stopped at the end;
- real BigQuery when ``GOOGLE_CLOUD_PROJECT`` and Application Default Credentials are present
  (marker ``integration``; datasets ``nba_test_<random>_*`` are created and dropped).
Rows are cut from the real box scores in ``data/``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import date

import dagster as dg
import polars as pl
import pytest

from nba_assets import ddl
from nba_assets.io import storage as storage_module
from nba_assets.io.storage import LocalParquetStore, StorageError, TableRef
from nba_assets.partitions import dates_between
from nba_assets.schemas import TABLES, schema_for

from . import bq_emulator
from .conftest import local_lake, raw_box_from_box_scores

TABLE = TableRef("nba_raw", "bdl_player_boxscores")
SCHEMA = schema_for("nba_raw", "bdl_player_boxscores")
KEYS = ("game_date", "game_id", "player_id")


def _live_skip_reason() -> str | None:
    if not os.environ.get("GOOGLE_CLOUD_PROJECT"):
        return "live BigQuery: GOOGLE_CLOUD_PROJECT is not set (opt-in: set it and Application Default Credentials)"
    try:
        import google.auth

        google.auth.default()
    except Exception as exc:  # no credentials on this machine
        return f"live BigQuery: no Application Default Credentials ({type(exc).__name__})"
    return None


# ------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def bq_emulator_endpoint(tmp_path_factory) -> Iterator[str]:
    missing = bq_emulator.missing_packages()
    if missing:
        pytest.skip(f"BigQuery emulator packages not installed: {missing} (run make setup)")
    emulator = bq_emulator.start(tmp_path_factory.mktemp("bq-emulator"))
    try:
        yield emulator.endpoint
    finally:
        emulator.stop()


def _bigquery_store(settings):
    from nba_assets.io.bigquery import BigQueryStore

    return BigQueryStore(settings)


def _drop_datasets(store) -> None:
    for d in ddl.datasets():
        store.client.delete_dataset(
            f"{store.settings.project}.{store.settings.naming.dataset(d)}", delete_contents=True, not_found_ok=True
        )


@pytest.fixture(scope="session")
def emulated_session_store(bq_emulator_endpoint):
    """One emulated store for the contract tests (datasets made once; each test has its own table)."""
    from nba_assets.io.bigquery import BigQuerySettings

    settings = BigQuerySettings(project=bq_emulator.PROJECT, dataset_prefix="contract_", endpoint=bq_emulator_endpoint)
    return _bigquery_store(settings)


@pytest.fixture(scope="session")
def live_session_store():
    reason = _live_skip_reason()
    if reason:
        pytest.skip(reason)
    from nba_assets.io.bigquery import BigQuerySettings

    settings = BigQuerySettings.from_env()
    settings = BigQuerySettings(
        project=settings.project,
        location=settings.location,
        dataset_prefix=f"nba_test_{uuid.uuid4().hex[:10]}_",
        job_timeout_s=300,
    )
    live = _bigquery_store(settings)
    try:
        yield live
    finally:
        _drop_datasets(live)


@pytest.fixture(
    params=[
        "local",
        pytest.param("bigquery", marks=pytest.mark.bigquery),
        pytest.param("live", marks=pytest.mark.integration),
    ]
)
def store(request, tmp_path):
    """An empty table's store, for each backend."""
    if request.param == "local":
        return LocalParquetStore(tmp_path / "lake")
    if request.param == "bigquery":
        return request.getfixturevalue("emulated_session_store")
    return request.getfixturevalue("live_session_store")


def suite() -> dict[str, object]:
    """This module's contract tests with their fixtures (``table``, ``raw_box``), for a module that
    runs them again on another local store: ``globals().update(contract.suite())`` there, beside
    its own ``store`` fixture."""
    names = (
        "raw_box",
        "table",
        "test_write_partitions_then_read_the_window",
        "test_rerun_leaves_the_same_rows",
        "test_empty_partitions_and_unwritten_windows_read_with_every_column",
        "test_schema_mismatch_is_a_clear_error_and_nothing_is_lost",
        "test_a_failed_write_leaves_earlier_partitions_intact",
        "test_delete_window",
    )
    return {name: globals()[name] for name in names}


@pytest.fixture
def table() -> TableRef:
    """The real raw box-score table's schema under a table name of this test's own."""
    return TableRef("nba_raw", f"bdl_player_boxscores_{uuid.uuid4().hex[:8]}")


@pytest.fixture(scope="module")
def raw_box(box_scores) -> pl.DataFrame:
    cut = box_scores.filter(pl.col("game_date").is_between(date(2023, 12, 20), date(2024, 1, 5)))
    return raw_box_from_box_scores(cut)


def _cut(raw_box: pl.DataFrame, first: date, last: date) -> pl.DataFrame:
    return raw_box.filter(pl.col("game_date").is_between(first, last))


def _sorted(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.sort(KEYS)


# ------------------------------------------------------------------------------------- the contract


def test_write_partitions_then_read_the_window(store, table, raw_box):
    first, last = date(2023, 12, 22), date(2023, 12, 26)  # Dec 24 has no games: an empty partition
    days = dates_between(first, last)
    frame = _cut(raw_box, first, last)
    stats = store.write_partitions(table, frame, days, SCHEMA)
    assert stats.partitions == len(days) and stats.rows == frame.height
    assert stats.rows_by_partition[date(2023, 12, 24)] == 0 and stats.empty_partitions == 1

    window = store.read_window(table, days, SCHEMA)
    assert isinstance(window, pl.DataFrame) and window.schema == SCHEMA
    assert _sorted(window).equals(_sorted(frame))
    # A window with a gap (non-contiguous partitions) reads exactly those days.
    gap = store.read_window(table, [days[0], days[-1]], SCHEMA)
    assert _sorted(gap).equals(_sorted(frame.filter(pl.col("game_date").is_in([days[0], days[-1]]))))

    assert store.stored_partitions(table) == days
    # A written empty partition is not missing; a never-written one is.
    assert store.missing_partitions(table, [date(2023, 12, 24), date(2023, 12, 27)]) == [date(2023, 12, 27)]


def test_rerun_leaves_the_same_rows(store, table, raw_box):
    days = dates_between(date(2024, 1, 1), date(2024, 1, 3))
    frame = _cut(raw_box, days[0], days[-1])
    store.write_partitions(table, frame, days, SCHEMA)
    store.write_partitions(table, frame, days, SCHEMA)
    assert _sorted(store.read_window(table, days, SCHEMA)).equals(_sorted(frame))
    # Rewriting one day with fewer rows replaces that day only.
    one = frame.filter(pl.col("game_date") == days[1]).sort(KEYS).head(5)
    stats = store.write_partitions(table, one, [days[1]], SCHEMA)
    assert stats.rows_by_partition == {days[1]: 5}
    after = store.read_window(table, days, SCHEMA)
    assert _sorted(after.filter(pl.col("game_date") == days[1])).equals(one)
    assert _sorted(after.filter(pl.col("game_date") != days[1])).equals(
        _sorted(frame.filter(pl.col("game_date") != days[1]))
    )


def test_empty_partitions_and_unwritten_windows_read_with_every_column(store, table, raw_box):
    # Nothing stored at all.
    nothing = store.read_window(table, dates_between(date(2024, 1, 1), date(2024, 1, 2)), SCHEMA)
    assert nothing.height == 0 and nothing.schema == SCHEMA
    # A window of only empty partitions.
    days = [date(2023, 12, 24)]
    stats = store.write_partitions(table, _cut(raw_box, days[0], days[0]), days, SCHEMA)
    assert stats.rows == 0 and stats.empty_partitions == 1
    empty = store.read_window(table, days, SCHEMA)
    assert empty.height == 0 and empty.schema == SCHEMA
    assert store.stored_partitions(table) == days
    # A window beside stored data that was never written.
    later = store.read_window(table, [date(2024, 2, 1)], SCHEMA)
    assert later.height == 0 and later.schema == SCHEMA
    assert store.read_window(table, [], SCHEMA).schema == SCHEMA


def test_schema_mismatch_is_a_clear_error_and_nothing_is_lost(store, table, raw_box):
    days = dates_between(date(2024, 1, 1), date(2024, 1, 2))
    frame = _cut(raw_box, days[0], days[-1])
    store.write_partitions(table, frame, days, SCHEMA)
    with pytest.raises(StorageError, match=r"nba_raw\.bdl_player_boxscores.*missing \['pts'\]"):
        store.write_partitions(table, frame.drop("pts"), days, SCHEMA)
    with pytest.raises(StorageError, match=r"nba_raw\.bdl_player_boxscores.*undeclared \['shoe_size'\]"):
        store.write_partitions(table, frame.with_columns(pl.lit(1).alias("shoe_size")), days, SCHEMA)
    with pytest.raises(StorageError, match=r"cannot cast columns \['minutes'\]"):
        store.write_partitions(table, frame.with_columns(pl.lit("x").alias("minutes")), days, SCHEMA)
    with pytest.raises(StorageError, match="fall outside the partitions"):
        store.write_partitions(table, frame, [days[0]], SCHEMA)
    assert _sorted(store.read_window(table, days, SCHEMA)).equals(_sorted(frame))


def _break_the_replace_step(store, monkeypatch) -> None:
    """Make the next write fail after it staged its data, at the step that replaces stored rows."""
    if isinstance(store, LocalParquetStore):

        def failing_replace(src, dst):
            raise OSError(f"disk full while replacing {dst}")

        monkeypatch.setattr(storage_module.os, "replace", failing_replace)
        return
    # BigQuery: let a row with a null game_date reach the staging table; the transaction's DELETE runs,
    # then its INSERT violates game_date NOT NULL and the whole transaction rolls back.
    from nba_assets.io import bigquery as bq_module

    real_conform = bq_module.conform

    def conform_then_corrupt(table, frame, schema, partitions):
        out = real_conform(table, frame, schema, partitions)
        return pl.concat([out, out.head(1).with_columns(pl.lit(None, pl.Date).alias("game_date"))])

    monkeypatch.setattr(bq_module, "conform", conform_then_corrupt)


def test_a_failed_write_leaves_earlier_partitions_intact(store, table, raw_box, monkeypatch):
    days = dates_between(date(2024, 1, 1), date(2024, 1, 3))
    frame = _cut(raw_box, days[0], days[-1])
    store.write_partitions(table, frame, days, SCHEMA)
    newer = _cut(raw_box, date(2024, 1, 1), date(2024, 1, 1)).with_columns(pl.lit(99, pl.Int64).alias("pts"))
    with monkeypatch.context() as mp:
        _break_the_replace_step(store, mp)
        with pytest.raises((StorageError, OSError)):
            store.write_partitions(table, newer, days, SCHEMA)
    assert _sorted(store.read_window(table, days, SCHEMA)).equals(_sorted(frame))
    assert store.stored_partitions(table) == days


def test_delete_window(store, table, raw_box):
    days = dates_between(date(2024, 1, 1), date(2024, 1, 5))
    store.write_partitions(table, _cut(raw_box, days[0], days[-1]), days, SCHEMA)
    assert store.delete_window(table, days[1], days[2]) == 2
    assert store.stored_partitions(table) == [days[0], days[3], days[4]]
    assert store.read_window(table, days[1:3], SCHEMA).height == 0


# ------------------------------------------------------------------------------------- BigQuery only


@pytest.fixture
def emulated(emulated_session_store):
    return emulated_session_store


@pytest.mark.bigquery
def test_bigquery_stored_type_conflict_names_table_and_column(emulated, table, raw_box):
    naming = emulated.settings.naming
    emulated.client.query_and_wait(ddl.create_schema_sql("nba_raw", naming))
    emulated.client.query_and_wait(
        f"CREATE TABLE {naming.qualified('nba_raw', table.table)} "
        "(game_date DATE NOT NULL, game_id STRING, pts STRING) PARTITION BY game_date"
    )
    days = [date(2024, 1, 1)]
    with pytest.raises(StorageError, match=r"nba_raw\.bdl_player_boxscores.*column pts: stored STRING, declared INT64"):
        emulated.write_partitions(table, _cut(raw_box, days[0], days[0]), days, SCHEMA)
    with pytest.raises(StorageError, match=r"column pts: stored STRING, declared INT64"):
        emulated.read_window(table, days, SCHEMA)


@pytest.mark.bigquery
def test_bigquery_adds_new_columns_and_old_rows_read_as_nulls(emulated, table, raw_box):
    days = [date(2024, 1, 2)]
    frame = _cut(raw_box, days[0], days[0])
    old_schema = pl.Schema({k: v for k, v in SCHEMA.items() if k != "pf"})
    emulated.write_partitions(table, frame.drop("pf"), days, old_schema)
    # A later schema declares one more column: reads fill it with nulls, the next write adds it.
    fresh = _bigquery_store(emulated.settings)
    before = fresh.read_window(table, days, SCHEMA)
    assert before.schema == SCHEMA and before["pf"].null_count() == before.height == frame.height
    fresh.write_partitions(table, frame, days, SCHEMA)
    stored = fresh.client.get_table(fresh.table_id(table))
    assert [f.name for f in stored.schema][-1] == "pf"
    assert _sorted(fresh.read_window(table, days, SCHEMA)).equals(_sorted(frame))


@pytest.mark.bigquery
def test_bigquery_write_and_read_report_jobs_with_timeouts(emulated, table, raw_box, monkeypatch):
    seen = []
    real_query, real_load = emulated.client.query, emulated.client.load_table_from_file

    def recording_query(sql, job_config=None, **kwargs):
        seen.append(("query", job_config.job_timeout_ms))
        return real_query(sql, job_config=job_config, **kwargs)

    def recording_load(source, destination, job_config=None, **kwargs):
        seen.append(("load", job_config.job_timeout_ms))
        return real_load(source, destination, job_config=job_config, **kwargs)

    monkeypatch.setattr(emulated.client, "query", recording_query)
    monkeypatch.setattr(emulated.client, "load_table_from_file", recording_load)
    days = dates_between(date(2024, 1, 3), date(2024, 1, 4))
    stats = emulated.write_partitions(table, _cut(raw_box, days[0], days[-1]), days, SCHEMA)
    assert stats.jobs.job_ids and stats.jobs.bytes_processed is not None
    assert set(stats.jobs.metadata("bigquery")) >= {"bigquery_bytes_processed", "bigquery_job_ids"}
    emulated.read_window(table, days, SCHEMA)
    assert emulated.last_read is not None and len(emulated.last_read.job_ids) == 1
    assert {kind for kind, _ in seen} == {"query", "load"}
    assert all(int(t) == int(emulated.settings.job_timeout_s * 1000) for _, t in seen)
    estimates = emulated.estimate_backfill([table], days[0], days[-1])
    assert [(e.table, e.statement) for e in estimates] == [(str(table), "read"), (str(table), "delete")]
    assert all(e.bytes_processed >= 0 and e.usd >= 0 for e in estimates)


@pytest.mark.bigquery
def test_generated_sql_runs_and_apply_is_idempotent(bq_emulator_endpoint, tmp_path):
    """The generated files run as they are (twice); ``apply`` over them then finds nothing to do."""
    from nba_assets.io.bigquery import BigQuerySettings

    suffix = f"_{uuid.uuid4().hex[:8]}"
    settings = BigQuerySettings(project=bq_emulator.PROJECT, dataset_suffix=suffix, endpoint=bq_emulator_endpoint)
    client = settings.client()
    ddl.write(tmp_path / "sql")
    files = sorted((tmp_path / "sql").glob("*/_dataset.sql")) + sorted(
        p for p in (tmp_path / "sql").glob("*/*.sql") if p.name != "_dataset.sql"
    )
    scripts = []
    for path in files:
        dataset = path.parent.name
        text = path.read_text().replace(f"`{dataset}`", f"`{dataset}{suffix}`")
        scripts.append(text.replace(f"`{dataset}.", f"`{dataset}{suffix}."))
    client.query_and_wait("\n".join(scripts))  # every generated file, as one script job
    client.query_and_wait(scripts[-1])  # IF NOT EXISTS: running a file again is a no-op
    report = ddl.apply(client, settings.naming)
    assert report.created_tables == [] and report.added_columns == {}
    assert set(report.created_datasets) == {f"{d}{suffix}" for d in ddl.datasets()}
    for (dataset, table), schema in TABLES.items():
        stored = client.get_table(f"{settings.project}.{dataset}{suffix}.{table}")
        spec = ddl.table_spec(dataset, table, schema)
        assert stored.time_partitioning.field == "game_date"
        assert tuple(stored.clustering_fields or ()) == spec.cluster_by
        assert bool(stored.require_partition_filter) == spec.require_partition_filter
        assert {f.name: ddl.normalize_field_type(f) for f in stored.schema} == spec.column_types
    preds = ddl.table_spec(
        "nba_predictions", "player_prop_predictions", TABLES[("nba_predictions", "player_prop_predictions")]
    )
    assert preds.cluster_by == ("player_lookup", "system_id", "game_date") and preds.require_partition_filter


@pytest.mark.bigquery
def test_io_manager_on_bigquery_materializes_and_loads_a_window(bq_emulator_endpoint, raw_box, monkeypatch):
    """Same assets, same IO manager: only the lake resource's backend and its settings change."""
    from nba_assets.assets.common import days_before, lake_asset
    from nba_assets.io.manager import LakehouseIOManager

    lake = local_lake(
        "/nonexistent-local-lake",  # nothing is written locally: the tables live in BigQuery
        backend="bigquery",
        bq_project=bq_emulator.PROJECT,
        bq_endpoint=bq_emulator_endpoint,
        bq_dataset_prefix=f"t{uuid.uuid4().hex[:10]}_",
    )

    @lake_asset("nba_raw", "bdl_player_boxscores", group="raw", description="real box scores")
    def box(context) -> pl.DataFrame:
        window = context.partition_time_window
        return raw_box.filter(pl.col("game_date").is_between(window.start.date(), window.end.date(), closed="left"))

    @lake_asset(
        "nba_analytics",
        "player_game_summary",
        group="analytics",
        description="reads the 3 days before",
        ins={"history": days_before("nba_raw", "bdl_player_boxscores", 3)},
    )
    def summary(context, history: pl.DataFrame) -> pl.DataFrame:
        context.add_output_metadata({"history_rows": history.height})
        return pl.DataFrame(schema=schema_for("nba_analytics", "player_game_summary"))

    tags = {"dagster/asset_partition_range_start": "2024-01-01", "dagster/asset_partition_range_end": "2024-01-03"}
    with dg.instance_for_test() as instance:
        resources = {"io_manager": LakehouseIOManager(lake=lake)}
        result = dg.materialize([box], instance=instance, tags=tags, resources=resources)
        assert result.success
        events = result.get_asset_materialization_events()
        assert [e.partition for e in events] == ["2024-01-01", "2024-01-02", "2024-01-03"]
        meta = events[0].materialization.metadata
        assert meta["dagster/row_count"].value == _cut(raw_box, date(2024, 1, 1), date(2024, 1, 1)).height
        # BigQuery's job figures are run-wide: they go to the run log, not to each partition.
        assert "bigquery_bytes_processed" not in meta and "bigquery_job_ids" not in meta
        result = dg.materialize(
            [box, summary],
            selection=[summary],
            instance=instance,
            partition_key="2024-01-04",
            resources={"io_manager": LakehouseIOManager(lake=lake)},
        )
        assert result.success
        (event,) = result.get_asset_materialization_events()
        assert event.asset_key == dg.AssetKey(["nba_analytics", "player_game_summary"])
        meta = event.materialization.metadata
        assert meta["history_rows"].value == _cut(raw_box, date(2024, 1, 1), date(2024, 1, 3)).height


def test_backend_is_chosen_by_the_lake_config(tmp_path):
    """``NBA_BACKEND`` is read by the settings (from the mapping given) into the lake resource's
    ``backend``; the IO manager uses the lake's store."""
    from nba_assets.config import settings_from_env
    from nba_assets.io.manager import LakehouseIOManager
    from nba_assets.lake import Lake

    assert settings_from_env({}).backend == "local"
    bq = settings_from_env({"NBA_BACKEND": "BigQuery", "GCLOUD_PROJECT": "p", "NBA_BQ_DATASET_PREFIX": "x_"})
    assert (bq.backend, bq.bq_project, bq.bq_dataset_prefix) == ("bigquery", "p", "x_")
    assert isinstance(LakehouseIOManager(lake=local_lake(tmp_path)).store(), LocalParquetStore)
    with pytest.raises(StorageError, match="NBA_BACKEND=bigquery needs GOOGLE_CLOUD_PROJECT"):
        Lake(lake_dir=str(tmp_path), backend="bigquery").tables()
    with pytest.raises(ValueError, match=r"NBA_BACKEND='snowflake': expected one of \['local', 'bigquery'\]"):
        Lake(lake_dir=str(tmp_path), backend="snowflake").tables()
