"""The BigQuery DDL in sql/ is generated from schemas.py and agrees with every lake asset."""

from __future__ import annotations

import polars as pl
import pytest

from nba_assets import ddl
from nba_assets.schemas import TABLES


def test_committed_sql_equals_the_generator_output():
    problems = ddl.diff(ddl.default_sql_dir())
    assert problems == [], f"sql/ is stale; run `python -m nba_assets.ddl write sql/`: {problems}"


def test_every_lake_asset_has_a_table_whose_columns_and_types_agree():
    from nba_assets.definitions import defs
    from nba_assets.io.manager import LakehouseIOManager

    graph = defs.resolve_asset_graph()
    lake_keys = set()
    for assets_def in graph.assets_defs:
        for key in assets_def.keys:
            io_manager = defs.resources.get(assets_def.get_io_manager_key_for_asset_key(key))
            stored_by_lake = isinstance(io_manager, LakehouseIOManager)
            # Lake tables: stored by the lake IO manager, with a column schema (a MaterializeResult-only
            # asset such as a report stores nothing and declares none).
            if stored_by_lake and ("dagster/column_schema" in assets_def.specs_by_key[key].metadata):
                lake_keys.add(key)
    lake_assets = [s for s in defs.resolve_all_asset_specs() if s.key in lake_keys]
    assert len(lake_assets) >= 7, f"only {len(lake_assets)} lake assets found in the Definitions"
    undeclared = [s.key.to_user_string() for s in lake_assets if tuple(s.key.path) not in TABLES]
    assert undeclared == [], f"lake assets without a declared schema in schemas.py: {undeclared}"
    sql_dir = ddl.default_sql_dir()
    for spec in lake_assets:
        dataset, table = spec.key.path
        path = sql_dir / dataset / f"{table}.sql"
        assert path.is_file(), f"asset {spec.key.to_user_string()} has no table DDL {path}"
        stored = ddl.parse_table_sql(path.read_text())
        published = spec.metadata["dagster/column_schema"].columns
        assert list(stored) == [c.name for c in published], f"{dataset}.{table}: column names/order differ"
        declared = TABLES[(dataset, table)]
        for column in published:
            assert column.type == str(declared[column.name]), f"{dataset}.{table}.{column.name}: metadata type"
            want = ddl.bq_type(declared[column.name])
            assert stored[column.name] == want, f"{dataset}.{table}.{column.name}: {stored[column.name]} != {want}"


def test_partitioning_clustering_and_partition_filter_rules():
    files = ddl.render()
    preds = files["nba_predictions/player_prop_predictions.sql"]
    assert "PARTITION BY game_date\nCLUSTER BY player_lookup, system_id, game_date\n" in preds
    assert "require_partition_filter = TRUE" in preds
    summary = files["nba_analytics/player_game_summary.sql"]
    assert "CLUSTER BY player_lookup, team\n" in summary and "require_partition_filter = TRUE" in summary
    schedule = files["nba_raw/nbac_schedule.sql"]  # game grain: small, no filter required
    assert "CLUSTER BY game_id\n" in schedule and "require_partition_filter = FALSE" in schedule
    for dataset, table in TABLES:
        text = files[f"{dataset}/{table}.sql"]
        assert "  game_date DATE NOT NULL," in text and "\nPARTITION BY game_date\n" in text
        assert text.startswith(ddl.HEADER)
    for dataset in ddl.DEFAULT_DATASETS:
        assert files[f"{dataset}/_dataset.sql"].endswith(f"CREATE SCHEMA IF NOT EXISTS `{dataset}`;\n")
        assert f"{dataset}/_partitions.sql" in files


def test_any_declared_table_gets_ddl_and_bad_ones_are_named():
    team = pl.Schema({"game_date": pl.Date, "team_abbr": pl.String, "pace": pl.Float64, "tags": pl.List(pl.String)})
    spec = ddl.table_spec("nba_analytics", "team_offense", team)
    assert spec.cluster_by == ("team_abbr",) and not spec.require_partition_filter
    assert spec.column_types["tags"] == "ARRAY<STRING>"
    extra = ddl.render({**TABLES, ("nba_analytics", "team_offense"): team})
    assert "CREATE TABLE IF NOT EXISTS `nba_analytics.team_offense`" in extra["nba_analytics/team_offense.sql"]
    assert ddl.bq_type(pl.Datetime("us", "UTC")) == "TIMESTAMP" and ddl.bq_type(pl.Datetime("us")) == "DATETIME"
    assert ddl.bq_type(pl.Struct({"a": pl.Int32, "b": pl.Boolean})) == "STRUCT<a INT64, b BOOL>"
    with pytest.raises(ddl.DDLError, match=r"nba_raw\.no_date: every lake table needs a Date column 'game_date'"):
        ddl.table_spec("nba_raw", "no_date", pl.Schema({"day": pl.Date}))
    with pytest.raises(ddl.DDLError, match=r"nba_raw\.t\.d: no BigQuery type for polars Duration"):
        ddl.table_spec("nba_raw", "t", pl.Schema({"game_date": pl.Date, "d": pl.Duration("us")}))


def test_write_removes_stale_generated_files_and_check_reports(tmp_path):
    out = tmp_path / "sql"
    ddl.write(out)
    (out / "nba_raw" / "dropped_table.sql").write_text(ddl.HEADER + "CREATE TABLE x (game_date DATE);\n")
    assert ddl.diff(out) == ["stale nba_raw/dropped_table.sql"]
    assert ddl.main(["check", str(out)]) == 1
    ddl.write(out)
    assert ddl.diff(out) == [] and ddl.main(["check", str(out)]) == 0


def test_logical_bytes_follow_bigquery_data_sizes(box_scores):
    from nba_assets.io.bigquery import logical_bytes

    rows = box_scores.sort("game_date", "game_id", "player_id").head(3).select("game_date", "player_name", "pts")
    names = rows["player_name"].to_list()
    # DATE 8, STRING 2 + UTF-8 bytes, INT64 8, BOOL 1, NULL 0
    expected = 3 * 8 + sum(2 + len(n.encode()) for n in names) + 3 * 8
    assert logical_bytes(rows) == expected
    flagged = rows.with_columns(pl.Series("starter", [True, None, False]), pl.lit(None, pl.Float64).alias("x"))
    assert logical_bytes(flagged) == expected + 2
    listed = pl.DataFrame({"tags": [["a", "bc"], None]})
    assert logical_bytes(listed) == (2 + 1) + (2 + 2)
