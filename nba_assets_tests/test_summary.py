"""``make run``'s summary reads through the lake resource: the same figures on local Parquet and on
BigQuery (the emulator on 127.0.0.1), from real box scores written through the storage seam."""

from __future__ import annotations

import re
import uuid
from datetime import date

import polars as pl
import pytest

from nba_assets.partitions import dates_between
from nba_assets.summary import summary

from . import bq_emulator
from .conftest import local_lake, raw_box_from_box_scores, schedule_from_box_scores, seed_lake
from .test_perf_oneday import run_probe
from .test_storage_contract import bq_emulator_endpoint  # noqa: F401 - the emulator fixture

FIRST, LAST = date(2024, 11, 12), date(2024, 11, 14)


def _rows(text: str, table: str) -> tuple[int, int]:
    """(rows, partitions) the summary prints for ``table``."""
    match = re.search(rf"{re.escape(table)}\s+([\d,]+) rows\s+(\d+) partitions", text)
    assert match, f"{table} is not in the summary:\n{text}"
    return int(match.group(1).replace(",", "")), int(match.group(2))


@pytest.fixture(params=["local", pytest.param("bigquery", marks=pytest.mark.bigquery)])
def lake(request, tmp_path):
    if request.param == "local":
        return local_lake(tmp_path / "lake")
    return local_lake(
        tmp_path / "lake",  # landing, exports and reports stay local; the tables live in BigQuery
        backend="bigquery",
        bq_project=bq_emulator.PROJECT,
        bq_endpoint=request.getfixturevalue("bq_emulator_endpoint"),
        bq_dataset_prefix=f"s{uuid.uuid4().hex[:10]}_",
    )


def test_the_summary_counts_what_the_lake_stores(lake, box_scores) -> None:
    days = dates_between(FIRST, LAST)
    cut = box_scores.filter(pl.col("game_date").is_between(FIRST, LAST))
    box, schedule = raw_box_from_box_scores(cut), schedule_from_box_scores(cut)
    assert box.height > 0 and schedule.height > 0
    seed_lake(lake.tables(), {("nba_raw", "bdl_player_boxscores"): box, ("nba_raw", "nbac_schedule"): schedule}, days)
    text = summary(FIRST, LAST, lake)
    assert _rows(text, "nba_raw.bdl_player_boxscores") == (box.height, len(days))
    assert _rows(text, "nba_raw.nbac_schedule") == (schedule.height, len(days))
    assert _rows(text, "nba_analytics.player_game_summary") == (0, 0)  # never written: no partitions
    assert ("tables: BigQuery" in text) == (lake.backend_name == "bigquery")


def test_the_summary_command_runs_without_dagster(tmp_path, box_scores) -> None:
    """``python -m nba_assets.summary`` (after every ``make run``) on a local lake: the same counts,
    and Dagster is never imported (~1 s of a one-day ``make run``)."""
    days = dates_between(FIRST, LAST)
    cut = box_scores.filter(pl.col("game_date").is_between(FIRST, LAST))
    box = raw_box_from_box_scores(cut)
    seed_lake(local_lake(tmp_path / "lake").tables(), {("nba_raw", "bdl_player_boxscores"): box}, days)
    command = (
        "import runpy, sys\n"
        f"sys.argv = ['summary', '--start', '{FIRST}', '--end', '{LAST}']\n"
        "runpy.run_module('nba_assets.summary', run_name='__main__')"
    )
    out, loaded = run_probe(command, {"NBA_LAKE_DIR": str(tmp_path / "lake"), "NBA_BACKEND": "local"})
    assert _rows(out, "nba_raw.bdl_player_boxscores") == (box.height, len(days)), out
    dagster = sorted(m for m in loaded if m.split(".")[0] == "dagster")
    assert "nba_assets.lake_access" in loaded and not dagster, dagster[:3]
