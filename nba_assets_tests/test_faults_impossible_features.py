"""An impossible feature value holds back its day of ``ml_feature_store``, not the window (issue 14).

The case the issue measured: partial box scores undercount possessions, so a team's recent pace is
54, below the possible 60. Here the lake is built from the real data (raw tables of 2024-04-01..14
and 2024-10-22..24, phases 3-4 materialized by Dagster for April), then one fault is injected in
the stored history, as a lake written before ``team_offense_game_summary`` held such days back
would hold it: every April game of Sacramento gets ``pace`` 54. The run of 2024-10-22..24 (phases
3-4, one single-run backfill) then gives the Sacramento players of 2024-10-24 (the only day of the
three on which SAC plays) a ``team_pace`` of 54:

- the run succeeds and no blocking check fails;
- 2024-10-24's feature-store partition is not written; 2024-10-22 and 23 are, with their rows;
- the run log, that day's metadata and the non-blocking ``held_back_impossible_days`` check name the day,
  the field and the players.
"""

from __future__ import annotations

from datetime import date

import dagster as dg
import polars as pl
import pytest

from nba_assets.io.storage import LocalParquetStore, TableRef
from nba_assets.partitions import dates_between
from nba_assets.schemas import schema_for

from . import graph
from .conftest import BOX_SCORES, LINES
from .test_features_dagster import HISTORY, MAIN

pytestmark = pytest.mark.skipif(
    not (BOX_SCORES.is_file() and LINES.is_file()), reason="real data files are not present"
)

TEAM, BAD_DAY = "SAC", date(2024, 10, 24)
OFFENSE = ("nba_analytics", "team_offense_game_summary")
STORE = ("nba_precompute", "ml_feature_store")


def _run(lake, first: date, last: date) -> tuple[dg.ExecuteInProcessResult, str]:
    return graph.execute(lake, first, last)


def test_an_impossible_team_pace_holds_back_its_day_of_the_feature_store_only(tmp_path) -> None:
    raw = graph.real_raw_tables()
    lake = tmp_path / "lake"
    store = LocalParquetStore(lake)
    history, main = dates_between(*HISTORY), dates_between(*MAIN)
    for days in (history, main):
        graph.write_raw(lake, raw, days)
    result, _ = _run(lake, *HISTORY)
    assert result.success

    # The fault: Sacramento's stored April games get a pace of 54 (everything else as computed).
    offense = graph.read(lake, OFFENSE, history)
    assert offense.filter(pl.col("team") == TEAM).height >= 5
    faulty = offense.with_columns(
        pl.when(pl.col("team") == TEAM).then(pl.lit(54.0)).otherwise(pl.col("pace")).alias("pace")
    )
    store.write_partitions(TableRef(*OFFENSE), faulty, history, schema_for(*OFFENSE))

    result, log = _run(lake, *MAIN)
    assert result.success
    checks = {(c.asset_key.path[-1], c.check_name): c for c in result.get_asset_check_evaluations()}
    assert all(c.passed for c in checks.values() if c.blocking), [k for k, c in checks.items() if not c.passed]

    # Only the bad day is held back; the other days are stored with all their players.
    assert store.missing_partitions(TableRef(*STORE), main) == [BAD_DAY]
    stored = graph.read(lake, STORE, main)
    assert sorted(set(stored["game_date"])) == [d for d in main if d != BAD_DAY]
    assert stored.filter(pl.col("game_date") == date(2024, 10, 23)).height > 200

    # The run log, the day's own metadata and the non-blocking check name day, field and players.
    assert f"held back nba_precompute/ml_feature_store for {BAD_DAY}: impossible value(s)" in log, log[-3000:]
    assert "with team_pace outside the possible [60, 140] (min 54.0, max 54.0" in log
    mats = {
        m.partition: m.metadata
        for m in (e.materialization for e in result.get_asset_materialization_events())
        if m.asset_key.path[-1] == "ml_feature_store"
    }
    meta = mats[BAD_DAY.isoformat()]
    assert meta["held_back"].value is True and meta["held_back_field"].value == "team_pace"
    assert "dagster/row_count" not in meta
    sac = raw[0].filter((pl.col("game_date") < HISTORY[1]) & (pl.col("team") == TEAM))["player_lookup"]
    assert any(p in meta["held_back_error"].value for p in sac.unique().to_list())
    for day in main:
        if day != BAD_DAY:
            assert "held_back" not in mats[day.isoformat()] and mats[day.isoformat()]["dagster/row_count"].value > 0
    held = checks[("ml_feature_store", "held_back_impossible_days")]
    assert not held.passed and held.severity == dg.AssetCheckSeverity.WARN
    assert held.metadata["held_back_days"].value == 1
    assert held.metadata["days"].value.startswith(f"{BAD_DAY} team_pace (")
    # The stored rows hold no impossible value: the blocking check judged them and passed.
    assert checks[("ml_feature_store", "feature_values_possible")].passed
