"""Phases 3-4 through Dagster: a range run equals day-by-day runs, and the feature-store checks run.

The raw tables (real box scores, the schedule they imply, the real lines as pre-tip snapshots) are
written into a temporary lake; only the phase-3/4 assets are materialized, by real
``execute_in_process`` runs of the code location's own assets (``graph.run``) on an ephemeral
instance, the range as one single-run backfill.
"""

from __future__ import annotations

import shutil
from datetime import date, timedelta

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from nba_assets.assets import analytics, precompute
from nba_assets.partitions import dates_between
from nba_assets.transforms.features import FEATURES, RANGES

from . import graph
from .conftest import BOX_SCORES, LINES
from .test_features_leakage import AGREED

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (BOX_SCORES.is_file() and LINES.is_file()), reason="real data files are not present"),
]

HISTORY = (date(2024, 4, 1), date(2024, 4, 14))
MAIN = (date(2024, 10, 22), date(2024, 10, 24))
MINE = sorted(graph.PHASE34)


@pytest.fixture(scope="module")
def lakes(tmp_path_factory):
    box, schedule, props = graph.real_raw_tables()
    work = tmp_path_factory.mktemp("features_dagster")
    lake = work / "lake"
    for days in (dates_between(*HISTORY), dates_between(*MAIN)):
        graph.write_raw(lake, (box, schedule, props), days)
    graph.run(lake, *HISTORY)
    daily = work / "lake_daily"
    shutil.copytree(lake, daily)
    ranged = graph.run(lake, *MAIN)
    for day in dates_between(*MAIN):
        graph.run(daily, day, day)
    return lake, daily, ranged


def test_a_range_run_equals_day_by_day_runs(lakes):
    lake, daily, _ = lakes
    days = dates_between(*MAIN)
    for key in MINE:
        ranged, single = graph.read(lake, key, days), graph.read(daily, key, days)
        assert ranged.height > 0, key
        assert_frame_equal(ranged, single, check_exact=True)
    store = graph.read(lake, ("nba_precompute", "ml_feature_store"), days)
    assert set(AGREED) <= set(store.columns)
    # 2024-10-22 is the season's first night: history is last April's games.
    first = store.filter(pl.col("game_date") == MAIN[0])
    assert first.height > 0 and (first["games_played_season"] == 0).all()
    assert first["pts_avg_l10"].null_count() == 0 and first["has_line"].sum() > 0


def test_feature_store_checks_run_with_their_metadata(lakes):
    _, _, result = lakes
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    assert checks[precompute.UNIQUE_CHECK].passed
    assert checks[precompute.POSSIBLE_CHECK].passed
    variance = checks[precompute.VARIANCE_CHECK]
    assert variance.passed, variance.metadata["offending"].value
    assert "is_playoff" in variance.metadata["structural_exempt"].value
    for name in RANGES:
        check = checks[precompute.RANGE_CHECKS[name]]
        assert {"min", "max", "nulls", "outside_plausible", "impossible"} <= set(check.metadata), name
        assert check.metadata["impossible"].value == 0, name
    assert checks[analytics.UNIQUE_CHECK].passed
    assert len(FEATURES) >= 25
    mats = [m for m in result.get_asset_materialization_events() if m.asset_key.path[-1] == "ml_feature_store"]
    assert len(mats) == len(dates_between(*MAIN))
    day = next(m for m in mats if m.materialization.partition == (MAIN[0] + timedelta(days=1)).isoformat())
    assert day.materialization.metadata["dagster/row_count"].value > 0
