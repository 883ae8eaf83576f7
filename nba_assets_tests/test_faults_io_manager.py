"""The IO manager leaves a held-back day out of the write, on both backends (issue 14).

Local Parquet and the BigQuery emulator (whose window replace is one DELETE/INSERT transaction over
the days it is given): a lake that had the day keeps it as it was, a fresh lake has none, the other
days of the window are replaced. Rows are real box scores from ``data/``.
"""

from __future__ import annotations

import uuid
from datetime import date

import dagster as dg
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from nba_assets.assets.common import lake_asset
from nba_assets.io.manager import LakehouseIOManager, hold_back
from nba_assets.io.storage import TableRef
from nba_assets.partitions import dates_between
from nba_assets.schemas import schema_for

from . import bq_emulator
from .conftest import lake_from_env, raw_box_from_box_scores
from .test_storage_contract import bq_emulator_endpoint  # noqa: F401 - the emulator fixture

KEY = ("nba_raw", "bdl_player_boxscores")
FIRST, HELD, LAST = date(2024, 1, 1), date(2024, 1, 2), date(2024, 1, 3)
DAYS = dates_between(FIRST, LAST)
TAGS = {"dagster/asset_partition_range_start": FIRST.isoformat(), "dagster/asset_partition_range_end": LAST.isoformat()}


@pytest.fixture(params=["local", pytest.param("bigquery", marks=pytest.mark.bigquery)])
def backend(request, tmp_path, monkeypatch) -> str:
    if request.param == "local":
        monkeypatch.setenv("NBA_BACKEND", "local")
        monkeypatch.setenv("NBA_LAKE_DIR", str(tmp_path / "lake"))
    else:
        monkeypatch.setenv("NBA_BACKEND", "bigquery")
        monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", bq_emulator.PROJECT)
        monkeypatch.setenv("NBA_BQ_ENDPOINT", request.getfixturevalue("bq_emulator_endpoint"))
    return request.param


def _new_lake(backend: str, monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    if backend == "local":
        monkeypatch.setenv("NBA_LAKE_DIR", str(tmp_path / f"lake-{uuid.uuid4().hex[:6]}"))
    else:
        monkeypatch.setenv("NBA_BQ_DATASET_PREFIX", f"h{uuid.uuid4().hex[:10]}_")


def _materialize(rows: pl.DataFrame, held: set[date]) -> dg.ExecuteInProcessResult:
    @lake_asset(*KEY, group="raw", description="real box scores, some days held back")
    def box(context):  # noqa: ANN001 - a string annotation (future import) is refused by Dagster
        for day in held:
            hold_back(context, day, {"held_back_field": "data[0].pts"})
        return rows.filter(~pl.col("game_date").is_in(sorted(held)))

    with dg.DagsterInstance.ephemeral() as instance:
        resources = {"io_manager": LakehouseIOManager(lake=lake_from_env())}
        return dg.materialize([box], instance=instance, tags=TAGS, resources=resources)


def test_a_held_back_day_is_not_written_and_a_stored_one_is_kept(backend, box_scores, tmp_path, monkeypatch) -> None:
    everyone = raw_box_from_box_scores(box_scores.filter(pl.col("game_date").is_between(FIRST, LAST)))
    home = everyone.filter(pl.col("home_away") == "H")  # a second, different real cut of the same days
    assert set(everyone["game_date"]) == set(DAYS)
    table, schema = TableRef(*KEY), schema_for(*KEY)

    def stored(day: date) -> pl.DataFrame:
        store = LakehouseIOManager(lake=lake_from_env()).store()
        return store.read_window(table, [day], schema).sort("game_id", "player_id")

    # A lake that had the day: the held-back day keeps its rows, the others are replaced.
    _new_lake(backend, monkeypatch, tmp_path)
    assert _materialize(everyone, set()).success
    result = _materialize(home, {HELD})
    assert result.success
    for day in DAYS:
        source = everyone if day == HELD else home
        assert_frame_equal(stored(day), source.filter(pl.col("game_date") == day).sort("game_id", "player_id"))
    mats = {e.partition: e.materialization.metadata for e in result.get_asset_materialization_events()}
    assert mats[HELD.isoformat()]["held_back"].value is True and "dagster/row_count" not in mats[HELD.isoformat()]
    assert mats[FIRST.isoformat()]["dagster/row_count"].value == home.filter(pl.col("game_date") == FIRST).height

    # A fresh lake: the held-back day has no partition at all.
    _new_lake(backend, monkeypatch, tmp_path)
    assert _materialize(home, {HELD}).success
    assert LakehouseIOManager(lake=lake_from_env()).store().missing_partitions(table, DAYS) == [HELD]
    assert stored(LAST).height == home.filter(pl.col("game_date") == LAST).height > 0


def test_a_season_wide_input_reads_only_its_columns(backend, box_scores, tmp_path, monkeypatch) -> None:
    """``all_stored(..., columns=...)``: the consumer gets exactly those columns of every stored
    partition (the rows of the full read), and a column the table lacks is an error naming it."""
    from nba_assets.assets.common import all_stored

    rows = raw_box_from_box_scores(box_scores.filter(pl.col("game_date").is_between(FIRST, LAST)))
    wanted = ["pts", "game_date", "player_id"]  # the table's order, not this one, is kept
    got: dict[str, pl.DataFrame] = {}

    @lake_asset(*KEY, group="raw", description="real box scores")
    def box(context):  # noqa: ANN001, ARG001
        return rows

    def consumer(name: str, columns: list[str] | None) -> dg.AssetsDefinition:
        @dg.asset(name=name, ins={"box": all_stored(*KEY, columns=columns)})
        def _doc(box: pl.DataFrame) -> None:
            got[name] = box

        return _doc

    docs = [consumer("narrow", wanted), consumer("whole", None), consumer("unknown", ["pts", "no_such_column"])]
    _new_lake(backend, monkeypatch, tmp_path)
    with dg.DagsterInstance.ephemeral() as instance:
        resources = {"io_manager": LakehouseIOManager(lake=lake_from_env())}
        assert dg.materialize([box], instance=instance, tags=TAGS, resources=resources).success
        assert dg.materialize([box, *docs[:2]], selection=[d.key for d in docs[:2]], instance=instance,
                              resources=resources).success  # fmt: skip
        with pytest.raises(Exception, match="no_such_column"):
            dg.materialize([box, docs[2]], selection=[docs[2].key], instance=instance, resources=resources)
    order = [c for c in schema_for(*KEY).names() if c in wanted]
    assert got["narrow"].columns == order
    key = ["game_date", "player_id"]
    assert_frame_equal(got["narrow"].sort(key), got["whole"].select(order).sort(key))
    assert got["narrow"].height == rows.height > 0
